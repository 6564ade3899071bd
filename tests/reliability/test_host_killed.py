"""A host killed mid-rollout (its dockerd stopped, and the Consul agent, scheduler and
proxy that run on it): the other hosts keep every process at N-1 passing instances or
more, sampled every second; the deploy ends with a clear error naming the host or
succeeds on the hosts left; once the host is back, the next deploy converges."""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.integration.conftest import wait_for
from tests.integration.sites import APP, Site, ok

from .probes import Passing, converged, host_passing

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

WANTED = {"web": 3, "worker": 1}  # web: one instance per host


def test_a_host_killed_mid_rollout(site: Site, full: bool, figures) -> None:  # type: ignore[no-untyped-def]
    runs = 10 if full else 2
    chance = random.Random(1701)
    site.edit_manifest(lambda m: m["processes"]["web"].update(instances=WANTED["web"]))
    ok(site.doit("deploy:bestsiteever", timeout=900))
    converged(site, APP, WANTED)
    lowest = dict(WANTED)
    failed = succeeded = 0
    for n in range(runs):
        # The probe asks the first host's agent: the victim is one of the others.
        victim, delay = chance.choice(site.hosts[1:]), chance.uniform(0.5, 10.0)
        site.edit_manifest(lambda m, n=n: m.setdefault("env", {}).update(
            GREETING=f"host killed {n}"))
        ok(site.doit("build:bestsiteever"))
        probe = Passing(site, APP, WANTED)
        probe.start()
        deploy = site.start("deploy", APP)
        try:
            time.sleep(delay)
            ok(site.wake("hosts", "stop", victim))
            out, _ = deploy.communicate(timeout=600)
            assert "Traceback" not in out, out
            if deploy.returncode == 0:
                succeeded += 1
            else:
                failed += 1
                assert victim in out, f"the failed deploy does not name {victim}:\n{out}"
        finally:
            if deploy.poll() is None:
                deploy.kill()
            ok(site.wake("hosts", "start", victim))
        wait_for(lambda v=victim: host_passing(site, v), timeout=120,
                 what=f"{victim} passing in Consul again")
        ok(site.doit("deploy:bestsiteever", timeout=900))
        converged(site, APP, WANTED)
        probe.stop()
        print(f"run {n}: {victim} stopped {delay:.1f} s into the deploy, which "
              f"{'succeeded' if deploy.returncode == 0 else 'failed'}; {probe.summary()}")
        assert not probe.below, probe.below
        assert probe.web_down == 0 and probe.samples > 10, probe.summary()
        lowest = {p: min(lowest[p], probe.lowest[p]) for p in WANTED}
    figures(f"{runs} runs (seed 1701): {succeeded} deploys succeeded on the hosts left, "
            f"{failed} failed naming the host; lowest passing web {lowest['web']}/3, worker "
            f"{lowest['worker']}/1; web answered in every sample; every next deploy converged")
