"""The deploying process killed (SIGKILL, nothing to clean up after itself) at a seeded
step: the deploy lock is free again within its TTL and lock-delay, and the rerun
converges: no orphan container, no stale registration, every wanted instance passing."""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.integration.sites import APP, Site, ok
from wake.deploy.lock import LOCK_DELAY, TTL

from .probes import converged

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

WANTED = {"web": 2, "worker": 1}
# Consul invalidates a session within two TTLs of its last renewal, then the lock-delay;
# the probe asks every second.
LOCK_FREE_WITHIN = 2 * TTL + LOCK_DELAY + 2


def _kill_at(site: Site, line_no: int, delay: float) -> list[str]:
    """Run a deploy and SIGKILL it `delay` s after its `line_no`-th line of progress
    (counted from its "deploying release" line; doit's own lines before it do not count)."""
    deploy = site.start("deploy", APP)
    seen: list[str] = []
    assert deploy.stdout is not None
    for line in deploy.stdout:
        if seen or "deploying release" in line:
            seen.append(line.rstrip())
        if len(seen) >= line_no:
            time.sleep(delay)
            break
    deploy.kill()
    deploy.wait()
    return seen


def test_a_killed_deploy_frees_its_lock_and_the_rerun_converges(  # type: ignore[no-untyped-def]
        site: Site, full: bool, figures) -> None:
    runs = 20 if full else 2
    chance = random.Random(20261126)
    site.edit_manifest(lambda m: m["processes"]["web"].update(instances=WANTED["web"]))
    ok(site.doit("deploy:bestsiteever", timeout=900))
    freed: list[float] = []
    for n in range(runs):
        # Every process's run changes: both are replaced, web start-first one by one.
        site.edit_manifest(lambda m, n=n: m.setdefault("env", {}).update(
            GREETING=f"client killed {n}"))
        ok(site.doit("build:bestsiteever"))
        # The deploy's lines: deploying, plan, then per instance started, passing, out of
        # Consul (drain) and stopped, then current: killed before it starts anything, with
        # a new instance starting or passing, mid-drain, after an old one stopped, around
        # the pointer write.
        line_no, delay = chance.randint(1, 9), chance.uniform(0, 2.5)
        seen = _kill_at(site, line_no, delay)
        killed = time.monotonic()
        while "free" not in ok(site.wake("lock", "show", APP)):
            assert time.monotonic() - killed < LOCK_FREE_WITHIN, \
                "the lock outlived its TTL and lock-delay"
            time.sleep(1)
        freed.append(time.monotonic() - killed)
        print(f"run {n}: killed {delay:.1f} s after line {line_no}: {seen[-1:]}; "
              f"lock free after {freed[-1]:.1f} s")
        ok(site.doit("deploy:bestsiteever", timeout=900))
        converged(site, APP, WANTED)
    figures(f"{runs} runs (seed 20261126): every rerun converged (0 orphans, 0 stale "
            f"registrations); lock free after at most {max(freed):.1f} s "
            f"(bound {LOCK_FREE_WITHIN} s)")
