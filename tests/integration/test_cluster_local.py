"""`wake cluster create NAME --local`: the whole cluster on this machine's own engine
(the README quick start's default), then destroy. It runs on a loopback address of its
own (127.0.0.N), so it runs beside the quick start's cluster on 127.0.0.1 too."""

from __future__ import annotations

import json
import os
import secrets
import socket
from pathlib import Path

import docker
import pytest

from .conftest import wait_for
from .test_cluster_netns import ok, wake

PORTS = (8300, 8301, 8500, 5000, 5514)


def busy(address: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((address, port)) == 0


def free_loopback() -> str:
    for _ in range(50):
        address = f"127.0.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 2}"
        if not any(busy(address, p) for p in PORTS):
            return address
    raise AssertionError("no free loopback address found")


def test_local_cluster_up_status_destroy(tmp_path: Path, base_image: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAKE_BASE_IMAGE", base_image)
    home = tmp_path / "wake-home"
    name = f"l{secrets.token_hex(2)}"
    address = free_loopback()
    try:
        created = wake(home, "cluster", "create", name, "--local", "--address", address,
                       timeout=900)
        ok(created)
        status = json.loads(ok(wake(home, "cluster", "status", "--json")))
        assert status["cluster"] == name and status["leader"].startswith(f"{address}:")
        assert [(s["node"], s["serf"]) for s in status["servers"]] == [("local", "alive")]
        assert [(h["name"], h["health"]) for h in status["hosts"]] == [("local", "passing")]
        assert {s["name"]: s["health"] for s in status["services"]} == {
            "wake-rsyslog": "passing", "wake-registry": "passing", "wake-proxy": "passing"}
        # The proxy listens on the gateway of the cluster's own network (the quick
        # start's cluster has another: both run on one engine).
        network = docker.from_env().networks.get(f"wake-{name}")
        gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
        (proxy,) = [s for s in status["services"] if s["name"] == "wake-proxy"]
        assert proxy["address"] == f"{gateway}:8000"
        # The cron scheduler runs (Debian's python3 with wake copied in) and is active.
        wait_for(lambda: json.loads(ok(wake(home, "cluster", "status", "--json")))[
            "scheduler"] == "local", timeout=60, what="the cron scheduler active")
        # The registry takes pushes from this engine.
        client = docker.from_env()
        consul_image = client.containers.get(f"wake-{name}-consul").attrs["Config"]["Image"]
        from wake import engine, registry

        registry.push(engine.connect(), f"{address}:5000", consul_image)
        registry.pull(engine.connect(), f"{address}:5000", consul_image)  # served back
        again = wake(home, "cluster", "create", name, "--local", "--address", address)
        assert again.returncode == 2 and "exists already" in again.stderr
    finally:
        destroyed = wake(home, "cluster", "destroy", name, timeout=300)
    ok(destroyed)
    left = docker.from_env().containers.list(all=True, filters={"label": f"wake.cluster={name}"})
    assert left == []
    assert docker.from_env().networks.list(names=[f"wake-{name}"]) == []
    assert not Path(f"/etc/docker/certs.d/{address}:5000").exists()
    assert not any(busy(address, p) for p in (8500, 5000, 5514))
    assert os.path.exists(home / "clusters.json")
