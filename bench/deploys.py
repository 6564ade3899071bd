"""The deploy case, on the current cluster (a local one: Consul, registry and the
instances all on this machine's engine).

- A no-op `doit deploy:bestsiteever` beside a no-op `docker-compose up -d` of the same
  containers (same images, cpu and memory limits, log driver) on the same engine.
- A one-file rollout of `bench-site` (a copy of bestsiteever in the bench's folder, so the
  checkout is never edited), its wall time split into build, push/pull, start-to-passing
  and wake's own time, from the deploy's output lines, each stamped as it arrives.

Both leave the cluster as they found it: the compose project is taken down and bench-site
is undeployed (its containers, Consul services and release records) at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cases import Row
from .support import PYTHON, ROOT, WORK, doit, median_time, run

APP = "bestsiteever"
SITE = "bench-site"
PROJECT = "wake-bench"  # the compose project
CONSUL = "http://127.0.0.1:8500"
# bench-site runs beside bestsiteever on the one local host (2 cpus registered): smaller
# cpu shares than bestsiteever's 0.5 / 0.2 leave room for start-first replacement.
SITE_CPU = {"web": 0.2, "worker": 0.1}

STARTED = re.compile(r"^  \S+ (?P<instance>\S+): started on ")
PASSING = re.compile(r"^  \S+ (?P<instance>\S+): passing after ")
STOPPED = re.compile(r"^  \S+ (?P<instance>\S+): out of Consul, stopped on .*, "
                     r"(?P<seconds>[\d.]+) s\)$")
PULLING = re.compile(r"^  \S+: pulling ")
TASK = re.compile(r"^(?:\.|--) +(?P<task>\S+)$")
BUILT = re.compile(r"^built +\S+ +[\d.]+s ")
CURRENT = re.compile(r": release \S+ is current \((?P<seconds>[\d.]+) s\)$")


@dataclass(frozen=True)
class Rollout:
    """One timed deploy, split by its output lines (seconds)."""

    total_s: float
    build_s: float  # the first build task line to the deploy task's line
    stages_built: int
    transfer_s: float  # each "pulling" line to its instance's "started" line
    pulls: int
    passing_s: float  # each new instance's "started" line to its "passing" line, summed
    instances: tuple[tuple[str, float], ...]
    stop_s: float  # the old instances: out of Consul, a drain wait, docker stop (wake's figures)
    stops: int
    wake_says_s: float  # the deploy's own "is current (x s)" figure

    @property
    def own_s(self) -> float:
        """wake's own time: everything that is not a build, a transfer or a start."""
        return self.total_s - self.build_s - self.transfer_s - self.passing_s


def setup() -> None:
    """Debian's docker-compose (v1) is the alternative; install it when it is missing."""
    if shutil.which("docker-compose"):
        return
    if os.geteuid() != 0:
        raise RuntimeError("docker-compose is missing: apt-get install -y docker-compose")
    run(["apt-get", "install", "-y", "docker-compose"],
        env={"DEBIAN_FRONTEND": "noninteractive"})


def deploy(runs: int, url: str, env: dict[str, str]) -> tuple[Row, list[Rollout]]:
    """The no-op row and the timed rollouts (one per run). `env` holds the WAKE_HOME
    whose clusters.json names the cluster to deploy to."""
    setup()
    compose_file = WORK / "compose" / "docker-compose.yml"
    try:
        noop = _noop(runs, env, compose_file)
    finally:
        run(["docker-compose", "-p", PROJECT, "-f", str(compose_file), "down"],
            cwd=compose_file.parent, check=False)
    workspace = _site(url)
    undeploy(SITE)  # what an interrupted run left
    try:
        doit(workspace, f"deploy:{SITE}", env=env)  # the first release (untimed)
        rollouts = [_rollout(workspace, env) for _ in range(runs)]
    finally:
        undeploy(SITE)
    return noop, rollouts


def _noop(runs: int, env: dict[str, str], compose_file: Path) -> Row:
    workspace = ROOT / "wake.toml"
    doit(workspace, f"deploy:{APP}", env=env)  # current and passing (untimed)
    wake_label = f"label=wake.app={APP}"

    def wake_noop() -> None:
        done = doit(workspace, f"deploy:{APP}", env=env)
        if f"-- deploy:{APP}" not in done.stdout:  # wake/ changed under us: not a no-op
            raise RuntimeError(f"doit deploy:{APP} deployed instead of doing nothing:\n"
                               f"{done.stdout[-3000:]}")

    wake_s, wake_changes = _changes(wake_label, lambda: median_time(wake_noop, runs))

    _write_compose(compose_file)
    compose = ["docker-compose", "-p", PROJECT, "-f", str(compose_file), "up", "-d"]
    run(compose, cwd=compose_file.parent)  # create the containers (untimed)
    compose_label = f"label=com.docker.compose.project={PROJECT}"
    compose_s, compose_changes = _changes(compose_label, lambda: median_time(
        lambda: run(compose, cwd=compose_file.parent), runs))
    version = run(["docker-compose", "version", "--short"]).stdout.strip()
    return Row(f"no-op deploy, {APP} (web x2, worker)", f"doit deploy:{APP}", wake_s,
               f"docker-compose {version} `up -d` of the same 3 containers", compose_s,
               f"container changes during the timed runs: wake {wake_changes}, "
               f"docker-compose {compose_changes}")


def _changes(label: str, timed: Callable[[], float]) -> tuple[float, str]:
    """Run `timed` (returns seconds); whether the containers with `label` stayed the same
    (ids) and how many container events (create, start, stop, ...) the engine logged."""
    before = _ids(label)
    since = time.time()
    seconds = timed()
    until = time.time()
    events = run(["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                  "--filter", "type=container", "--filter", label, "--format",
                  "{{.Action}}"]).stdout.split()
    same = "ids unchanged" if _ids(label) == before else "ids changed"
    return seconds, f"{same}, {len(events)} container events"


def _ids(label: str) -> list[str]:
    return sorted(run(["docker", "ps", "-aq", "--no-trunc", "--filter", label]).stdout.split())


def _write_compose(path: Path) -> None:
    """docker-compose.yml (JSON is YAML) running what wake runs for the app: one service
    per process with the same image, scale, limits, restart policy and log driver."""
    ids = run(["docker", "ps", "-q", "--filter", f"label=wake.app={APP}"]).stdout.split()
    found = json.loads(run(["docker", "inspect", *ids]).stdout)
    services: dict[str, dict[str, object]] = {}
    for container in found:
        if "wake.cron.job" in container["Config"]["Labels"]:
            continue  # a cron run the cluster's scheduler started, not an instance
        process = container["Config"]["Labels"]["wake.process"]
        host = container["HostConfig"]
        if process in services:
            services[process]["scale"] = int(str(services[process]["scale"])) + 1
            continue
        env = dict(item.split("=", 1) for item in container["Config"]["Env"])
        service: dict[str, object] = {
            "image": container["Config"]["Image"], "scale": 1, "network_mode": "bridge",
            "cpus": host["NanoCpus"] / 1e9, "mem_limit": host["Memory"],
            "restart": host["RestartPolicy"]["Name"] or "no",
            "environment": {k: env[k] for k in ("WAKE_RELEASE", "PORT") if k in env}}
        log = host["LogConfig"]
        if log.get("Type") == "syslog":
            service["logging"] = {"driver": "syslog", "options": {
                **log.get("Config", {}), "tag": f"{PROJECT}.{process}"}}
        if host.get("PortBindings"):
            service["ports"] = ["127.0.0.1::8000"]  # a random port, as wake's instances
        services[process] = service
    if sorted(services) != ["web", "worker"]:
        raise RuntimeError(f"{APP} runs {sorted(services)} on this engine, not web and worker")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "2.4", "services": services}, indent=2) + "\n")


def _site(url: str) -> Path:
    """bench-site: bestsiteever under another name, with its extra repo on the bench's
    git server, in a workspace of its own."""
    folder = WORK / "deploy"
    app = folder / SITE
    shutil.rmtree(app, ignore_errors=True)
    shutil.copytree(ROOT / "examples" / APP, app)
    manifest = json.loads((app / "manifest.json").read_text())
    manifest["name"] = SITE
    manifest["repos"] = {"/opt/cache-buster": f"{url}/cache-buster.git"}
    for name, cpu in SITE_CPU.items():
        manifest["processes"][name]["cpu"] = cpu
    (app / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (folder / "wake.toml").write_text(f'[[apps]]\npath = "{SITE}"\n')
    return folder / "wake.toml"


def _rollout(workspace: Path, env: dict[str, str]) -> Rollout:
    """Append a comment to config.ru (every release image changes) and deploy."""
    config = workspace.parent / SITE / "config.ru"
    with open(config, "a") as handle:
        handle.write(f"# bench edit {uuid.uuid4().hex}\n")
    total, lines = _stamped([PYTHON, "-m", "doit", "run", "-f", str(ROOT / "dodo.py"), "-d",
                             str(workspace.parent), f"deploy:{SITE}"], env)
    return split(total, lines)


def _stamped(args: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, str]]]:
    """Run a command; its wall time and its output lines, each with the time it arrived."""
    started = time.perf_counter()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}) as child:
        assert child.stdout
        lines = [(time.perf_counter() - started, line.rstrip("\n")) for line in child.stdout]
    total = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n" +
                           "\n".join(line for _, line in lines[-60:]))
    return total, lines


def split(total: float, lines: list[tuple[float, str]]) -> Rollout:
    """Split a deploy's wall time by its stamped output lines."""
    build_from = deploy_at = None
    started: dict[str, float] = {}
    passing: list[tuple[str, float]] = []
    transfer = stop = wake_says = 0.0
    pulls = stops = built = 0
    pulling_at: float | None = None
    for at, line in lines:
        task = TASK.match(line)
        if task and task["task"].startswith("deploy:"):
            deploy_at = at
        elif task and build_from is None:
            build_from = at
        elif BUILT.match(line):
            built += 1
        elif PULLING.match(line):
            pulling_at, pulls = at, pulls + 1
        elif found := STARTED.match(line):
            started[found["instance"]] = at
            if pulling_at is not None:
                transfer += at - pulling_at
                pulling_at = None
        elif found := PASSING.match(line):
            passing.append((found["instance"], at - started[found["instance"]]))
        elif found := STOPPED.match(line):
            stop, stops = stop + float(found["seconds"]), stops + 1
        elif found := CURRENT.search(line):
            wake_says = float(found["seconds"])
    if deploy_at is None or not passing:
        raise RuntimeError("the deploy's output has no deploy task line or no passing "
                           "instance:\n" + "\n".join(line for _, line in lines[-60:]))
    build = deploy_at - build_from if build_from is not None else 0.0
    return Rollout(total, build, built, transfer, pulls, sum(s for _, s in passing),
                   tuple(passing), stop, stops, wake_says)


def undeploy(app: str) -> None:
    """Remove an app from the cluster: its containers, Consul services and KV records."""
    ids = run(["docker", "ps", "-aq", "--filter", f"label=wake.app={app}"]).stdout.split()
    if ids:
        run(["docker", "rm", "-f", *ids])
    with urllib.request.urlopen(f"{CONSUL}/v1/agent/services", timeout=10) as answer:
        services = json.load(answer)
    for service_id, service in services.items():
        if service.get("Service") == app:
            _consul("PUT", f"/v1/agent/service/deregister/{service_id}")
    _consul("DELETE", f"/v1/kv/wake/apps/{app}?recurse")


def _consul(method: str, path: str) -> None:
    request = urllib.request.Request(f"{CONSUL}{path}", method=method)
    with urllib.request.urlopen(request, timeout=10):
        pass
