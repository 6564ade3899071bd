"""Random actions: seeded sequences of what happens to a cluster in real life - deploy a
change, roll back, scale a process, `docker kill` an instance, stop a host, start it
again - each left to succeed or fail as it will (never with a traceback), then every host
started and one final deploy: within five minutes the cluster holds exactly the release
the workspace describes, every time."""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter

import pytest

from tests.integration.conftest import wait_for
from tests.integration.sites import APP, Site

from .probes import converged, host_passing, instances_on_hosts

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

CONVERGE_WITHIN = 300.0  # seconds from the final deploy's start


class Actions:
    def __init__(self, site: Site, chance: random.Random) -> None:
        self.site, self.chance = site, chance
        self.down: str | None = None  # at most one host down: the Consul servers keep quorum
        self.done: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.changes = 0

    def checked(self, what: str, done: subprocess.CompletedProcess[str]) -> None:
        out = done.stdout + done.stderr
        assert "Traceback" not in out, f"{what}:\n{out}"
        self.done[what] += 1
        if done.returncode != 0:
            self.failed[what] += 1
            print(f"  {what} failed: {out.strip().splitlines()[-1:]}")

    def deploy_a_change(self) -> None:
        self.changes += 1
        self.site.edit_manifest(lambda m: m.setdefault("env", {}).update(
            GREETING=f"random {self.chance.random():.6f}"))
        self.checked("deploy a change", self.site.doit("deploy:bestsiteever", timeout=900))

    def rollback(self) -> None:
        self.checked("rollback", self.site.wake("rollback", APP, timeout=900))

    def scale(self) -> None:
        web = self.chance.randint(1, 3)
        self.site.edit_manifest(lambda m: m["processes"]["web"].update(instances=web))
        self.checked(f"scale web to {web}", self.site.doit("deploy:bestsiteever", timeout=900))

    def kill_an_instance(self) -> None:
        found = [(host, instance) for instance, (host, _p, status)
                 in sorted(instances_on_hosts(self.site, APP).items())
                 if status == "running" and host != self.down]
        if not found:
            return
        host, instance = self.chance.choice(found)
        for c in self.site.sdk(host).containers.list(filters={"label": [
                f"wake.app={APP}", f"wake.instance={instance}"]}):
            c.kill()
        self.done["docker kill an instance"] += 1

    def stop_a_host(self) -> None:
        if self.down:
            return self.start_the_host()
        self.down = self.chance.choice(self.site.hosts[1:])  # the first answers the test
        self.checked("stop a host", self.site.wake("hosts", "stop", self.down))

    def start_the_host(self) -> None:
        if not self.down:
            return self.stop_a_host()
        self.checked("start a host", self.site.wake("hosts", "start", self.down))
        self.down = None

    def run(self, count: int) -> None:
        steps = [self.deploy_a_change, self.rollback, self.scale, self.kill_an_instance,
                 self.stop_a_host, self.start_the_host]
        for n in range(count):
            step = self.chance.choice(steps)
            print(f"action {n}: {step.__name__} (down: {self.down})")
            step()
            time.sleep(self.chance.uniform(0, 3))


def _wanted(site: Site) -> dict[str, int]:
    import json

    processes = json.loads(site.manifest().read_text())["processes"]
    return {name: p.get("instances", 1) for name, p in processes.items()}


def _converge_within(site: Site, wanted: dict[str, int], deadline: float) -> None:
    """converged() by `deadline` (monotonic), else its last complaint."""
    while True:
        try:
            converged(site, APP, wanted)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_random_actions_then_a_deploy_converge(  # type: ignore[no-untyped-def]
        site: Site, full: bool, figures) -> None:
    seeds, count = ((1, 2, 3), 20) if full else ((1,), 6)
    took = []
    totals: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for seed in seeds:
        actions = Actions(site, random.Random(seed))
        try:
            actions.run(count)
        finally:
            if actions.down:
                actions.start_the_host()
        totals.update(actions.done)
        failures.update(actions.failed)
        began = time.monotonic()
        # The final step, all within the bound: every host back in Consul, one deploy,
        # then the cluster must match (the instances it started pass their checks).
        wait_for(lambda: all(host_passing(site, name) for name in site.hosts),
                 timeout=CONVERGE_WITHIN, what="every host passing in Consul")
        done = site.doit("deploy:bestsiteever", timeout=CONVERGE_WITHIN)
        assert done.returncode == 0, done.stdout + done.stderr
        _converge_within(site, _wanted(site), began + CONVERGE_WITHIN)
        took.append(time.monotonic() - began)
        print(f"seed {seed}: {dict(actions.done)}, failed {dict(actions.failed)}; "
              f"converged {took[-1]:.0f} s after the final deploy began")
    figures(f"{len(seeds)} x {count} seeded actions ({sum(totals.values())} done: "
            f"{', '.join(f'{k} {v}' for k, v in sorted(totals.items()))}; "
            f"{sum(failures.values())} failed as they may); converged every time, at most "
            f"{max(took):.0f} s after the final deploy began (bound {CONVERGE_WITHIN:.0f} s)")
