"""Instances: one container of one process on one host, registered in Consul.

What runs is read from Consul (every app's instances, with their host, release and size,
as the service `<app>` on the agent of the host they run on) and from the hosts'
`wake-host` registrations (capacity). An instance is started, checked, drained and
stopped here; rollout.py decides the order.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..cluster.hosts import Host
from ..cluster.layout import (
    CONSUL_HTTP_PORT,
    HOST_SERVICE,
    LABEL_CLUSTER,
    host_port,
    network_name,
)
from ..consul import Agent, ConsulTimedOut, ConsulUnreachable
from ..engine import Container, Engine
from ..errors import WakeError
from ..proxy.haproxy import HTTP_TAG
from ..waiting import Pending, wait_until
from .release import ProcessRelease, Release

PORT = 8000  # every web process listens here inside its container
APP_TAG = "wake-app"  # the tag that marks a Consul service as a wake app
CHECK_INTERVAL = "2s"
DEREGISTER_AFTER = "2m"  # Consul drops an instance critical this long (a dead host's)
MIN_RUNNING = 2.0  # seconds a process without an HTTP check must keep running
# How long a host's agent that holds calls unanswered (just restarted, finding the
# leader) is given before a deploy gives up on the host.
AGENT_WAIT = 30.0
LABEL_APP, LABEL_PROCESS = "wake.app", "wake.process"
LABEL_RELEASE, LABEL_INSTANCE = "wake.release", "wake.instance"


@dataclass(frozen=True)
class HostInfo:
    """A host as its Consul registration says: where, how big, and whether it is up."""

    name: str
    address: str
    docker: str
    driver: str
    cpus: float
    memory: int  # MB
    passing: bool
    token: str | None = field(default=None, repr=False)  # the cluster's ACL token

    def host(self, known: dict[str, Host]) -> Host:
        """The host with what this machine knows of it (TLS folder) where it knows it."""
        return known.get(self.name) or Host(self.name, self.docker, self.address, self.driver)

    def agent(self, timeout: float = 5.0) -> Agent:
        return Agent(host_port(self.address, CONSUL_HTTP_PORT), self.token, timeout=timeout)

    def on_agent(self, what: str, call: Callable[[Agent], object]) -> None:
        """`call` on the host's own agent, tried again while the agent holds calls
        unanswered (it has just restarted: ConsulTimedOut) for up to AGENT_WAIT; a
        refusal or an error ends it at once."""
        def attempt() -> bool:
            call(self.agent())
            return True
        wait_until(attempt, AGENT_WAIT, f"host {self.name}: {what}",
                   retry_on=(ConsulTimedOut,))

    def deregister(self, service_id: str) -> None:
        """An instance out of Consul, through its host's agent (on_agent)."""
        self.on_agent(f"deregister {service_id}",
                      lambda agent: agent.deregister_service(service_id))


@dataclass(frozen=True)
class Instance:
    app: str
    process: str
    instance: str  # e.g. web-3f2a9c; unique in the app
    host: str
    release: str  # the full release id
    cpu: float
    memory: int  # MB
    address: str
    port: int | None
    health: str  # passing | warning | critical
    container: str
    spec: str = ""  # ProcessRelease.spec of what it runs

    @property
    def service_id(self) -> str:
        return f"{self.app}-{self.instance}"


def new_instance_name(process: str) -> str:
    return f"{process}-{secrets.token_hex(3)}"


def container_name(app: str, instance: str) -> str:
    return f"wake-{app}-{instance}"


def _worst(checks: list[dict[str, object]]) -> str:
    states = {str(c.get("Status", "critical")) for c in checks}
    for state in ("critical", "warning", "maintenance"):
        if state in states:
            return state
    return "passing"


def hosts(agent: Agent) -> list[HostInfo]:
    found = []
    for entry in agent.health_service(HOST_SERVICE):
        service, node = entry["Service"], entry["Node"]
        meta = service.get("Meta") or {}
        found.append(HostInfo(
            str(node["Node"]), str(service.get("Address") or node.get("Address", "")),
            str(meta.get("docker", "")), str(meta.get("driver", "existing")),
            float(meta.get("cpus", 0) or 0), int(int(meta.get("memory", 0) or 0) / 2**20),
            _worst(entry["Checks"]) == "passing", agent.token))
    return sorted(found, key=lambda h: h.name)


def instances(agent: Agent, app: str | None = None) -> list[Instance]:
    """Every wake app instance Consul knows (of one app, if given), with its health."""
    names = [app] if app else [name for name, tags in agent.catalog_services().items()
                               if APP_TAG in tags]
    found = []
    for name in names:
        for entry in agent.health_service(name):
            service = entry["Service"]
            meta = service.get("Meta") or {}
            if APP_TAG not in (service.get("Tags") or []) or "instance" not in meta:
                continue
            found.append(Instance(
                name, str(meta.get("process", "")), str(meta["instance"]),
                str(entry["Node"]["Node"]), str(meta.get("release", "")),
                float(meta.get("cpu", 0) or 0), int(meta.get("memory", 0) or 0),
                str(service.get("Address", "")), int(service["Port"]) or None,
                _worst(entry["Checks"]), str(meta.get("container", "")),
                str(meta.get("spec", ""))))
    return sorted(found, key=lambda i: (i.app, i.process, i.instance))


def start(engine: Engine, host: HostInfo, cluster: str, release: Release,
          process: ProcessRelease, image: str, syslog: str | None,
          instance: str | None = None, proxy: str | None = None) -> Instance:
    """Run one instance of a process on a host, on the cluster's network, and register it
    with that host's agent. `proxy`: the host's proxy address (the network's gateway),
    which the names of the process's dependencies resolve to inside the instance."""
    name = instance or new_instance_name(process.name)
    app = release.app
    labels = {LABEL_CLUSTER: cluster, LABEL_APP: app, LABEL_PROCESS: process.name,
              LABEL_RELEASE: release.id, LABEL_INSTANCE: name}
    log = None
    if syslog:
        # UDP: an rsyslog master that is down never stops an instance from starting.
        log = ("syslog", {"syslog-address": f"udp://{syslog}",
                          "tag": f"{app}.{process.name}.{name}"})
    ports: dict[int, tuple[str, int | None]] | None = (
        {PORT: (host.address, None)} if process.health_path else None)
    container = engine.run(
        image, container_name(app, name), labels,
        env={"WAKE_INSTANCE": name, "WAKE_RELEASE": release.short, "PORT": str(PORT)},
        cpu=process.cpu, memory_mb=process.memory, ports=ports, log=log, hostname=name,
        network=network_name(cluster) if proxy else None,
        extra_hosts={dep: proxy for dep in process.dependencies} if proxy else None)
    return register(host, release.app, release.id, process, name, container)


def register(host: HostInfo, app: str, release_id: str, process: ProcessRelease,
             instance: str, container: Container) -> Instance:
    """Register a running instance as the service `app` on its host's agent."""
    port = container.ports.get(PORT) if process.health_path else None
    check = None
    if process.health_path and port:
        check = {"HTTP": f"http://{host_port(host.address, port)}{process.health_path}",
                 "Interval": CHECK_INTERVAL, "Timeout": "2s",
                 "DeregisterCriticalServiceAfter": DEREGISTER_AFTER}
    made = Instance(app, process.name, instance, host.name, release_id, process.cpu,
                    process.memory, host.address, port, "critical", container.name,
                    process.spec)
    host.on_agent(f"register {made.service_id}", lambda agent: agent.register_service(
        app, host.address, port, service_id=made.service_id,
        # HTTP_TAG: found by the proxies (the SRV records of _APP._http.service.consul).
        tags=[APP_TAG, f"process:{process.name}", f"release:{release_id[:12]}",
              *([HTTP_TAG] if port else [])],
        meta={"process": process.name, "release": release_id, "instance": instance,
              "container": container.name, "cpu": f"{process.cpu:g}",
              "memory": str(process.memory), "spec": process.spec},
        check=check))
    return made


def wait_passing(agent: Agent, engine: Engine, instance: Instance,
                 process: ProcessRelease) -> None:
    """Wait until the instance passes its check (a process without one: until it has
    kept running for `grace` seconds), within the process's `deadline`."""
    started = time.monotonic()
    # Without an HTTP check, passing means still running after a while (a crash loop
    # shows within seconds).
    keep_running = 0.0 if process.health_path else max(process.grace, MIN_RUNNING)

    def passing() -> bool:
        state = engine.container(instance.container)
        if state is None or state.status not in ("running", "restarting"):
            raise InstanceFailed(f"its container is {state.status if state else 'gone'}")
        entries = [e for e in agent.health_service(instance.app)
                   if e["Service"]["ID"] == instance.service_id]
        if not entries:
            raise Pending("not in Consul's catalog yet")
        checks = entries[0]["Checks"]
        if _worst(checks) != "passing":
            own = [c for c in checks if c.get("ServiceID")]
            said = " ".join(str((own or checks)[0].get("Output") or "").split())[:300]
            raise Pending(f"its check is {_worst(checks)}: {said or 'no output yet'}")
        if state.status != "running" or time.monotonic() - started < keep_running:
            raise Pending("running, not long enough yet")
        return True

    if process.grace and process.health_path:
        time.sleep(min(process.grace, process.deadline))
    wait_until(passing, max(process.deadline - (process.grace if process.health_path else 0),
                            1.0),
               f"{instance.app} {instance.instance} on {instance.host} passing",
               interval=0.5, retry_on=(ConsulUnreachable,))


class InstanceFailed(WakeError):
    """The instance's container stopped: waiting longer cannot help."""


def check_output(agent: Agent, instance: Instance) -> str:
    """The last output of the instance's own check, for a failure report."""
    try:
        for entry in agent.health_service(instance.app):
            if entry["Service"]["ID"] == instance.service_id:
                own = [c for c in entry["Checks"] if c.get("ServiceID")]
                if own:
                    return f"{own[0].get('Status')}: {str(own[0].get('Output') or '').strip()}"
    except WakeError as exc:
        return f"(could not read it: {exc})"
    return "(no check registered)"
