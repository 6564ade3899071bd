"""`wake cluster status`: the Consul servers, each host, and the cluster services.

Everything comes from Consul (raft configuration, serf members, health of the
`wake-host`, `wake-rsyslog` and `wake-registry` services), plus each host's engine for
what runs on it. If the master does not answer, the other servers are asked.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import consul
import docker
import requests

from ..errors import WakeError
from .clusters import Cluster
from .hosts import Host
from .lifecycle import HOST_SERVICE, LABEL_CLUSTER, REGISTRY_SERVICE, RSYSLOG_SERVICE

SERF_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}
WORST = ("critical", "warning", "maintenance", "passing")
# A leader election after a server is lost takes a few seconds; status waits it out.
ELECTION_WAIT = 20.0


@dataclass
class Server:
    node: str
    address: str
    role: str  # leader | follower | non-voter
    serf: str  # alive | failed | left | ...


@dataclass
class HostStatus:
    name: str
    address: str
    health: str
    cpus: int
    memory: int
    docker: str
    placed: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class ServiceStatus:
    name: str
    host: str
    address: str
    health: str
    output: str = ""


@dataclass
class Status:
    cluster: str
    asked: str  # the Consul address that answered
    leader: str
    servers: list[Server]
    hosts: list[HostStatus]
    services: list[ServiceStatus]
    encrypted: bool = False  # gossip between the agents

    @property
    def down(self) -> list[str]:
        names = {s.node for s in self.servers if s.serf != "alive"}
        names |= {h.name for h in self.hosts if h.health != "passing"}
        names |= {s.name for s in self.services if s.health != "passing"}
        return sorted(names)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "down": self.down}, indent=2)


def _worst(checks: list[dict[str, Any]]) -> str:
    states = {c.get("Status", "critical") for c in checks}
    for state in WORST:
        if state in states:
            return state
    return "passing"


def answering(cluster: Cluster, wait: float = ELECTION_WAIT) -> tuple[Any, str]:
    """A client of the first server that knows a leader; waits out an election."""
    deadline = time.monotonic() + wait
    while True:
        tried = []
        for address in dict.fromkeys([cluster.consul, *cluster.servers]):
            try:
                client = cluster.client(timeout=3, address=address)
                if client.status.leader():
                    return client, address
                tried.append(f"{address} (no leader)")
            except requests.exceptions.RequestException:
                tried.append(f"{address} (no answer)")
            except consul.ConsulException as exc:  # e.g. a token without permission
                raise WakeError(f"cluster {cluster.name}: Consul at {address} refused: "
                                f"{exc}") from None
        if time.monotonic() >= deadline:
            raise WakeError(f"cluster {cluster.name}: no Consul server answers with a "
                            f"leader after {wait:g} s: {', '.join(tried)}")
        time.sleep(1)


def is_encrypted(client: Any) -> bool:
    """Whether the answering agent's LAN gossip is encrypted (its own stats: cheap, and
    unlike the keyring list it needs no answer from every member)."""
    stats = client.agent.self().get("Stats") or {}
    return str((stats.get("serf_lan") or {}).get("encrypted", "false")) == "true"


def _placed(host: Host, cluster: str) -> tuple[list[str], str]:
    try:
        client = host.client(timeout=5)
    except WakeError:
        return [], "engine unreachable"
    try:
        return sorted(str(c.name) for c in client.containers.list(
            filters={"label": f"{LABEL_CLUSTER}={cluster}"})), ""
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        return [], f"engine error: {exc}"
    finally:
        client.close()


def collect(cluster: Cluster, wait: float = ELECTION_WAIT) -> Status:
    """The cluster's state, asked of the first server that knows a leader."""
    deadline = time.monotonic() + wait
    while True:
        client, asked = answering(cluster, wait)
        try:
            return _read(cluster, client, asked)
        except (consul.ConsulException, requests.exceptions.RequestException) as exc:
            # E.g. "No cluster leader": an election began between two questions.
            if time.monotonic() >= deadline:
                raise WakeError(f"cluster {cluster.name}: Consul at {asked} failed while "
                                f"reading the cluster's state: {exc}") from None
            time.sleep(1)


def _read(cluster: Cluster, client: Any, asked: str) -> Status:
    leader = str(client.status.leader())
    members = {m["Name"]: m for m in client.agent.members()}
    servers = []
    for server in client.operator.raft_config().get("Servers", []):
        node = server.get("Node", "")
        serf = SERF_STATUS.get(int(members.get(node, {}).get("Status", 0)), "unknown")
        role = ("leader" if server.get("Leader") else
                "follower" if server.get("Voter") else "non-voter")
        servers.append(Server(node, server.get("Address", ""), role, serf))
    found_hosts = []
    for entry in client.health.service(HOST_SERVICE)[1]:
        service, node = entry["Service"], entry["Node"]
        meta = service.get("Meta") or {}
        host = Host(node["Node"], meta.get("docker", ""), service.get("Address") or
                    node.get("Address", ""), meta.get("driver", "existing"))
        placed, note = _placed(host, cluster.name) if host.docker else ([], "no endpoint")
        found_hosts.append(HostStatus(host.name, host.address, _worst(entry["Checks"]),
                                      int(meta.get("cpus", 0)), int(meta.get("memory", 0)),
                                      host.docker, placed, note))
    # A host the cluster was made with (or joined) that Consul no longer lists is down too.
    listed = {h.name for h in found_hosts}
    found_hosts += [HostStatus(name, "-", "missing", 0, 0, "", note="not registered in Consul")
                    for name in cluster.hosts if name not in listed]
    found_services = []
    for name in (RSYSLOG_SERVICE, REGISTRY_SERVICE):
        for entry in client.health.service(name)[1]:
            service = entry["Service"]
            own = [c for c in entry["Checks"] if c.get("ServiceID")]
            failing = [c for c in own if c.get("Status") != "passing"]
            output = " ".join((failing[0].get("Output") or "").split())[:160] if failing else ""
            found_services.append(ServiceStatus(
                name, entry["Node"]["Node"], f"{service['Address']}:{service['Port']}",
                _worst(entry["Checks"]), output))
    return Status(cluster.name, asked, leader, servers,
                  sorted(found_hosts, key=lambda h: h.name), found_services,
                  is_encrypted(client))


def render(status: Status) -> str:
    lines = [f"cluster {status.cluster}  (asked Consul at {status.asked})",
             f"leader  {status.leader or '(none)'}",
             f"gossip  {'encrypted' if status.encrypted else 'NOT encrypted'}",
             "", "consul servers:"]
    for s in status.servers:
        lines.append(f"  {s.node:<16} {s.address:<22} {s.role:<10} {s.serf}")
    lines += ["", "hosts:"]
    for h in status.hosts:
        placed = ", ".join(h.placed) or "-"
        lines.append(f"  {h.name:<16} {h.health:<9} {h.address:<16} {h.cpus} cpu  "
                     f"{h.memory / 2**30:.1f} GiB  {h.note or placed}")
    lines += ["", "services:"]
    for svc in status.services:
        extra = f"  {svc.output}" if svc.output else ""
        lines.append(f"  {svc.name:<16} {svc.health:<9} {svc.address:<22} on {svc.host}"
                     f"{extra}")
    down = status.down
    lines += ["", f"down: {', '.join(down)}" if down else "all servers, hosts and services up"]
    return "\n".join(lines)
