"""Load: many apps of several processes each deployed to the three hosts, then a no-op
deploy of all of them: not one container changes (the same container ids, no container
event on any engine). Reports the no-op's wall time and the Docker and Consul requests it
made (wake.calls: WAKE_CALLS_FILE)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.integration.sites import Site, ok

from .probes import converged, instances_on_hosts

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

PROCESSES = 5
WORK = "#!/bin/sh\necho \"$WAKE_APP $1 up\"\nexec sleep 2147483647\n"


def load_workspace(folder: Path, apps: int) -> list[str]:
    """`apps` plain apps of PROCESSES idle processes each (no HTTP check), small enough
    that all fit beside the cluster's other apps."""
    names = [f"load{n:02d}" for n in range(apps)]
    for name in names:
        (folder / name / "bin").mkdir(parents=True, exist_ok=True)
        (folder / name / "bin" / "work").write_text(WORK)
        (folder / name / "bin" / "work").chmod(0o755)
        (folder / name / "manifest.json").write_text(json.dumps({
            "name": name, "platform": "plain",
            "processes": {f"p{n}": {"run": f"bin/work p{n}", "cpu": 0.01, "memory": 16,
                                    "health": False, "stop_timeout": 1}
                          for n in range(PROCESSES)}}, indent=2))
    (folder / "wake.toml").write_text("".join(f'[[apps]]\npath = "{n}"\n\n' for n in names))
    return names


def _container_events(site: Site, names: list[str], since: float, until: float) -> list[str]:
    """The container events of the load apps' containers on every engine in the window
    (the cluster's other apps, and cron runs, may have their own meanwhile)."""
    found = []
    for host in site.hosts:
        for event in site.sdk(host).events(since=int(since), until=int(until) + 1,
                                           filters={"type": "container"}, decode=True):
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            if attributes.get("wake.app") in names:
                found.append(f"{host}: {event.get('status')} {attributes.get('name')}")
    return found


def test_a_no_op_deploy_of_many_apps_changes_nothing(  # type: ignore[no-untyped-def]
        site: Site, full: bool, figures, tmp_path: Path) -> None:
    count = 20 if full else 4
    folder = site.workspace.parent.parent / "ws-load"
    names = load_workspace(folder, count)
    workspace = folder / "wake.toml"
    tasks = [f"deploy:{name}" for name in names]
    began = time.monotonic()
    ok(site.doit(*tasks, workspace=workspace, timeout=3600))
    cold = time.monotonic() - began
    for name in names:
        converged(site, name, {f"p{n}": 1 for n in range(PROCESSES)}, workspace=workspace)
    before = {name: instances_on_hosts(site, name) for name in names}
    calls = tmp_path / "calls.jsonl"
    time.sleep(1.1)  # the events asked about begin after every earlier one
    since = time.time()
    began = time.monotonic()
    out = ok(site.doit(*tasks, workspace=workspace, timeout=900, WAKE_CALLS_FILE=str(calls)))
    noop = time.monotonic() - began
    until = time.time()
    after = {name: instances_on_hosts(site, name) for name in names}
    assert after == before, "a no-op deploy changed containers"
    events = _container_events(site, names, since, until)
    assert not events, f"container events during the no-op deploy: {events}\n{out}"
    assert "starting" not in out and "stopped" not in out, out
    used = [json.loads(line) for line in calls.read_text().splitlines()]
    docker_calls = sum(u["docker"] for u in used)
    consul_calls = sum(u["consul"] for u in used)
    hosts = {host for found in after.values() for host, _p, _s in found.values()}
    figures(f"{count} apps x {PROCESSES} processes ({count * PROCESSES} instances on "
            f"{len(hosts)} host{'s' if len(hosts) != 1 else ''}): cold deploy {cold:.0f} s; "
            f"no-op deploy of all {noop:.1f} s "
            f"({noop / count * 1000:.0f} ms per app), {docker_calls} Docker and "
            f"{consul_calls} Consul requests, 0 container changes, 0 container events")
