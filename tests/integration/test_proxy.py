"""Dependencies through each host's proxy, on the session's real three-host netns cluster
(sites.py): app `front` depends on app `api`; from inside front's containers,
http://api:8000/ reaches a passing api instance on any host - through real HAProxy
following real Consul DNS - and goes on when an instance is killed. (Requests during
rollouts and a rollback: tests/reliability/test_traffic.py.)

The load runs inside a front container (tests/apps/front/load.py): 50 requests a second,
bounded in time, to the proxy on that host's cluster-network gateway only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import wait_for
from .sites import Load, Site, app_status, deps_workspace, front_containers, ok

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

# A command to HAProxy's admin socket, from inside the proxy's container.
ASK_ADMIN = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect("/run/wake-proxy/admin.sock")
s.sendall(sys.argv[1].encode() + b"\\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
print(data.decode())
"""


@pytest.fixture(scope="module")
def deps(site: Site) -> Path:
    """A second workspace, deployed to the same cluster: api and front."""
    return deps_workspace(site)


def _get_api(container: Any) -> str:
    code, out = container.exec_run(["python3", "-c", (
        "import urllib.request;"
        "print(urllib.request.urlopen('http://api:8000/', timeout=10).read().decode())")])
    assert code == 0, out.decode()
    return str(out.decode().strip())


def test_front_reaches_api_through_the_proxy_on_every_host(site: Site, deps: Path) -> None:
    plan = ok(site.wake("plan", "front", workspace=deps, timeout=900))
    assert "proxy: proxies serve api for front" in plan, plan
    out = ok(site.doit("deploy:front", workspace=deps, timeout=900))
    # front depends on api: api's deploy went first, and the proxies served api before
    # front's first instance started.
    assert out.index("api: deploying") < out.index("front: deploying"), out
    assert "proxy: serving api for front" in out, out
    api = app_status(site, deps, "api")
    assert api["matches"] and len(api["instances"]) == 2, api
    fronts = front_containers(site, deps)
    assert set(fronts) == set(site.hosts), "front runs on every host"
    for host, container in fronts.items():
        seen = {_get_api(container) for _ in range(8)}
        print(f"front on {host} reached: {sorted(seen)}")
        assert all(s.startswith("api web-") and s.endswith(" v1") for s in seen), seen
        # Round robin over the passing instances, wherever they run.
        assert len(seen) == 2, seen
    # And front's own page, asked from outside, answers with what api said.
    url = next(i["url"] for i in app_status(site, deps, "front")["instances"])
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read().decode().startswith("front -> api web-")
    cluster = ok(site.wake("cluster", "status"))
    assert cluster.count("serving api") == 3, cluster
    # (Other apps of the session's cluster, not in this workspace, make `wake status`
    # exit 1: ask about these two.)
    status = ok(site.wake("status", "api", "front", workspace=deps))
    for host in site.hosts:
        assert f"proxy on {host}: passing, serving api" in status, status


def _proxy_servers(site: Site, host: str) -> list[str]:
    """`show servers state app-api` from the host's HAProxy (its admin socket), the
    servers that are up: "address:port"."""
    (proxy,) = site.sdk(host).containers.list(filters={"label": "wake.service=proxy"})
    code, out = proxy.exec_run(["python3", "-c", ASK_ADMIN, "show servers state app-api"])
    assert code == 0, out.decode()
    up = []
    for line in out.decode().splitlines():
        fields = line.split()
        # be_id be_name srv_id srv_name srv_addr srv_op_state ... srv_port is field 18
        if len(fields) > 18 and fields[1] == "app-api" and fields[5] == "2":
            up.append(f"{fields[4]}:{fields[18]}")
    return up


def test_a_killed_instance_costs_no_request(site: Site, deps: Path) -> None:
    victim = app_status(site, deps, "api")["instances"][0]
    gone = f"{victim['address']}:{victim['port']}"
    host, container = next(iter(front_containers(site, deps).items()))
    assert gone in _proxy_servers(site, host)
    load = Load(container)
    load.start()
    try:
        time.sleep(3)
        for c in site.sdk(victim["host"]).containers.list(
                filters={"label": ["wake.app=api", f"wake.instance={victim['instance']}"]}):
            c.kill()
        killed = time.monotonic()
        # Out of the proxy within the check interval (2 s) plus a few seconds: Consul
        # marks it critical, its DNS answer drops it, HAProxy's next question sees that.
        wait_for(lambda: gone not in _proxy_servers(site, host), timeout=15,
                 what=f"the proxy on {host} dropping {gone}")
        dropped = time.monotonic() - killed
        print(f"{gone} killed; out of the proxy on {host} after {dropped:.1f} s")
        time.sleep(3)
    finally:
        result = load.finish()
    assert result["failed"] == 0, result  # the requests that met it went to the other
    assert len(_proxy_servers(site, host)) == 1
    # The next deploy replaces it.
    ok(site.doit("deploy:api", workspace=deps, timeout=600))
    wait_for(lambda: app_status(site, deps, "api")["matches"], timeout=60, what="api again")
