"""Cron on a real three-host netns cluster, for WAKE_CRON_MINUTES (default 10) minutes:
the scheduler service on every host, one active; a job every minute; a job that outlives
its interval; the active scheduler's host stopped and started; the lock broken by hand;
a deploy during a run.

One timeline, checked at the end from the run records in Consul and the run containers
left on the hosts: exactly one run per slot, at most one slot missed (and run late), no
overlap, skips recorded, the deploy neither killing the run nor reaching it, the next slot
on the new image.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from wake.cluster import netns
from wake.cluster.hosts import Host
from wake.consul import Agent
from wake.cron import times
from wake.cron.runner import LABEL_JOB

from .conftest import HOST_CA, ROOT, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

APP = "ticker"
MINUTES = int(os.environ.get("WAKE_CRON_MINUTES", "10"))


@dataclass
class Cluster:
    home: Path
    workspace: Path
    hosts: list[str]
    name: str
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, "WAKE_HOME": str(self.home),
               "WAKE_WORKSPACE": str(self.workspace)}
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                              env=env, cwd=self.workspace.parent)

    def wake(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "wake.cli", *args, **kw)

    def deploy(self) -> str:
        return ok(self.run(sys.executable, "-m", "doit", "run", "-f", str(ROOT / "dodo.py"),
                           "--db-file", str(self.home / "doit.db"), f"deploy:{APP}"))

    def host(self, name: str) -> Host:
        data = json.loads((self.home / "hosts.json").read_text())["hosts"][name]
        return Host(name, **data)

    def agent(self, up: str | None = None) -> Agent:
        return Agent(f"{self.host(up or self.hosts[0]).address}:8500")


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def ticker(folder: Path) -> Path:
    """A plain app with only cron jobs: `tick` every minute, `slow` every minute that
    sleeps 90 s (so every other slot finds the last run still going)."""
    app = folder / APP
    (app / "bin").mkdir(parents=True)
    (app / "bin" / "tick").write_text("#!/bin/sh\necho tick $WAKE_CRON_SLOT\n")
    (app / "bin" / "slow").write_text("#!/bin/sh\necho slow v1 $WAKE_CRON_SLOT\nsleep 90\n")
    for script in ("tick", "slow"):
        (app / "bin" / script).chmod(0o755)
    (app / "manifest.json").write_text(json.dumps({
        "name": APP, "platform": "plain",
        "cron_jobs": [{"name": "tick", "run": "* * * * * bin/tick", "cpu": 0.05,
                       "memory": 32},
                      {"name": "slow", "run": "* * * * * bin/slow", "cpu": 0.05,
                       "memory": 32, "timeout": 600}]}, indent=2))
    (folder / "wake.toml").write_text(f'[[apps]]\npath = "{APP}"\n')
    return folder / "wake.toml"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cron")
    tag = secrets.token_hex(2)
    names = [f"c{tag}-h{i}" for i in (1, 2, 3)]
    env = {"WAKE_BASE_IMAGE": base_image, "WAKE_CLUSTER": f"c{tag}"}
    if HOST_CA.is_file():
        env["WAKE_CA_BUNDLE"] = str(HOST_CA)
    for var in ("WAKE_REGISTRY", "DOCKER_HOST", "WAKE_PLATFORMS_PATH"):
        os.environ.pop(var, None)
    made = Cluster(root / "home", ticker(root / "ws"), names, f"c{tag}", env)
    created: list[str] = []
    try:
        for name in names:
            ok(made.wake("hosts", "create", name, "--driver", "netns"))
            created.append(name)
        ok(made.wake("cluster", "create", made.name, "--hosts", ",".join(names)))
        yield made
    finally:
        made.wake("cluster", "destroy", made.name, timeout=300)
        for name in created:
            if made.wake("hosts", "rm", name, "--force").returncode != 0:
                netns.destroy(name, say=lambda _line: None)


def leader(c: Cluster, up: str | None = None) -> str | None:
    held = c.agent(up).kv_get("wake/cron/leader")
    return held.value.decode() if held and held.session else None


def records(c: Cluster, job: str, up: str) -> list[dict[str, Any]]:
    return sorted((json.loads(kv.value) for kv in
                   c.agent(up).kv_list(f"wake/apps/{APP}/cron/{job}/runs/")),
                  key=lambda r: r["slot"])


def containers(c: Cluster, job: str) -> dict[str, list[str]]:
    """slot -> the hosts that ran a container for it (run containers stay, stopped)."""
    found: dict[str, list[str]] = {}
    for name in c.hosts:
        sdk = docker.DockerClient(base_url=c.host(name).docker, timeout=30)
        for container in sdk.containers.list(all=True, filters={"label": f"{LABEL_JOB}={job}"}):
            found.setdefault(container.labels["wake.cron.slot"], []).append(name)
    return found


def scheduler_logs(c: Cluster) -> None:
    """The scheduler containers' last lines, for whoever reads a failure."""
    for name in c.hosts:
        try:
            sdk = docker.DockerClient(base_url=c.host(name).docker, timeout=30)
            for container in sdk.containers.list(all=True, filters={
                    "label": "wake.service=scheduler"}):
                print(f"--- {name}: {container.name}")
                print(container.logs(tail=60).decode("utf-8", "replace"))
        except docker.errors.DockerException as exc:
            print(f"--- {name}: no logs ({exc})")


@pytest.fixture
def logs_after(cluster: Cluster) -> Iterator[None]:
    yield
    scheduler_logs(cluster)


def test_cron_on_the_cluster(cluster: Cluster, logs_after: None) -> None:
    c = cluster
    assert "ticker: deploying release" in c.deploy()
    began = time.time()
    wait_for(lambda: leader(c) is not None, timeout=60, what="an active scheduler")
    first = leader(c)
    assert first in c.hosts
    out = ok(c.wake("cron", APP))
    assert "tick: * * * * *  - Every minute (UTC)" in out, out

    def at(minute: float) -> None:  # wait until `minute` minutes after the deploy
        time.sleep(max(0.0, began + minute * 60 - time.time()))

    # 1. The active scheduler's host stops: another takes over.
    at(2.2)
    stopped = first
    assert stopped is not None
    ok(c.wake("hosts", "stop", stopped))
    up = next(h for h in c.hosts if h != stopped)
    try:
        wait_for(lambda: leader(c, up) not in (None, stopped), timeout=90,
                 what="a standby taking over")
        took_over = time.time()
        second = leader(c, up)
        print(f"scheduler on {stopped} stopped; {second} active "
              f"{took_over - began:.0f} s after the deploy")
    finally:
        at(4.2)
        ok(c.wake("hosts", "start", stopped))

    # 2. The lock broken by hand: for a moment two schedulers may be active.
    at(5.2)
    ok(c.wake("cron", APP))  # still answers
    c.agent(up).kv_delete("wake/cron/leader")
    wait_for(lambda: leader(c, up) is not None, timeout=60, what="a scheduler active again")

    # 3. A deploy while `slow` runs: the run goes on, the next slot uses the new image.
    at(6.5)
    # `slow` runs 90 s every other minute: wait (at most 2.5 min) for a run that has at
    # least 30 s to go, whatever second of the minute the deploy ended on.
    deadline = time.time() + 150
    while True:
        slow_now = [r for r in records(c, "slow", up) if r["result"] == "running"
                    and time.time() - r["started"] < 60]
        if slow_now or time.time() > deadline:
            break
        time.sleep(2)
    assert slow_now, records(c, "slow", up)
    script = c.workspace.parent / APP / "bin" / "slow"
    script.write_text(script.read_text().replace("slow v1", "slow v2"))
    deployed = c.deploy()
    assert "ticker: deploying release" in deployed
    deployed_at = time.time()

    at(MINUTES + 0.5)
    ticks = records(c, "tick", up)
    slows = records(c, "slow", up)
    for line in ok(c.wake("cron", APP)).splitlines()[:30]:
        print(line)
    for r in slows:
        print("slow", r["slot"], r["result"], r["host"], r["exit_code"], r["detail"][:80])

    # Exactly one run per slot: each slot's record is unique (its key), and the hosts
    # hold at most one container per slot.
    for job in ("tick", "slow"):
        assert all(len(hosts) == 1 for hosts in containers(c, job).values()), job
    # Every minute from the first tick to the last has its record: at most one slot was
    # missed around the takeover, and it ran late, once.
    slots = [times.from_stamp(r["slot"]) for r in ticks]
    minutes = int((slots[-1] - slots[0]).total_seconds() // 60) + 1
    assert len(ticks) == minutes >= MINUTES - 1, [r["slot"] for r in ticks]
    late = [r for r in ticks if r["late"]]
    assert len(late) <= 2, late  # the takeover's, and perhaps the lock break's
    # Runs cut short when their host stopped end as failed (killed) or lost; all
    # others succeed.
    assert all(r["result"] == "succeeded" or r["host"] == stopped for r in ticks), ticks
    assert sum(r["result"] == "succeeded" for r in ticks) >= minutes - 2
    # `slow` never overlapped: a slot whose run would have overlapped was skipped.
    skipped = [r for r in slows if r["result"] == "skipped"]
    assert skipped and all("is still going" in r["detail"] for r in skipped)
    ran = [r for r in slows if r["started"]]
    for a, b in zip(ran, ran[1:], strict=False):
        assert b["started"] >= a["ended"] > 0 or a["result"] == "lost", (a, b)
    # The deploy did not stop the run it found; the next slot ran the new image.
    before = next(r for r in slows if r["slot"] == slow_now[0]["slot"])
    assert (before["result"], before["exit_code"]) == ("succeeded", 0), before
    after = [r for r in slows if r["claimed"] > deployed_at + 6 and r["started"]]
    assert after and after[0]["release"] != before["release"], (before, after)
    assert after[0]["image"] != before["image"], (before, after)
