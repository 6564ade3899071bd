"""Hosts joining and leaving a running cluster: `wake cluster join` and `wake cluster leave`.

Everything a join needs is read from the cluster itself, so it works from any machine
that knows the cluster (even one added with `wake clusters add`): the datacenter from
the answering agent, the servers from the raft configuration, the gossip key from
Consul's keyring, the registry's address from the catalog and its CA from the KV store
(where `create` put it). A joining host gets a Consul client agent, trusts the registry's
CA and is registered as `wake-host` with its capacity, exactly as at `create`.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ..consul import Agent, ConsulError, ConsulUnreachable
from ..engine import Container, Engine, connect
from ..errors import UsageError, WakeError
from ..files import read_if_present
from ..settings import wake_home
from ..waiting import Pending, wait_until
from . import clusters, hosts, services
from .clusters import Cluster
from .hosts import Host
from .layout import (
    CONSUL_PORTS,
    GOSSIP_KEY_FILE,
    HOST_SERVICE,
    KV_REGISTRY_CA,
    PROXY_SERVICE,
    REGISTRY_SERVICE,
    RSYSLOG_SERVICE,
    Layout,
    Say,
    acl_files,
    agent_env,
    host_port,
    listening,
)
from .provision import (
    agent_at,
    forget_ca,
    register_host,
    remove_cluster_containers,
    run_proxy,
    run_scheduler,
    run_service,
    trust_ca,
)

JOIN_TIMEOUT = 60.0
ALIVE = 1  # serf member status
LEFT = 3


@dataclass(frozen=True)
class Facts:
    """What a joining host needs to know about the cluster, read from its Consul."""

    datacenter: str
    servers: tuple[str, ...]  # the servers' addresses (serf joins to them)
    registry: str | None  # host:port, from the catalog
    registry_ca: bytes | None
    members: dict[str, dict[str, Any]]  # serf members by node name
    service_nodes: frozenset[str]  # nodes running a server, rsyslog or the registry
    acls: bool  # whether the agents enforce ACLs


def read_facts(agent: Agent) -> Facts:
    info = agent.info()
    datacenter = agent.datacenter(info)
    raft = agent.raft_servers()
    servers = tuple(str(s["Address"]).rsplit(":", 1)[0].strip("[]") for s in raft)
    registry = None
    for entry in agent.catalog_service(REGISTRY_SERVICE):
        registry = host_port(entry.get("ServiceAddress") or entry["Address"],
                             int(entry["ServicePort"]))
    ca = agent.kv_get(KV_REGISTRY_CA)
    nodes = {str(s.get("Node", "")) for s in raft}
    for service in (RSYSLOG_SERVICE, REGISTRY_SERVICE):
        nodes |= {str(e["Node"]) for e in agent.catalog_service(service)}
    members = {str(m["Name"]): m for m in agent.members()}
    return Facts(datacenter, servers, registry, ca.value if ca else None, members,
                 frozenset(nodes), agent.acls_enabled(info))


def gossip_key(cluster: Cluster, agent: Agent) -> str | None:
    """The cluster's gossip key: saved by `create` on this machine, else from Consul's
    keyring (which answers only when every member does). None: gossip is not encrypted."""
    if not agent.gossip_encrypted():
        return None
    saved = read_if_present(wake_home() / "clusters" / cluster.name / GOSSIP_KEY_FILE)
    if saved is not None:
        return saved.decode("ascii", "replace").strip()
    problem = "no LAN key listed"
    try:
        for ring in agent.keyring():
            if not ring.get("WAN") and ring.get("Keys"):
                return str(next(iter(ring["Keys"])))
    except ConsulError as exc:
        problem = str(exc)[:200]
    raise WakeError(f"cluster {cluster.name} encrypts its gossip, and its key could not be "
                    f"read from Consul's keyring ({problem}). Every agent must answer for "
                    "that: bring stopped hosts back, or join from the machine that created "
                    "the cluster")


def _check_joinable(cluster: Cluster, facts: Facts, chosen: list[Host]) -> None:
    if len({h.address for h in chosen}) != len(chosen):
        raise UsageError("two of the hosts share an address; each needs its own (Consul "
                         "listens on fixed ports)")
    addresses = {str(m.get("Addr")): name for name, m in facts.members.items()
                 if int(m.get("Status", 0)) != LEFT}
    loopback = [s for s in facts.servers if s.startswith("127.")]
    for host in chosen:
        member = facts.members.get(host.name)
        if member and int(member.get("Status", 0)) != LEFT:
            raise UsageError(f"host {host.name} is in cluster {cluster.name} already")
        if host.address in addresses:
            raise UsageError(f"host {host.name}: its address {host.address} is cluster "
                             f"{cluster.name}'s node {addresses[host.address]} already")
        if loopback and not host.address.startswith("127."):
            raise UsageError(f"cluster {cluster.name}'s Consul servers listen on loopback "
                             f"({', '.join(loopback)}): host {host.name} at {host.address} "
                             "cannot reach them. Make the cluster with --hosts to add "
                             "hosts later")
        busy = [p for p in CONSUL_PORTS if listening(host.address, p)]
        if busy:
            raise UsageError(f"host {host.name}: ports {', '.join(map(str, busy))} on "
                             f"{host.address} already in use (a Consul agent of another "
                             "cluster?)")


class _AgentExited(WakeError):
    """The joining agent's container stopped: waiting longer cannot help."""


def _wait_member(agent: Agent, host: Host, engine: Engine, container: Container,
                 timeout: float = JOIN_TIMEOUT) -> None:
    """Alive in serf, and its own HTTP API answers (the host registers through it); stop
    waiting at once if the agent's container exits."""
    def joined() -> bool:
        member = {m["Name"]: m for m in agent.members()}.get(host.name)
        if member and int(member.get("Status", 0)) == ALIVE and \
                agent_at(host, 3, agent.token).info():
            return True
        state = engine.container(container.name)
        if state is None or state.status != "running":
            raise _AgentExited(f"its container is {state.status if state else 'gone'}")
        raise Pending(f"{host.name} is not an alive member yet")
    try:
        wait_until(joined, timeout, f"host {host.name}: its Consul agent joining",
                   retry_on=(ConsulUnreachable,))
    except WakeError as exc:
        logs = engine.logs(container.name, tail=8).strip() \
            if engine.container(container.name) else "(no container)"
        raise WakeError(f"{exc} (container {container.name}); last lines:\n"
                        f"  {logs.replace(chr(10), chr(10) + '  ')}") from None


def join(cluster: Cluster, names: list[str], say: Say = print) -> list[Host]:
    """Start a Consul client on each host, trust the registry and register the host."""
    if len(set(names)) != len(names):
        raise UsageError(f"{','.join(names)}: a host is named twice")
    chosen = [hosts.get(n) for n in names]
    agent = cluster.answering()
    facts = read_facts(agent)
    _check_joinable(cluster, facts, chosen)
    key = gossip_key(cluster, agent)
    # A new agent of a cluster with ACLs enforces them too, with the cluster's token.
    token = cluster.token if facts.acls else None
    images = services.build(say)
    build = connect()
    try:
        for host in chosen:
            engine = host.engine()
            try:
                say(f"{host.name}: joining cluster {cluster.name} (datacenter "
                    f"{facts.datacenter}, servers {', '.join(facts.servers)})")
                build.copy_images_to(engine, images.every_host(), say)
                try:
                    env = agent_env(facts.datacenter, host, False, list(facts.servers), key)
                    layout = Layout(cluster.name, (host,), token)
                    container = run_service(engine, layout, host, "consul", images.consul,
                                            env, files=acl_files(facts.datacenter, token, False))
                    _wait_member(agent, host, engine, container)
                    if facts.registry and facts.registry_ca:
                        trust_ca(engine, images.consul, facts.registry, facts.registry_ca)
                    cpus, memory = engine.capacity()
                    register_host(host, cpus, memory, token)
                    agent.wait_passing(HOST_SERVICE, JOIN_TIMEOUT, node=host.name)
                    run_scheduler(engine, layout, host, images.scheduler)
                    run_proxy(engine, layout, host, images.proxy)
                    agent.wait_passing(PROXY_SERVICE, JOIN_TIMEOUT, node=host.name)
                except BaseException:
                    say(f"{host.name}: join failed; removing its agent")
                    _clean_host(engine, host, cluster.name, facts.registry, images.consul)
                    raise
            finally:
                engine.close()
            clusters.record_hosts(cluster.name, joined=(host.name,))
            say(f"{host.name}: in cluster {cluster.name} ({cpus} cpu, "
                f"{memory / 2**30:.1f} GiB)")
    finally:
        build.close()
    return chosen


def _clean_host(engine: Engine, host: Host, name: str, registry: str | None,
                image: str | None) -> None:
    """Stop (so a client agent leaves gracefully) and remove the cluster's containers;
    forget the registry's CA where no other engine relies on the same file (engines on
    this machine share its /etc/docker/certs.d with the build engine)."""
    removed = remove_cluster_containers(engine, name, graceful=True)
    image = image or next((c.image for c in removed), None)
    if registry and image and not hosts.on_this_machine(host):
        forget_ca(engine, image, registry)


def leave(cluster: Cluster, name: str, say: Say = print) -> None:
    """Take a host out: its agent leaves, its containers of the cluster go."""
    known = hosts.load()  # a bad hosts.json is reported before anything is asked
    agent = cluster.answering()
    facts = read_facts(agent)
    if name in facts.service_nodes:
        raise UsageError(f"host {name} runs a Consul server, rsyslog or the registry of "
                         f"cluster {cluster.name}; those do not move. `wake cluster destroy "
                         f"{cluster.name}` removes the whole cluster")
    member = facts.members.get(name)
    if member is None and name not in cluster.hosts:
        raise UsageError(f"host {name} is not in cluster {cluster.name}")
    host = known.get(name)
    cleaned = False
    if host is not None:
        try:
            engine = host.engine(timeout=15)
            try:
                # If its agent is down, the catalog entry goes when it is forced out.
                for service in (HOST_SERVICE, PROXY_SERVICE):
                    with suppress(ConsulError):
                        agent_at(host, token=cluster.token).deregister_service(service)
                _clean_host(engine, host, cluster.name, facts.registry, None)
                cleaned = True
                say(f"{name}: its Consul agent left and the cluster's containers are gone")
            finally:
                engine.close()
        except WakeError as exc:
            say(f"{name}: could not clean up on its engine ({exc}); forcing it out")
    if not cleaned and member is not None:
        agent.force_leave(name)
        say(f"{name}: forced out of Consul (its containers stay on its engine)")
    clusters.record_hosts(cluster.name, left=(name,))
    say(f"{name}: left cluster {cluster.name}")
