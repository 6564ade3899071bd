"""What the integration and reliability suites share: the `--full` switch, the Docker
SDK, the base image, a git server on loopback and the three-host netns cluster (`site`),
each made once per test session. Helpers live in integration/conftest.py and sites.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from wake import engine

TEST_LABEL = "wake.test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", default=False,
                     help="run the seeded fault tests (tests/reliability, racing deploys) "
                          "with their full "
                          "counts (CI runs fewer; docs/reliability.md)")


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    """Whether --full was given: seeded fault tests run their full counts."""
    return bool(request.config.getoption("full"))


@pytest.fixture(scope="session")
def client() -> docker.DockerClient:
    """The docker SDK, for tests to look at what wake did (wake itself goes through
    wake.engine)."""
    return docker.from_env(timeout=600)


@pytest.fixture(scope="session")
def remove_what_tests_made(client: docker.DockerClient) -> Iterator[None]:
    before = {image.id for image in client.images.list(filters={"label": "wake.key"})}
    caches = {v.name for v in client.volumes.list(filters={"label": engine.CACHE_LABEL})}
    yield
    for container in client.containers.list(all=True, filters={"label": TEST_LABEL}):
        container.remove(force=True)
    for container in client.containers.list(all=True, filters={"label": "wake.temporary"}):
        container.remove(force=True)
    if os.environ.get("WAKE_TEST_KEEP_IMAGES"):
        return  # another run shares this engine (its images are not this run's to remove)
    for volume in client.volumes.list(filters={"label": engine.CACHE_LABEL}):
        if volume.name not in caches:  # the build caches this run made
            with contextlib.suppress(docker.errors.APIError):
                volume.remove(force=True)
    for image in client.images.list(filters={"label": "wake.key"}):
        if image.id not in before:
            # A child image may have gone first and taken this one along.
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(image.id, force=True)


@pytest.fixture(scope="session")
def base_image(client: docker.DockerClient) -> str:
    name = os.environ.get("WAKE_BASE_IMAGE", "debian:bookworm-slim")
    from wake.build import base

    # Makes it when missing, and again when an older wake made it (see base.BASE_VERSION).
    base.bootstrap(engine.connect(), name)
    return name


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`git daemon` on loopback serving the examples' extra repos; yields its base URL."""
    from .integration.conftest import EXAMPLES, free_port, make_repo, wait_for

    base = tmp_path_factory.mktemp("git-server")
    make_repo(EXAMPLES / "bestsiteever-cache-buster", base / "cache-buster.git")
    make_repo(EXAMPLES / "python-hello", base / "python-hello.git")  # an app by git URL
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
         f"--base-path={base}", "--export-all", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"git://127.0.0.1:{port}"
    try:
        wait_for(lambda: subprocess.run(["git", "ls-remote", f"{url}/cache-buster.git"],
                                        capture_output=True).returncode == 0,
                 what="git daemon")
        yield url
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, base_image: str,
         git_server: str) -> Iterator[Any]:
    """A three-host netns cluster with bestsiteever's workspace (sites.py), shared by the
    deploy and proxy tests: made once, removed at the end of the session."""
    from .integration.sites import make_site

    yield from make_site(tmp_path_factory.mktemp("deploy"), base_image, git_server)
