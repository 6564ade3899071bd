"""Make and remove clusters: `wake cluster create` and `wake cluster destroy`.

Where services run is layout.py; what is done on each host is provision.py. The service
images are wake apps (services.py) built by the build graph and copied to each host's
engine (docker save | docker load: the registry is not up yet).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from .. import engine as engine_mod
from ..consul import Agent, ConsulDenied, ConsulUnreachable, wait_for_leader
from ..engine import Engine
from ..errors import UsageError, WakeError
from ..settings import wake_home
from ..statefile import write_atomically
from ..waiting import Pending, wait_until
from . import clusters, hosts, services, tls
from .clusters import Cluster
from .hosts import Host
from .layout import (
    GOSSIP_KEY_FILE,
    HEALTH_TIMEOUT,
    HOST_SERVICE,
    KV_REGISTRY_CA,
    LEADER_TIMEOUT,
    PROXY_PORT,
    PROXY_SERVICE,
    REGISTRY_PORT,
    REGISTRY_SERVICE,
    RSYSLOG_SERVICE,
    SYSLOG_PORT,
    Layout,
    Say,
    acl_files,
    check_ports_free,
    consul_env,
    gossip_key,
    layout_for,
)
from .provision import (
    consul_image,
    forget_ca,
    register_host,
    register_services,
    remove_cluster_containers,
    run_proxy,
    run_scheduler,
    run_service,
    trust_ca,
)


@contextmanager
def _engines(layout: Layout) -> Iterator[dict[str, Engine]]:
    made: dict[str, Engine] = {}
    try:
        for host in layout.hosts:
            made[host.name] = host.engine()
        yield made
    finally:
        engine_mod.close_all(made.values())


def create(name: str, host_names: list[str] | None = None, local: bool = False,
           say: Say = print, address: str | None = None, acl: bool = False) -> Cluster:
    """Bring a cluster up from nothing on its hosts (or this machine's engine, its
    services on the loopback `address`) and add it to clusters.json. With `acl`, Consul
    denies whatever its new token (saved in clusters.json) does not allow (docs/clusters.md)."""
    layout = layout_for(name, host_names, local, address)
    if acl:
        layout = replace(layout, token=str(uuid.uuid4()))
    if name in clusters.load().clusters:
        raise UsageError(f"a cluster named {name!r} exists already in {clusters.path()}; "
                         f"`wake cluster destroy {name}` first")
    started = time.monotonic()
    with _engines(layout) as engines:
        check_ports_free(layout)
        say(f"cluster {name}: {len(layout.servers)} Consul server(s) on "
            f"{', '.join(h.name for h in layout.servers)}; rsyslog and registry on "
            f"{layout.first.name}")
        images = services.build(say)
        build = engine_mod.connect()
        folder = wake_home() / "clusters" / name
        key = gossip_key()  # Consul keeps it in its keyring too
        try:
            cert = tls.make(folder, f"wake cluster {name}", [layout.first.address])
            write_atomically(folder / GOSSIP_KEY_FILE, f"{key}\n".encode())
            for host in layout.hosts:
                wanted = images.all() if host == layout.first else images.every_host()
                build.copy_images_to(engines[host.name], wanted, say)
            for host in layout.hosts:
                say(f"{host.name}: starting Consul "
                    f"{'server' if host in layout.servers else 'client'} on {host.address}")
                run_service(engines[host.name], layout, host, "consul", images.consul,
                            consul_env(layout, host, key),
                            files=acl_files(layout.name, layout.token, host in layout.servers))
            master = layout.consul_http(layout.first)
            agent = Agent(master, layout.token)
            say(f"waiting for a Consul leader and {len(layout.servers)} server(s)")
            leader = wait_for_leader(agent, len(layout.servers), LEADER_TIMEOUT)
            say(f"Consul leader: {leader} (gossip encrypted)")
            if layout.token:
                _anonymous_dns(agent)
                say("ACLs on (default deny): the token is in clusters.json; without it "
                    "only nodes and services can be read (Consul's DNS)")
            agent.kv_put(KV_REGISTRY_CA, cert.ca.decode())
            first = engines[layout.first.name]
            bind = {"WAKE_BIND": layout.first.address}
            run_service(first, layout, layout.first, "rsyslog", images.rsyslog,
                        {**bind, "WAKE_SYSLOG_PORT": str(SYSLOG_PORT)})
            run_service(first, layout, layout.first, "registry", images.registry,
                        {**bind, "WAKE_REGISTRY_PORT": str(REGISTRY_PORT)},
                        files={"etc/wake-registry/tls.crt": cert.cert,
                               "etc/wake-registry/tls.key": cert.key})
            say(f"trusting the cluster CA for {layout.registry} on every engine")
            for engine in [build, *engines.values()]:
                trust_ca(engine, images.consul, layout.registry, cert.ca)
            for host in layout.hosts:
                register_host(host, *engines[host.name].capacity(), token=layout.token)
            register_services(layout)
            say(f"waiting for {HOST_SERVICE}, {RSYSLOG_SERVICE}, {REGISTRY_SERVICE} to pass "
                "their checks")
            for service in (HOST_SERVICE, RSYSLOG_SERVICE, REGISTRY_SERVICE):
                agent.wait_passing(service, HEALTH_TIMEOUT)
            say("starting the cron scheduler on every host (one is active at a time)")
            for host in layout.hosts:
                run_scheduler(engines[host.name], layout, host, images.scheduler)
            say(f"starting the dependency proxy on every host (port {PROXY_PORT} on the "
                f"cluster network's gateway)")
            for host in layout.hosts:
                run_proxy(engines[host.name], layout, host, images.proxy)
            for host in layout.hosts:
                agent.wait_passing(PROXY_SERVICE, HEALTH_TIMEOUT, node=host.name)
            cluster = clusters.add(
                name, master, layout.token, check=True,
                servers=tuple(layout.consul_http(h) for h in layout.servers),
                registry=layout.registry,
                hosts=tuple(h.name for h in layout.hosts))
        except BaseException:
            say(f"cluster {name}: create failed; removing what it started")
            _remove_containers(layout.name, layout.hosts, engines, say)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            build.close()
    say(f"cluster {name} is up in {time.monotonic() - started:.0f} s: consul {master}, "
        f"registry {layout.registry}, syslog {layout.syslog}")
    return cluster


def _anonymous_dns(agent: Agent) -> None:
    """The anonymous token's DNS policy; the servers make the management token when the
    first leader takes office, so a moment after the election it may not be known yet
    (403) or the leader not settled (500, no answer). Any other refusal is final."""
    def done() -> bool:
        try:
            agent.allow_anonymous_dns()
        except (ConsulDenied, ConsulUnreachable) as exc:
            raise Pending(str(exc)) from None
        return True
    wait_until(done, LEADER_TIMEOUT, "Consul's ACL system ready for the cluster's token",
               hint="see the wake-*-consul containers' logs")


def _remove_containers(name: str, members: tuple[Host, ...], engines: dict[str, Engine],
                       say: Say) -> list[str]:
    """Remove the cluster's containers from each host; returns the hosts that failed."""
    failed = []
    for host in members:
        try:
            engine = engines.get(host.name) or host.engine(timeout=15)
            for container in remove_cluster_containers(engine, name):
                say(f"{host.name}: removed {container.name}")
        except WakeError as exc:
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
    engines: dict[str, Engine] = {}
    failed = list(missing)
    try:
        # Forget the CA where the registry was trusted (while an image to do it with exists).
        if cluster.registry:
            for host in [m for m in members if m.docker]:
                try:
                    engine = engines[host.name] = host.engine(timeout=15)
                    image = consul_image(engine, name)
                    if image:
                        forget_ca(engine, image, cluster.registry)
                except WakeError:
                    pass  # reported by _remove_containers below
            try:
                build = engine_mod.connect()
                image = consul_image(build, None)
                if image:
                    forget_ca(build, image, cluster.registry)
                build.close()
            except WakeError:
                pass
        failed += _remove_containers(name, tuple(m for m in members if m.docker), engines,
                                     say)
    finally:
        engine_mod.close_all(engines.values())
    if failed:
        raise WakeError(f"cluster {name}: could not clean up on {', '.join(sorted(failed))}; "
                        "bring those hosts back and run destroy again, or `wake clusters "
                        f"remove {name}` to forget the cluster anyway")
    shutil.rmtree(wake_home() / "clusters" / name, ignore_errors=True)
    clusters.remove(name)
    say(f"cluster {name} destroyed (hosts kept: `wake hosts rm NAME` removes them)")
