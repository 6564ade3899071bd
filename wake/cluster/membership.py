"""Hosts joining and leaving a running cluster: `wake cluster join` and `wake cluster leave`.

Everything a join needs is read from the cluster itself, so it works from any machine
that knows the cluster (even one added with `wake clusters add`): the datacenter from
the answering agent, the servers from the raft configuration, the gossip key from
Consul's keyring, the registry's address from the catalog and its CA from the KV store
(where `create` put it). A joining host gets a Consul client agent, trusts the registry's
CA and is registered as `wake-host` with its capacity, exactly as at `create`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import consul
import docker
import requests

from .. import engine
from ..errors import UsageError, WakeError
from ..settings import wake_home
from . import clusters, hosts, services
from .clusters import Cluster
from .hosts import Host
from .lifecycle import (
    CONSUL_HTTP_PORT,
    CONSUL_PORTS,
    GOSSIP_KEY_FILE,
    HOST_SERVICE,
    KV_REGISTRY_CA,
    REGISTRY_SERVICE,
    RSYSLOG_SERVICE,
    Layout,
    agent_env,
    consul_at,
    copy_images,
    forget_ca,
    host_port,
    listening,
    register_host,
    remove_cluster_containers,
    run_service,
    trust_ca,
)
from .status import answering, is_encrypted

Say = Callable[[str], None]
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


def read_facts(client: Any) -> Facts:
    with _translated("read the cluster's settings"):
        datacenter = str(client.agent.self()["Config"]["Datacenter"])
        raft = client.operator.raft_config().get("Servers", [])
        servers = tuple(str(s["Address"]).rsplit(":", 1)[0].strip("[]") for s in raft)
        registry = None
        for entry in client.catalog.service(REGISTRY_SERVICE)[1]:
            registry = host_port(entry.get("ServiceAddress") or entry["Address"],
                                 int(entry["ServicePort"]))
        _, ca = client.kv.get(KV_REGISTRY_CA)
        nodes = {str(s.get("Node", "")) for s in raft}
        for service in (RSYSLOG_SERVICE, REGISTRY_SERVICE):
            nodes |= {str(e["Node"]) for e in client.catalog.service(service)[1]}
        members = {str(m["Name"]): m for m in client.agent.members()}
    return Facts(datacenter, servers, registry, ca["Value"] if ca else None, members,
                 frozenset(nodes))


def gossip_key(cluster: Cluster, client: Any) -> str | None:
    """The cluster's gossip key: saved by `create` on this machine, else from Consul's
    keyring (which answers only when every member does). None: gossip is not encrypted."""
    if not is_encrypted(client):
        return None
    saved = wake_home() / "clusters" / cluster.name / GOSSIP_KEY_FILE
    if saved.is_file():
        return saved.read_text().strip()
    problem = "no LAN key listed"
    try:
        for ring in client.operator.keyring_list() or []:
            if not ring.get("WAN") and ring.get("Keys"):
                return str(next(iter(ring["Keys"])))
    except (consul.ConsulException, requests.exceptions.RequestException) as exc:
        problem = str(exc).strip()[:200]
    raise WakeError(f"cluster {cluster.name} encrypts its gossip, and its key could not be "
                    f"read from Consul's keyring ({problem}). Every agent must answer for "
                    "that: bring stopped hosts back, or join from the machine that created "
                    "the cluster")


@contextlib.contextmanager
def _translated(what: str) -> Any:
    try:
        yield
    except requests.exceptions.RequestException as exc:
        raise WakeError(f"{what}: Consul did not answer: {exc}") from None
    except consul.ConsulException as exc:
        raise WakeError(f"{what}: Consul refused: {exc}") from None


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


def _wait_member(client: Any, host: Host, container: Any, timeout: float = JOIN_TIMEOUT
                 ) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.exceptions.RequestException,
                                 consul.ConsulException):
            member = {m["Name"]: m for m in client.agent.members()}.get(host.name)
            # Alive in serf, and its own HTTP API answers: the host registers through it.
            if (member and int(member.get("Status", 0)) == ALIVE and
                    consul_at(host_port(host.address, CONSUL_HTTP_PORT), timeout=3
                              ).agent.self()):
                return
        container.reload()
        if container.status != "running":
            break
        time.sleep(1)
    logs = container.logs(tail=8).decode(errors="replace").strip()
    raise WakeError(f"host {host.name}: its Consul agent did not join within {timeout:g} s "
                    f"(container {container.name} is {container.status}); last lines:\n"
                    f"  {logs.replace(chr(10), chr(10) + '  ')}")


def _wait_passing(client: Any, node: str, timeout: float = JOIN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.exceptions.RequestException,
                                 consul.ConsulException):
            for entry in client.health.service(HOST_SERVICE, passing=True)[1]:
                if entry["Node"]["Node"] == node:
                    return
        time.sleep(1)
    raise WakeError(f"host {node} joined but its wake-host service did not pass within "
                    f"{timeout:g} s; `wake cluster status` shows its checks")


def join(cluster: Cluster, names: list[str], say: Say = print) -> list[Host]:
    """Start a Consul client on each host, trust the registry and register the host."""
    if len(set(names)) != len(names):
        raise UsageError(f"{','.join(names)}: a host is named twice")
    chosen = [hosts.get(n) for n in names]
    client, _ = answering(cluster)
    facts = read_facts(client)
    _check_joinable(cluster, facts, chosen)
    key = gossip_key(cluster, client)
    images = services.build(say)
    build = engine.connect()
    for host in chosen:
        engine_client = host.client()
        try:
            say(f"{host.name}: joining cluster {cluster.name} (datacenter "
                f"{facts.datacenter}, servers {', '.join(facts.servers)})")
            copy_images(build, engine_client, [images.consul], host.name, say)
            try:
                env = agent_env(facts.datacenter, host, False, list(facts.servers), key)
                container = run_service(engine_client, Layout(cluster.name, (host,)), host,
                                        "consul", images.consul, env)
                _wait_member(client, host, container)
                if facts.registry and facts.registry_ca:
                    trust_ca(engine_client, images.consul, facts.registry, facts.registry_ca)
                cpus, memory = hosts.capacity(engine_client)
                register_host(host, cpus, memory)
                _wait_passing(client, host.name)
            except BaseException:
                say(f"{host.name}: join failed; removing its agent")
                _clean_host(engine_client, host, cluster.name, facts.registry, images.consul)
                raise
        finally:
            engine_client.close()
        clusters.record_hosts(cluster.name, joined=(host.name,))
        say(f"{host.name}: in cluster {cluster.name} ({cpus} cpu, {memory / 2**30:.1f} GiB)")
    return chosen


def _own_filesystem(host: Host) -> bool:
    """False for engines on this machine (netns hosts, unix sockets): they share its
    /etc/docker/certs.d with the build engine and the other local hosts."""
    return host.driver != hosts.NETNS and not host.docker.startswith("unix://")


def _clean_host(client: docker.DockerClient, host: Host, name: str, registry: str | None,
                image: str | None) -> None:
    """Stop (so a client agent leaves gracefully) and remove the cluster's containers;
    forget the registry's CA where no other engine relies on the same file."""
    with engine.translate("remove the cluster's containers"):
        removed = remove_cluster_containers(client, name, graceful=True)
    image = image or next((used for _name, used in removed), None)
    if registry and image and _own_filesystem(host):
        forget_ca(client, image, registry)


def leave(cluster: Cluster, name: str, say: Say = print) -> None:
    """Take a host out: its agent leaves, its containers of the cluster go."""
    client, _ = answering(cluster)
    facts = read_facts(client)
    if name in facts.service_nodes:
        raise UsageError(f"host {name} runs a Consul server, rsyslog or the registry of "
                         f"cluster {cluster.name}; those do not move. `wake cluster destroy "
                         f"{cluster.name}` removes the whole cluster")
    member = facts.members.get(name)
    if member is None and name not in cluster.hosts:
        raise UsageError(f"host {name} is not in cluster {cluster.name}")
    host = hosts.load().get(name)
    cleaned = False
    if host is not None:
        try:
            engine_client = host.client(timeout=15)
            try:
                with contextlib.suppress(requests.exceptions.RequestException,
                                         consul.ConsulException):
                    consul_at(host_port(host.address, CONSUL_HTTP_PORT)
                              ).agent.service.deregister(HOST_SERVICE)
                _clean_host(engine_client, host, cluster.name, facts.registry, None)
                cleaned = True
                say(f"{name}: its Consul agent left and the cluster's containers are gone")
            finally:
                engine_client.close()
        except WakeError as exc:
            say(f"{name}: could not clean up on its engine ({exc}); forcing it out")
    if not cleaned and member is not None:
        with _translated(f"force {name} out of the cluster"):
            client.agent.force_leave(name)
        say(f"{name}: forced out of Consul (its containers stay on its engine)")
    clusters.record_hosts(cluster.name, left=(name,))
    say(f"{name}: left cluster {cluster.name}")
