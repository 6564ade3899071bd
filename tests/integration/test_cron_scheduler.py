"""The cron scheduler against a real Consul agent and the real Docker engine (as the one
host of a cluster), with the scheduler's clock set by the test: claims, overlap, late
slots after a takeover, two active schedulers, timeouts, exit codes.

The scheduler running as a cluster service, on three netns hosts for ten minutes, is in
tests/reliability/test_cron_failure.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import docker
import pytest

from wake.cluster.layout import HOST_SERVICE
from wake.consul import Agent
from wake.cron import runs
from wake.cron.runner import CLAIM_STALE, LABEL_JOB, Runner, container_name, new_run
from wake.cron.scheduler import Scheduler
from wake.deploy.release import CronRelease, Release
from wake.deploy.store import ReleaseStore

from .conftest import TEST_LABEL, wait_for

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc).timestamp()  # a slot of every job


@pytest.fixture
def agent(consul_agent: str) -> Iterator[Agent]:
    """The dev agent with this engine registered as the cluster's one host; the test's
    KV and registrations are removed afterwards."""
    agent = Agent(consul_agent)
    agent.register_service(HOST_SERVICE, address="127.0.0.1",
                           meta={"docker": "unix:///var/run/docker.sock", "driver": "existing",
                                 "cpus": "2", "memory": str(4 * 2**30)})
    yield agent
    agent.deregister_service(HOST_SERVICE)
    agent.kv_delete("wake/", recurse=True)


@pytest.fixture
def job_image(client: docker.DockerClient, base_image: str) -> Iterator[str]:
    """A job image whose run prints its slot, sleeps $SLEEP s and exits $CODE."""
    dockerfile = (f"FROM {base_image}\nLABEL {TEST_LABEL}=1\n"
                  'CMD ["sh", "-c", "echo run $WAKE_CRON_SLOT; sleep ${SLEEP:-0}; '
                  'exit ${CODE:-0}"]\n')
    tag = f"wake-test/cron-job:{uuid.uuid4().hex[:12]}"  # tagged: images built on it
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True, tag=tag)
    yield str(image.id)
    for container in client.containers.list(all=True, filters={"label": LABEL_JOB}):
        if container.name.startswith("wake-cron-"):  # this test's apps
            container.remove(force=True)
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(tag, force=True)
    # The runs ran on the network of cluster "test" (the scheduler's) or "dev" (`wake cron
    # run` through the CLI), which the runner made.
    for cluster in ("test", "dev"):
        for network in client.networks.list(filters={"label": f"wake.cluster={cluster}"}):
            with contextlib.suppress(docker.errors.APIError):
                network.remove()


def deploy_jobs(agent: Agent, app: str, image: str, jobs: dict[str, dict[str, object]],
                at: float) -> Release:
    """Record a release with these cron jobs as the app's current one (what a deploy
    leaves in Consul)."""
    made = []
    for name, spec in jobs.items():
        env_image = image  # the image reads SLEEP and CODE from the container's env
        made.append(CronRelease(name, uuid.uuid4().hex, env_image, str(spec["schedule"]),
                                0.1, 64, int(spec.get("timeout", 3600)), image_id=image))
    release = Release(app, (), (), tuple(made), at=at)
    store = ReleaseStore(agent, app)
    store.save(release)
    _, index = store.current()
    store.point_to(release.id, index)
    return release


def scheduler(agent: Agent, name: str, clock: list[float]) -> Scheduler:
    found = Scheduler(agent, "test", name, say=print, clock=lambda: clock[0])
    assert found.try_lead() or name != "first"
    return found


def results(agent: Agent, app: str, job: str) -> dict[str, str]:
    return {r.slot: r.result for r in runs.Ledger(agent, app, job).history()}


def finish(agent: Agent, app: str, job: str, slot: str, timeout: float = 60) -> runs.Run:
    runner = Runner(agent, "test")
    ledger = runs.Ledger(agent, app, job)

    def done() -> bool:
        runner.watch()
        found = ledger.get(slot)
        return found is not None and found[0].result in runs.FINISHED
    wait_for(done, timeout=timeout, what=f"run {slot} to end")
    found = ledger.get(slot)
    assert found is not None
    return found[0]


def test_each_slot_runs_once_and_its_end_is_recorded(agent: Agent, job_image: str) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    deploy_jobs(agent, app, job_image, {"tick": {"schedule": "* * * * *"}}, at=T0 - 30)
    clock = [T0 + 1]
    first = scheduler(agent, "first", clock)
    first.tick()
    first.tick()  # the same slot again: nothing new
    assert list(results(agent, app, "tick")) == ["20261126T0900Z"]  # one record
    run = finish(agent, app, "tick", "20261126T0900Z")
    assert (run.result, run.exit_code) == ("succeeded", 0)
    assert run.host.startswith("wake-test-")  # the dev agent's node: the one host
    assert run.claimed_by == "first" and not run.late
    clock[0] = T0 + 61
    first.tick()
    finish(agent, app, "tick", "20261126T0901Z")
    assert results(agent, app, "tick") == {"20261126T0900Z": "succeeded",
                                           "20261126T0901Z": "succeeded"}


def test_slots_before_the_deploy_never_run(agent: Agent, job_image: str) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    deploy_jobs(agent, app, job_image, {"daily": {"schedule": "0 0 * * *"}}, at=T0)
    clock = [T0 + 5]
    scheduler(agent, "first", clock).tick()
    assert results(agent, app, "daily") == {}


def test_a_rival_scheduler_cannot_run_a_claimed_slot(agent: Agent, job_image: str) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    deploy_jobs(agent, app, job_image, {"tick": {"schedule": "* * * * *"}}, at=T0 - 30)
    clock = [T0 + 2]
    first = scheduler(agent, "first", clock)
    rival = Scheduler(agent, "test", "rival", say=print, clock=lambda: clock[0])
    rival.session = "forced"  # as if the lock had been broken by hand: both are active
    first.tick()
    rival.tick()
    history = runs.Ledger(agent, app, "tick").history()
    assert [(r.slot, r.claimed_by) for r in history] == [("20261126T0900Z", "first")]


def test_a_job_never_overlaps_itself(agent: Agent, job_image: str,
                                     client: docker.DockerClient) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    release = deploy_jobs(agent, app, job_image, {"slow": {"schedule": "* * * * *"}},
                          at=T0 - 30)
    # The job's image sleeps when SLEEP is set: give the first run a long sleep by
    # starting it by hand with that env (the scheduler passes no SLEEP).
    clock = [T0 + 1]
    first = scheduler(agent, "first", clock)
    ledger = runs.Ledger(agent, app, "slow")
    held = ledger.claim(runs.Run(app, "slow", "20261126T0900Z", release.id, job_image,
                                 claimed_by="test", claimed=time.time()))
    assert held is not None and ledger.take_running(held) is not None
    container = client.containers.run(job_image, detach=True, environment={"SLEEP": "300"},
                                      labels={TEST_LABEL: "1", LABEL_JOB: "slow"})
    ledger.update(held, result=runs.RUNNING, host="(test)", container=container.name,
                  started=time.time())
    try:
        clock[0] = T0 + 61
        first.tick()
        skipped = ledger.get("20261126T0901Z")
        assert skipped is not None and skipped[0].result == "skipped"
        assert "20261126T0900Z is still going" in skipped[0].detail
        assert [c.name for c in client.containers.list(filters={"label": LABEL_JOB})
                if app in c.name] == []  # nothing of the skipped slot started
    finally:
        container.remove(force=True)


def claimed_by_a_dead_scheduler(agent: Agent, job_image: str,
                                job: str) -> tuple[str, runs.Ledger, runs.Run]:
    """A new app with an every-minute `job` whose 09:00 slot was claimed, and marked
    running, by a scheduler that then died: (app, the job's ledger, the claim)."""
    app = f"cron-{uuid.uuid4().hex[:6]}"
    release = deploy_jobs(agent, app, job_image, {job: {"schedule": "* * * * *"}},
                          at=T0 - 30)
    ledger = runs.Ledger(agent, app, job)
    held = ledger.claim(runs.Run(app, job, "20261126T0900Z", release.id, job_image,
                                 claimed_by="died", claimed=time.time()))
    assert held is not None and ledger.take_running(held) is not None
    return app, ledger, held


def test_a_claim_whose_scheduler_died_after_starting_it_is_adopted(
        agent: Agent, job_image: str, client: docker.DockerClient) -> None:
    """A scheduler stopped between starting a run's container and recording it: once the
    claim is stale, the run is found by its container and watched, so the job's next
    slots wait for it (it used to be called lost, and the next slot overlapped it)."""
    app, ledger, held = claimed_by_a_dead_scheduler(agent, job_image, "slow")
    claimed = held.claimed
    client.containers.run(job_image, name=container_name(held), detach=True,
                          environment={"SLEEP": "300"},
                          labels={TEST_LABEL: "1", LABEL_JOB: "slow"})
    runner = Runner(agent, "test")
    assert runner.watch(now=claimed + CLAIM_STALE / 2) == []  # not stale yet: untouched
    assert results(agent, app, "slow") == {"20261126T0900Z": "claimed"}
    assert runner.watch(now=claimed + CLAIM_STALE + 1) == []  # adopted, still going
    adopted = ledger.get("20261126T0900Z")
    assert adopted is not None
    run = adopted[0]
    assert (run.result, run.container) == ("running", container_name(held))
    assert run.host.startswith("wake-test-") and claimed - 5 < run.started < time.time()
    clock = [T0 + 61]
    scheduler(agent, "first", clock).tick()
    assert results(agent, app, "slow")["20261126T0901Z"] == "skipped"
    client.containers.get(container_name(held)).kill()
    ended = finish(agent, app, "slow", "20261126T0900Z")
    assert (ended.result, ended.exit_code) == ("failed", 137)


def test_a_claim_whose_scheduler_died_before_starting_it_is_lost(agent: Agent,
                                                                 job_image: str) -> None:
    app, ledger, held = claimed_by_a_dead_scheduler(agent, job_image, "tick")
    [lost] = Runner(agent, "test").watch(now=held.claimed + CLAIM_STALE + 1)
    assert (lost.result, lost.detail) == ("lost",
                                          "claimed, never started (its scheduler died)")
    assert ledger.running() is None  # the job's next slot may run


def test_a_claim_recorded_lost_while_its_run_was_prepared_is_not_started(
        agent: Agent, job_image: str, client: docker.DockerClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pull longer than CLAIM_STALE: another scheduler records the claim lost (no
    container yet) and frees the job; the claimer must then not start the run."""
    app = f"cron-{uuid.uuid4().hex[:6]}"
    release = deploy_jobs(agent, app, job_image, {"slow": {"schedule": "* * * * *"}},
                          at=T0 - 30)
    job = release.cron_jobs[0]
    ledger = runs.Ledger(agent, app, "slow")
    claimed = ledger.claim(new_run(app, release, job, "20261126T0900Z", "slow-puller"))
    assert claimed is not None
    runner = Runner(agent, "test")
    real_image = Runner._image

    def slow_pull(self: Runner, *args: object) -> str:
        # While "pulling", the active scheduler finds the claim stale and records it.
        [lost] = Runner(agent, "test").watch(now=claimed.claimed + CLAIM_STALE + 1)
        assert lost.result == "lost"
        return real_image(self, *args)  # type: ignore[arg-type]
    monkeypatch.setattr(Runner, "_image", slow_pull)
    recorded = runner.start(ledger, claimed, job, release)
    assert recorded.result == "lost" and ledger.running() is None
    assert [c.name for c in client.containers.list(all=True, filters={"label": LABEL_JOB})
            if app in c.name] == []  # nothing started


def test_a_run_past_its_timeout_is_stopped_and_recorded(agent: Agent, job_image: str,
                                                        client: docker.DockerClient) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    # The scheduler's runs get no SLEEP; this job's command is the image's, so use a
    # schedule the test triggers and a run that sleeps via a one-off image.
    sleeper = client.images.build(fileobj=io.BytesIO(
        f"FROM {job_image}\nENV SLEEP=300\nLABEL {TEST_LABEL}=1\n".encode()), rm=True)[0]
    try:
        deploy_jobs(agent, app, str(sleeper.id), {"stuck": {"schedule": "* * * * *",
                                                            "timeout": 2}}, at=T0 - 30)
        clock = [T0 + 1]
        scheduler(agent, "first", clock).tick()
        run = finish(agent, app, "stuck", "20261126T0900Z", timeout=60)
        assert run.result == "timed out" and "timeout of 2 s" in run.detail
        stuck = [c for c in client.containers.list(all=True, filters={"label": LABEL_JOB})
                 if app in c.name]
        assert [c.status for c in stuck] == ["exited"]  # stopped; kept until trimmed
    finally:
        client.images.remove(sleeper.id, force=True)


def test_a_failing_run_records_its_exit_code(agent: Agent, job_image: str,
                                             client: docker.DockerClient) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    failing = client.images.build(fileobj=io.BytesIO(
        f"FROM {job_image}\nENV CODE=3\nLABEL {TEST_LABEL}=1\n".encode()), rm=True)[0]
    try:
        deploy_jobs(agent, app, str(failing.id), {"bad": {"schedule": "* * * * *"}},
                    at=T0 - 30)
        clock = [T0 + 1]
        scheduler(agent, "first", clock).tick()
        run = finish(agent, app, "bad", "20261126T0900Z")
        assert (run.result, run.exit_code) == ("failed", 3)
    finally:
        client.images.remove(failing.id, force=True)


def test_a_scheduler_that_takes_over_runs_only_the_latest_missed_slot_late(
        agent: Agent, job_image: str) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    deploy_jobs(agent, app, job_image, {"tick": {"schedule": "* * * * *"}}, at=T0 - 30)
    clock = [T0 + 1]
    first = scheduler(agent, "first", clock)
    first.tick()
    finish(agent, app, "tick", "20261126T0900Z")
    first.session = None  # its host "died": slots 09:01 and 09:02 pass with nobody active
    agent.kv_delete("wake/cron/leader")
    clock[0] = T0 + 3 * 60 + 20  # 09:03:20: the 09:03 slot was missed by 20 s
    second = Scheduler(agent, "test", "second", say=print, clock=lambda: clock[0])
    assert second.try_lead()
    second.tick()
    second.tick()
    history = runs.Ledger(agent, app, "tick").history()
    assert [(r.slot, r.claimed_by, r.late) for r in history] == [
        ("20261126T0900Z", "first", False), ("20261126T0903Z", "second", True)]
    # 09:05:30 with nobody active since 09:03: 09:04 is never run, 09:05 is, once.
    clock[0] = T0 + 5 * 60 + 30
    third = Scheduler(agent, "test", "third", say=print, clock=lambda: clock[0])
    third.session = "forced"
    third.tick()
    second.tick()
    assert runs.Ledger(agent, app, "tick").get("20261126T0904Z") is None
    latest = runs.Ledger(agent, app, "tick").history()[-1]
    assert (latest.slot, latest.claimed_by) == ("20261126T0905Z", "third")
    for slot in ("20261126T0903Z", "20261126T0905Z"):
        finish(agent, app, "tick", slot)
    second.resign()


def test_a_job_removed_by_a_deploy_is_no_longer_scheduled(agent: Agent,
                                                           job_image: str) -> None:
    app = f"cron-{uuid.uuid4().hex[:6]}"
    deploy_jobs(agent, app, job_image, {"tick": {"schedule": "* * * * *"},
                                        "gone": {"schedule": "* * * * *"}}, at=T0 - 30)
    clock = [T0 + 1]
    first = scheduler(agent, "first", clock)
    first.tick()
    assert list(results(agent, app, "gone")) == ["20261126T0900Z"]
    deploy_jobs(agent, app, job_image, {"tick": {"schedule": "* * * * *"}}, at=T0 + 10)
    first._refreshed = 0.0  # read the current release now, not in 5 s
    clock[0] = T0 + 61
    first.tick()
    assert list(results(agent, app, "gone")) == ["20261126T0900Z"]
    assert list(results(agent, app, "tick")) == ["20261126T0900Z", "20261126T0901Z"]
    for slot in ("20261126T0900Z", "20261126T0901Z"):
        finish(agent, app, "tick", slot)


def test_wake_cron_shows_jobs_and_runs_one_now(agent: Agent, job_image: str, tmp_path,
                                               monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from wake import cli

    app = f"cron-{uuid.uuid4().hex[:6]}"
    deploy_jobs(agent, app, job_image, {"nightly": {"schedule": "30 2 * * *"}}, at=T0)
    monkeypatch.setenv("WAKE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WAKE_CLUSTER", raising=False)
    assert cli.main(["clusters", "add", "dev", "--consul", agent.address]) == 0
    capsys.readouterr()
    assert cli.main(["cron", "run", app, "nightly"]) == 0
    out = capsys.readouterr().out
    assert f"{app}/nightly: run manual-" in out and "started on wake-test-" in out
    (manual,) = runs.Ledger(agent, app, "nightly").history()
    assert manual.manual and manual.claimed_by == "wake cron run"
    finish(agent, app, "nightly", manual.slot)
    assert cli.main(["cron", app]) == 0
    shown = capsys.readouterr().out
    assert "nightly: 30 2 * * *  - At 02:30 (UTC)" in shown
    assert f"{manual.slot:<30} succeeded" in shown and "exit 0" in shown
    assert cli.main(["cron", app, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["jobs"][0]["runs"][0]["result"] == "succeeded"
    assert data["jobs"][0]["next"].endswith("02:30:00+00:00")
    assert cli.main(["cron", "run", app, "nope"]) == 2
    assert "has no cron job 'nope'; jobs: nightly" in capsys.readouterr().err
