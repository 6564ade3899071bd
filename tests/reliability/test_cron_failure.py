"""Cron under failure, on the session's three netns hosts, for 9 minutes (15 with
--full; WAKE_CRON_MINUTES overrides): the scheduler service on every host, one active;
`tick` every minute; `slow` every minute that runs 90 s (so every other slot finds the
last run still going). Meanwhile: one host's scheduler reads a clock 90 s ahead
(libfaketime in its container; the machine's clock is untouched) and is made the active
one for a while; the active scheduler's host is stopped and started; the lock is broken
by hand; a deploy lands during a run.

Checked at the end from the run records in Consul and the run containers left on the
hosts (their start and end are the engines' clocks, the real ones): at most one run per
slot, `slow` never overlapping itself (a slot that would have is skipped and recorded),
the deploy neither killing the run it found nor reaching it, the next slot on the new
image."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.integration.conftest import wait_for
from tests.integration.sites import Site, ok
from wake.cluster.layout import token_files
from wake.consul import Agent
from wake.cron import times
from wake.cron.runner import LABEL_JOB, LABEL_SLOT
from wake.engine import epoch, tar_files

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

APP = "ticker"
SKEW = 90  # seconds ahead
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime")


def ticker(folder: Path, schedule: str = "* * * * *") -> Path:
    """A plain app with only cron jobs: `tick` every minute, `slow` every minute that
    sleeps 90 s."""
    app = folder / APP
    (app / "bin").mkdir(parents=True, exist_ok=True)
    (app / "bin" / "tick").write_text("#!/bin/sh\necho tick $WAKE_CRON_SLOT\n")
    slow = app / "bin" / "slow"
    if not slow.exists():
        slow.write_text("#!/bin/sh\necho slow v1 $WAKE_CRON_SLOT\nsleep 90\n")
    for script in ("tick", "slow"):
        (app / "bin" / script).chmod(0o755)
    (app / "manifest.json").write_text(json.dumps({
        "name": APP, "platform": "plain",
        "cron_jobs": [{"name": "tick", "run": f"{schedule} bin/tick", "cpu": 0.05,
                       "memory": 32},
                      {"name": "slow", "run": f"{schedule} bin/slow", "cpu": 0.05,
                       "memory": 32, "timeout": 600}]}, indent=2))
    (folder / "wake.toml").write_text(f'[[apps]]\npath = "{APP}"\n')
    return folder / "wake.toml"


def agent(site: Site, up: str) -> Agent:
    return site.agent(up)


def leader(site: Site, up: str) -> str | None:
    held = agent(site, up).kv_get("wake/cron/leader")
    return held.value.decode() if held and held.session else None


def records(site: Site, job: str, up: str) -> list[dict[str, Any]]:
    return sorted((json.loads(kv.value) for kv in
                   agent(site, up).kv_list(f"wake/apps/{APP}/cron/{job}/runs/")),
                  key=lambda r: r["slot"])


def runs(site: Site, job: str) -> list[dict[str, Any]]:
    """The job's run containers on every host (they stay, stopped), by the engines'
    clocks: slot, host, image, created, started, finished."""
    found = []
    for name in site.hosts:
        for c in site.sdk(name).containers.list(all=True, filters={"label": [
                f"{LABEL_JOB}={job}", f"wake.app={APP}"]}):
            state = c.attrs["State"]
            found.append({"slot": c.labels[LABEL_SLOT], "host": name,
                          "image": c.attrs["Image"], "created": epoch(c.attrs["Created"]),
                          "started": epoch(state["StartedAt"]),
                          "finished": epoch(state["FinishedAt"]),
                          "running": state["Running"]})
    return sorted(found, key=lambda r: r["started"])


def schedulers(site: Site, host: str) -> list[Any]:
    return site.sdk(host).containers.list(all=True, filters={"label": "wake.service=scheduler"})


def skew_scheduler(site: Site, host: str, skew: int | None) -> float:
    """Recreate the host's scheduler container as it was, with libfaketime `skew` s ahead
    (None: without); returns the offset its Python sees."""
    (old,) = schedulers(site, host)
    config, host_config = old.attrs["Config"], old.attrs["HostConfig"]
    old.remove(force=True)
    faked = ("LD_PRELOAD=", "FAKETIME=", "DONT_FAKE_MONOTONIC=")
    env = [e for e in config["Env"] if not e.startswith(faked)]
    binds = [b for b in host_config.get("Binds") or [] if not b.startswith(str(FAKETIME))]
    if skew is not None:
        env += [f"LD_PRELOAD={FAKETIME / 'libfaketime.so.1'}", f"FAKETIME=+{skew}",
                "DONT_FAKE_MONOTONIC=1"]
        binds.append(f"{FAKETIME}:{FAKETIME}:ro")
    new = site.sdk(host).containers.create(
        config["Image"], config["Cmd"], entrypoint=config["Entrypoint"], environment=env,
        labels=config["Labels"], name=old.name, hostname=config["Hostname"],
        network_mode=host_config["NetworkMode"], volumes=binds, user=config["User"],
        working_dir=config["WorkingDir"] or None,
        restart_policy=host_config["RestartPolicy"])
    # The cluster's ACL token: the file wake puts in the container, not in its config.
    _, files = token_files(site.token())
    assert files is not None
    new.put_archive("/", tar_files(files))
    new.start()
    code, out = new.exec_run(["python3", "-c", "import time; print(time.time())"])
    assert code == 0, out
    return float(out.decode()) - time.time()


def scheduler_logs(site: Site) -> None:
    """The scheduler containers' last lines, for whoever reads a failure."""
    for name in site.hosts:
        try:
            for container in schedulers(site, name):
                print(f"--- {name}: {container.name}")
                print(container.logs(tail=40).decode("utf-8", "replace"))
        except docker.errors.DockerException as exc:
            print(f"--- {name}: no logs ({exc})")


def test_cron_under_failure(site: Site, full: bool, figures) -> None:  # type: ignore[no-untyped-def]
    minutes = int(os.environ.get("WAKE_CRON_MINUTES", "15" if full else "9"))
    workspace = ticker(site.workspace.parent.parent / "ws-cron")

    def deploy() -> str:
        return ok(site.doit(f"deploy:{APP}", workspace=workspace))

    skewed: list[str] = []
    try:
        _timeline(site, deploy, minutes, figures, skewed)
    finally:
        scheduler_logs(site)
        for host in skewed:
            skew_scheduler(site, host, None)
        # Its jobs stop firing every minute for the tests after this one.
        ticker(workspace.parent, schedule="0 0 1 1 *")
        deploy()


def _timeline(site: Site, deploy: Any, minutes: int, figures: Any,
              skewed_hosts: list[str]) -> None:
    hosts = site.hosts
    workspace = site.workspace.parent.parent / "ws-cron" / "wake.toml"
    assert f"{APP}: deploying release" in deploy()
    began = time.time()
    wait_for(lambda: leader(site, hosts[0]) is not None, timeout=60,
             what="an active scheduler")
    first = leader(site, hosts[0])
    assert first in hosts

    def at(minute: float) -> None:  # wait until `minute` minutes after the deploy
        time.sleep(max(0.0, began + minute * 60 - time.time()))

    # 0. One host's scheduler (not the active one) on a clock SKEW s ahead.
    skewed = next(h for h in hosts if h != first)
    skewed_hosts.append(skewed)
    offset = skew_scheduler(site, skewed, SKEW)
    assert abs(offset - SKEW) < 5, offset
    print(f"scheduler on {skewed} reads a clock {offset:.1f} s ahead")

    # 1. The active scheduler's host stops: another takes over.
    at(1.5)
    stopped = first
    assert stopped is not None
    ok(site.wake("hosts", "stop", stopped))
    up = next(h for h in hosts if h != stopped)
    try:
        wait_for(lambda: leader(site, up) not in (None, stopped), timeout=90,
                 what="a standby taking over")
        print(f"scheduler on {stopped} stopped; {leader(site, up)} active "
              f"{time.time() - began:.0f} s after the deploy")
    finally:
        at(2.7)
        ok(site.wake("hosts", "start", stopped))
    wait_for(lambda: all(c.status == "running" for c in schedulers(site, stopped)),
             timeout=120, what=f"the scheduler on {stopped} running again")

    # 2. The lock broken by hand while only the skewed scheduler runs: it takes over.
    at(3.3)
    others = [c for h in hosts if h != skewed for c in schedulers(site, h)]
    for c in others:
        c.stop(timeout=10)
    agent(site, skewed).kv_delete("wake/cron/leader")
    wait_for(lambda: leader(site, skewed) == skewed, timeout=60,
             what=f"the skewed scheduler on {skewed} active")
    print(f"{skewed} (clock +{SKEW} s) active {time.time() - began:.0f} s after the deploy")
    at(5.0)
    for c in others:
        c.start()

    # 3. A deploy while `slow` runs: the run goes on, the next slot uses the new image.
    at(5.3)
    deadline = time.time() + 150
    while True:  # a run with at least 30 s to go, whatever second the deploy ended on
        slow_now = [r for r in runs(site, "slow") if r["running"]
                    and time.time() - r["started"] < 60]
        if slow_now or time.time() > deadline:
            break
        time.sleep(2)
    assert slow_now, runs(site, "slow")
    script = workspace.parent / APP / "bin" / "slow"
    script.write_text(script.read_text().replace("slow v1", "slow v2"))
    assert f"{APP}: deploying release" in deploy()
    deployed_at = time.time()

    at(minutes + 0.5)
    ticks, slows = records(site, "tick", up), records(site, "slow", up)
    for line in ok(site.wake("cron", APP, workspace=workspace)).splitlines()[:20]:
        print(line)
    for r in slows:
        print("slow", r["slot"], r["result"], r["host"], r["exit_code"], r["detail"][:80])

    # At most one run per slot: a slot's record is unique (its key) and the hosts hold
    # at most one container per slot.
    for job in ("tick", "slow"):
        per_slot: dict[str, list[str]] = {}
        for r in runs(site, job):
            per_slot.setdefault(r["slot"], []).append(r["host"])
        twice = {slot: h for slot, h in per_slot.items() if len(h) > 1}
        assert not twice, f"{job}: slots run more than once: {twice}"
    # `slow` never overlapped itself, by the engines' clocks (a run cut short when its
    # host stopped has no end of its own: left out).
    ran = [r for r in runs(site, "slow") if r["started"] and r["host"] != stopped]
    overlaps = [(a["slot"], b["slot"]) for a, b in zip(ran, ran[1:], strict=False)
                if b["started"] < a["finished"] or a["running"]]
    assert not overlaps, overlaps
    skipped = [r for r in slows if r["result"] == "skipped"]
    assert skipped and all("is still going" in r["detail"] for r in skipped)
    # The run the deploy found finished, and the next one ran the new image.
    found = slow_now[0]
    before = next(r for r in slows if r["slot"] == found["slot"])
    assert (before["result"], before["exit_code"]) == ("succeeded", 0), before
    later = [r for r in runs(site, "slow") if r["created"] > deployed_at + 1]
    assert later and later[0]["image"] != found["image"], (found, later)
    # Each minute's tick ran, but for slots lost to the takeovers (reported).
    slots = sorted({r["slot"] for r in ticks})
    first_slot, last_slot = times.from_stamp(slots[0]), times.from_stamp(slots[-1])
    span = int((last_slot - first_slot).total_seconds() // 60) + 1
    missed = span - len(slots)
    assert missed <= 3, slots
    succeeded = sum(r["result"] == "succeeded" for r in ticks)
    figures(f"{minutes} min, tick and slow every minute: {len(ticks)} tick slots "
            f"({succeeded} succeeded, {missed} missed at takeovers), {len(slows)} slow slots "
            f"({len(skipped)} skipped as still going); 0 slots run twice, 0 overlaps; "
            f"scheduler host stopped 1.2 min, lock broken, a scheduler {SKEW} s ahead active "
            f"for {minutes - 3.3:.0f} min")
