"""A deploy is a reconcile: observe (Consul and engines), plan (placement), apply
(health-gated, start-first), record (the release and the current pointer in Consul).

The desired release comes from stage keys alone, so whether a deploy is needed is known
before anything is built: `deploy:<app>` is up to date when that release is current and
every instance it wants is passing.
"""

from __future__ import annotations

import getpass
import socket
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any

from ..build import stages
from ..build.builder import StageState
from ..build.session import Session
from ..cluster.clusters import Cluster
from ..consul import ConsulUnreachable
from ..engine import Engine
from ..errors import UsageError, WakeError
from ..logs.read import DEPLOY
from ..logs.ship import Shipper
from ..proxy import routes
from ..waiting import wait_until
from . import converge, instances, placement, rollout
from .instances import Instance
from .lock import DeployLock
from .release import CronRelease, ProcessRelease, Release, changes
from .store import Event, ReleaseStore
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
            p.grace, p.deadline, p.stop_timeout,
            dependencies=tuple(sorted(app.manifest.dependencies))))
    jobs = []
    for c in app.manifest.cron_jobs:
        mat = session.materializer.get(stages.app_task(app.name, f"release-{c.name}"))
        jobs.append(CronRelease(c.name, mat.key, mat.tag, c.schedule, c.cpu, c.memory,
                                c.timeout,
                                dependencies=tuple(sorted(app.manifest.dependencies))))
    return Release(app.name, tuple(processes), tuple(sorted(app.manifest.env_dict.items())),
                   tuple(jobs))


@dataclass
class State:
    """An app on the cluster compared with what the workspace wants."""

    want: Release
    current: str | None
    index: int
    running: list[Instance]  # the app's instances
    missing: dict[str, int] = field(default_factory=dict)  # process -> instances short
    leftovers: converge.Leftovers | None = None  # what a deploy would repair first
    # process -> registered instances beyond the wanted ones: more than it wants, or of
    # another spec (a host that comes back brings its old instances back with it).
    surplus: dict[str, int] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        return (self.current == self.want.id and not self.missing and not self.leftovers
                and not self.surplus)


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
    return State(want, current, index, running, missing,
                 converge.find(target, app, running), surplus(want, running))


def surplus(want: Release, running: list[Instance]) -> dict[str, int]:
    """process -> how many of its registered instances are beyond what `want` asks: more
    than its count, or of another spec (a host that comes back after a deploy replaced
    its instances elsewhere brings the old ones back, registered and passing)."""
    found = {}
    for p in want.processes:
        mine = [i for i in running if i.process == p.name]
        beyond = max(len(mine) - p.instances, sum(i.spec != p.spec for i in mine))
        if beyond > 0:
            found[p.name] = beyond
    return found


def _commit(session: Session, app: str) -> str:
    root = next(a.root for a in session.workspace.apps if a.name == app)
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _ensure_images(session: Session, release: Release) -> Release:
    """Build (or reuse, or pull from the build cache) the app's release images and what
    they come from; record their image ids."""
    graph = session.graph
    names = [p.name for p in release.processes] + [c.name for c in release.cron_jobs]
    wanted = {stages.app_task(release.app, f"release-{name}") for name in names}
    needed = set(wanted)
    for node in wanted:
        needed |= graph.ancestors(node)
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
    for c in release.cron_jobs:
        attrs = engine.inspect(c.image)
        if attrs is None:
            raise WakeError(f"{c.image} is not in the engine after its build")
        release = release.with_cron_job(replace(c, image_id=str(attrs["Id"])))
    return release


def deploy(session: Session, cluster: Cluster, app: str, say: Say,
           wait: float = 0.0) -> dict[str, Any]:
    """Deploy one app to the cluster, holding its deploy lock; returns the result (what
    `--json` prints)."""
    began = time.monotonic()
    target = Target.open(cluster)
    # What the deploy says also goes to the log master (`wake logs APP deploy`).
    ship = Shipper(target.syslog, app, DEPLOY, f"{getpass.getuser()}@{socket.gethostname()}")
    say = ship.tee(say)
    try:
        session.materializer.base_id_fallback = target.base_image_id
        want = observe(session, target, app).want
        with DeployLock(target.agent, app, want.id, "deploy", wait) as held:
            # Observed again under the lock: a deploy that held it may have done this.
            state = observe(session, target, app)
            if state.up_to_date:
                say(f"{app}: release {want.short} is current and every instance passes; "
                    "nothing to do")
                return _result(app, want, "up to date", state.running, began)
            say(f"{app}: deploying release {want.short} to cluster {cluster.name} "
                f"(current: {state.current[:12] if state.current else 'none'})")
            release = _ensure_images(session, state.want)
            build = session.materializer.client
            target.publish_base(build, session.settings.base_image)
            roll(target, build, release, state, held, "deploy", _commit(session, app), say,
                 ship)
        say(f"{app}: release {want.short} is current ({time.monotonic() - began:.1f} s)")
        return _result(app, want, "deployed", instances.instances(target.agent, app), began)
    finally:
        ship.close()
        target.close()


def roll(target: Target, build: Engine, release: Release, state: State, held: DeployLock,
         action: str, commit: str, say: Say, ship: Shipper | None = None) -> None:
    """Converge, plan, apply and record one release (a deploy or a rollback), under the
    app's lock. Raises (after putting back what ran) if the rollout fails. `ship`: the
    deploy's line to the log master, for the history events too."""
    app = release.app
    store = ReleaseStore(target.agent, app, ship)
    old = store.get(state.current) if state.current else None
    record = replace(release, deployed_by=getpass.getuser(),
                     deployed_from=socket.gethostname(), commit=commit, at=time.time(),
                     changes=changes(old, release), result="deploying", error="")
    event = store.record(Event(record.at, action, record.id, "deploying", record.deployed_by,
                               record.deployed_from, commit, record.changes))
    try:
        if not target.all_local(build):
            # Hosts pull by digest, and a rollback needs the digest recorded.
            for p in record.processes:
                record = record.with_process(replace(p, digest=p.digest or
                                                     target.push(build, p)))
            # The scheduler's hosts pull cron jobs' images by digest too.
            for c in record.cron_jobs:
                record = record.with_cron_job(replace(c, digest=c.digest or
                                                      target.push(build, c)))
        _spread_cron_images(target, build, record, say)
        _route(target, app, (old.dependencies if old else ()) + record.dependencies, say)
        converge.repair(target, app, say)
        everyone = instances.instances(target.agent)
        steps = plan(target, record, everyone)
        for line in steps.describe():
            say(f"  plan: {line}")
        store.save(record)
        running = {i.instance: i for i in everyone if i.app == app}
        done = rollout.apply(steps, target, build, record, old, running, say, held.check)
        held.check()
        store.point_to(record.id, state.index, held.session)
    except BaseException as exc:
        with suppress(WakeError):  # recording must not hide why the deploy failed
            store.save(replace(record, result="failed", error=str(exc)[:2000]))
            store.finish(event, "failed", str(exc) or type(exc).__name__)
        raise
    rollout.finish(done, target, say)
    store.save(replace(record, result="succeeded"))
    store.finish(event, "succeeded")
    # The old instances are gone: what they depended on and the new ones do not goes too.
    _route(target, app, record.dependencies, say, wait=False)


def _route(target: Target, app: str, dependencies: tuple[str, ...], say: Say,
           wait: bool = True) -> None:
    """Record what the app's instances depend on for the proxies (docs/proxy.md); with
    `wait`, until every running proxy serves it, so a new instance finds its
    dependencies from its first request."""
    # Check-and-set, so trying again after a Consul election is safe.
    index, changed = wait_until(lambda: routes.set_app(target.agent, app, dependencies),
                                20.0, f"{app}: recording its dependencies for the proxies",
                                retry_on=(ConsulUnreachable,))
    if changed:
        say(f"  proxy: serving {', '.join(sorted(set(dependencies))) or 'nothing'} for {app}"
            + (" (the proxies reload)" if wait else ""))
    if wait and changed:
        running = [h for h, health in routes.proxies(target.agent).items()
                   if health == "passing" and h in target.hosts]
        routes.wait_loaded(target.agent, index, running, say)


def _spread_cron_images(target: Target, build: Engine, release: Release, say: Say) -> None:
    """Put the cron jobs' images on every passing host now, so a run never waits for (or
    fails on) a pull: the registry lives on one host, which may be down when a slot comes."""
    for c in release.cron_jobs:
        for name, host in sorted(target.hosts.items()):
            if host.passing:
                try:
                    target.image_on(name, build, c, say)
                except WakeError as exc:
                    say(f"  {name}: could not get cron job {c.name}'s image ({exc}); its runs "
                        "go to other hosts")


def rollback(session: Session, cluster: Cluster, app: str, to: str | None, say: Say,
             wait: float = 0.0) -> dict[str, Any]:
    """Deploy an app's earlier release again - every process's image, env, instances and
    resources as recorded - by the same health-gated rollout as a deploy."""
    began = time.monotonic()
    target = Target.open(cluster)
    ship = Shipper(target.syslog, app, DEPLOY, f"{getpass.getuser()}@{socket.gethostname()}")
    say = ship.tee(say)
    try:
        store = ReleaseStore(target.agent, app, ship)
        current, _ = store.current()
        release = _rollback_target(store, app, current, to)
        with DeployLock(target.agent, app, release.id, "rollback", wait) as held:
            current, index = store.current()
            running = instances.instances(target.agent, app)
            state = State(release, current, index, running)
            say(f"{app}: rolling back to release {release.short} (recorded "
                f"{_when(release.at)} by {release.deployed_by or '?'}; current: "
                f"{(current or 'none')[:12]})")
            build = session.materializer.client
            _check_images(target, build, release)
            roll(target, build, release, state, held, "rollback", release.commit, say, ship)
            if current and current != release.id:
                store.mark_rolled_back(current)
        say(f"{app}: release {release.short} is current again "
            f"({time.monotonic() - began:.1f} s)")
        return _result(app, release, "rolled back",
                       instances.instances(target.agent, app), began)
    finally:
        ship.close()
        target.close()


def _rollback_target(store: ReleaseStore, app: str, current: str | None,
                     to: str | None) -> Release:
    if to:
        matches = [r for r in store.history() if r.id.startswith(to)]
        if len(matches) != 1:
            raise UsageError(f"{app}: {'no' if not matches else 'more than one'} kept release "
                             f"starts with {to!r}; `wake releases {app}` lists them")
        return matches[0]
    for event in store.events():
        if (event.result == "succeeded" and event.release != current
                and event.action in ("deploy", "rollback")):
            found = store.get(event.release)
            if found is not None:
                return found
    raise UsageError(f"{app}: no earlier successful release to roll back to "
                     f"(`wake releases {app}` lists what there is)")


def _check_images(target: Target, build: Engine, release: Release) -> None:
    """Every image of the release must still exist (here, or in the cluster's registry by
    its digest): a rollback never deploys something else under a release's name."""
    for p in release.processes:
        here = bool(p.image_id) and build.inspect(p.image_id) is not None
        there = bool(p.digest) and target.has_digest(p)
        if not (here or there):
            raise WakeError(
                f"{release.app}: the image of {p.name} in release {release.short} "
                f"({p.image_id[:19] or 'never recorded'}) is gone from this engine and the "
                "cluster's registry. It cannot be restored under its name; rebuild it from "
                f"its commit ({release.commit[:12] or 'unknown'}): check that commit out and "
                f"`doit deploy:{release.app}` (its stage keys give the same release id)")


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "?"


def preview(session: Session, target: Target, app: str) -> dict[str, Any]:
    """What a deploy of `app` would do, without building or starting anything: the
    rollout's steps and, per process that changes, why (the build reasons of `explain`)."""
    from ..build.explain import reasons_for
    from ..build.session import quiet_builder

    state = observe(session, target, app)
    want = state.want
    result: dict[str, Any] = {"app": app, "release": want.id, "current": state.current,
                              "up_to_date": state.up_to_date, "steps": [], "why": {},
                              "proxy": []}
    if state.up_to_date:
        return result
    recorded, _ = routes.read(target.agent)
    before = set(recorded.get(app, ()))
    after = set(want.dependencies)
    if after - before:
        result["proxy"].append(f"proxies serve {', '.join(sorted(after - before))} for {app}"
                               " (reloaded before its instances start)")
    if before - after:
        result["proxy"].append(f"proxies stop serving {', '.join(sorted(before - after))} "
                               f"for {app} (after the deploy)")
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
        lines += [f"    proxy: {line}" for line in app.get("proxy", ())]
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
    session.results[app] = deploy(session, _cluster(), app, _say, session.deploy_wait)


def plan(target: Target, release: Release, everyone: list[Instance]) -> placement.Rollout:
    rooms = [placement.HostRoom(h.name, h.cpus, h.memory) for h in target.hosts.values()
             if h.passing]
    # An instance that fails its check is replaced like one of an old spec (start-first).
    placed = [placement.Placed(i.app, i.process, i.instance, i.host, i.cpu, i.memory,
                               i.spec if i.health == "passing" else f"unhealthy {i.spec}")
              for i in everyone if i.host in target.hosts]
    wants = [placement.Want(release.app, p.name, p.instances, p.cpu, p.memory, p.spec)
             for p in release.processes]
    if not wants:  # an app of cron jobs only: what instances it had are removed
        return placement.Rollout(tuple(placement.StopStep(i, "removed") for i in placed
                                       if i.app == release.app), ())
    return placement.plan_rollout(rooms, placed, wants)


def _result(app: str, release: Release, outcome: str, running: list[Instance],
            began: float) -> dict[str, Any]:
    return {"app": app, "release": release.id, "outcome": outcome,
            "seconds": round(time.monotonic() - began, 2),
            "instances": [{"instance": i.instance, "process": i.process, "host": i.host,
                           "address": i.address, "port": i.port, "health": i.health}
                          for i in running]}

