"""`wake status`: per app its current release and instances, and whether the cluster
runs what the workspace wants."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from ..build.session import Session
from ..cluster.clusters import Cluster
from ..errors import UsageError, WakeError
from ..proxy import routes
from . import converge, deployer, instances
from .store import ReleaseStore
from .target import Target


@dataclass
class InstanceStatus:
    instance: str
    process: str
    host: str
    address: str
    port: int | None
    health: str
    release: str
    uptime: float | None  # seconds, None when its engine did not say

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/" if self.port else ""


@dataclass
class AppStatus:
    app: str
    current: str | None
    wanted: str | None  # None: not in the workspace
    matches: bool
    why: str
    instances: list[InstanceStatus] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # the next deploy repairs them


def collect(session: Session, cluster: Cluster, only: list[str]) -> list[AppStatus]:
    target = Target.open(cluster)
    try:
        session.materializer.base_id_fallback = target.base_image_id
        workspace_apps = [a.name for a in session.workspace.apps]
        deployed = sorted({i.app for i in instances.instances(target.agent)})
        names = only or sorted(set(workspace_apps) | set(deployed))
        unknown = [n for n in only if n not in workspace_apps and n not in deployed]
        if unknown:
            raise UsageError(f"no app {', '.join(unknown)} in the workspace or on cluster "
                             f"{cluster.name}")
        return [_app(session, target, name, name in workspace_apps) for name in names]
    finally:
        target.close()


def _app(session: Session, target: Target, app: str, in_workspace: bool) -> AppStatus:
    wanted, matches, why = None, False, "not in the workspace"
    if in_workspace:
        state = deployer.observe(session, target, app)  # reads current, instances, leftovers
        current, running, leftovers = state.current, state.running, state.leftovers
        wanted, matches = state.want.id, state.up_to_date
        why = ("matches the workspace" if matches else
               "never deployed" if current is None else
               "the workspace wants another release" if current != wanted else
               "instances missing or failing: " + ", ".join(
                   f"{p} {n} short" if n else f"{p} to remove"
                   for p, n in sorted(state.missing.items())) if state.missing else
               "instances beyond the wanted ones: " + ", ".join(
                   f"{p} {n} extra" for p, n in sorted(state.surplus.items()))
               if state.surplus else
               "leftovers the next deploy repairs")
    else:
        current, _ = ReleaseStore(target.agent, app).current()
        running = instances.instances(target.agent, app)
        leftovers = converge.find(target, app, running)
    return AppStatus(app, current, wanted, matches, why,
                     [_instance(target, i) for i in running],
                     leftovers.describe() if leftovers is not None else [])


def _instance(target: Target, i: instances.Instance) -> InstanceStatus:
    uptime = None
    try:
        container = target.engine(i.host).container(i.container)
        if container is not None and container.started and container.status == "running":
            uptime = max(0.0, time.time() - container.started)
    except WakeError:
        pass
    return InstanceStatus(i.instance, i.process, i.host, i.address, i.port, i.health,
                          i.release[:12], uptime)


def proxies(cluster: Cluster) -> list[str]:
    """One line per host's dependency proxy: its health and what it serves."""
    agent = cluster.answering()
    served = routes.loaded(agent)
    lines = []
    for host, health in sorted(routes.proxies(agent).items()):
        loaded = served.get(host)
        what = (", ".join(loaded.apps) or "no dependencies") if loaded else "nothing reported"
        lines.append(f"proxy on {host}: {health}, serving {what}")
    return lines or ["no dependency proxies registered (a cluster made before wake had them: "
                     "`wake cluster join` a host again, or make the cluster anew)"]


def to_json(found: list[AppStatus]) -> str:
    return json.dumps([{**asdict(app), "instances": [
        {**asdict(i), "url": i.url} for i in app.instances]} for app in found], indent=2)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def render(found: list[AppStatus]) -> str:
    if not found:
        return "no apps in the workspace or on the cluster"
    lines = []
    for app in found:
        current = app.current[:12] if app.current else "(none)"
        lines.append(f"{app.app}  release {current}  {'ok' if app.matches else 'DIFFERS'}: "
                     f"{app.why}")
        for i in app.instances:
            where = f"{i.address}:{i.port}" if i.port else i.address
            lines.append(f"  {i.instance:<16} {i.host:<12} {where:<22} {i.health:<9} "
                         f"up {_age(i.uptime):<5} release {i.release}")
        lines += [f"  ! {line} (the next deploy repairs it)" for line in app.leftovers]
    return "\n".join(lines)
