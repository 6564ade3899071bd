"""Applying a placement's steps, health-gated and start-first, and undoing them.

Each start waits until the new instance passes; each stop first takes the old instance
out of Consul, waits a short drain (so whoever read Consul a moment ago stops sending to
it), then stops its container - which stays, stopped, until the whole deploy succeeded.
If a start fails, what this deploy stopped is started and registered again, then what
it started is removed: the old release keeps serving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from ..engine import Engine
from ..errors import WakeError
from . import instances
from .instances import Instance
from .placement import Rollout, StartStep, StopStep
from .release import ProcessRelease, Release
from .target import Target

Say = Callable[[str], None]
# Seconds between taking an instance out of Consul and stopping it: the proxies ask
# Consul's DNS every second (haproxy.RESOLVE_EVERY) and drop an instance gone from the
# answer at once; the agents answer from the servers' state, a moment behind at most.
# Three seconds cover that twice over; requests it already has, the instance finishes
# on SIGTERM within its stop_timeout.
DRAIN = 3.0
LOG_LINES = 50


class DeployFailed(WakeError):
    """A new instance did not pass; everything was put back as it was."""


@dataclass
class Applied:
    """What a rollout did so far: enough to finish it or to undo it."""

    started: list[Instance] = field(default_factory=list)
    stopped: list[Instance] = field(default_factory=list)


def apply(rollout: Rollout, target: Target, build: Engine, release: Release,
          old: Release | None, running: dict[str, Instance], say: Say,
          check: Callable[[], None] = lambda: None) -> Applied:
    """Run the steps in order (`check` before each: e.g. that the deploy still holds its
    lock); on a failure undo them and raise DeployFailed."""
    done = Applied()
    try:
        for step in rollout.steps:
            check()
            if isinstance(step, StartStep):
                _start(step, target, build, release, done, say)
            else:
                _stop(step, target, running, done, old, release, say)
    except BaseException as exc:
        say(f"{release.app}: deploy failed; putting back what ran before")
        undo(done, target, old, release, say)
        if isinstance(exc, DeployFailed | KeyboardInterrupt):
            raise
        if isinstance(exc, WakeError):
            raise DeployFailed(f"{exc}\nnothing changed: the old instances run as before"
                               ) from None
        raise
    return done


def _start(step: StartStep, target: Target, build: Engine, release: Release,
           done: Applied, say: Say) -> None:
    process = release.process(step.process)
    host = target.hosts[step.host]
    began = time.monotonic()
    image = target.image_on(step.host, build, process, say)
    engine = target.engine(step.host)
    made = instances.start(engine, host, target.cluster.name, release, process, image,
                           target.syslog, proxy=target.proxy(step.host))
    done.started.append(made)
    where = f"{made.address}:{made.port}" if made.port else made.address
    say(f"  {release.app} {made.instance}: started on {step.host} ({where}), waiting for "
        f"{'its health check' if process.health_path else 'it to keep running'}")
    try:
        instances.wait_passing(target.agent, engine, made, process)
    except WakeError as exc:
        logs = _tail(engine, made)
        check = instances.check_output(target.agent, made)
        raise DeployFailed(
            f"{release.app} {made.instance} on {step.host} did not pass within "
            f"{process.deadline:g} s: {exc}\n  its check: {check}\n"
            f"  its last {LOG_LINES} log lines:\n{logs}") from None
    say(f"  {release.app} {made.instance}: passing after {time.monotonic() - began:.1f} s")


def _stop(step: StopStep, target: Target, running: dict[str, Instance], done: Applied,
          old_release: Release | None, release: Release, say: Say) -> None:
    old = running.get(step.instance.instance)
    if old is None:
        return
    began = time.monotonic()
    host = target.hosts.get(old.host)
    if host is not None:
        with suppress(WakeError):  # its agent may be down with its host
            host.deregister(old.service_id)
    time.sleep(DRAIN)
    try:
        timeout = _process_of(old, old_release, release).stop_timeout
    except WakeError:
        timeout = 10
    with suppress(WakeError):
        if host is not None:
            target.engine(old.host).stop(old.container, timeout)
    done.stopped.append(old)
    say(f"  {old.app} {old.instance}: out of Consul, stopped on {old.host} "
        f"({step.reason}, {time.monotonic() - began:.1f} s)")


def finish(done: Applied, target: Target, say: Say) -> None:
    """After success: the stopped old containers go."""
    for old in done.stopped:
        with suppress(WakeError):
            target.engine(old.host).remove(old.container)


def undo(done: Applied, target: Target, old: Release | None, release: Release,
         say: Say) -> None:
    """Start and register again what the deploy stopped, then remove what it started:
    in that order, so the process keeps serving all along."""
    for stopped in reversed(done.stopped):
        process = _process_of(stopped, old, release)
        try:
            engine = target.engine(stopped.host)
            container = engine.start(stopped.container)
            again = instances.register(target.hosts[stopped.host], stopped.app,
                                       stopped.release, process, stopped.instance,
                                       container)
            instances.wait_passing(target.agent, engine, again, process)
            say(f"  {stopped.app} {stopped.instance}: running again on {stopped.host}")
        except WakeError as exc:
            say(f"  {stopped.app} {stopped.instance}: could not start it again on "
                f"{stopped.host}: {exc}")
    for made in done.started:
        with suppress(WakeError):
            target.hosts[made.host].deregister(made.service_id)
    if done.started:
        time.sleep(DRAIN)  # out of Consul first, as any instance that stops
    for made in reversed(done.started):
        with suppress(WakeError):
            target.engine(made.host).remove(made.container)
            say(f"  {made.app} {made.instance}: removed from {made.host}")


def _process_of(instance: Instance, old: Release | None, new: Release) -> ProcessRelease:
    """How an old instance runs (health path and all): from its own release's record."""
    for release in (old, new):
        if release is not None:
            for process in release.processes:
                if process.name == instance.process and process.spec == instance.spec:
                    return process
    for release in (old, new):
        if release is not None:
            for process in release.processes:
                if process.name == instance.process:
                    return process
    raise WakeError(f"no record of how {instance.app} {instance.instance} runs")


def _tail(engine: Engine, made: Instance) -> str:
    try:
        text = engine.logs(made.container, tail=LOG_LINES).rstrip()
    except WakeError as exc:
        return f"    (no logs: {exc})"
    return "\n".join(f"    {line}" for line in text.splitlines()) or "    (none)"
