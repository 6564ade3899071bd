"""Where a deploy's instances run, and in what order the rolling steps happen.

`plan_rollout` is a pure function of the cluster's picture (each host's capacity, every
instance running now) and the wanted processes of one app. It decides everything before
anything is touched (compose's convergence plan, pyinfra's prepare), so a deploy that cannot
fit fails with exit 2 before one container starts, and a plan can be shown or tested without
Docker. The same input, in any order, gives the same rollout.

The rules, as they apply:
- Processes roll one after another, by name. An instance with the wanted release on a listed
  host is unchanged: it stays where it is and gets no step. Extra unchanged instances are
  stopped (scale down); missing ones are started (scale up).
- Replacing is start-first: start one new instance, then stop one old one. At most one extra
  instance of the process runs at a time, and it never runs fewer than it had (or than it
  wants, if that is fewer).
- Each start is checked against the room its host has at that step, with every app's
  instances counted, so no step overcommits a host.
- A new instance goes, among the hosts with room, to the one with the fewest instances of its
  process (spread: losing a host loses the fewest), then to the one left with the smallest
  free fraction of memory, then of cpu (best fit: big holes stay for big processes), then by
  host name.
- The old instance stopped after a start is one on the same host if there is one (its room
  is where the next start may go), else the first by instance name.
- Processes of the app that are no longer wanted are stopped last, once the new ones run.
- An instance on a host that is not listed (deregistered from Consul, say) uses no listed
  host's room. The deploy cannot count on it, so even with the wanted release it is replaced
  like an old one, and its stop frees no room.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError

EPSILON = 1e-9  # cpu is a float: three instances of 0.1 cpu must fit in 0.3

StopReason = Literal["replaced", "scaled down", "removed"]


class PlacementError(UsageError):
    """The wanted instances do not fit (or the input is invalid); nothing was started."""


@dataclass(frozen=True)
class HostRoom:
    """A Docker host's capacity, as its Consul registration states it."""

    name: str
    cpus: float
    memory_mb: int


@dataclass(frozen=True)
class Placed:
    """An instance running now, of any app of the cluster."""

    app: str
    process: str
    instance: str
    host: str
    cpu: float
    memory_mb: int
    release: str


@dataclass(frozen=True)
class Want:
    """The instances wanted of one process of the app being deployed."""

    app: str
    process: str
    count: int
    cpu: float
    memory_mb: int
    release: str

    @property
    def label(self) -> str:
        return f"{self.app}/{self.process}"


@dataclass(frozen=True)
class StartStep:
    """Start one new instance of `want` on `host`; `replaces` is what the next step stops."""

    want: Want
    host: str
    replaces: Placed | None = None

    @property
    def process(self) -> str:
        return self.want.process


@dataclass(frozen=True)
class StopStep:
    """Stop one old instance: replaced by the start before it, scaled down, or removed."""

    instance: Placed
    reason: StopReason

    @property
    def process(self) -> str:
        return self.instance.process


Step = StartStep | StopStep


@dataclass(frozen=True)
class Rollout:
    """The steps of a deploy, in order, and the app's instances that stay as they are."""

    steps: tuple[Step, ...]
    kept: tuple[Placed, ...]

    @property
    def starts(self) -> tuple[StartStep, ...]:
        return tuple(step for step in self.steps if isinstance(step, StartStep))

    @property
    def stops(self) -> tuple[StopStep, ...]:
        return tuple(step for step in self.steps if isinstance(step, StopStep))

    @property
    def new_counts(self) -> dict[tuple[str, str], int]:
        """New instances per (process, host)."""
        return dict(Counter((step.process, step.host) for step in self.starts))

    @property
    def final_counts(self) -> dict[tuple[str, str], int]:
        """The app's instances per (process, host) once the rollout is done: kept and new."""
        counts = Counter((placed.process, placed.host) for placed in self.kept)
        counts.update(self.new_counts)
        return dict(counts)

    def describe(self) -> list[str]:
        """One line a person reads per kept instance, then per step (a replaced stop is
        told by the start before it)."""
        lines = [f"{p.process}: unchanged on {p.host} ({p.instance})" for p in self.kept]
        told: Placed | None = None
        for step in self.steps:
            if isinstance(step, StartStep):
                old = step.replaces
                also = f" (replaces {old.instance} on {old.host})" if old else ""
                lines.append(f"{step.process}: start on {step.host}{also}")
                told = old
            elif step.instance != told:
                old = step.instance
                lines.append(f"{old.process}: stop {old.instance} on {old.host} ({step.reason})")
        return lines


def plan_rollout(hosts: Sequence[HostRoom], placed: Sequence[Placed],
                 wants: Sequence[Want]) -> Rollout:
    """Decide where the wanted instances run and the order of the steps that get there.

    Raises PlacementError when the input is invalid or some start finds no host with room
    at its step; no partial rollout is returned.
    """
    app = _validate(hosts, wants)
    rooms = {host.name: host for host in sorted(hosts, key=lambda host: host.name)}
    free = _Free(rooms, placed)
    mine = sorted((p for p in placed if p.app == app), key=_placed_key)
    steps: list[Step] = []
    kept: list[Placed] = []
    for want in sorted(wants, key=lambda want: want.process):
        current = [p for p in mine if p.process == want.process]
        same = [p for p in current if p.release == want.release and p.host in rooms]
        old = [p for p in current if not (p.release == want.release and p.host in rooms)]
        stay, extra = _scale_down(same, want.count)
        kept += stay
        for instance in extra:
            steps.append(StopStep(instance, "scaled down"))
            free.give(instance)
        spread = Counter(p.host for p in stay)  # old instances do not count: they will go
        needed = want.count - len(stay)
        for number in range(1, needed + 1):
            host = free.choose(want, spread, number, needed, replacing=bool(old))
            spread[host] += 1
            free.take(host, want)
            victim = next((p for p in old if p.host == host), old[0] if old else None)
            steps.append(StartStep(want, host, victim))
            if victim is not None:
                old.remove(victim)
                steps.append(StopStep(victim, "replaced"))
                free.give(victim)
        for instance in old:
            steps.append(StopStep(instance, "scaled down"))
            free.give(instance)
    wanted = {want.process for want in wants}
    steps += [StopStep(p, "removed") for p in mine if p.process not in wanted]
    return Rollout(tuple(steps), tuple(kept))


def _placed_key(p: Placed) -> tuple[str, str, str, str, float, int, str]:
    # Every field, so the order (and so the rollout) never depends on the input's order.
    return (p.process, p.instance, p.host, p.release, p.cpu, p.memory_mb, p.app)


def _scale_down(same: list[Placed], count: int) -> tuple[list[Placed], list[Placed]]:
    """Split unchanged instances into those that stay and those to stop, stopping from the
    hosts with the most of them so the rest stay spread."""
    stay, extra = list(same), []
    while len(stay) > count:
        per_host = Counter(p.host for p in stay)
        victim = min(stay, key=lambda p: (-per_host[p.host], p.host, p.instance))
        stay.remove(victim)
        extra.append(victim)
    return stay, extra


class _Free:
    """The room left on each listed host as the rollout is simulated step by step."""

    def __init__(self, rooms: dict[str, HostRoom], placed: Sequence[Placed]) -> None:
        self.rooms = rooms
        self.cpu = {name: host.cpus for name, host in rooms.items()}
        self.memory = {name: host.memory_mb for name, host in rooms.items()}
        for p in placed:
            self.take(p.host, p)

    def take(self, host: str, what: Placed | Want) -> None:
        if host in self.rooms:  # an unlisted host's instances use no listed room
            self.cpu[host] -= what.cpu
            self.memory[host] -= what.memory_mb

    def give(self, p: Placed) -> None:
        if p.host in self.rooms:
            self.cpu[p.host] += p.cpu
            self.memory[p.host] += p.memory_mb

    def choose(self, want: Want, spread: Counter[str], number: int, needed: int,
               replacing: bool) -> str:
        """The host for one new instance of `want` now: spread, then best fit, then name."""
        fits = [name for name in self.rooms
                if want.cpu <= self.cpu[name] + EPSILON and want.memory_mb <= self.memory[name]]
        if not fits:
            raise self._no_room(want, number, needed, replacing)

        def score(name: str) -> tuple[int, float, float, str]:
            host = self.rooms[name]
            return (spread[name], (self.memory[name] - want.memory_mb) / host.memory_mb,
                    (self.cpu[name] - want.cpu) / host.cpus, name)

        return min(fits, key=score)

    def _no_room(self, want: Want, number: int, needed: int, replacing: bool) -> PlacementError:
        """Say which process needs what, and what the host closest to fitting it has."""
        need = f"{want.label} needs {want.cpu:g} cpu and {want.memory_mb} MB for one instance"
        fix = f"Add a host, free room on one, or lower {want.process}'s cpu or memory."
        hosts = sorted(self.rooms.values(), key=lambda host: host.name)
        big = [h for h in hosts if want.cpu <= h.cpus + EPSILON and want.memory_mb <= h.memory_mb]
        if not big:
            biggest = max(hosts, key=lambda h: min(h.cpus / want.cpu, h.memory_mb / want.memory_mb))
            return PlacementError(
                f"{need}, more than any host has in all; the biggest, {biggest.name}, has "
                f"{biggest.cpus:g} cpu and {biggest.memory_mb} MB. {fix}")

        def closeness(host: HostRoom) -> float:  # how many instances its free room would hold
            return min(self.cpu[host.name] / want.cpu, self.memory[host.name] / want.memory_mb)

        freest = max(hosts, key=closeness)  # max keeps the first by name among equals
        cpu, memory = max(self.cpu[freest.name], 0.0), max(self.memory[freest.name], 0)
        during = " (start-first: the old instances still run)" if replacing else ""
        return PlacementError(
            f"{need}; the freest host, {freest.name}, has {cpu:g} cpu and {memory} MB free "
            f"(of {freest.cpus:g} cpu, {freest.memory_mb} MB). No room for new instance "
            f"{number} of {needed}{during}. {fix}")


def _validate(hosts: Sequence[HostRoom], wants: Sequence[Want]) -> str:
    """Check the input; return the app being deployed."""
    apps = sorted({want.app for want in wants})
    if not apps:
        raise PlacementError("nothing to deploy: no processes are wanted")
    if len(apps) > 1:
        raise PlacementError(f"one app is deployed at a time, not {', '.join(apps)}")
    app = apps[0]
    if not hosts:
        raise PlacementError(
            f"no hosts to deploy {app} on: the cluster has no Docker hosts registered in "
            "Consul. Add one with `wake cluster join` and deploy again.")
    names = Counter(host.name for host in hosts)
    problems = [f"host {name} is listed {n} times" for name, n in sorted(names.items()) if n > 1]
    for host in sorted(hosts, key=lambda host: host.name):
        if not (math.isfinite(host.cpus) and host.cpus > 0 and host.memory_mb > 0):
            problems.append(f"host {host.name} needs cpus > 0 and memory_mb > 0 "
                            f"(has {host.cpus:g} and {host.memory_mb})")
    processes = Counter(want.process for want in wants)
    problems += [f"{app}/{name} is wanted {n} times" for name, n in processes.items() if n > 1]
    for want in sorted(wants, key=lambda want: want.process):
        if want.count < 0:
            problems.append(f"{want.label}: count must be 0 or more (is {want.count})")
        if not (math.isfinite(want.cpu) and want.cpu > 0):
            problems.append(f"{want.label}: cpu must be more than 0 (is {want.cpu:g})")
        if want.memory_mb <= 0:
            problems.append(f"{want.label}: memory_mb must be more than 0 (is {want.memory_mb})")
    if problems:
        raise PlacementError("cannot place the deploy: " + "; ".join(problems))
    return app
