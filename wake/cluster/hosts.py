"""Docker hosts this machine knows: `$WAKE_HOME/hosts.json`, managed by `wake hosts`.

    {"version": 1, "hosts": {"h1": {"docker": "unix:///run/wake/hosts/h1/docker.sock",
                                     "address": "10.213.0.2", "driver": "netns",
                                     "tls": null, "insecure": false}}}

A host is a Docker engine plus the address its containers listen on. Drivers:
`existing` (`wake hosts add`: unix://, ssh://, tcp:// with a TLS folder) and `netns`
(`wake hosts create`: a namespace with its own dockerd on this machine, netns.py).
`wake cluster create` registers hosts in the cluster's Consul with their capacity.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import engine as engine_mod
from ..engine import Engine, TLSFiles
from ..errors import UsageError, WakeError
from ..files import decode, parse_json, read_if_present
from ..settings import wake_home
from ..statefile import locked, write_atomically
from . import drivers
from .drivers import EXISTING, Say

FILE = "hosts.json"
VERSION = 1
NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")  # docker's own names (DOCKER_CERT_PATH)
LOCAL = "local"  # the name of the host `wake cluster create --local` uses


@dataclass(frozen=True)
class Host:
    name: str
    docker: str  # the engine's URL
    address: str  # where its containers listen (and its Consul agent)
    driver: str = EXISTING
    tls: str | None = None  # folder with ca.pem, cert.pem, key.pem (tcp://)
    insecure: bool = False  # plain tcp:// explicitly allowed

    def engine(self, timeout: float = 30.0) -> Engine:
        """This host's engine (connects now; WakeError if it does not answer)."""
        tls = None
        if self.tls:
            folder = Path(self.tls)
            tls = TLSFiles(str(folder / "ca.pem"), str(folder / "cert.pem"),
                           str(folder / "key.pem"))
        version = None
        ssh = self.docker.startswith("ssh://")
        if ssh:
            # docker-py's ssh transport has no timeout and waits forever on a host that
            # does not answer or an ssh that wants a password: ask once, bounded, first.
            version = self._ssh_preflight(timeout)
        return engine_mod.connect(self.docker, timeout=timeout, tls=tls, version=version,
                                  use_ssh_client=ssh, name=self.name)

    def _ssh_preflight(self, timeout: float) -> str:
        """The engine's API version, asked through ssh in batch mode with a timeout."""
        parts = urlsplit(self.docker)
        wait = max(1, round(min(timeout, 30.0)))
        command = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={wait}"]
        if parts.username:
            command += ["-l", parts.username]
        if parts.port:
            command += ["-p", str(parts.port)]
        command += ["--", str(parts.hostname),
                    "docker version --format '{{.Server.APIVersion}}'"]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=wait + 10)
        except FileNotFoundError:
            raise WakeError("ssh:// engines need the ssh client (apt-get install "
                            "openssh-client)") from None
        except subprocess.TimeoutExpired:
            raise WakeError(f"host {self.name}: the engine at {self.docker} does not "
                            f"answer: ssh did not finish within {wait + 10} s") from None
        version = done.stdout.strip()
        if done.returncode != 0 or not re.fullmatch(r"\d+\.\d+", version):
            said = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise WakeError(f"host {self.name}: the engine at {self.docker} does not "
                            f"answer: ssh: {said} (wake runs `ssh -o BatchMode=yes`: the "
                            "key must be in your agent or ssh config, and `docker` on the "
                            "host's PATH)")
        return version


def local_host(address: str = "127.0.0.1") -> Host:
    """This machine's own engine, as the one host of a `--local` cluster whose services
    listen on `address` (a loopback address: another one lets two local clusters be)."""
    return Host(LOCAL, docker_url_from_env(), address, EXISTING)


def docker_url_from_env() -> str:
    import os

    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def path() -> Path:
    return wake_home() / FILE


def check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name) or name == LOCAL:
        raise UsageError(f"host name {name!r}: use 1-40 lowercase letters, digits and '-' "
                         f"(not starting or ending with '-'; {LOCAL!r} is reserved)")


def check_url(url: str, tls: str | None, insecure: bool) -> str:
    """The engine URL if wake will use it as given; else a UsageError saying why."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        if not parts.path:
            raise UsageError(f"--docker {url!r}: give the socket's path, e.g. "
                             "unix:///var/run/docker.sock")
        return url
    if parts.scheme == "ssh":
        if not parts.hostname:
            raise UsageError(f"--docker {url!r}: give user@host, e.g. ssh://deploy@10.0.0.5")
        return url
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:  # not a number, or out of range
            port = None
        if not parts.hostname or not port:
            raise UsageError(f"--docker {url!r}: give host and port, e.g. tcp://10.0.0.5:2376")
        if tls:
            folder = Path(tls)
            missing = [f for f in TLS_FILES if not (folder / f).is_file()]
            if missing:
                raise UsageError(f"--tls {tls}: missing {', '.join(missing)} (the folder "
                                 "needs ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH)")
            return url
        if not insecure:
            raise UsageError(f"--docker {url!r}: plain tcp:// gives anyone who can reach the "
                             "port root on that host. Give --tls FOLDER (ca.pem, cert.pem, "
                             "key.pem), use ssh://, or pass --insecure if you really mean it")
        return url
    raise UsageError(f"--docker {url!r}: use unix://PATH, ssh://USER@HOST or tcp://HOST:PORT")


def default_address(url: str) -> str:
    """Where a host's containers listen, guessed from its engine URL."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return "127.0.0.1"
    assert parts.hostname
    return parts.hostname


def load() -> dict[str, Host]:
    file = path()
    raw = read_if_present(file)
    if raw is None:
        return {}
    data = parse_json(file, decode(file, raw), "wake will not overwrite it. Fix it, or move "
                      "it away and add the hosts again")
    if (not isinstance(data, dict) or data.get("version") != VERSION
            or isinstance(data.get("version"), bool) or not isinstance(data.get("hosts"), dict)):
        raise UsageError(f'{file}: expected {{"version": {VERSION}, "hosts": {{...}}}}; '
                         "wake will not overwrite it")
    found = {}
    for name, spec in data["hosts"].items():
        problem = _check_spec(name, spec)
        if problem:
            raise UsageError(f"{file}: host {name[:80]!r}: {problem}; wake will not overwrite "
                             "it. Fix it, or move it away and add the hosts again")
        found[name] = Host(name=name, **spec)
    return found


def _check_spec(name: str, spec: Any) -> str:
    if not NAME_RE.fullmatch(name) or name == LOCAL:
        return "not a host name (1-40 lowercase letters, digits and '-')"
    if not isinstance(spec, dict):
        return 'expected {"docker": URL, "address": IP, ...}'
    fields: dict[str, type | tuple[type, ...]] = {
        "docker": str, "address": str, "driver": str, "tls": (str, type(None)), "insecure": bool}
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        return f"unknown field {unknown[0][:80]!r}; known: {', '.join(fields)}"
    for key in ("docker", "address"):
        if key not in spec:
            return f'needs "{key}"'
    for key, kinds in fields.items():
        if key in spec and not isinstance(spec[key], kinds):
            return f'"{key}" must be {"true or false" if key == "insecure" else "a string"}'
    if spec.get("driver", EXISTING) not in drivers.DRIVERS:
        return f'"driver" must be one of {", ".join(drivers.DRIVERS)}'
    if not spec["docker"].startswith(("unix://", "ssh://", "tcp://")) or "\0" in spec["docker"]:
        return '"docker" must be a unix://, ssh:// or tcp:// URL'
    if not spec["address"] or any(c.isspace() or c == "\0" for c in spec["address"]):
        return '"address" must be an IP address or host name'
    return ""


def save(hosts: dict[str, Host]) -> None:
    data = {"version": VERSION, "hosts": {
        name: {k: v for k, v in asdict(h).items() if k != "name"}
        for name, h in sorted(hosts.items())}}
    write_atomically(path(), (json.dumps(data, indent=2) + "\n").encode())


def get(name: str) -> Host:
    if name == LOCAL:
        return local_host()
    known = load()
    if name not in known:
        listed = ", ".join(sorted(known)) or "none yet (wake hosts add / wake hosts create)"
        raise UsageError(f"no host named {name!r}; known: {listed}")
    return known[name]


def _record(host: Host) -> None:
    with locked(path()):
        known = load()
        if host.name in known:
            raise UsageError(f"a host named {host.name!r} exists already; "
                             f"`wake hosts rm {host.name}` first")
        save({**known, host.name: host})


def add(name: str, url: str, tls: str | None = None, insecure: bool = False,
        address: str | None = None) -> tuple[Host, tuple[int, int]]:
    """Register an existing engine; it must answer first. Returns it and its capacity."""
    check_name(name)
    url = check_url(url, tls, insecure)
    if name in load():
        raise UsageError(f"a host named {name!r} exists already; `wake hosts rm {name}` first")
    host = Host(name, url, address or default_address(url), EXISTING,
                str(Path(tls).resolve()) if tls else None, insecure)
    engine = host.engine(timeout=10)
    try:
        cap = engine.capacity()
    finally:
        engine.close()
    _record(host)
    return host, cap


def create(name: str, driver: str, say: Say = print) -> tuple[Host, tuple[str, ...]]:
    """Make a new host with a driver and record it; returns it and the driver's notes."""
    check_name(name)
    if driver not in drivers.CREATABLE:
        raise UsageError(f"--driver {driver!r}: drivers that make hosts: "
                         f"{', '.join(drivers.CREATABLE)} (use `wake hosts add --docker URL` "
                         "for an engine that exists already)")
    if name in load():
        raise UsageError(f"a host named {name!r} exists already; `wake hosts rm {name}` first")
    made = drivers.get(driver).create(name, say)
    host = Host(name, made.docker, made.address, driver)
    try:
        _record(host)
    except WakeError:
        drivers.get(driver).destroy(name, say=lambda _line: None)
        raise
    return host, made.notes


def remove(name: str, say: Say = print, force: bool = False) -> Host:
    """Forget a host; for a host a driver made, also tear down what it made. A host that
    a cluster made here still uses is refused unless `force` (then the clusters forget it)."""
    from . import clusters

    host = get(name)
    using = clusters.clusters_of(name)
    if using and not force:
        raise UsageError(f"host {name} is in cluster {', '.join(using)}: `wake cluster "
                         f"leave {name} --cluster {using[0]}` (or `wake cluster destroy "
                         f"{using[0]}`) first, or `wake hosts rm {name} --force`")
    for cluster in using:
        clusters.record_hosts(cluster, left=(name,))
    drivers.get(host.driver).destroy(name, say)
    with locked(path()):
        known = load()
        known.pop(name, None)
        save(known)
    return host


def set_running(name: str, running: bool, say: Say = print) -> Host:
    """Stop or start a host's engine (what a power cut or a reboot does)."""
    host = get(name)
    drivers.get(host.driver).set_running(name, running, say)
    return host


def on_this_machine(host: Host) -> bool:
    """Whether the host's engine shares this machine's /etc/docker/certs.d."""
    return drivers.get(host.driver).on_this_machine(host.docker)
