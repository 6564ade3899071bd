"""Reading an app's logs back from the cluster's rsyslog master (`wake logs`).

The master's files are read through the engine of the host it runs on (found in Consul),
by commands run in its container: `cat`/`head` for what is there, `tail -F` to follow. So
any machine that knows the cluster (its Consul and its hosts' engines) can read them.
"""

from __future__ import annotations

import datetime
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from ..cluster.clusters import Cluster
from ..cluster.hosts import load as load_hosts
from ..cluster.layout import LABEL_CLUSTER, LABEL_SERVICE, RSYSLOG_SERVICE
from ..deploy.instances import hosts as cluster_hosts
from ..engine import Engine
from ..errors import UsageError, WakeError

ROOT = "/var/log/wake"
DEPLOY = "deploy"  # the process name of deploy, rollback and lock events
KEPT = 5  # rotated files per process (logrotate's `rotate 5`)
_SINCE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Line:
    time: datetime.datetime
    app: str
    process: str
    instance: str
    host: str  # the host's name where known, else the sender's address
    message: str

    def render(self) -> str:
        stamp = self.time.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds")
        # A deploy event's instance is who@machine already; others say which host.
        where = self.instance if self.process == DEPLOY else f"{self.instance}@{self.host}"
        return f"{stamp} {self.process}[{where}]: {self.message}"

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["time"] = self.time.isoformat(timespec="microseconds")
        return data


def parse(text: str, hosts: dict[str, str]) -> Line | None:
    """One line of a master's file (TIME APP PROCESS INSTANCE ADDRESS MESSAGE), or None."""
    parts = text.split(" ", 5)
    if len(parts) < 5:
        return None
    try:
        when = datetime.datetime.fromisoformat(parts[0])
    except ValueError:
        return None
    message = parts[5] if len(parts) > 5 else ""
    return Line(when, parts[1], parts[2], parts[3], hosts.get(parts[4], parts[4]), message)


def since(text: str, now: datetime.datetime | None = None) -> datetime.datetime:
    """`10m`, `2h`, `30s`, `1d`, or an ISO time (UTC unless it says otherwise)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    found = _SINCE.match(text.strip())
    if found:
        return now - datetime.timedelta(seconds=int(found[1]) * UNITS[found[2]])
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r}: give a duration (30s, 10m, 2h, 1d) or a time "
                         "(2026-11-26T10:00:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class Query:
    app: str
    process: str | None = None
    instance: str | None = None
    since: datetime.datetime | None = None

    def wants(self, line: Line) -> bool:
        return ((self.process is None or line.process == self.process)
                and (self.instance is None or line.instance == self.instance)
                and (self.since is None or line.time >= self.since))


class Master:
    """The cluster's rsyslog master, through its host's engine."""

    def __init__(self, cluster: Cluster) -> None:
        agent = cluster.answering()
        nodes = [e["Node"] for e in agent.catalog_service(RSYSLOG_SERVICE)]
        if not nodes:
            raise WakeError(f"cluster {cluster.name} has no rsyslog master in Consul "
                            f"({RSYSLOG_SERVICE})")
        infos = {h.name: h for h in cluster_hosts(agent)}
        # Senders' addresses -> host names, for the lines (a local cluster's engine sends
        # from the loopback address its dockerd uses).
        self.hosts = {h.address: h.name for h in infos.values()}
        loopback = [h for h in infos.values() if h.address.startswith("127.")]
        if len(loopback) == 1:  # a local cluster: its engine sends from 127.0.0.1
            self.hosts.setdefault("127.0.0.1", loopback[0].name)
        node = str(nodes[0])
        info = infos.get(node)
        if info is None:
            raise WakeError(f"the rsyslog master's host {node} is not registered in cluster "
                            f"{cluster.name}")
        self.engine: Engine = info.host(load_hosts()).engine()
        found = self.engine.containers({LABEL_CLUSTER: cluster.name, LABEL_SERVICE: "rsyslog"},
                                       all=False)
        if not found:
            raise WakeError(f"no running rsyslog container of cluster {cluster.name} on "
                            f"{node}; `wake cluster status` shows the services")
        self.container = found[0].name

    def close(self) -> None:
        self.engine.close()

    def _sh(self, script: str) -> bytes:
        code, out = self.engine.exec_output(self.container, ["sh", "-c", script])
        if code != 0:
            raise WakeError(f"reading the logs on the master failed ({code}): "
                            f"{out.decode('utf-8', 'replace')[-500:]}")
        return out

    def files(self, query: Query) -> dict[str, int]:
        """The current files of the app's processes (one process if asked), with sizes."""
        folder = shlex.quote(f"{ROOT}/{query.app}")
        pattern = shlex.quote(f"{query.process}.log") if query.process else "*.log"
        out = self._sh(f"cd {folder} 2>/dev/null || exit 0; for f in {pattern}; do "
                       f'[ -f "$f" ] && echo "$(wc -c < "$f") $f"; done; true')
        sizes = {}
        for row in out.decode("utf-8", "replace").splitlines():
            size, _, name = row.partition(" ")
            if size.isdigit() and name:
                sizes[name] = int(size)
        return sizes

    def history(self, query: Query, sizes: dict[str, int]) -> list[Line]:
        """Every line up to `sizes` (rotated files first), oldest first."""
        if not sizes:
            return []
        folder = shlex.quote(f"{ROOT}/{query.app}")
        parts = [f"cd {folder} || exit 0"]
        for name, size in sorted(sizes.items()):
            for n in range(KEPT, 0, -1):
                rotated = shlex.quote(f"{name}.{n}")
                parts.append(f"[ -f {rotated} ] && cat {rotated}")
            parts.append(f"head -c {size} {shlex.quote(name)}")
        out = self._sh("; ".join(parts) + "; true")
        lines = [parse(text, self.hosts) for text in
                 out.decode("utf-8", "replace").splitlines()]
        found = [line for line in lines if line is not None and query.wants(line)]
        return sorted(found, key=lambda line: line.time)  # stable: a file's order kept

    def follow(self, query: Query, sizes: dict[str, int]) -> Iterator[Line]:
        """Lines written after `sizes` (a process's file that did not exist yet is waited
        for when a process was asked for), as they come."""
        names = dict(sizes)
        if query.process and f"{query.process}.log" not in names:
            names[f"{query.process}.log"] = 0
        if not names:
            raise WakeError(f"no logs of {query.app} on the master yet; with a PROCESS, "
                            "-f waits for its first line")
        folder = shlex.quote(f"{ROOT}/{query.app}")
        tails = " ".join(f"tail -q -c +{size + 1} -F {shlex.quote(name)} 2>/dev/null &"
                         for name, size in sorted(names.items()))
        script = f"mkdir -p {folder}; cd {folder} || exit 1; {tails} wait"
        pending = ""
        for chunk in self.engine.exec_stream(self.container, ["sh", "-c", script]):
            pending += chunk.decode("utf-8", "replace")
            *complete, pending = pending.split("\n")
            for text in complete:
                line = parse(text, self.hosts)
                if line is not None and query.wants(line):
                    yield line


def show(cluster: Cluster, query: Query, lines: int | None, follow: bool,
         out: Callable[[Line], None]) -> int:
    """Print the app's lines (the last `lines` of them unless `since` was given), then with
    `follow` the new ones until interrupted; returns how many were printed."""
    master = Master(cluster)
    try:
        sizes = master.files(query)
        found = master.history(query, sizes)
        if lines is not None and query.since is None:
            found = found[-lines:] if lines else []
        for line in found:
            out(line)
        count = len(found)
        if follow:
            for line in master.follow(query, sizes):
                out(line)
                count += 1
        return count
    finally:
        master.close()
