"""Unit and property tests for wake.deploy.placement: where instances run, in what order."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wake.deploy.placement import (
    HostRoom,
    Placed,
    PlacementError,
    Rollout,
    StartStep,
    StopStep,
    Want,
    plan_rollout,
)
from wake.errors import BAD_INPUT, UsageError

APP = "bestsiteever"
TOLERANCE = 1e-6


def want(process: str, count: int, cpu: float = 0.5, memory_mb: int = 512,
         release: str = "r2") -> Want:
    return Want(APP, process, count, cpu, memory_mb, release)


def running(instance: str, host: str, process: str = "web", release: str = "r1",
            cpu: float = 0.5, memory_mb: int = 512, app: str = APP) -> Placed:
    return Placed(app, process, instance, host, cpu, memory_mb, release)


THREE = [HostRoom("h1", 2, 4096), HostRoom("h2", 2, 4096), HostRoom("h3", 2, 4096)]


# -- simulation: what the property tests check a rollout against -------------------

def pictures(placed: list[Placed], rollout: Rollout) -> Iterator[list[Placed]]:
    """Every instance running, before the first step and after each step."""
    now = list(placed)
    yield list(now)
    for number, step in enumerate(rollout.steps):
        if isinstance(step, StartStep):
            w = step.want
            now.append(Placed(w.app, w.process, f"new-{number}", step.host, w.cpu, w.memory_mb,
                              w.release))
        else:
            assert step.instance in now, f"{step.instance} stopped twice or never ran"
            now.remove(step.instance)
        yield list(now)


def usage(picture: list[Placed], host: str) -> tuple[float, int]:
    return (sum(p.cpu for p in picture if p.host == host),
            sum(p.memory_mb for p in picture if p.host == host))


# -- examples --------------------------------------------------------------------

def test_cold_deploy_spreads_web_over_two_hosts() -> None:
    rollout = plan_rollout(THREE, [], [want("web", 2), want("worker", 1)])
    assert all(isinstance(step, StartStep) for step in rollout.steps)
    web = [step.host for step in rollout.starts if step.process == "web"]
    assert len(web) == 2 and len(set(web)) == 2
    assert [step.process for step in rollout.steps] == ["web", "web", "worker"]
    assert rollout.kept == ()


def test_unchanged_process_gets_no_steps() -> None:
    worker = running("worker-1", "h3", "worker", release="r2")
    rollout = plan_rollout(THREE, [worker], [want("worker", 1)])
    assert rollout.steps == ()
    assert rollout.kept == (worker,)
    assert rollout.describe() == ["worker: unchanged on h3 (worker-1)"]


def test_replaced_process_alternates_start_and_stop() -> None:
    old = [running("web-3f2a", "h1"), running("web-9c1d", "h2")]
    rollout = plan_rollout(THREE, old, [want("web", 2)])
    kinds = [type(step) for step in rollout.steps]
    assert kinds == [StartStep, StopStep, StartStep, StopStep]
    assert {step.instance for step in rollout.stops} == set(old)
    assert all(step.reason == "replaced" for step in rollout.stops)
    assert sum(rollout.new_counts.values()) == 2
    # Best fit puts the first on h1 (fuller than h3), spread the second off h1, best fit on
    # h2; each stop is of the old one on the new one's host.
    assert [(step.host, step.replaces) for step in rollout.starts] == [
        ("h1", old[0]), ("h2", old[1])]
    assert rollout.describe() == ["web: start on h1 (replaces web-3f2a on h1)",
                                  "web: start on h2 (replaces web-9c1d on h2)"]


def test_stop_after_start_prefers_the_same_host() -> None:
    # h2 is full, so the new web goes on h1; the old web stopped after it is the one on h1,
    # not web-a, the first by name, which is stopped last as the scale-down.
    hosts = [HostRoom("h1", 1, 1024), HostRoom("h2", 0.5, 512)]
    old = [running("web-a", "h2"), running("web-b", "h1")]
    rollout = plan_rollout(hosts, old, [want("web", 1)])
    start, stop, last = rollout.steps
    assert isinstance(start, StartStep) and start.host == "h1"
    assert isinstance(stop, StopStep) and (stop.instance.instance, stop.reason) == (
        "web-b", "replaced")
    assert isinstance(last, StopStep) and (last.instance.instance, last.reason) == (
        "web-a", "scaled down")
    assert rollout.describe() == ["web: start on h1 (replaces web-b on h1)",
                                  "web: stop web-a on h2 (scaled down)"]


def test_describe_shows_starts_stops_and_kept() -> None:
    placed = [running("web-3f2a", "h1"), running("worker-1", "h3", "worker", release="r2"),
              running("clock-1", "h2", "clock")]
    rollout = plan_rollout(THREE, placed, [want("web", 1), want("worker", 1)])
    lines = rollout.describe()
    assert lines[0] == "worker: unchanged on h3 (worker-1)"
    assert lines[1].startswith("web: start on h") and lines[1].endswith("(replaces web-3f2a on h1)")
    assert lines[2:] == ["clock: stop clock-1 on h2 (removed)"]


def test_scale_up_starts_without_stopping() -> None:
    web = running("web-1", "h1", release="r2")
    rollout = plan_rollout(THREE, [web], [want("web", 3)])
    assert rollout.kept == (web,)
    assert rollout.stops == ()
    assert sorted(step.host for step in rollout.starts) == ["h2", "h3"]


def test_scale_down_stops_from_the_most_crowded_host() -> None:
    placed = [running("web-1", "h1", release="r2"), running("web-2", "h1", release="r2"),
              running("web-3", "h2", release="r2")]
    rollout = plan_rollout(THREE, placed, [want("web", 2)])
    assert rollout.starts == ()
    assert [(step.instance.instance, step.reason) for step in rollout.stops] == [
        ("web-1", "scaled down")]
    assert rollout.final_counts == {("web", "h1"): 1, ("web", "h2"): 1}


def test_removed_process_is_stopped_at_the_end() -> None:
    placed = [running("clock-1", "h1", "clock"), running("web-1", "h2")]
    rollout = plan_rollout(THREE, placed, [want("web", 1)])
    last = rollout.steps[-1]
    assert isinstance(last, StopStep) and last.reason == "removed"
    assert last.instance.instance == "clock-1"


def test_other_apps_are_never_touched_but_use_room() -> None:
    other = [running(f"db-{n}", f"h{n}", "db", cpu=1.5, memory_mb=512, app="other")
             for n in (1, 2)]
    rollout = plan_rollout(THREE, other, [want("web", 2, cpu=1)])
    assert all(step.instance.app == APP for step in rollout.stops)
    hosts = sorted(step.host for step in rollout.starts)
    assert hosts == ["h3", "h3"]  # h1 and h2 have 0.5 cpu free: not enough for one web


def test_best_fit_picks_the_host_left_fullest() -> None:
    hosts = [HostRoom("big", 8, 16384), HostRoom("small", 1, 1024)]
    rollout = plan_rollout(hosts, [], [want("web", 1)])
    assert rollout.starts[0].host == "small"


def test_instance_on_an_unlisted_host_is_replaced() -> None:
    gone = running("web-1", "gone", release="r2")
    rollout = plan_rollout(THREE, [gone], [want("web", 1)])
    assert rollout.kept == ()
    start, stop = rollout.steps
    assert isinstance(start, StartStep) and start.replaces == gone
    assert isinstance(stop, StopStep) and stop.instance == gone


def test_too_big_process_names_the_process_and_the_biggest_host() -> None:
    hosts = [HostRoom("h1", 2, 4096), HostRoom("h2", 4, 2048)]
    with pytest.raises(PlacementError) as caught:
        plan_rollout(hosts, [], [want("web", 1, cpu=1, memory_mb=8192)])
    message = str(caught.value)
    assert message.startswith(
        "bestsiteever/web needs 1 cpu and 8192 MB for one instance, more than any host has")
    assert "the biggest, h1, has 2 cpu and 4096 MB" in message
    assert caught.value.exit_code == BAD_INPUT and isinstance(caught.value, UsageError)


def test_no_room_names_the_freest_host() -> None:
    hosts = [HostRoom("h1", 2, 4096), HostRoom("h2", 2, 4096)]
    placed = [running("db-1", "h1", "db", cpu=1.5, memory_mb=3072, app="other"),
              running("db-2", "h2", "db", cpu=0.5, memory_mb=2048, app="other")]
    with pytest.raises(PlacementError) as caught:
        plan_rollout(hosts, placed, [want("web", 1, cpu=1, memory_mb=4096)])
    assert str(caught.value).startswith(
        "bestsiteever/web needs 1 cpu and 4096 MB for one instance; the freest host, h2, "
        "has 1.5 cpu and 2048 MB free (of 2 cpu, 4096 MB). No room for new instance 1 of 1.")


def test_start_first_needs_room_for_one_extra() -> None:
    hosts = [HostRoom("h1", 1, 1024)]
    with pytest.raises(PlacementError, match=r"start-first: the old instances still run"):
        plan_rollout(hosts, [running("web-1", "h1", cpu=1, memory_mb=1024)],
                     [want("web", 1, cpu=1, memory_mb=1024)])


def test_no_hosts() -> None:
    with pytest.raises(PlacementError, match=r"no hosts to deploy bestsiteever on"):
        plan_rollout([], [], [want("web", 1)])


@pytest.mark.parametrize("bad, words", [
    (want("web", -1), "count must be 0 or more"),
    (want("web", 1, cpu=0), "cpu must be more than 0"),
    (want("web", 1, cpu=math.nan), "cpu must be more than 0"),
    (want("web", 1, memory_mb=0), "memory_mb must be more than 0"),
])
def test_invalid_wants(bad: Want, words: str) -> None:
    with pytest.raises(PlacementError, match=words):
        plan_rollout(THREE, [], [bad])


def test_invalid_hosts_and_mixed_apps() -> None:
    with pytest.raises(PlacementError, match="host h1 is listed 2 times"):
        plan_rollout([THREE[0], THREE[0]], [], [want("web", 1)])
    with pytest.raises(PlacementError, match="one app is deployed at a time"):
        plan_rollout(THREE, [], [want("web", 1), Want("other", "web", 1, 1, 1, "r")])
    with pytest.raises(PlacementError, match="nothing to deploy"):
        plan_rollout(THREE, [], [])


# -- properties ------------------------------------------------------------------

PROCESSES = ("clock", "web", "worker")
host_lists = st.lists(
    st.builds(HostRoom, st.sampled_from(["h1", "h2", "h3", "h4", "h5"]),
              st.sampled_from([0.5, 1.0, 1.5, 2.0, 4.0]), st.sampled_from([512, 1024, 4096])),
    min_size=1, max_size=5, unique_by=lambda host: host.name)
releases = st.sampled_from(["r1", "r2"])
cpus = st.sampled_from([0.1, 0.2, 0.25, 0.5, 1.0])
memories = st.sampled_from([64, 128, 256, 512])


@st.composite
def cluster(draw: st.DrawFn) -> tuple[list[HostRoom], list[Placed], list[Want]]:
    hosts = draw(host_lists)
    where = st.sampled_from([host.name for host in hosts] + ["gone"])
    placed = [Placed(draw(st.sampled_from([APP, APP, "other"])), draw(st.sampled_from(PROCESSES)),
                     f"i{number}", draw(where), draw(cpus), draw(memories), draw(releases))
              for number in range(draw(st.integers(0, 8)))]
    processes = draw(st.lists(st.sampled_from(PROCESSES), min_size=1, max_size=3, unique=True))
    wants = [Want(APP, name, draw(st.integers(0, 4)), draw(cpus), draw(memories), draw(releases))
             for name in processes]
    return hosts, placed, wants


def planned(case: tuple[list[HostRoom], list[Placed], list[Want]]) -> Rollout | None:
    """The rollout, or None if it does not fit: no exception but PlacementError escapes, and
    its message says which process needs what."""
    try:
        return plan_rollout(*case)
    except PlacementError as error:
        assert re.match(rf"{APP}/({'|'.join(PROCESSES)}) needs [0-9.]+ cpu and [0-9]+ MB for one "
                        r"instance[;,] ", str(error)), str(error)
        return None


@settings(max_examples=300)
@given(cluster())
def test_no_step_overcommits_a_host(case: tuple[list[HostRoom], list[Placed], list[Want]]) -> None:
    hosts, placed, _ = case
    rollout = planned(case)
    if rollout is None:
        return
    # A host overcommitted before the deploy gets no start, so it never gets fuller.
    limits = {h.name: (max(h.cpus, usage(placed, h.name)[0]),
                       max(h.memory_mb, usage(placed, h.name)[1])) for h in hosts}
    steps = list(pictures(placed, rollout))
    for picture in steps:
        for name, (cpu, memory) in limits.items():
            used_cpu, used_memory = usage(picture, name)
            assert used_cpu <= cpu + TOLERANCE and used_memory <= memory
    for number, step in enumerate(rollout.steps):
        if isinstance(step, StartStep):
            host = next(h for h in hosts if h.name == step.host)
            used_cpu, used_memory = usage(steps[number + 1], host.name)
            assert used_cpu <= host.cpus + TOLERANCE and used_memory <= host.memory_mb


@settings(max_examples=300)
@given(cluster())
def test_final_picture_is_what_is_wanted(
        case: tuple[list[HostRoom], list[Placed], list[Want]]) -> None:
    hosts, placed, wants = case
    rollout = planned(case)
    if rollout is None:
        return
    final = list(pictures(placed, rollout))[-1]
    for w in wants:
        mine = [p for p in final if p.app == APP and p.process == w.process]
        assert len(mine) == w.count
        assert all(p.release == w.release for p in mine)
        assert all(p.host in {h.name for h in hosts} for p in mine)
    wanted = {w.process for w in wants}
    assert not [p for p in final if p.app == APP and p.process not in wanted]
    assert [p for p in final if p.app != APP] == [p for p in placed if p.app != APP]
    assert sum(rollout.final_counts.values()) == sum(w.count for w in wants)


@settings(max_examples=300)
@given(cluster())
def test_unchanged_instances_stop_only_to_scale_down(
        case: tuple[list[HostRoom], list[Placed], list[Want]]) -> None:
    hosts, placed, wants = case
    rollout = planned(case)
    if rollout is None:
        return
    listed = {h.name for h in hosts}
    stopped = Counter(step.instance for step in rollout.stops)
    for w in wants:
        same = [p for p in placed if p.app == APP and p.process == w.process
                and p.release == w.release and p.host in listed]
        assert sum(stopped[p] for p in same) == max(0, len(same) - w.count)
        assert all(stopped[p] == 0 or step_reason(rollout, p) == "scaled down" for p in same)


def step_reason(rollout: Rollout, instance: Placed) -> str:
    return next(step.reason for step in rollout.stops if step.instance == instance)


@settings(max_examples=300)
@given(cluster())
def test_each_start_goes_to_a_least_crowded_host_with_room(
        case: tuple[list[HostRoom], list[Placed], list[Want]]) -> None:
    """Spread, stated exactly: at each start, no host with room for the instance had fewer
    instances of its process (kept ones and new ones started so far; not old ones)."""
    hosts, placed, _ = case
    rollout = planned(case)
    if rollout is None:
        return
    steps = list(pictures(placed, rollout))
    for number, step in enumerate(rollout.steps):
        if not isinstance(step, StartStep):
            continue
        before, w = steps[number], step.want
        settled = Counter(p.host for p in before if p.app == APP and p.process == w.process
                          and (p in rollout.kept or p.instance.startswith("new-")))
        for host in hosts:
            cpu, memory = usage(before, host.name)
            room = cpu + w.cpu <= host.cpus + 1e-9 and memory + w.memory_mb <= host.memory_mb
            assert not room or settled[host.name] >= settled[step.host]


@settings(max_examples=200)
@given(host_lists, st.integers(0, 5), cpus, memories)
def test_cold_deploy_with_room_puts_each_instance_on_its_own_host(
        hosts: list[HostRoom], count: int, cpu: float, memory_mb: int) -> None:
    roomy = [HostRoom(h.name, 16, 65536) for h in hosts]
    rollout = plan_rollout(roomy, [], [want("web", min(count, len(roomy)), cpu, memory_mb)])
    on = [step.host for step in rollout.starts]
    assert len(on) == len(set(on)) == min(count, len(roomy))


@settings(max_examples=300)
@given(cluster())
def test_start_first_never_runs_fewer_than_before_or_wanted(
        case: tuple[list[HostRoom], list[Placed], list[Want]]) -> None:
    _, placed, wants = case
    rollout = planned(case)
    if rollout is None:
        return
    for w in wants:
        before = sum(1 for p in placed if p.app == APP and p.process == w.process)
        floor = min(before, w.count)
        for picture in pictures(placed, rollout):
            now = sum(1 for p in picture if p.app == APP and p.process == w.process)
            assert now >= floor
            assert now <= max(before, w.count) + 1  # at most one extra at a time


@settings(max_examples=200)
@given(cluster(), st.randoms(use_true_random=False))
def test_same_input_in_any_order_gives_the_same_rollout(
        case: tuple[list[HostRoom], list[Placed], list[Want]], rng: random.Random) -> None:
    hosts, placed, wants = case
    first = planned(case)
    assert planned((list(hosts), list(placed), list(wants))) == first
    rng.shuffle(hosts)
    rng.shuffle(placed)
    rng.shuffle(wants)
    assert planned((hosts, placed, wants)) == first


@settings(max_examples=300)
@given(st.lists(st.builds(HostRoom, st.text(max_size=3), st.floats(allow_nan=True),
                          st.integers(-10, 5000)), max_size=3),
       st.lists(st.builds(Placed, st.sampled_from([APP, "x"]), st.sampled_from(PROCESSES),
                          st.text(max_size=3), st.text(max_size=3), st.floats(-1, 4),
                          st.integers(-100, 5000), releases), max_size=6),
       st.lists(st.builds(Want, st.sampled_from([APP, APP, "x"]), st.sampled_from(PROCESSES),
                          st.integers(-1, 4), st.floats(allow_nan=True),
                          st.integers(-10, 5000), releases), max_size=4))
def test_only_placement_errors_escape(hosts: list[HostRoom], placed: list[Placed],
                                      wants: list[Want]) -> None:
    try:
        rollout = plan_rollout(hosts, placed, wants)
    except PlacementError:
        return
    assert isinstance(rollout, Rollout)
    rollout.describe()
