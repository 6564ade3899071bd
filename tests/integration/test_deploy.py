"""`doit deploy:bestsiteever` on a real three-host netns cluster: real Consul, a real
registry, real HTTP through real containers.

The tests run in order on one cluster (the session's `site`, sites.py; test_proxy.py
uses it after them): a cold deploy, a no-op, a no-op from a fresh clone
with an empty build engine, rollouts of one process and of all, a release whose health
never passes, one too big to place, racing deploys, a lock break, a rollback and logs.
A killed deploy and a host killed mid-rollout are in tests/reliability.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wake.deploy.store import ReleaseStore

from .conftest import ROOT, wait_for
from .sites import APP, Site, health, ok

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

def test_cold_deploy_spreads_web_and_every_instance_passes(site: Site) -> None:
    out = ok(site.doit("deploy:bestsiteever"))
    assert "bestsiteever: release" in out and "is current" in out
    status = site.status()
    assert status["matches"], status
    web = [i for i in status["instances"] if i["process"] == "web"]
    worker = [i for i in status["instances"] if i["process"] == "worker"]
    assert len(web) == 2 and len(worker) == 1
    assert len({i["host"] for i in web}) == 2, "web instances share a host"
    assert all(i["health"] == "passing" for i in status["instances"])
    # Uptime from the engine's start stamp: started during this deploy, not in 1970.
    assert all(0 <= i["uptime"] < 600 for i in status["instances"]), status
    for instance in web:
        assert instance["url"].startswith(f"http://{site.host(instance['host']).address}:")
        assert health(instance["url"]) == 200
    assert all(c[2] == "running" for c in site.containers().values())
    # Each instance logs to the cluster's rsyslog master: `wake logs` reads them back,
    # from every instance, with the host each runs on.
    def logged() -> bool:
        found = _log_lines(site, "web", "--since", "1h")
        said = {(line["instance"], line["host"]) for line in found
                if "uma" in line["message"]}  # Puma's start-up lines
        return {(i["instance"], i["host"]) for i in web} <= said
    wait_for(logged, timeout=30, what="every web instance's lines in `wake logs`")


def _log_lines(site: Site, *args: str) -> list[dict[str, str]]:
    done = ok(site.wake("logs", APP, *args, "--json"))
    return [json.loads(text) for text in done.splitlines() if text.startswith("{")]


def test_a_second_deploy_does_nothing(site: Site) -> None:
    containers, images = site.containers(), site.images()
    out = ok(site.doit("deploy:bestsiteever"))
    assert "-- deploy:bestsiteever" in out  # doit: up to date, its action never ran
    assert site.containers() == containers and site.images() == images
    again = ok(site.wake("deploy", APP, "--json"))
    assert '"outcome": "up to date"' in again


def test_a_fresh_clone_with_an_empty_engine_builds_and_pulls_nothing(
        site: Site, tmp_path: Path) -> None:
    clone = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(site.workspace.parent, clone)
    home = tmp_path / "fresh-home"
    consul = f"{site.host(site.hosts[0]).address}:8500"
    ok(site.wake("clusters", "add", site.cluster, "--consul", consul, "--token",
                 site.token(), home=home))
    empty = site.sdk(site.builder)
    assert empty.images.list() == []
    containers, images = site.containers(), site.images()
    out = ok(site.doit("deploy:bestsiteever", home=home, workspace=clone / "wake.toml",
                       DOCKER_HOST=site.host(site.builder).docker))
    assert "-- deploy:bestsiteever" in out, out
    assert empty.images.list() == [], "the build machine built or pulled something"
    assert site.containers() == containers and site.images() == images


def _web_and_worker(site: Site) -> tuple[set[str], set[str]]:
    found = site.containers()
    return ({i for i, c in found.items() if c[1] == "web"},
            {i for i, c in found.items() if c[1] == "worker"})


class Poller(threading.Thread):
    """Reads Consul's passing instances of web five times a second."""

    def __init__(self, site: Site) -> None:
        super().__init__(daemon=True)
        self.agent, self.counts, self.stop = site.agent(), [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                passing = self.agent.health_service(APP, passing=True)
                self.counts.append(sum(1 for e in passing
                                       if e["Service"]["Meta"]["process"] == "web"))
            except Exception:  # noqa: BLE001 - a missed sample is not a zero
                pass
            time.sleep(0.2)


def test_only_the_changed_process_rolls_and_web_never_drops(site: Site) -> None:
    web, worker = _web_and_worker(site)
    site.edit_manifest(lambda m: m["processes"]["worker"].update(
        run="WORKER_INTERVAL=2 bundle exec rake jobs:work"))
    out = ok(site.doit("deploy:bestsiteever"))
    assert "worker" in out
    web_after, worker_after = _web_and_worker(site)
    assert web_after == web, "web was touched though its image did not change"
    assert worker_after.isdisjoint(worker) and len(worker_after) == 1
    # Now an app file: every process's image changes; web rolls one instance at a time.
    with open(site.workspace.parent / APP / "config.ru", "a") as handle:
        handle.write("# a change\n")
    poller = Poller(site)
    poller.start()
    try:
        ok(site.doit("deploy:bestsiteever"))
    finally:
        poller.stop.set()
        poller.join()
    print(f"passing web instances during the rollout: {len(poller.counts)} samples, "
          f"min {min(poller.counts)}")
    assert len(poller.counts) > 10 and min(poller.counts) >= 2
    web_new, _ = _web_and_worker(site)
    assert web_new.isdisjoint(web) and len(web_new) == 2
    assert all(c[2] == "running" for c in site.containers().values())  # old ones removed


def test_a_release_that_never_passes_changes_nothing(site: Site) -> None:
    before = site.status()
    urls = [i["url"] for i in before["instances"] if i["process"] == "web"]
    containers = site.containers()
    store = ReleaseStore(site.agent(), APP)
    current, _ = store.current()
    site.edit_manifest(lambda m: (m.setdefault("env", {}).update(HEALTH_STATUS="500"),
                                  m["processes"]["web"].update(health={"deadline": 15})))
    failures: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            failures.extend(code for code in map(health, urls) if code != 200)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        done = site.doit("deploy:bestsiteever")
    finally:
        stop.set()
        watcher.join()
    took = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "did not pass within 15 s" in output and "last 50 log lines" in output
    assert "Puma" in output or "puma" in output  # the instance's own log lines
    assert "Traceback" not in output
    assert took < 15 + 120, took  # its deadline, a build of the changed images, the undo
    assert failures == [], f"the old release failed {len(failures)} requests"
    assert site.containers() == containers, "containers of the failed release remain"
    assert store.current()[0] == current
    failed = [r for r in store.history() if r.result == "failed"]
    assert failed and "did not pass" in failed[0].error
    site.edit_manifest(lambda m: (m["env"].pop("HEALTH_STATUS"),
                                  m["processes"]["web"].pop("health")))


def test_a_process_too_big_for_any_host_is_refused(site: Site) -> None:
    containers = site.containers()
    site.edit_manifest(lambda m: m["processes"]["web"].update(memory=10_000_000))
    done = site.doit("deploy:bestsiteever")
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "bestsiteever/web needs 0.5 cpu and 10000000 MB" in output, output
    assert "more than any host has" in output and "Traceback" not in output
    assert site.containers() == containers
    site.edit_manifest(lambda m: m["processes"]["web"].update(memory=256))


# --- deploy safety: the lock, rollback (killed clients and hosts: tests/reliability) -----

RUNS, FULL_RUNS = 3, 20  # racing deploys; --full for the full count


def _bump_worker(site: Site, n: int) -> None:
    """A change that makes the next deploy replace the worker (its run differs)."""
    site.edit_manifest(lambda m: m["processes"]["worker"].update(
        run=f"WORKER_INTERVAL={n % 5 + 1} bundle exec rake jobs:work # {n}"))


def _converged(site: Site) -> None:
    """Exactly what the workspace wants: no orphans, no stale registrations, every wanted
    instance passing (`wake status` exits 0 only then)."""
    done = site.wake("status", APP, "--json")
    (app,) = json.loads(done.stdout)
    assert done.returncode == 0 and app["matches"] and not app["leftovers"], app
    registered = {i["instance"] for i in app["instances"]}
    running = {c[1] for c in site.containers().values()}
    assert running <= {"web", "worker"}
    assert len(site.containers()) == len(registered) == 3, (site.containers(), registered)


def test_two_deploys_at_once_never_both_deploy(site: Site, full: bool) -> None:
    for n in range(FULL_RUNS if full else RUNS):
        _bump_worker(site, 100 + n)
        ok(site.doit("build:bestsiteever"))  # both then race for the lock, not the build
        before = len(ReleaseStore(site.agent(), APP).events())
        racers = [site.start("deploy", APP) for _ in range(2)]
        outputs = [r.communicate(timeout=600)[0] for r in racers]
        deployed = [o for o in outputs if "deploying release" in o]
        assert len(deployed) == 1, outputs
        other = next(o for o in outputs if o is not deployed[0])
        assert ("is locked: root@" in other and "has held it for" in other) or \
            "nothing to do" in other, other
        events = ReleaseStore(site.agent(), APP).events()
        assert len(events) == before + 1 and events[0].result == "succeeded"
    # With --wait the second waits for the first and then has nothing left to do.
    _bump_worker(site, 200)
    ok(site.doit("build:bestsiteever"))
    racers = [site.start("deploy", APP, "--wait", "300") for _ in range(2)]
    outputs = [r.communicate(timeout=600)[0] for r in racers]
    assert all(r.returncode == 0 for r in racers), outputs
    assert sum("deploying release" in o for o in outputs) == 1, outputs
    _converged(site)


HOLD = """
import sys, time
from wake.consul import Agent
from wake.deploy.lock import DeployLock
with DeployLock(Agent(sys.argv[1], sys.argv[3]), sys.argv[2], "f" * 64) as held:
    print("held", flush=True)
    while not held.lost:
        time.sleep(0.5)
print("lost", flush=True)
"""


def test_lock_break_frees_a_live_holder_and_is_recorded(site: Site) -> None:
    address = f"{site.host(site.hosts[0]).address}:8500"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, address, APP, site.token()],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        shown = ok(site.wake("lock", "show", APP))
        assert "locked: root@" in shown and "deploy of release ffffffffffff" in shown
        _bump_worker(site, 300)
        refused = site.doit("deploy:bestsiteever")
        assert refused.returncode != 0 and "is locked" in refused.stdout, refused.stdout
        assert "wake lock break bestsiteever" in refused.stdout
        ok(site.wake("lock", "break", APP))
        assert holder.stdout.readline() == "lost\n"  # its renewals fail: it knows
        assert "free" in ok(site.wake("lock", "show", APP))
        history = ok(site.wake("releases", APP))
        assert "lock break" in history and "broke the lock of root@" in history
    finally:
        holder.kill()
        holder.wait()
    ok(site.doit("deploy:bestsiteever", timeout=600))
    _converged(site)


def test_rollback_brings_back_the_old_env_and_code(site: Site) -> None:
    site.edit_manifest(lambda m: m.setdefault("env", {}).update(GREETING="first"))
    ok(site.doit("deploy:bestsiteever"))
    first, _ = ReleaseStore(site.agent(), APP).current()
    site.edit_manifest(lambda m: (m["env"].update(GREETING="second"),
                                  m["processes"]["worker"].update(run="bundle exec rake "
                                                                      "jobs:work # second")))
    ok(site.doit("deploy:bestsiteever"))

    def inside(process: str, command: list[str]) -> set[str]:
        found = set()
        for host in site.hosts:
            for c in site.sdk(host).containers.list(
                    filters={"label": [f"wake.app={APP}", f"wake.process={process}"]}):
                found.add(c.exec_run(command).output.decode().strip())
        return found

    assert inside("web", ["printenv", "GREETING"]) == {"second"}
    assert any("# second" in text for text in inside("worker", ["cat", "/opt/run"]))
    out = ok(site.wake("rollback", APP))
    assert f"rolling back to release {first[:12]}" in out and "passing after" in out
    assert inside("web", ["printenv", "GREETING"]) == {"first"}
    assert not any("# second" in text for text in inside("worker", ["cat", "/opt/run"]))
    history = ok(site.wake("releases", APP))
    assert f"rollback {first[:12]}" in history and "rolled back" in history
    assert ReleaseStore(site.agent(), APP).current()[0] == first


def test_logs_follow_instances_cron_runs_and_deploy_events(site: Site) -> None:
    # -f: the worker logs a heartbeat every 5 s; new lines arrive as they are written.
    follower = site.start("logs", APP, "worker", "-f", "-n", "0")
    try:
        assert follower.stdout is not None
        began = time.monotonic()
        line = follower.stdout.readline()  # blocks until one comes (or the process ends)
        assert "worker[" in line and "no jobs, sleeping" in line, line
        assert time.monotonic() - began < 30
    finally:
        follower.kill()
        follower.wait()
    # A cron run's output, under its job's name and slot.
    out = ok(site.wake("cron", "run", APP, "bust-caches"))
    assert "started on" in out, out
    wait_for(lambda: any("caches busted" in line["message"]
                         and line["instance"].startswith("manual-")
                         for line in _log_lines(site, "bust-caches")),
             timeout=120, what="the cron run's output in `wake logs`")
    # (The job's own */10 slot may have run meanwhile too: its instance is the slot.)
    (run,) = [line for line in _log_lines(site, "bust-caches")
              if "busted" in line["message"] and line["instance"].startswith("manual-")]
    assert run["host"] in site.hosts, run
    # Deploy, rollback and lock events, with who made them.
    events = [line["message"] for line in _log_lines(site, "deploy", "-n", "2000")]
    assert any(m.startswith("event: deploy ") and "succeeded" in m for m in events)
    assert any(m.startswith("event: rollback ") for m in events)
    assert any(m.startswith("event: lock break ") for m in events)
    assert any("passing after" in m for m in events)  # the deploy's own progress lines
    # --instance and --since narrow it down.
    web = next(i["instance"] for i in site.status()["instances"] if i["process"] == "web")
    only = _log_lines(site, "--instance", web, "--since", "2h")
    assert only and {line["instance"] for line in only} == {web}
    assert _log_lines(site, "--since", "2030-01-01T00:00:00") == []
