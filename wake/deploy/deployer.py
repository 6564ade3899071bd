"""A deploy is a reconcile: observe (Consul and engines), plan (placement), apply
(health-gated, start-first), record (the release and the current pointer in Consul).

The desired release comes from stage keys alone, so whether a deploy is needed is known
before anything is built: `deploy:<app>` is up to date when that release is current and
every instance it wants is passing.
"""

from __future__ import annotations

import getpass
import json
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from ..build import stages
from ..build.builder import StageState
from ..build.session import Session
from ..cluster.clusters import Cluster
from ..errors import UsageError, WakeError
from . import instances, placement, rollout
from .instances import Instance
from .release import ProcessRelease, Release, changes
from .store import ReleaseStore
from .target import Target

Say = Callable[[str], None]


def desired(session: Session, app_name: str) -> Release:
    """The release the workspace wants for an app, from its stage keys (nothing built)."""
    app = next((a for a in session.workspace.apps if a.name == app_name), None)
    if app is None:
        known = ", ".join(a.name for a in session.workspace.apps) or "none"
        raise UsageError(f"no app named {app_name!r} in the workspace; apps: {known}")
    processes = []
    for p in app.manifest.processes:
        mat = session.materializer.get(stages.app_task(app.name, f"release-{p.name}"))
        processes.append(ProcessRelease(
            p.name, mat.key, mat.tag, p.instances, p.cpu, p.memory, p.health_path,
            p.grace, p.deadline, p.stop_timeout))
    return Release(app.name, tuple(processes), tuple(sorted(app.manifest.env_dict.items())))


@dataclass
class State:
    """An app on the cluster compared with what the workspace wants."""

    want: Release
    current: str | None
    index: int
    running: list[Instance]  # the app's instances
    missing: dict[str, int] = field(default_factory=dict)  # process -> instances short

    @property
    def up_to_date(self) -> bool:
        return self.current == self.want.id and not self.missing


def observe(session: Session, target: Target, app: str) -> State:
    want = desired(session, app)
    current, index = ReleaseStore(target.agent, app).current()
    running = instances.instances(target.agent, app)
    missing = {}
    for p in want.processes:
        passing = [i for i in running if i.process == p.name and i.spec == p.spec
                   and i.health == "passing"]
        if len(passing) < p.instances:
            missing[p.name] = p.instances - len(passing)
    extra = {i.process for i in running} - {p.name for p in want.processes}
    missing.update({name: 0 for name in extra})  # a process to remove: not up to date
    return State(want, current, index, running, missing)


def _commit(session: Session, app: str) -> str:
    root = next(a.root for a in session.workspace.apps if a.name == app)
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _ensure_images(session: Session, release: Release) -> Release:
    """Build (or reuse, or pull from the build cache) the app's release images and what
    they come from; record their image ids."""
    graph = session.graph
    wanted = {stages.app_task(release.app, f"release-{p.name}") for p in release.processes}
    needed = set(wanted)
    for node in wanted:
        needed |= nx.ancestors(graph, node)
    builder = session.builder
    for node in stages.ordered(graph):
        # doit's setup built them already; `wake deploy` outside doit builds them here.
        if node in needed and builder.state(node) is not StageState.CURRENT:
            builder.ensure(node)
    engine = session.materializer.client
    for p in release.processes:
        attrs = engine.inspect(p.image)
        if attrs is None:
            raise WakeError(f"{p.image} is not in the engine after its build")
        release = release.with_process(replace(p, image_id=str(attrs["Id"])))
    return release


def deploy(session: Session, cluster: Cluster, app: str, say: Say) -> dict[str, Any]:
    """Deploy one app to the cluster; returns the result (what `--json` prints)."""
    began = time.monotonic()
    target = Target.open(cluster)
    try:
        session.materializer.base_id_fallback = target.base_image_id
        state = observe(session, target, app)
        want = state.want
        if state.up_to_date:
            say(f"{app}: release {want.short} is current and every instance passes; "
                "nothing to do")
            return _result(app, want, "up to date", state.running, began)
        store = ReleaseStore(target.agent, app)
        old = store.get(state.current) if state.current else None
        say(f"{app}: deploying release {want.short} to cluster {cluster.name} "
            f"(current: {state.current[:12] if state.current else 'none'})")
        release = _ensure_images(session, want)
        build = session.materializer.client
        target.publish_base(build, session.settings.base_image)
        record = replace(release, deployed_by=getpass.getuser(),
                         deployed_from=socket.gethostname(), commit=_commit(session, app),
                         at=time.time(), changes=changes(old, release))
        everyone = instances.instances(target.agent)
        rollout_plan = plan(target, record, everyone)
        for line in rollout_plan.describe():
            say(f"  plan: {line}")
        store.save(record)
        running = {i.instance: i for i in everyone if i.app == app}
        try:
            done = rollout.apply(rollout_plan, target, build, record, old, running, say)
        except rollout.DeployFailed as exc:
            store.save(replace(record, result="failed", error=str(exc)[:2000]))
            raise
        store.point_to(record.id, state.index)
        rollout.finish(done, target, say)
        store.save(replace(record, result="succeeded"))
        say(f"{app}: release {record.short} is current ({time.monotonic() - began:.1f} s)")
        return _result(app, record, "deployed", instances.instances(target.agent, app), began)
    finally:
        target.close()


def preview(session: Session, target: Target, app: str) -> dict[str, Any]:
    """What a deploy of `app` would do, without building or starting anything: the
    rollout's steps and, per process that changes, why (the build reasons of `explain`)."""
    from ..build.explain import reasons_for
    from ..build.session import quiet_builder

    state = observe(session, target, app)
    want = state.want
    result: dict[str, Any] = {"app": app, "release": want.id, "current": state.current,
                              "up_to_date": state.up_to_date, "steps": [], "why": {}}
    if state.up_to_date:
        return result
    builder = quiet_builder(session)
    for p in want.processes:
        theirs = [i for i in state.running if i.process == p.name]
        if theirs and all(i.spec == p.spec for i in theirs):
            continue
        if not theirs:
            result["why"][p.name] = ["not running yet"]
            continue
        node = stages.app_task(app, f"release-{p.name}")
        built, reasons = reasons_for(builder, node)
        if built is StageState.CURRENT:
            reasons = ["its image is built already; size, health or stop settings changed"]
        result["why"][p.name] = reasons
    result["steps"] = plan(target, want, instances.instances(target.agent)).describe()
    return result


def states(session: Session, cluster: Cluster) -> dict[str, tuple[str, str]]:
    """Each workspace app's deploy state for `wake graph`: deployed or will deploy (with
    why); every app unknown when the cluster does not answer."""
    apps = [a.name for a in session.workspace.apps
            if not session.only or a.name in session.only]
    try:
        target = Target.open(cluster)
    except WakeError as exc:
        return {app: ("unknown", str(exc)) for app in apps}
    try:
        session.materializer.base_id_fallback = target.base_image_id
        found = {}
        for app in apps:
            try:
                state = observe(session, target, app)
            except WakeError as exc:
                found[app] = ("unknown", str(exc))
                continue
            if state.up_to_date:
                found[app] = ("deployed", f"release {state.want.short} on {cluster.name}")
            else:
                found[app] = ("deploy", f"release {state.want.short} to {cluster.name} "
                              f"(current: {(state.current or 'none')[:12]})")
        return found
    finally:
        target.close()


def render_preview(found: list[dict[str, Any]], cluster: str) -> str:
    lines = [f"deploy to cluster {cluster}:"]
    for app in found:
        if "error" in app:
            lines.append(f"  {app['app']}: cannot plan: {app['error']}")
            continue
        current = (app["current"] or "none")[:12]
        if app["up_to_date"]:
            lines.append(f"  {app['app']}: up to date (release {current})")
            continue
        lines.append(f"  {app['app']}: release {app['release'][:12]} (current: {current})")
        lines += [f"    {step}" for step in app["steps"]]
        for process, reasons in sorted(app["why"].items()):
            lines.append(f"    why {process}: {'; '.join(reasons)}")
    return "\n".join(lines)


def _say(line: str) -> None:
    print(line, flush=True)


def _cluster() -> Cluster:
    from ..cluster import clusters

    return clusters.current()


def up_to_date(session: Session, app: str) -> bool:
    """doit's question: is the wanted release current, with every instance passing?"""
    target = Target.open(_cluster())
    try:
        session.materializer.base_id_fallback = target.base_image_id
        return observe(session, target, app).up_to_date
    finally:
        target.close()


def deploy_task(session: Session, app: str) -> None:
    """The action of `deploy:<app>`: deploy to the current cluster, keep the result."""
    session.results[app] = deploy(session, _cluster(), app, _say)


def plan(target: Target, release: Release, everyone: list[Instance]) -> placement.Rollout:
    rooms = [placement.HostRoom(h.name, h.cpus, h.memory) for h in target.hosts.values()
             if h.passing]
    placed = [placement.Placed(i.app, i.process, i.instance, i.host, i.cpu, i.memory,
                               i.spec) for i in everyone if i.host in target.hosts]
    wants = [placement.Want(release.app, p.name, p.instances, p.cpu, p.memory, p.spec)
             for p in release.processes]
    return placement.plan_rollout(rooms, placed, wants)


def _result(app: str, release: Release, outcome: str, running: list[Instance],
            began: float) -> dict[str, Any]:
    return {"app": app, "release": release.id, "outcome": outcome,
            "seconds": round(time.monotonic() - began, 2),
            "instances": [{"instance": i.instance, "process": i.process, "host": i.host,
                           "address": i.address, "port": i.port, "health": i.health}
                          for i in running]}


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)
