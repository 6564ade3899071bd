"""Fixtures and helpers for tests against a real Docker engine, real git servers and a
real registry (the session-wide ones, shared with tests/reliability, are in
tests/conftest.py).

Everything a test creates is removed by id or label at the end: images with a
`wake.key` label that were not there before the session, containers labelled
`wake.test`, and the daemons the fixtures started (by their own handles).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from wake.build import stages
from wake.build.session import Session

from ..conftest import TEST_LABEL

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _cleaned(remove_what_tests_made: None) -> None:
    """What the session's tests made goes when it ends (tests/conftest.py)."""


@pytest.fixture
def wake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_image: str) -> Path:
    """A private WAKE_HOME; the host's CA bundle (package managers need it here)."""
    home = tmp_path / "wake-home"
    monkeypatch.setenv("WAKE_HOME", str(home))
    for var in ("WAKE_REGISTRY", "WAKE_PLATFORMS_PATH", "WAKE_WORKSPACE", "DOCKER_HOST"):
        monkeypatch.delenv(var, raising=False)
    if HOST_CA.is_file():
        monkeypatch.setenv("WAKE_CA_BUNDLE", str(HOST_CA))
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_output(client: docker.DockerClient, image: str, command: list[str],
               **kwargs: object) -> bytes:
    """Run a command in a new container of `image` to its end and return its stdout.

    Not `containers.run(..., remove=True)`: that reads the log stream after removing the
    container, and a fast command's output is then sometimes lost (docker-py#2427)."""
    container = client.containers.run(image, command, detach=True,
                                      labels={TEST_LABEL: "1"}, **kwargs)
    try:
        status = container.wait(timeout=300)["StatusCode"]
        out: bytes = container.logs(stdout=True, stderr=False)
        if status != 0:
            err = container.logs(stdout=False, stderr=True).decode(errors="replace")
            raise AssertionError(f"{command} in {image} exited {status}: {err[-2000:]}")
        return out
    finally:
        container.remove(force=True)


def wait_for(check, timeout: float = 30.0, what: str = "service") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} did not come up within {timeout} s")


def make_repo(source: Path, bare: Path) -> str:
    """A bare git repo from a folder, with fixed dates (same content, same commit)."""
    work = bare.parent / f"{bare.name}.work"
    shutil.copytree(source, work)
    env = {**os.environ, "GIT_AUTHOR_NAME": "wake", "GIT_AUTHOR_EMAIL": "wake@localhost",
           "GIT_COMMITTER_NAME": "wake", "GIT_COMMITTER_EMAIL": "wake@localhost",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "repo"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    shutil.rmtree(work)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=bare, capture_output=True,
                          text=True, check=True).stdout.strip()


def copy_platforms(target: Path) -> Path:
    """Copies of the built-in platforms with a nonce, so keys made with them are this
    test's own and a build starts cold (Docker's layer cache still makes it quick)."""
    nonce = uuid.uuid4().hex
    for platform in ("ruby", "python", "node", "go"):
        shutil.copytree(ROOT / "platforms" / platform, target / platform)
        with open(target / platform / "platform.toml", "a") as handle:
            handle.write(f"\n# test nonce {nonce}\n")
    return target


@pytest.fixture
def fresh_platforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = copy_platforms(tmp_path / "platforms")
    monkeypatch.setenv("WAKE_PLATFORMS_PATH", str(target))
    return target


def copy_app(name: str, workspace: Path, git_url: str | None = None) -> Path:
    app = workspace / name
    shutil.copytree(EXAMPLES / name, app)
    if git_url:
        manifest = json.loads((app / "manifest.json").read_text())
        manifest["repos"] = {target: f"{git_url}/{url.rsplit('/', 1)[-1]}"
                             for target, url in manifest.get("repos", {}).items()}
        (app / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return app


def make_workspace(folder: Path, apps: list[str], git_url: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in apps:
        copy_app(name, folder, git_url)
    text = "".join(f'[[apps]]\npath = "{name}"\n\n' for name in apps)
    (folder / "wake.toml").write_text(text)
    return folder / "wake.toml"


def build(workspace_file: Path, apps: tuple[str, ...] = ()) -> dict[str, str]:
    """Ensure every stage, in order; return stage -> built / reused / pulled."""
    session = Session(workspace_file=workspace_file, only=apps)
    builder = session.builder
    return {node: builder.ensure(node).action for node in stages.ordered(session.graph)}


def tag_of(workspace_file: Path, node: str) -> str:
    session = Session(workspace_file=workspace_file)
    return session.materializer.get(node).tag


@pytest.fixture(scope="session")
def consul_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`consul agent -dev` on loopback with every port its own; yields host:port."""
    binary = shutil.which("consul")
    if binary is None:
        pytest.fail("consul is not installed (scripts/get-consul.sh installs it)")
    # Every port its own (gRPC's 8502 too), so agents of parallel runs never collide.
    ports = {name: free_port()
             for name in ("http", "dns", "serf-lan", "serf-wan", "server", "grpc")}
    folder = tmp_path_factory.mktemp("consul")
    log = folder / "consul.log"
    with open(log, "wb") as out:
        agent = subprocess.Popen(
            [binary, "agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1",
             f"-node=wake-test-{os.getpid()}"]
            + [f"-{name}-port={port}" for name, port in ports.items()],
            stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    address = f"127.0.0.1:{ports['http']}"
    try:
        import consul

        client = consul.Consul(host="127.0.0.1", port=ports["http"])
        wait_for(lambda: bool(client.status.leader()), timeout=30, what="consul leader")
        yield address
    finally:
        agent.terminate()
        agent.wait(timeout=30)


