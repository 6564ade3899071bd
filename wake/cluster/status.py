"""`wake cluster status`: the Consul servers, each host, and the cluster services.

Everything comes from Consul (raft configuration, serf members, health of the
`wake-host`, `wake-rsyslog`, `wake-registry` and each host's `wake-proxy` services, what
each proxy reported it serves), plus each host's engine for what runs on it. If the
master does not answer, the other servers are asked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..consul import Agent, ConsulUnreachable
from ..errors import WakeError
from ..proxy import routes
from ..waiting import wait_until
from .clusters import Cluster
from .hosts import Host
from .layout import (
    HOST_SERVICE,
    LABEL_CLUSTER,
    PROXY_SERVICE,
    REGISTRY_SERVICE,
    RSYSLOG_SERVICE,
)

SCHEDULER_LOCK = "wake/cron/leader"  # wake.cron.scheduler.LEADER_KEY

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
    scheduler: str | None = None  # the host whose cron scheduler is active

    @property
    def down(self) -> list[str]:
        names = {s.node for s in self.servers if s.serf != "alive"}
        hosts = {h.name for h in self.hosts if h.health != "passing"}
        names |= hosts
        # A service on a host that is down is down with it (said once, by the host); a
        # proxy, which every host has, is named with its host.
        known = {h.name for h in self.hosts}  # a host that left is not the cluster's
        names |= {s.name if s.name != PROXY_SERVICE else f"{s.name} on {s.host}"
                  for s in self.services if s.health != "passing" and s.host not in hosts
                  and s.host in known}
        return sorted(names)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "down": self.down}, indent=2)


def _worst(checks: list[dict[str, Any]]) -> str:
    states = {c.get("Status", "critical") for c in checks}
    for state in WORST:
        if state in states:
            return state
    return "passing"


def _placed(host: Host, cluster: str) -> tuple[list[str], str]:
    try:
        engine = host.engine(timeout=5)
    except WakeError:
        return [], "engine unreachable"
    try:
        return sorted(c.name for c in engine.containers({LABEL_CLUSTER: cluster},
                                                        all=False)), ""
    except WakeError as exc:
        return [], f"engine error: {exc}"
    finally:
        engine.close()


def collect(cluster: Cluster, wait: float = ELECTION_WAIT) -> Status:
    """The cluster's state, asked of the first server that knows a leader; an election
    that begins between two questions ("No cluster leader") is waited out."""
    return wait_until(lambda: _read(cluster, cluster.answering(wait)), wait,
                      f"cluster {cluster.name}: reading its state from Consul",
                      retry_on=(ConsulUnreachable,))


def _read(cluster: Cluster, agent: Agent) -> Status:
    leader = agent.leader()
    members = {m["Name"]: m for m in agent.members()}
    servers = []
    for server in agent.raft_servers():
        node = server.get("Node", "")
        serf = SERF_STATUS.get(int(members.get(node, {}).get("Status", 0)), "unknown")
        role = ("leader" if server.get("Leader") else
                "follower" if server.get("Voter") else "non-voter")
        servers.append(Server(node, server.get("Address", ""), role, serf))
    found_hosts = []
    for entry in agent.health_service(HOST_SERVICE):
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
    serving = routes.loaded(agent)
    for name in (RSYSLOG_SERVICE, REGISTRY_SERVICE, PROXY_SERVICE):
        for entry in agent.health_service(name):
            service = entry["Service"]
            own = [c for c in entry["Checks"] if c.get("ServiceID")]
            failing = [c for c in own if c.get("Status") != "passing"]
            output = " ".join((failing[0].get("Output") or "").split())[:160] if failing else ""
            if name == PROXY_SERVICE and not failing:
                loaded = serving.get(entry["Node"]["Node"])
                output = ("serving " + (", ".join(loaded.apps) or "no dependencies yet")
                          if loaded else "not reporting what it serves yet")
            found_services.append(ServiceStatus(
                name, entry["Node"]["Node"], f"{service['Address']}:{service['Port']}",
                _worst(entry["Checks"]), output))
    held = agent.kv_get(SCHEDULER_LOCK)
    return Status(cluster.name, agent.address, leader, servers,
                  sorted(found_hosts, key=lambda h: h.name), found_services,
                  agent.gossip_encrypted(),
                  held.value.decode("utf-8", "replace") if held and held.session else None)


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
    cron = (f"scheduler active on {status.scheduler}" if status.scheduler
            else "no scheduler active (a standby takes over within 25 s)")
    lines.append(f"  {'wake-scheduler':<16} {cron}")
    down = status.down
    lines += ["", f"down: {', '.join(down)}" if down else "all servers, hosts and services up"]
    return "\n".join(lines)
