"""Make and remove clusters: `wake cluster create` and `wake cluster destroy`.

A cluster is Consul servers on its first three hosts (a Consul client agent on every
other host), the rsyslog master and the image registry on the first host, and every
host registered in Consul as the service `wake-host` with its Docker endpoint and
capacity. The service images are wake apps (services.py) built by the build graph and
copied to each host's engine (docker save | docker load: the registry is not up yet).
Every container wake starts carries the label wake.cluster=NAME, which is how destroy
and status find them.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import socket
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker
import requests

from .. import engine
from ..errors import UsageError, WakeError
from ..settings import wake_home
from ..statefile import write_atomically
from . import clusters, hosts, services, tls
from .clusters import Cluster
from .hosts import Host

Say = Callable[[str], None]

CONSUL_HTTP_PORT = 8500
CONSUL_PORTS = (8300, 8301, 8302, CONSUL_HTTP_PORT, 8600)
SYSLOG_PORT = 5514
REGISTRY_PORT = 5000
MAX_SERVERS = 3
LABEL_CLUSTER = "wake.cluster"
LABEL_SERVICE = "wake.service"
HOST_SERVICE = "wake-host"
RSYSLOG_SERVICE = "wake-rsyslog"
REGISTRY_SERVICE = "wake-registry"
CERTS_D = "/etc/docker/certs.d"
# The registry's CA in Consul's KV store, so `wake cluster join` works from any machine.
KV_REGISTRY_CA = "wake/registry/ca.crt"
GOSSIP_KEY_FILE = "gossip.key"  # in $WAKE_HOME/clusters/NAME, beside the registry's CA
LEADER_TIMEOUT = 90.0
HEALTH_TIMEOUT = 90.0


@dataclass(frozen=True)
class Layout:
    """Where each service of a cluster runs."""

    name: str
    hosts: tuple[Host, ...]

    @property
    def first(self) -> Host:
        return self.hosts[0]

    @property
    def servers(self) -> tuple[Host, ...]:
        return self.hosts[:MAX_SERVERS]

    @property
    def registry(self) -> str:
        return host_port(self.first.address, REGISTRY_PORT)

    @property
    def syslog(self) -> str:
        return host_port(self.first.address, SYSLOG_PORT)

    def consul_http(self, host: Host) -> str:
        return host_port(host.address, CONSUL_HTTP_PORT)

    def container(self, service: str) -> str:
        return f"wake-{self.name}-{service}"


def layout_for(name: str, host_names: list[str] | None, local: bool) -> Layout:
    clusters.check_name(name)
    if local == bool(host_names):
        raise UsageError("give either --hosts h1,h2,h3 or --local")
    if local:
        return Layout(name, (hosts.local_host(),))
    assert host_names
    if len(set(host_names)) != len(host_names):
        raise UsageError(f"--hosts {','.join(host_names)}: a host is named twice")
    chosen = tuple(hosts.get(n) for n in host_names)
    addresses = [h.address for h in chosen]
    if len(set(addresses)) != len(addresses):
        raise UsageError("--hosts: two hosts share an address; each needs its own (the "
                         "services listen on fixed ports)")
    return Layout(name, chosen)


def listening(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1.0).close()
    except OSError:  # refused, unreachable, timed out, no such name
        return False
    return True


def host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def check_ports_free(layout: Layout) -> None:
    """The services use fixed ports on each host's address: fail before starting anything."""
    for host in layout.hosts:
        ports = [*CONSUL_PORTS, *((SYSLOG_PORT, REGISTRY_PORT) if host == layout.first else ())]
        busy = [port for port in ports if listening(host.address, port)]
        if busy:
            raise UsageError(f"host {host.name}: port{'s' if len(busy) > 1 else ''} "
                             f"{', '.join(map(str, busy))} on {host.address} already in use "
                             "(another cluster or Consul there?); `wake cluster destroy` it "
                             "or free the ports")


# --- moving images and files onto hosts --------------------------------------------------

def copy_images(source: docker.DockerClient, target: docker.DockerClient, tags: list[str],
                host: str, say: Say) -> None:
    """docker save | docker load of the tags the target lacks (one stream, shared layers once)."""
    missing = [t for t in tags if engine.inspect(target, t) is None]
    if not missing:
        return
    size = sum(int((engine.inspect(source, t) or {}).get("Size", 0)) for t in missing)
    say(f"{host}: loading {len(missing)} image{'s' if len(missing) > 1 else ''} "
        f"({size / 1e6:.0f} MB)")
    with engine.translate(f"copy images to {host}"):
        # docker-py's get_image saves one image; /images/get takes several.
        api = source.api
        response = api._get(api._url("/images/get"),  # type: ignore[attr-defined]
                            params={"names": missing}, stream=True)
        api._raise_for_status(response)  # type: ignore[attr-defined]
        progress = target.api.load_image(  # type: ignore[no-untyped-call]
            response.iter_content(1 << 20))
        for line in progress:
            if isinstance(line, dict) and line.get("error"):
                raise WakeError(f"{host}: docker load failed: {line['error']}")


def _shell(client: docker.DockerClient, image: str, script: str,
           env: dict[str, str], binds: dict[str, dict[str, str]]) -> None:
    """Run a short script in a throwaway container of `image` on that engine."""
    with engine.translate("run a helper container"):
        container = client.containers.run(image, ["sh", "-c", script], environment=env,
                                          volumes=binds, detach=True,
                                          labels={"wake.helper": "1"})
        try:
            code = container.wait(timeout=60).get("StatusCode", 1)
            if code != 0:
                raise WakeError(f"helper container failed ({code}): "
                                f"{container.logs().decode(errors='replace')[-500:]}")
        finally:
            container.remove(force=True)


def trust_ca(client: docker.DockerClient, image: str, registry: str, ca: bytes) -> None:
    """Make the engine trust the cluster CA for the registry (its /etc/docker/certs.d)."""
    _shell(client, image, 'mkdir -p "/certs.d/$REG" && printf "%s\\n" "$CA" > '
           '"/certs.d/$REG/ca.crt"', {"REG": registry, "CA": ca.decode().strip()},
           {CERTS_D: {"bind": "/certs.d", "mode": "rw"}})


def forget_ca(client: docker.DockerClient, image: str, registry: str) -> None:
    _shell(client, image, 'rm -rf "/certs.d/$REG"', {"REG": registry},
           {CERTS_D: {"bind": "/certs.d", "mode": "rw"}})


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


# --- starting the services ---------------------------------------------------------------

def run_service(client: docker.DockerClient, layout: Layout, host: Host, service: str,
                image: str, env: dict[str, str], files: dict[str, bytes] | None = None) -> Any:
    name = layout.container(service)
    with engine.translate(f"start {service} on {host.name}"):
        with contextlib.suppress(docker.errors.NotFound):  # a leftover of a failed create
            client.containers.get(name).remove(force=True)
        container = client.containers.create(
            image, name=name, network_mode="host", environment=env, init=True,
            restart_policy={"Name": "unless-stopped"},  # type: ignore[arg-type]
            hostname=host.name,
            labels={LABEL_CLUSTER: layout.name, LABEL_SERVICE: service,
                    "wake.host": host.name})
        if files:
            container.put_archive("/", _tar(files))
        container.start()
    return container


def gossip_key() -> str:
    """A new gossip encryption key (what `consul keygen` prints: 32 random bytes, base64)."""
    return base64.b64encode(os.urandom(32)).decode()


def agent_env(datacenter: str, host: Host, server: bool, servers: list[str],
              key: str | None) -> dict[str, str]:
    """The consul-agent start script's settings (services/consul/bin/consul-agent)."""
    env = {"WAKE_CONSUL_MODE": "server" if server else "client",
           "WAKE_DATACENTER": datacenter, "WAKE_NODE": host.name,
           "WAKE_BIND": host.address, "WAKE_EXPECT": str(len(servers)),
           "WAKE_JOIN": " ".join(servers)}
    if key:
        env["WAKE_ENCRYPT"] = key
    return env


def _consul_env(layout: Layout, host: Host, key: str | None = None) -> dict[str, str]:
    return agent_env(layout.name, host, host in layout.servers,
                     [s.address for s in layout.servers], key)


def consul_at(address: str, token: str | None = None, timeout: float = 5.0) -> Any:
    """A consul.Consul for the agent at host:port."""
    return Cluster("-", address, token).client(timeout)


def wait_for_leader(address: str, servers: int, say: Say,
                    timeout: float = LEADER_TIMEOUT) -> str:
    say(f"waiting for a Consul leader and {servers} server{'s' if servers > 1 else ''}")
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            client = consul_at(address)
            leader = client.status.leader()
            peers = client.status.peers()
            if leader and len(peers) >= servers:
                return str(leader)
            last = f"leader {leader or '(none)'}, {len(peers)} of {servers} servers"
        except (requests.exceptions.RequestException, Exception) as exc:  # noqa: BLE001
            last = type(exc).__name__
        time.sleep(1)
    raise WakeError(f"Consul at {address} has no leader with {servers} servers after "
                    f"{timeout:g} s ({last}); see the wake-*-consul containers' logs")


def register_host(host: Host, cpus: int, memory: int) -> None:
    """`wake-host` on the host's own agent: its health is the agent's (serf) health."""
    agent = consul_at(host_port(host.address, CONSUL_HTTP_PORT)).agent
    agent.service.register(HOST_SERVICE, service_id=HOST_SERVICE, address=host.address,
                           meta={"docker": host.docker, "driver": host.driver,
                                 "cpus": str(cpus), "memory": str(memory)})


def _register(layout: Layout, host: Host, cpus: int, memory: int) -> None:
    register_host(host, cpus, memory)
    if host == layout.first:
        agent = consul_at(layout.consul_http(host)).agent
        agent.service.register(
            RSYSLOG_SERVICE, service_id=RSYSLOG_SERVICE, address=host.address,
            port=SYSLOG_PORT,
            check={"TCP": layout.syslog, "Interval": "5s", "Timeout": "3s"})
        agent.service.register(
            REGISTRY_SERVICE, service_id=REGISTRY_SERVICE, address=host.address,
            port=REGISTRY_PORT,
            check={"HTTP": f"https://{layout.registry}/v2/", "Interval": "5s",
                   "Timeout": "3s", "TLSSkipVerify": True})


def wait_for_health(address: str, services_: list[str], say: Say,
                    timeout: float = HEALTH_TIMEOUT) -> None:
    say(f"waiting for {', '.join(services_)} to pass their checks")
    deadline = time.monotonic() + timeout
    pending = list(services_)
    while time.monotonic() < deadline:
        client = consul_at(address)
        pending = [s for s in services_
                   if not client.health.service(s, passing=True)[1]]
        if not pending:
            return
        time.sleep(1)
    raise WakeError(f"{', '.join(pending)} did not pass their checks within {timeout:g} s; "
                    "`wake cluster status` shows the checks' output")


@contextmanager
def _clients(layout: Layout) -> Iterator[dict[str, docker.DockerClient]]:
    made = {}
    try:
        for host in layout.hosts:
            made[host.name] = host.client()
        yield made
    finally:
        for client in made.values():
            client.close()


def create(name: str, host_names: list[str] | None = None, local: bool = False,
           say: Say = print) -> Cluster:
    """Bring a cluster up from nothing on its hosts and add it to clusters.json."""
    layout = layout_for(name, host_names, local)
    if name in clusters.load().clusters:
        raise UsageError(f"a cluster named {name!r} exists already in {clusters.path()}; "
                         f"`wake cluster destroy {name}` first")
    started = time.monotonic()
    with _clients(layout) as clients:
        check_ports_free(layout)
        say(f"cluster {name}: {len(layout.servers)} Consul server(s) on "
            f"{', '.join(h.name for h in layout.servers)}; rsyslog and registry on "
            f"{layout.first.name}")
        images = services.build(say)
        build = engine.connect()
        folder = wake_home() / "clusters" / name
        key = gossip_key()  # Consul keeps it in its keyring too
        try:
            cert = tls.make(folder, f"wake cluster {name}", [layout.first.address])
            write_atomically(folder / GOSSIP_KEY_FILE, f"{key}\n".encode())
            for host in layout.hosts:
                wanted = images.all() if host == layout.first else [images.consul]
                copy_images(build, clients[host.name], wanted, host.name, say)
            for host in layout.hosts:
                say(f"{host.name}: starting Consul "
                    f"{'server' if host in layout.servers else 'client'} on {host.address}")
                run_service(clients[host.name], layout, host, "consul", images.consul,
                            _consul_env(layout, host, key))
            master = layout.consul_http(layout.first)
            leader = wait_for_leader(master, len(layout.servers), say)
            say(f"Consul leader: {leader} (gossip encrypted)")
            consul_at(master).kv.put(KV_REGISTRY_CA, cert.ca.decode())
            first = clients[layout.first.name]
            bind = {"WAKE_BIND": layout.first.address}
            run_service(first, layout, layout.first, "rsyslog", images.rsyslog,
                        {**bind, "WAKE_SYSLOG_PORT": str(SYSLOG_PORT)})
            run_service(first, layout, layout.first, "registry", images.registry,
                        {**bind, "WAKE_REGISTRY_PORT": str(REGISTRY_PORT)},
                        files={"etc/wake-registry/tls.crt": cert.cert,
                               "etc/wake-registry/tls.key": cert.key})
            say(f"trusting the cluster CA for {layout.registry} on every engine")
            for engine_client in [build, *clients.values()]:
                trust_ca(engine_client, images.consul, layout.registry, cert.ca)
            for host in layout.hosts:
                cpus, memory = hosts.capacity(clients[host.name])
                _register(layout, host, cpus, memory)
            wait_for_health(master, [HOST_SERVICE, RSYSLOG_SERVICE, REGISTRY_SERVICE], say)
            cluster = clusters.add(
                name, master, check=True,
                servers=tuple(layout.consul_http(h) for h in layout.servers),
                registry=layout.registry,
                hosts=tuple(h.name for h in layout.hosts))
        except BaseException:
            say(f"cluster {name}: create failed; removing what it started")
            _remove_containers(layout.name, layout.hosts, clients, say)
            shutil.rmtree(folder, ignore_errors=True)
            raise
    say(f"cluster {name} is up in {time.monotonic() - started:.0f} s: consul {master}, "
        f"registry {layout.registry}, syslog {layout.syslog}")
    return cluster


def remove_cluster_containers(client: docker.DockerClient, name: str,
                              graceful: bool = False) -> list[tuple[str, str]]:
    """Remove the cluster's containers from one engine; returns (name, image) of each.
    `graceful` stops each first, so a Consul client agent leaves the cluster."""
    removed = []
    for container in client.containers.list(
            all=True, filters={"label": f"{LABEL_CLUSTER}={name}"}):
        if graceful:
            with contextlib.suppress(docker.errors.APIError):
                container.stop(timeout=15)
        container.remove(force=True, v=True)
        removed.append((str(container.name), str(container.attrs["Config"]["Image"])))
    return removed


def _remove_containers(name: str, members: tuple[Host, ...],
                       clients: dict[str, docker.DockerClient], say: Say) -> list[str]:
    """Remove the cluster's containers from each host; returns the hosts that failed."""
    failed = []
    for host in members:
        client = clients.get(host.name)
        try:
            if client is None:
                client = host.client(timeout=15)
            for container, _image in remove_cluster_containers(client, name):
                say(f"{host.name}: removed {container}")
        except (WakeError, docker.errors.DockerException,
                requests.exceptions.RequestException) as exc:
            say(f"{host.name}: could not clean up: {exc}")
            failed.append(host.name)
    return failed


def destroy(name: str, say: Say = print) -> None:
    """Remove every container the cluster's create started, its CA, and its entry."""
    cluster = clusters.load().get(name)
    if not cluster.hosts:
        raise UsageError(f"cluster {name} was added by address, not made by `wake cluster "
                         f"create`; wake does not know its hosts. `wake clusters remove "
                         f"{name}` forgets it")
    known = hosts.load()
    members = tuple(hosts.local_host() if h == hosts.LOCAL else known.get(h) or
                    Host(h, "", "") for h in cluster.hosts)
    missing = [h.name for h in members if not h.docker]
    clients: dict[str, docker.DockerClient] = {}
    failed = list(missing)
    # Forget the CA where the registry was trusted (while an image to do it with exists).
    if cluster.registry:
        for host in [m for m in members if m.docker]:
            try:
                client = clients[host.name] = host.client(timeout=15)
                image = _consul_image(client, name)
                if image:
                    forget_ca(client, image, cluster.registry)
            except (WakeError, docker.errors.DockerException,
                    requests.exceptions.RequestException):
                pass  # reported by _remove_containers below
        try:
            build = engine.connect()
            image = _consul_image(build, None)
            if image:
                forget_ca(build, image, cluster.registry)
        except (WakeError, docker.errors.DockerException):
            pass
    failed += _remove_containers(name, tuple(m for m in members if m.docker), clients, say)
    if failed:
        raise WakeError(f"cluster {name}: could not clean up on {', '.join(sorted(failed))}; "
                        "bring those hosts back and run destroy again, or `wake clusters "
                        f"remove {name}` to forget the cluster anyway")
    shutil.rmtree(wake_home() / "clusters" / name, ignore_errors=True)
    clusters.remove(name)
    say(f"cluster {name} destroyed (hosts kept: `wake hosts rm NAME` removes them)")


def _consul_image(client: docker.DockerClient, cluster: str | None) -> str | None:
    """An image on that engine that has sh (the cluster's Consul image, or any wake one)."""
    if cluster:
        for container in client.containers.list(
                all=True, filters={"label": [f"{LABEL_CLUSTER}={cluster}",
                                             f"{LABEL_SERVICE}=consul"]}):
            return str(container.attrs["Config"]["Image"])
    rows = client.api.images(name=f"wake/{services.CONSUL}/release-agent")
    for row in rows:
        for tag in row.get("RepoTags") or []:
            return str(tag)
    return None
