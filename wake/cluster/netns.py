"""The netns host driver: a Docker host on this machine, in its own network namespace.

Like docker-machine's local drivers, for trying wake (and testing it) on one machine:

- a network namespace `wake-NAME` whose eth0 is one end of a veth pair; the other
  end sits on the bridge `wake0` (10.213.0.1/24 by default, WAKE_NETNS_SUBNET moves it)
  in the root namespace, so hosts reach each other and this machine, and nothing else
  (no default route: a host cannot send anywhere but the bridge's subnet);
- its own dockerd, started with `nsenter --net=...` (not `ip netns exec`, which remounts
  /sys and breaks dockerd), with its own data root, exec root, pidfile and socket;
- like docker-machine's hosts, that dockerd also listens on tcp://ADDRESS:2376 with
  --tlsverify, with a CA and certificates of its own in DATA_DIR/NAME/tls (ca.pem,
  cert.pem, key.pem for clients: `wake hosts add --docker tcp://... --tls` that folder).

Containers with the host's network listen on the host's own address. Everything here
needs root. `destroy` removes all of it; the bridge goes with the last host.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import engine
from ..errors import UsageError, WakeError
from ..waiting import wait_until
from . import tls

PREFIX = "wake-"
BRIDGE = "wake0"
DEFAULT_SUBNET = "10.213.0.0/24"
RUN_DIR = Path("/run/wake/hosts")
DATA_DIR = Path("/var/lib/wake/hosts")
NETNS_DIR = Path("/var/run/netns")
TLS_PORT = 2376
START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0
Say = Callable[[str], None]


@dataclass(frozen=True)
class NetnsHost:
    name: str

    @property
    def namespace(self) -> str:
        return PREFIX + self.name

    @property
    def run_dir(self) -> Path:
        return RUN_DIR / self.name

    @property
    def data_dir(self) -> Path:
        return DATA_DIR / self.name

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def docker_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "docker.pid"

    @property
    def log(self) -> Path:
        return self.data_dir / "dockerd.log"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def root_veth(self) -> str:
        # Interface names are at most 15 bytes; a short digest keeps them unique.
        import hashlib

        return "wk" + hashlib.sha256(self.name.encode()).hexdigest()[:10]

    def exists(self) -> bool:
        return (NETNS_DIR / self.namespace).exists()

    def address(self) -> str | None:
        """The host's IPv4 address (eth0 in its namespace), or None."""
        if not self.exists():
            return None
        out = _ip("-n", self.namespace, "-j", "-4", "addr", "show", "dev", "eth0",
                  check=False)
        try:
            for link in json.loads(out or "[]"):
                for info in link.get("addr_info", []):
                    return str(info["local"])
        except (ValueError, KeyError):
            return None
        return None

    def dockerd_pid(self) -> int | None:
        """The pid of this host's dockerd if it runs (read from the pidfile it wrote)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        # Only a dockerd that uses this host's pidfile is ours (pids get reused).
        return pid if str(self.pidfile).encode() in cmdline else None


def _ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise WakeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


def _need_root() -> None:
    if os.geteuid() != 0:
        raise UsageError("the netns driver needs root (network namespaces, a bridge and a "
                         "dockerd); run wake with sudo")
    for tool in ("ip", "nsenter", "dockerd", "iptables"):
        if not shutil.which(tool):
            raise UsageError(f"the netns driver needs `{tool}` (apt-get install iproute2 "
                             "util-linux docker.io iptables)")


def subnet() -> ipaddress.IPv4Network:
    text = os.environ.get("WAKE_NETNS_SUBNET", DEFAULT_SUBNET)
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise UsageError(f"WAKE_NETNS_SUBNET={text!r}: {exc}; give a private IPv4 "
                         "network such as 10.213.0.0/24") from None
    if not net.is_private or net.prefixlen > 29:
        raise UsageError(f"WAKE_NETNS_SUBNET={text!r}: use a private network of at least "
                         "8 addresses, e.g. 10.213.0.0/24")
    return net


@contextmanager
def _lock() -> Iterator[None]:
    """One host create or destroy at a time on this machine (address allocation)."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(RUN_DIR / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def namespaces() -> list[str]:
    """Names of the netns hosts on this machine (namespaces named wake-*)."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name[len(PREFIX):] for p in NETNS_DIR.iterdir()
                  if p.name.startswith(PREFIX))


def _ensure_bridge(net: ipaddress.IPv4Network) -> str:
    """The bridge with the subnet's first address; returns that address."""
    gateway = str(next(net.hosts()))
    if _ip("-j", "link", "show", BRIDGE, check=False).strip():
        return gateway
    # Refuse a subnet this machine already routes somewhere: hosts would shadow it.
    for route in json.loads(_ip("-j", "-4", "route", "show") or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            other = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
            if other.overlaps(net):
                raise UsageError(f"the netns subnet {net} overlaps {dst} (dev "
                                 f"{route.get('dev')}) on this machine; set "
                                 "WAKE_NETNS_SUBNET to a free private /24")
    _ip("link", "add", BRIDGE, "type", "bridge")
    _ip("addr", "add", f"{gateway}/{net.prefixlen}", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    # Docker sets FORWARD's policy to DROP and br_netfilter makes bridged frames
    # pass it: let hosts talk to each other across the bridge.
    rule = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]
    if subprocess.run(["iptables", "-C", *rule], capture_output=True).returncode != 0:
        subprocess.run(["iptables", "-I", *rule], check=True, capture_output=True)
    return gateway


def _remove_bridge_if_unused() -> None:
    if namespaces():
        return
    if _ip("-j", "link", "show", BRIDGE, check=False).strip():
        _ip("link", "del", BRIDGE, check=False)
    rule = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]
    while subprocess.run(["iptables", "-D", *rule], capture_output=True).returncode == 0:
        pass


def _free_address(net: ipaddress.IPv4Network) -> str:
    used = {NetnsHost(name).address() for name in namespaces()}
    hosts = list(net.hosts())[1:]  # the first is the bridge
    for candidate in hosts:
        if str(candidate) not in used:
            return str(candidate)
    raise WakeError(f"no free address left in {net} for another netns host")


def create(name: str, say: Say = print) -> NetnsHost:
    """Make the namespace, wire it to the bridge and start its dockerd."""
    _need_root()
    host = NetnsHost(name)
    with _lock():
        if host.exists():
            raise UsageError(f"a netns host named {name!r} exists on this machine already "
                             f"(namespace {host.namespace}); pick another name or "
                             f"`wake hosts rm {name}`")
        net = subnet()
        _ensure_bridge(net)
        address = _free_address(net)
        inner = host.root_veth[:-1] + "n"
        say(f"{name}: namespace {host.namespace}, address {address}")
        try:
            _ip("netns", "add", host.namespace)
            _ip("link", "add", host.root_veth, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", host.namespace)
            _ip("link", "set", host.root_veth, "master", BRIDGE, "up")
            _ip("-n", host.namespace, "link", "set", inner, "name", "eth0")
            _ip("-n", host.namespace, "addr", "add", f"{address}/{net.prefixlen}",
                "dev", "eth0")
            _ip("-n", host.namespace, "link", "set", "eth0", "up")
            _ip("-n", host.namespace, "link", "set", "lo", "up")
        except WakeError:
            _teardown_network(host)
            raise
    try:
        tls.make_engine(host.tls_dir, f"wake host {name}", [address, "127.0.0.1"])
        start(host, say)
    except WakeError:
        destroy(name, say=lambda _line: None)
        raise
    return host


def start(host: NetnsHost, say: Say = print) -> None:
    """Start the host's dockerd (again), inside its namespace."""
    if not host.exists():
        raise UsageError(f"no netns host {host.name!r} on this machine")
    if host.dockerd_pid():
        return
    host.run_dir.mkdir(parents=True, exist_ok=True)
    host.data_dir.mkdir(parents=True, exist_ok=True)
    say(f"{host.name}: starting dockerd (log {host.log})")
    command = [
        "nsenter", f"--net={NETNS_DIR / host.namespace}", "dockerd",
        "--data-root", str(host.data_dir / "docker"),
        "--exec-root", str(host.run_dir / "exec"),
        "--pidfile", str(host.pidfile),
        "-H", host.docker_url,
        # Keep the machine's Docker config out: this engine is its own host.
        "--config-file", str(_empty_config(host)),
    ]
    address = host.address()
    if address and (host.tls_dir / "server.pem").is_file():
        folder = host.tls_dir
        command += ["--tlsverify", "--tlscacert", str(folder / "ca.pem"),
                    "--tlscert", str(folder / "server.pem"),
                    "--tlskey", str(folder / "server-key.pem"),
                    "-H", f"tcp://{address}:{TLS_PORT}"]
    with open(host.log, "ab") as log:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    try:
        wait_until(lambda: host.socket.exists() and engine.answers(host.docker_url),
                   START_TIMEOUT, f"{host.name}: dockerd answering", interval=0.3)
    except WakeError as exc:
        tail = host.log.read_text(errors="replace").splitlines()[-5:]
        raise WakeError(f"{exc}; last lines of {host.log}:\n  " + "\n  ".join(tail)) \
            from None


def _empty_config(host: NetnsHost) -> Path:
    path = host.data_dir / "daemon.json"
    if not path.exists():
        path.write_text("{}\n")
    return path


def stop(host: NetnsHost, say: Say = print) -> None:
    """Stop the host's dockerd (its containers stop with it); the namespace stays."""
    pid = host.dockerd_pid()
    if pid is None:
        return
    say(f"{host.name}: stopping dockerd (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), STOP_TIMEOUT,
                   f"{host.name}: dockerd exiting", interval=0.2)
        return
    except WakeError:
        pass
    say(f"{host.name}: dockerd ignored SIGTERM for {STOP_TIMEOUT:g} s; killing it")
    os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def _teardown_network(host: NetnsHost) -> None:
    if host.exists():
        _ip("netns", "del", host.namespace, check=False)
    if _ip("-j", "link", "show", host.root_veth, check=False).strip():
        _ip("link", "del", host.root_veth, check=False)


def _unmount_under(folder: Path) -> None:
    """Lazily unmount whatever a killed dockerd left mounted under `folder`."""
    prefix = str(folder) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    for point in sorted((p for p in points if p.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def destroy(name: str, say: Say = print) -> None:
    """Stop the dockerd, remove the namespace, its veth and its folders."""
    _need_root()
    host = NetnsHost(name)
    stop(host, say)
    with _lock():
        _teardown_network(host)
        for folder in (host.run_dir, host.data_dir):
            if folder.exists():
                _unmount_under(folder)
                shutil.rmtree(folder, ignore_errors=True)
        _remove_bridge_if_unused()
    say(f"{name}: namespace, dockerd and data removed")
