"""What wake does on one host of a cluster: start a service container, trust the
registry's CA, register the host in Consul, and remove it all again.

Shared by `cluster create`/`destroy` (lifecycle.py) and `cluster join`/`leave`
(membership.py). Every container wake starts carries the label wake.cluster=NAME, which
is how destroy, leave and status find them.
"""

from __future__ import annotations

from pathlib import Path

from ..consul import Agent
from ..engine import Container, Engine
from ..errors import WakeError
from . import netns, services
from .hosts import Host
from .layout import (
    CERTS_D,
    CONSUL_DNS_PORT,
    CONSUL_HTTP_PORT,
    HOST_SERVICE,
    LABEL_CLUSTER,
    LABEL_SERVICE,
    PROXY_PORT,
    PROXY_SERVICE,
    REGISTRY_PORT,
    REGISTRY_SERVICE,
    RSYSLOG_SERVICE,
    SYSLOG_PORT,
    Layout,
    host_port,
    network_name,
    token_files,
)

HELPER_TIMEOUT = 60


def agent_at(host: Host, timeout: float = 5.0, token: str | None = None) -> Agent:
    """The Consul agent that runs on a host (its HTTP API on the host's address)."""
    return Agent(host_port(host.address, CONSUL_HTTP_PORT), token, timeout=timeout)


def run_service(engine: Engine, layout: Layout, host: Host, service: str, image: str,
                env: dict[str, str], files: dict[str, bytes] | None = None,
                binds: dict[str, str] | None = None) -> Container:
    """A cluster service's container on the host's network, restarted unless stopped."""
    return engine.run(image, layout.container(service), host_network=True, env=env,
                      hostname=host.name, files=files, binds=binds,
                      labels={LABEL_CLUSTER: layout.name, LABEL_SERVICE: service,
                              "wake.host": host.name})


def run_scheduler(engine: Engine, layout: Layout, host: Host, image: str) -> Container:
    """The cron scheduler on a host (docs/cron.md): it reaches the host's Consul agent and
    every host's engine by their addresses; an engine on a unix socket (a local cluster)
    is mounted in."""
    binds = None
    if host.docker.startswith("unix://"):
        socket = Path(host.docker.removeprefix("unix://"))
        # netns hosts' engines all have their sockets under one folder on this machine:
        # mounting it lets the scheduler reach every one of them, joined later or not.
        shared = netns.RUN_DIR if socket.is_relative_to(netns.RUN_DIR) else socket
        binds = {str(shared): str(shared)}
    env, files = token_files(layout.token)
    return run_service(engine, layout, host, "scheduler", image,
                       {"WAKE_CONSUL": layout.consul_http(host), "WAKE_CLUSTER": layout.name,
                        "WAKE_HOST": host.name, **env}, files=files, binds=binds)


def cluster_network(engine: Engine, cluster: str) -> str:
    """The cluster's network on a host's engine (made if missing); its gateway address."""
    return engine.ensure_network(network_name(cluster), {LABEL_CLUSTER: cluster})


def run_proxy(engine: Engine, layout: Layout, host: Host, image: str) -> str:
    """The dependency proxy on a host (docs/proxy.md), on the gateway of the cluster's
    network, registered with a TCP check on the host's agent; returns where it listens."""
    gateway = cluster_network(engine, layout.name)
    env, files = token_files(layout.token)
    run_service(engine, layout, host, "proxy", image,
                {"WAKE_CONSUL": layout.consul_http(host),
                 "WAKE_CONSUL_DNS": host_port(host.address, CONSUL_DNS_PORT),
                 "WAKE_HOST": host.name, "WAKE_PROXY_BIND": gateway,
                 "WAKE_PROXY_PORT": str(PROXY_PORT), **env}, files=files)
    listen = host_port(gateway, PROXY_PORT)
    agent_at(host, token=layout.token).register_service(
        PROXY_SERVICE, address=gateway, port=PROXY_PORT, meta={"host": host.name},
        check={"TCP": listen, "Interval": "5s", "Timeout": "3s"})
    return listen


def _helper(engine: Engine, image: str, script: str, env: dict[str, str]) -> None:
    """Run a short script with the engine's /etc/docker/certs.d mounted at /certs.d."""
    code, output = engine.run_once(image, ["sh", "-c", script], env=env,
                                   binds={CERTS_D: "/certs.d"}, timeout=HELPER_TIMEOUT)
    if code != 0:
        raise WakeError(f"{engine.where}: helper container failed ({code}): {output[-500:]}")


def trust_ca(engine: Engine, image: str, registry: str, ca: bytes) -> None:
    """Make the engine trust the cluster CA for the registry (its /etc/docker/certs.d)."""
    _helper(engine, image, 'mkdir -p "/certs.d/$REG" && printf "%s\\n" "$CA" > '
            '"/certs.d/$REG/ca.crt"', {"REG": registry, "CA": ca.decode().strip()})


def forget_ca(engine: Engine, image: str, registry: str) -> None:
    _helper(engine, image, 'rm -rf "/certs.d/$REG"', {"REG": registry})


def register_host(host: Host, cpus: int, memory: int, token: str | None = None) -> None:
    """`wake-host` on the host's own agent: its health is the agent's (serf) health."""
    agent_at(host, token=token).register_service(
        HOST_SERVICE, address=host.address,
        meta={"docker": host.docker, "driver": host.driver, "cpus": str(cpus),
              "memory": str(memory)})


def register_services(layout: Layout) -> None:
    """rsyslog and the registry, with TCP and HTTPS checks, on the first host's agent."""
    agent = agent_at(layout.first, token=layout.token)
    agent.register_service(RSYSLOG_SERVICE, address=layout.first.address, port=SYSLOG_PORT,
                           check={"TCP": layout.syslog, "Interval": "5s", "Timeout": "3s"})
    agent.register_service(REGISTRY_SERVICE, address=layout.first.address,
                           port=REGISTRY_PORT,
                           check={"HTTP": f"https://{layout.registry}/v2/", "Interval": "5s",
                                  "Timeout": "3s", "TLSSkipVerify": True})


def remove_cluster_containers(engine: Engine, name: str, graceful: bool = False
                              ) -> list[Container]:
    """Remove the cluster's containers from one engine, then its network there.
    `graceful` stops each first, so a Consul client agent leaves the cluster."""
    removed = engine.remove_labelled({LABEL_CLUSTER: name},
                                     stop_timeout=15 if graceful else None)
    engine.remove_networks({LABEL_CLUSTER: name})
    return removed


def consul_image(engine: Engine, cluster: str | None) -> str | None:
    """An image on that engine that has sh (the cluster's Consul image, or any wake one)."""
    if cluster:
        for container in engine.containers({LABEL_CLUSTER: cluster, LABEL_SERVICE: "consul"}):
            return container.image
    for row in engine.images(name=f"wake/{services.CONSUL}/release-agent"):
        for tag in row.get("RepoTags") or []:
            return str(tag)
    return None
