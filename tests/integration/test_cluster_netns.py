"""A three-host cluster from nothing: netns hosts, each with its own dockerd, and the
cluster services (Consul servers, rsyslog, the registry) built by wake and run on them."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from wake import engine, registry
from wake.cluster import netns
from wake.cluster.hosts import Host

from .conftest import TEST_LABEL, run_output, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")


def wake(home: Path, *args: str, timeout: float = 120,
         **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wake.cli", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "WAKE_HOME": str(home), **env})


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


class Setup:
    def __init__(self, home: Path, names: list[str], extra: str, cluster: str) -> None:
        self.home, self.names, self.extra, self.cluster = home, names, extra, cluster

    def host(self, name: str) -> Host:
        data = json.loads((self.home / "hosts.json").read_text())["hosts"][name]
        return Host(name, **data)

    def sdk(self, name: str) -> docker.DockerClient:
        """The docker SDK on a host's engine, for looking at what wake did there."""
        return docker.DockerClient(base_url=self.host(name).docker)

    def status(self) -> tuple[int, dict[str, Any]]:
        done = wake(self.home, "cluster", "status", self.cluster, "--json")
        assert done.returncode in (0, 1) and done.stdout.strip(), done.stderr
        return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Iterator[Setup]:
    home = tmp_path_factory.mktemp("cluster") / "wake-home"
    tag = secrets.token_hex(2)
    names = [f"t{tag}-h{i}" for i in (1, 2, 3)]
    extra = f"t{tag}-h4"  # joins the running cluster later
    made: list[str] = []
    env_before = os.environ.get("WAKE_BASE_IMAGE")
    os.environ["WAKE_BASE_IMAGE"] = base_image
    try:
        for name in [*names, extra]:
            ok(wake(home, "hosts", "create", name, "--driver", "netns"))
            made.append(name)
        yield Setup(home, names, extra, f"t{tag}")
    finally:
        # A test that failed before destroy ran still leaves nothing behind.
        known = home / "clusters.json"
        if known.exists() and f"t{tag}" in json.loads(known.read_text())["clusters"]:
            wake(home, "cluster", "destroy", f"t{tag}", timeout=300)
        for name in made:
            done = wake(home, "hosts", "rm", name, "--force")
            if done.returncode != 0:  # still leave the machine clean
                netns.destroy(name, say=lambda _line: None)
        if env_before is None:
            os.environ.pop("WAKE_BASE_IMAGE", None)
    for name in [*names, extra]:  # what create made is gone
        assert not netns.NetnsHost(name).exists()
        assert not netns.NetnsHost(name).data_dir.exists()
        assert not netns.NetnsHost(name).run_dir.exists()


def test_hosts_are_listed_with_their_engines(setup: Setup) -> None:
    listed = ok(wake(setup.home, "hosts", "list"))
    for name in setup.names:
        line = next(row for row in listed.splitlines() if row.startswith(name))
        assert " netns " in line and " up (" in line and "cpu" in line
    addresses = [setup.host(n).address for n in [*setup.names, setup.extra]]
    assert len(set(addresses)) == 4
    # Each host is its own engine: it starts empty, whatever this machine's engine holds.
    assert setup.sdk(setup.names[0]).images.list() == []


def test_cluster_comes_up_from_nothing(setup: Setup) -> None:
    created = wake(setup.home, "cluster", "create", setup.cluster, "--hosts",
                   ",".join(setup.names), timeout=900)
    ok(created)
    assert "Consul leader" in created.stderr
    code, status = setup.status()
    assert code == 0, status
    assert status["leader"]
    assert len(status["servers"]) == 3
    assert {s["serf"] for s in status["servers"]} == {"alive"}
    assert sum(s["role"] == "leader" for s in status["servers"]) == 1
    assert [h["name"] for h in status["hosts"]] == setup.names
    for host in status["hosts"]:
        assert host["health"] == "passing"
        assert host["cpus"] >= 1 and host["memory"] > 2**28
        assert f"wake-{setup.cluster}-consul" in host["placed"]
    first = status["hosts"][0]
    assert f"wake-{setup.cluster}-registry" in first["placed"]
    assert f"wake-{setup.cluster}-rsyslog" in first["placed"]
    services = {s["name"]: s for s in status["services"]}
    assert services["wake-rsyslog"]["health"] == "passing"
    assert services["wake-registry"]["health"] == "passing"
    # A dependency proxy on every host, passing its check (docs/proxy.md).
    proxies = [s for s in status["services"] if s["name"] == "wake-proxy"]
    assert sorted(p["host"] for p in proxies) == sorted(setup.names), proxies
    assert all(p["health"] == "passing" for p in proxies), proxies
    assert status["down"] == []
    assert status["encrypted"]  # gossip, with the key create made
    # The text form says the same.
    text = ok(wake(setup.home, "cluster", "status", setup.cluster))
    assert "all servers, hosts and services up" in text and "gossip  encrypted" in text
    clusters = json.loads((setup.home / "clusters.json").read_text())
    assert clusters["clusters"][setup.cluster]["hosts"] == setup.names


def test_rsyslog_master_files_messages_by_app_and_process(setup: Setup) -> None:
    first = setup.host(setup.names[0])
    with socket.create_connection((first.address, 5514), timeout=5) as conn:
        conn.sendall(b"<14>Nov 25 06:00:00 box shop.web.web-7: order 42 paid\n"
                     b"<14>Nov 25 06:00:00 box ../../etc.x.y: kept out of /etc\n"
                     b"<14>Nov 25 06:00:00 box cron: not a wake app's line\n")
    container = setup.sdk(setup.names[0]).containers.get(f"wake-{setup.cluster}-rsyslog")

    def filed() -> bool:
        out = container.exec_run(["cat", "/var/log/wake/shop/web.log"]).output.decode()
        # TIME APP PROCESS INSTANCE SENDER MESSAGE
        return any(line.split(" ", 5)[1:4] == ["shop", "web", "web-7"]
                   and line.endswith(" order 42 paid") for line in out.splitlines())

    wait_for(filed, timeout=20, what="the message in the app's file")
    listing = container.exec_run(["find", "/var/log/wake", "-type", "f"]).output.decode()
    assert "/etc" not in listing.replace("/var/log/wake", ""), listing
    assert "/var/log/wake/_other/" in listing, listing


def test_image_pushed_from_here_pulls_on_every_host(setup: Setup, base_image: str) -> None:
    status = setup.status()[1]
    reg = next(s["address"] for s in status["services"] if s["name"] == "wake-registry")
    tag = push_marker(base_image, reg)
    for name in setup.names:
        client = setup.sdk(name)
        registry.pull(setup.host(name).engine(), reg, tag)
        out = run_output(client, tag, ["cat", "/marker"])
        assert out.decode().strip() == tag.rsplit(":", 1)[1], name


def push_marker(base_image: str, registry_address: str) -> str:
    """Build a tiny image here and push it to the cluster's registry; returns its tag."""
    build = docker.from_env()
    marker = secrets.token_hex(8)
    dockerfile = f"FROM {base_image}\nRUN echo {marker} > /marker\n"
    tag = f"wake-test/marker:{marker}"
    image, _ = build.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag,
                                  labels={TEST_LABEL: "1"}, rm=True)
    try:
        registry.push(engine.connect(), registry_address, tag)
    finally:
        build.images.remove(image.id, force=True)
    return tag


def test_a_host_joins_the_running_cluster_and_leaves(setup: Setup, base_image: str) -> None:
    extra, name = setup.extra, setup.cluster
    joined = wake(setup.home, "cluster", "join", extra, "--cluster", name, timeout=600)
    ok(joined)
    code, status = setup.status()
    assert code == 0, status
    assert [h["name"] for h in status["hosts"]] == [*setup.names, extra]
    host = status["hosts"][-1]
    assert host["health"] == "passing" and host["cpus"] >= 1 and host["memory"] > 2**28
    assert host["placed"] == [f"wake-{name}-consul", f"wake-{name}-proxy",
                              f"wake-{name}-scheduler"]
    assert len(status["servers"]) == 3  # it runs a client agent, not a fourth server
    assert extra in json.loads((setup.home / "clusters.json").read_text())["clusters"][
        name]["hosts"]
    row = next(r for r in ok(wake(setup.home, "hosts", "list")).splitlines()
               if r.startswith(f"{extra} "))
    assert f" {name} " in row
    # Its engine trusts the cluster registry: an image pushed from here pulls there.
    reg = next(s["address"] for s in status["services"] if s["name"] == "wake-registry")
    tag = push_marker(base_image, reg)
    client = setup.sdk(extra)
    registry.pull(setup.host(extra).engine(), reg, tag)
    out = run_output(client, tag, ["cat", "/marker"])
    assert out.decode().strip() == tag.rsplit(":", 1)[1]

    again = wake(setup.home, "cluster", "join", extra, "--cluster", name)
    assert again.returncode == 2 and "already" in again.stderr
    server = wake(setup.home, "cluster", "leave", setup.names[1], "--cluster", name)
    assert server.returncode == 2 and "runs a Consul server" in server.stderr

    ok(wake(setup.home, "cluster", "leave", extra, "--cluster", name, timeout=300))
    code, status = setup.status()
    assert code == 0, status
    assert [h["name"] for h in status["hosts"]] == setup.names
    assert client.containers.list(all=True, filters={"label": f"wake.cluster={name}"}) == []
    assert extra not in json.loads((setup.home / "clusters.json").read_text())["clusters"][
        name]["hosts"]


def test_losing_one_server_host_keeps_a_leader(setup: Setup) -> None:
    lost = setup.names[2]
    ok(wake(setup.home, "hosts", "stop", lost))
    try:
        deadline = time.monotonic() + 90
        while True:
            code, status = setup.status()
            if status["down"] == [lost] and status["leader"]:
                break
            assert time.monotonic() < deadline, status
            time.sleep(2)
        assert code == 1
        # It stays down, in raft and in the catalog: autopilot does not clean it away
        # (its dead-server cleanup runs every few seconds; servers never move in wake).
        time.sleep(20)
        code, status = setup.status()
        assert code == 1 and status["down"] == [lost], status
        servers = {s["node"]: s for s in status["servers"]}
        assert servers[lost]["serf"] == "failed"
        assert sum(s["role"] == "leader" for s in status["servers"]) == 1
        assert servers[lost]["role"] != "leader"
        host = next(h for h in status["hosts"] if h["name"] == lost)
        assert host["health"] == "critical" and host["note"] == "engine unreachable"
        text = wake(setup.home, "cluster", "status", setup.cluster)
        assert text.returncode == 1 and f"down: {lost}" in text.stdout
    finally:
        ok(wake(setup.home, "hosts", "start", lost))
    # The host comes back: its Consul server restarts with its engine and rejoins.
    wait_for(lambda: setup.status()[1]["down"] == [], timeout=90, what="the host to rejoin")


def test_adding_existing_engines(setup: Setup) -> None:
    h1 = setup.host(setup.names[0])
    plain = wake(setup.home, "hosts", "add", "open", "--docker", f"tcp://{h1.address}:2375")
    assert plain.returncode == 2 and "--insecure" in plain.stderr
    assert "Traceback" not in plain.stderr
    ok(wake(setup.home, "hosts", "add", "again", "--docker", h1.docker))
    listed = ok(wake(setup.home, "hosts", "list"))
    assert any(row.startswith("again ") and "existing" in row for row in listed.splitlines())
    ok(wake(setup.home, "hosts", "rm", "again"))
    assert netns.NetnsHost(setup.names[0]).exists()  # rm of an existing engine tears nothing down
    # tcp:// with TLS: netns engines listen on :2376 with certificates of their own.
    own, other = (str(netns.NetnsHost(n).tls_dir) for n in setup.names[:2])
    url = f"tcp://{h1.address}:2376"
    # A proxy's CA bundle in the environment must not replace the engine's CA.
    added = ok(wake(setup.home, "hosts", "add", "sealed", "--docker", url, "--tls", own,
                    REQUESTS_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt"))
    assert f"added host sealed: {url} (address {h1.address}" in added
    listed = ok(wake(setup.home, "hosts", "list"))
    assert any(row.startswith("sealed ") and " up (" in row for row in listed.splitlines())
    ok(wake(setup.home, "hosts", "rm", "sealed"))
    wrong = wake(setup.home, "hosts", "add", "forged", "--docker", url, "--tls", other)
    assert wrong.returncode == 1 and "failed TLS verification" in wrong.stderr, wrong.stderr
    dead = wake(setup.home, "hosts", "add", "ghost", "--docker", "unix:///nonexistent.sock")
    assert dead.returncode == 1 and "does not answer" in dead.stderr
    hosts = json.loads((setup.home / "hosts.json").read_text())["hosts"]
    assert sorted(hosts) == sorted([*setup.names, setup.extra])


def test_destroy_removes_what_create_made(setup: Setup) -> None:
    reg = json.loads((setup.home / "clusters.json").read_text())["clusters"][setup.cluster][
        "registry"]
    ok(wake(setup.home, "cluster", "destroy", setup.cluster, timeout=300))
    for name in setup.names:
        left = setup.sdk(name).containers.list(
            all=True, filters={"label": f"wake.cluster={setup.cluster}"})
        assert left == [], name
    assert not Path(f"/etc/docker/certs.d/{reg}").exists()
    assert setup.cluster not in json.loads((setup.home / "clusters.json").read_text())[
        "clusters"]
    assert not (setup.home / "clusters" / setup.cluster).exists()
