"""The cluster a deploy goes to: its Consul, its hosts and their engines, its registry and
log master, and getting a release image onto a host.

Images travel through the cluster's registry and hosts pull them by digest; a host whose
engine is the build engine itself (a local cluster) uses the image it has, and a host
that has the image already pulls nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import engine as engine_mod
from .. import registry as registry_mod
from ..cluster import hosts as hosts_mod
from ..cluster.clusters import Cluster
from ..cluster.hosts import Host
from ..cluster.layout import KV_REGISTRY_CA, REGISTRY_SERVICE, RSYSLOG_SERVICE
from ..consul import Agent, ConsulUnreachable
from ..engine import Engine
from ..errors import WakeError
from ..waiting import wait_until
from . import instances
from .instances import HostInfo
from .release import CronRelease, ProcessRelease

ENGINE_TIMEOUT = 30.0  # seconds for one answer of a host's engine (streams: per read)
BASE_REPOSITORY = "wake-base"  # the base image in a cluster's registry (stage keys use it)
ELECTION_WAIT = 20.0  # seconds (as cluster.status.ELECTION_WAIT)


@dataclass
class Target:
    cluster: Cluster
    agent: Agent
    hosts: dict[str, HostInfo]
    registry: str | None  # host:port of the cluster's registry
    registry_ca: bytes | None
    syslog: str | None  # host:port of the rsyslog master
    _known: dict[str, Host] = field(default_factory=dict)
    _engines: dict[str, Engine] = field(default_factory=dict)
    _identities: dict[str, str] = field(default_factory=dict)
    _pushed: dict[str, str] = field(default_factory=dict)  # local tag -> digest
    _unreachable: dict[str, WakeError] = field(default_factory=dict)  # asked once per run
    _gateways: dict[str, str] = field(default_factory=dict)  # host -> its proxy's address

    @classmethod
    def open(cls, cluster: Cluster) -> Target:
        # A server lost a moment ago makes the agents answer 500 until the others have
        # elected a leader: wait that out, as `wake cluster status` does.
        return wait_until(lambda: cls._read(cluster), ELECTION_WAIT,
                          f"cluster {cluster.name}: reading its hosts and services",
                          retry_on=(ConsulUnreachable,))

    @classmethod
    def _read(cls, cluster: Cluster) -> Target:
        agent = cluster.answering()
        registry = agent.service_address(REGISTRY_SERVICE)
        syslog = agent.service_address(RSYSLOG_SERVICE)
        ca = agent.kv_get(KV_REGISTRY_CA)
        found = {h.name: h for h in instances.hosts(agent)}
        return cls(cluster, agent, found, registry, ca.value if ca else None, syslog,
                   hosts_mod.load())

    def close(self) -> None:
        engine_mod.close_all(self._engines.values())
        self._engines.clear()

    def engine(self, host: str) -> Engine:
        """The host's engine; one that did not answer is not asked again in this run (a
        dead host costs one bounded timeout, not one per instance)."""
        if host in self._unreachable:
            raise self._unreachable[host]
        if host not in self._engines:
            info = self.hosts.get(host)
            if info is None:
                raise WakeError(f"host {host} is not registered in cluster "
                                f"{self.cluster.name}")
            try:
                self._engines[host] = info.host(self._known).engine(timeout=ENGINE_TIMEOUT)
            except WakeError as exc:
                self._unreachable[host] = exc
                raise
        return self._engines[host]

    def proxy(self, host: str) -> str:
        """The address of the host's dependency proxy as its instances see it: the
        gateway of the cluster's network there (the network is made if missing)."""
        if host not in self._gateways:
            from ..cluster.provision import cluster_network

            self._gateways[host] = cluster_network(self.engine(host), self.cluster.name)
        return self._gateways[host]

    def same_engine(self, host: str, build: Engine) -> bool:
        """Whether the host's engine is the build engine (a local cluster)."""
        if "build" not in self._identities:
            self._identities["build"] = build.identity()
        if host not in self._identities:
            self._identities[host] = self.engine(host).identity()
        return self._identities[host] == self._identities["build"]

    def push(self, build: Engine, process: ProcessRelease | CronRelease) -> str:
        """Push a release image to the cluster's registry (once); its digest."""
        if process.image not in self._pushed:
            if not self.registry:
                raise WakeError(f"cluster {self.cluster.name} has no registry in Consul "
                                f"({REGISTRY_SERVICE}); hosts other than this machine's "
                                "engine cannot get images")
            self._pushed[process.image] = registry_mod.push(build, self.registry,
                                                            process.image)
        return self._pushed[process.image]

    def image_on(self, host: str, build: Engine, process: ProcessRelease | CronRelease,
                 say: engine_mod.LineSink) -> str:
        """A reference to the process's image on the host's engine, pulling it by digest
        if the host lacks it; the build engine's own hosts use the local image."""
        if self.same_engine(host, build):
            # The tag; or, for a rollback to an image whose tag moved on, its id.
            return process.image if build.inspect(process.image) else process.image_id
        engine = self.engine(host)
        if engine.inspect(process.image_id) is not None:
            return process.image_id
        digest = process.digest or self.push(build, process)
        assert self.registry
        repository = process.image.rsplit(":", 1)[0]
        say(f"  {host}: pulling {repository}@{digest[:19]}")
        engine.pull(f"{registry_mod.host(self.registry)}/{repository}@{digest}")
        return process.image_id

    def has_digest(self, process: ProcessRelease | CronRelease) -> bool:
        """Whether the cluster's registry still has the process's image by its digest."""
        if not self.registry or not process.digest:
            return False
        repository = process.image.rsplit(":", 1)[0]
        return registry_mod.has(self.registry, repository, process.digest, self.registry_ca)

    def all_local(self, build: Engine) -> bool:
        """Whether every host's engine is the build engine (a local cluster: no registry
        needed)."""
        return all(self.same_engine(name, build) for name, h in self.hosts.items()
                   if h.passing)

    def base_image_id(self, base_image: str) -> str | None:
        """The base image's id from the cluster's registry, without pulling it (stage keys
        on a build engine that lacks the base image)."""
        if not self.registry:
            return None
        repository, tag = engine_mod.split_ref(base_image)
        return registry_mod.image_id(self.registry, f"{BASE_REPOSITORY}/{repository}", tag,
                                     self.registry_ca)

    def publish_base(self, build: Engine, base_image: str) -> None:
        """Keep the base image in the cluster's registry, so any machine can compute the
        stage keys without it (layers the release images share: a cheap push)."""
        if not self.registry:
            return
        repository, tag = engine_mod.split_ref(base_image)
        if registry_mod.has(self.registry, f"{BASE_REPOSITORY}/{repository}", tag,
                            self.registry_ca):
            return
        remote = f"{registry_mod.host(self.registry)}/{BASE_REPOSITORY}/{repository}:{tag}"
        build.tag(base_image, remote)
        build.push(remote)
        build.untag(remote)
