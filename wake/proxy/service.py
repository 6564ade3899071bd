"""The dependency proxy's container on one host: `python3 -m wake.proxy.service`.

Runs HAProxy in master-worker mode and follows `wake/proxy/routes` in Consul with
blocking reads. When the set of apps served changes, it writes the new configuration
(checked first with `haproxy -c`) and sends the master SIGUSR2: a hitless reload (the
new worker takes the listening socket over; the old one finishes its connections). After
each load it reports the index it loaded in `wake/proxy/loaded/HOST`.

Settings (environment, from wake/cluster/provision.py): WAKE_CONSUL (the host's agent,
host:port), WAKE_CONSUL_DNS (its DNS, host:port), WAKE_HOST, WAKE_PROXY_BIND (the
cluster network's gateway), WAKE_PROXY_PORT, and in a cluster with ACLs
WAKE_CONSUL_TOKEN_FILE (a file holding the token).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from ..consul import Agent, ConsulUnreachable, token_from_env
from ..errors import WakeError
from . import haproxy, routes

CONFIG = Path("/run/wake-proxy/haproxy.cfg")
WATCH = 30.0  # seconds of one blocking read


def say(line: str) -> None:
    print(f"wake-proxy: {line}", flush=True)


class Proxy:
    def __init__(self, agent: Agent, host: str, bind: str, port: int, dns: str) -> None:
        self.agent, self.host, self.bind, self.port, self.dns = agent, host, bind, port, dns
        self.process: subprocess.Popen[bytes] | None = None
        self.apps: tuple[str, ...] | None = None

    def write(self, apps: tuple[str, ...]) -> bool:
        """Write the configuration for `apps` if HAProxy accepts it."""
        text = haproxy.render(self.bind, self.port, self.dns, apps, self.host)
        CONFIG.parent.mkdir(parents=True, exist_ok=True)
        candidate = CONFIG.with_suffix(".new")
        candidate.write_text(text)
        check = subprocess.run(["haproxy", "-c", "-q", "-f", str(candidate)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            say(f"configuration for {', '.join(apps)} refused, keeping the one before:\n"
                f"{check.stdout}{check.stderr}")
            return False
        candidate.replace(CONFIG)
        return True

    def load(self, apps: tuple[str, ...]) -> None:
        if apps == self.apps or not self.write(apps):
            return
        if self.process is None:
            self.process = subprocess.Popen(["haproxy", "-W", "-db", "-f", str(CONFIG)])
            say(f"started HAProxy on {self.bind}:{self.port} serving "
                f"{', '.join(apps) or 'no dependencies yet'}")
        else:
            self.process.send_signal(signal.SIGUSR2)
            say(f"reloaded: now serving {', '.join(apps) or 'no dependencies'}")
        self.apps = apps

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            say(f"HAProxy exited ({self.process.returncode}); the container restarts")
            sys.exit(1)

    def run(self) -> None:
        if CONFIG.is_file():
            # A restarted container (its host rebooted, say) serves what it served before
            # at once, without waiting for Consul; the first answer reloads it.
            self.process = subprocess.Popen(["haproxy", "-W", "-db", "-f", str(CONFIG)])
            say("started HAProxy with the configuration it had before its restart")
        index = 0
        while True:
            self.check_alive()
            try:
                index, entry = self.agent.kv_watch(routes.ROUTES_KEY, index, WATCH)
                self.load(routes.served(routes.parse(entry.value if entry else None)))
                routes.report(self.agent, self.host, index, self.apps or ())
            except ConsulUnreachable as exc:
                say(f"{exc}; trying again in 2 s")
                index = 0
                time.sleep(2)
            except WakeError as exc:
                say(str(exc))
                time.sleep(5)

    def stop(self, signum: int, _frame: FrameType | None) -> None:
        """On `docker stop`: HAProxy finishes what it serves (soft stop), then exits."""
        if self.process is not None:
            self.process.send_signal(signal.SIGUSR1)
            try:
                self.process.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.process.kill()
        sys.exit(0)


def main() -> None:
    env = os.environ
    try:
        consul, host, bind = env["WAKE_CONSUL"], env["WAKE_HOST"], env["WAKE_PROXY_BIND"]
    except KeyError as exc:
        sys.exit(f"wake-proxy: {exc.args[0]} is not set (wake cluster create sets it)")
    port = int(env.get("WAKE_PROXY_PORT", "8000"))
    dns = env.get("WAKE_CONSUL_DNS") or f"{consul.rsplit(':', 1)[0]}:8600"
    try:
        token = token_from_env(env)
    except WakeError as exc:
        sys.exit(f"wake-proxy: {exc}")
    proxy = Proxy(Agent(consul, token, timeout=WATCH + 15), host, bind, port, dns)
    signal.signal(signal.SIGTERM, proxy.stop)
    signal.signal(signal.SIGINT, proxy.stop)
    proxy.run()


if __name__ == "__main__":
    main()
