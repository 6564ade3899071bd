"""Traffic during change: RATE requests a second to api through the proxy, from inside a
front container, during three rolling deploys of api and one rollback: not one fails."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from tests.integration.sites import (
    RATE,
    Load,
    Site,
    bump_api,
    deps_workspace,
    front_containers,
    ok,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")


def _api_says(container: Any) -> set[str]:
    """What api answers front now, over a few requests (its instances' versions)."""
    code, out = container.exec_run(["python3", "-c", (
        "import urllib.request\n"
        "for _ in range(6):\n"
        "    print(urllib.request.urlopen('http://api:8000/', timeout=10).read().decode()"
        ".split()[-1])")])
    assert code == 0, out.decode()
    return set(out.decode().split())


def test_no_request_fails_during_three_rollouts_and_a_rollback(  # type: ignore[no-untyped-def]
        site: Site, figures) -> None:
    deps = deps_workspace(site)
    ok(site.doit("deploy:front", workspace=deps, timeout=900))  # api first, then front
    container = next(iter(front_containers(site, deps).values()))
    load = Load(container)
    load.start()
    time.sleep(2)
    took = []
    try:
        for version in (11, 12, 13):
            bump_api(deps, version)
            began = time.monotonic()
            out = ok(site.doit("deploy:api", workspace=deps, timeout=600))
            took.append(time.monotonic() - began)
            assert "out of Consul, stopped" in out, out
        assert _api_says(container) == {"v13"}
        began = time.monotonic()
        out = ok(site.wake("rollback", "api", workspace=deps, timeout=600))
        took.append(time.monotonic() - began)
        assert "out of Consul, stopped" in out, out
        assert _api_says(container) == {"v12"}, "the rollback did not bring v12 back"
    finally:
        result = load.finish()
    assert result["sent"] > RATE * 10 and result["failed"] == 0, result
    # Every release answered at some point: the rollouts really happened under load.
    assert len(result["answers"]) >= 8, result
    figures(f"{result['sent']} requests at {RATE}/s over {result['seconds']} s during 3 "
            f"rollouts and 1 rollback ({', '.join(f'{t:.0f}' for t in took)} s): "
            f"{result['failed']} failed; answers from {len(result['answers'])} api instances")
