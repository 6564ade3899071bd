"""The registry cache: a build pushes its stages to a real registry on loopback,
and a second, empty engine pulls every stage instead of building it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from wake import registry as registry_mod
from wake.build.session import Session

from .conftest import build, free_port, make_workspace, wait_for

PYTHON_STAGES = {"platform:python-3.11-compile", "platform:python-3.11-release",
                 "build:python-hello:app-deps", "build:python-hello:app-compile",
                 "build:python-hello:app-release", "build:python-hello:release-web"}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """Debian's docker-registry (Distribution 2.8) on a free loopback port."""
    if shutil.which("docker-registry") is None:
        pytest.fail("docker-registry is not installed (scripts/ensure-env.sh installs it)")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {tmp_path / 'registry-data'}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    server = subprocess.Popen(["docker-registry", "serve", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/",
                                                timeout=2).status == 200, what="registry")
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def second_engine() -> Iterator[docker.DockerClient]:
    """An empty dockerd of our own, on its own bridge (--bridge=none would delete the
    shared docker0), stopped and removed afterwards by its process handle."""
    ident = uuid.uuid4().hex[:8]
    bridge = f"wk{ident}"
    # Short paths: unix socket paths are limited to about 100 bytes.
    work = Path(tempfile.mkdtemp(prefix=f"wk{ident}", dir="/tmp"))
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    daemon = None
    try:
        subprocess.run(["ip", "addr", "add", f"10.{int(ident[:2], 16)}.{int(ident[2:4], 16)}"
                        ".1/24", "dev", bridge], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
        url = f"unix://{work / 'docker.sock'}"
        with open(work / "log", "wb") as log:
            daemon = subprocess.Popen(
                ["dockerd", "--data-root", str(work / "data"), "--exec-root",
                 str(work / "exec"), "--pidfile", str(work / "pid"), "-H", url,
                 "--bridge", bridge, "--iptables=false", "--ip-masq=false",
                 "--ip-forward=false"], stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: (work / "docker.sock").exists(), timeout=60, what="second dockerd")
        client = docker.DockerClient(base_url=url, timeout=300)
        wait_for(client.ping, timeout=60, what="second dockerd")
        yield client
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=60)
        subprocess.run(["ip", "link", "del", bridge], check=False)
        shutil.rmtree(work, ignore_errors=True)


def second_url(client: docker.DockerClient) -> str:
    # docker-py keeps the socket path on its adapter; rebuild the DOCKER_HOST form.
    adapter = client.api.get_adapter("http+docker://localhost")
    return f"unix://{adapter.socket_path}"


def test_empty_engine_pulls_every_stage_from_the_registry(
        tmp_path: Path, wake_env: Path, fresh_platforms: Path, registry: str,
        second_engine: docker.DockerClient, client: docker.DockerClient, base_image: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = make_workspace(tmp_path / "ws", ["python-hello"])
    monkeypatch.setenv("WAKE_REGISTRY", registry)

    first = build(workspace)
    assert set(first) == PYTHON_STAGES
    assert set(first.values()) == {"built"}
    session = Session(workspace_file=workspace)
    for node in PYTHON_STAGES:
        repository, tag = session.materializer.get(node).tag.rsplit(":", 1)
        assert registry_mod.has(registry, repository, tag), f"{node} was not pushed"

    # The second engine starts with only the base image (same id: keys include it).
    second_engine.images.load(b"".join(client.images.get(base_image).save(named=True)))
    assert second_engine.images.get(base_image).id == client.images.get(base_image).id
    assert not second_engine.images.list(filters={"label": "wake.key"})

    monkeypatch.setenv("DOCKER_HOST", second_url(second_engine))
    monkeypatch.setenv("WAKE_HOME", str(tmp_path / "ci-machine-home"))
    second = build(workspace)
    assert second == {node: "pulled" for node in PYTHON_STAGES}
    labels = {image.labels["wake.id"]
              for image in second_engine.images.list(filters={"label": "wake.key"})}
    assert labels == PYTHON_STAGES

    # And with the images now local, a third run neither pulls nor builds.
    assert set(build(workspace).values()) == {"reused"}

    # A source edit on an empty engine (a fresh CI machine): the dependencies are pulled,
    # not reinstalled; only what holds the source builds.
    order = ("release", "app-release", "app-compile", "app-deps", "platform-release",
             "platform-compile")  # children before the images they are built on
    for image in sorted(second_engine.images.list(filters={"label": "wake.key"}),
                        key=lambda i: order.index(i.labels["wake.kind"])):
        second_engine.images.remove(image.id, force=True)
    assert not second_engine.images.list(filters={"label": "wake.key"})
    app_py = workspace.parent / "python-hello" / "app.py"
    app_py.write_text(app_py.read_text() + "\n# edited on a laptop\n")
    edit_started = time.time()
    edited = build(workspace)
    assert edited == {"platform:python-3.11-compile": "pulled",
                      "platform:python-3.11-release": "pulled",
                      "build:python-hello:app-deps": "pulled",
                      "build:python-hello:app-compile": "built",
                      "build:python-hello:app-release": "pulled",
                      "build:python-hello:release-web": "built"}

    # The release was built on the layer cache of the last one pushed (the registry's
    # release-web:last, pulled because this engine had no image of the stage): every
    # step before the source copy is a cached one, made by the first build, not now.
    release = Session(workspace_file=workspace).materializer.get(
        "build:python-hello:release-web").tag
    history = second_engine.images.get(release).history()  # newest step first
    assert history[0]["Created"] >= edit_started - 1  # the source copy and labels: new
    venv_copy = next(h for h in history if "/opt/app/.venv" in h["CreatedBy"])
    assert venv_copy["Created"] < edit_started - 1, venv_copy
    assert not [t for i in second_engine.images.list() for t in i.tags
                if t.endswith(f":{registry_mod.LAST}")]  # the cache image was untagged
    # ... and the new release is now the registry's last.
    repository, tag = release.rsplit(":", 1)
    assert registry_mod.image_id(registry, repository, registry_mod.LAST) == \
        registry_mod.image_id(registry, repository, tag)
