"""Eleven apps in the shapes real projects have (tests/apps/), built as they are - only a
manifest added - and run: each release image answers 200 on /_health and on a real page.

Between them they cover: Python 3.13 asked for by `.python-version` (Debian trixie),
Node 20 asked for by `engines.node`, uv.lock / poetry.lock / package-lock.json / go.sum /
Gemfile.lock honoured (the locked fastapi is the one in the image), a flit build that
needs mtimes after 1980, Django's collectstatic, a manifest build command with build-time
env that stays out of the release image, non-root release images, and a node_modules
folder that never enters a build context.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from wake import engine
from wake.build import stages
from wake.build.session import Session

from .conftest import ROOT, TEST_LABEL, run_output, wait_for

APPS = ROOT / "tests" / "apps"
NAMES = ("flask-flit", "django-static", "fastapi-uv", "fastapi-poetry", "express-lock",
         "vite-node20", "go-stdlib", "rack-gems", "express-yarn", "express-pnpm", "flask-pipenv")
# Versions the apps' own files ask for, and what they get.
VERSIONS = {"fastapi-uv": "python@3.13", "vite-node20": "node@20", "flask-flit": "python@3.11",
            "go-stdlib": "go@1.19", "rack-gems": "ruby@3.1", "express-lock": "node@18"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, base_image: str
          ) -> Iterator[tuple[Path, dict[str, str]]]:
    """The eight apps in one workspace, every stage built once; yields the workspace file
    and each release-web image tag."""
    engine.connect()  # fail early without an engine
    # The module-scoped twin of the wake_env fixture.
    folder = tmp_path_factory.mktemp("real-apps")
    patch = pytest.MonkeyPatch()
    patch.setenv("WAKE_HOME", str(folder / "wake-home"))
    for var in ("WAKE_REGISTRY", "WAKE_PLATFORMS_PATH", "WAKE_WORKSPACE", "DOCKER_HOST"):
        patch.delenv(var, raising=False)
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if ca.is_file():
        patch.setenv("WAKE_CA_BUNDLE", str(ca))
    from wake.build import base

    base.bootstrap(engine.connect(), "debian:trixie-slim")  # Python 3.13 and Node 20
    workspace = folder / "ws"
    for name in NAMES:
        shutil.copytree(APPS / name, workspace / name,
                        ignore=shutil.ignore_patterns("node_modules", ".venv", "dist"))
    # A local node_modules, as a developer's checkout has: never part of the context.
    junk = workspace / "express-lock" / "node_modules" / "left-pad"
    junk.mkdir(parents=True)
    (junk / "index.js").write_text("module.exports = 'from the developer machine';\n")
    (workspace / "wake.toml").write_text("".join(f'[[apps]]\npath = "{n}"\n\n' for n in NAMES))
    wake_toml = workspace / "wake.toml"
    # Through the CLI, as a user builds: --continue builds every app it can and lists
    # the failures at the end.
    result = subprocess.run([sys.executable, "-m", "wake.cli", "build", "--continue"],
                            cwd=workspace, capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    session = Session(workspace_file=wake_toml)
    tags = {name: session.materializer.get(stages.app_task(name, "release-web")).tag
            for name in NAMES}
    try:
        yield wake_toml, tags
    finally:
        patch.undo()


def _get(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
        return answer.status, answer.read().decode("utf-8", "replace")


@pytest.mark.parametrize("name", NAMES)
def test_each_app_builds_as_it_is_and_answers(built: tuple[Path, dict[str, str]], name: str,
                                              client: docker.DockerClient) -> None:
    _, tags = built
    container = client.containers.run(tags[name], detach=True, labels={TEST_LABEL: "1"},
                                      ports={"8000/tcp": ("127.0.0.1", None)}, init=True)
    try:
        container.reload()
        port = int(container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])
        wait_for(lambda: _get(port, "/_health")[0] == 200, timeout=60,
                 what=f"{name} /_health")
        status, body = _get(port, "/")
        assert status == 200 and name in body, body[:500]
        # Not root: the release image's user, and the running process's.
        assert client.images.get(tags[name]).attrs["Config"]["User"] == "wake"
        code, uid = container.exec_run(["id", "-u"])
        assert (code, uid.strip()) == (0, b"10001")
        # Build leftovers stay out of release images.
        code, listing = container.exec_run(["sh", "-c", "ls -a /opt/app"])
        names = listing.decode().split()
        assert not any(n == "build" or n.endswith(".egg-info") for n in names), names
    finally:
        container.remove(force=True)


def test_versions_come_from_the_apps_own_files(built: tuple[Path, dict[str, str]],
                                                client: docker.DockerClient) -> None:
    wake_toml, tags = built
    for name, label in VERSIONS.items():
        out = subprocess.run([sys.executable, "-m", "wake.cli", "detect",
                              str(wake_toml.parent / name)],
                             capture_output=True, text=True, check=True).stdout
        assert out.split("\t")[0] == label, out
    # What the version files asked for is what runs.
    python = run_output(client, tags["fastapi-uv"], ["python3", "--version"])
    assert python.decode().startswith("Python 3.13."), python
    node = run_output(client, tags["vite-node20"], ["node", "--version"])
    assert node.decode().startswith("v20."), node


def test_locked_versions_are_the_ones_in_the_image(built: tuple[Path, dict[str, str]],
                                                   client: docker.DockerClient) -> None:
    _, tags = built
    # Each lock pins an older version than its manifest allows; the page says which runs.
    locked = {"fastapi-uv": "fastapi=0.112.1", "express-yarn": "express=4.18.2",
              "express-pnpm": "express=4.19.2", "flask-pipenv": "flask=3.0.3"}
    for name, pin in locked.items():
        container = client.containers.run(tags[name], detach=True, labels={TEST_LABEL: "1"},
                                          ports={"8000/tcp": ("127.0.0.1", None)}, init=True)
        try:
            container.reload()
            port = int(container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])
            wait_for(lambda p=port: _get(p, "/_health")[0] == 200, timeout=60, what=name)
            assert pin in _get(port, "/")[1], name
        finally:
            container.remove(force=True)
    # poetry.lock: every pinned version, exactly.
    lock = (APPS / "fastapi-poetry" / "poetry.lock").read_text()
    import tomllib

    def canonical(name: str) -> str:  # PEP 503: pydantic_core is pydantic-core
        return re.sub(r"[-_.]+", "-", name).lower()

    pinned = {canonical(p["name"]): p["version"] for p in tomllib.loads(lock)["package"]}
    listed = run_output(client, tags["fastapi-poetry"],
                        ["/opt/app/.venv/bin/pip", "list", "--format", "json"])
    installed = {canonical(p["name"]): p["version"] for p in json.loads(listed)}
    assert {n: installed.get(n) for n in pinned} == pinned


def test_build_env_reaches_the_build_only(built: tuple[Path, dict[str, str]],
                                          client: docker.DockerClient) -> None:
    _, tags = built
    out = run_output(client, tags["flask-flit"],
                     ["cat", "/opt/app/flaskflit/static/build-label.txt"])
    assert out.decode() == "built-by-wake"
    env = client.images.get(tags["flask-flit"]).attrs["Config"]["Env"]
    assert not any(e.startswith("BUILD_LABEL=") for e in env), env
    # Django's collectstatic ran in the build (else / is a 500, checked above).
    out = run_output(client, tags["django-static"], ["sh", "-c", "ls /opt/app/staticfiles"])
    assert b"staticfiles.json" in out


def test_local_node_modules_stay_out_and_explain_pipes_cleanly(
        built: tuple[Path, dict[str, str]], client: docker.DockerClient) -> None:
    wake_toml, tags = built
    listing = run_output(client, tags["express-lock"],
                         ["sh", "-c", "ls /opt/app/node_modules; true"]).decode().split()
    assert "express" in listing and "left-pad" not in listing
    session = Session(workspace_file=wake_toml)
    compiled = session.materializer.get(stages.app_task("express-lock", "app-compile"))
    assert not any(f.path.startswith("node_modules/") for f in compiled.tree)
    # `wake explain APP | head -1`: closing the pipe early is not an error.
    pipeline = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m wake.cli explain express-lock "
         "| head -1"], cwd=wake_toml.parent, capture_output=True, text=True, timeout=120)
    assert pipeline.returncode == 0 and pipeline.stderr == "", pipeline.stderr
    assert pipeline.stdout.strip()


def test_development_dependencies_serve_a_build_script_only(
        built: tuple[Path, dict[str, str]], client: docker.DockerClient) -> None:
    """Vite's app installs them for its build script and prunes them after; an npm app
    with no build script never installs them, so a source edit runs no npm at all."""
    wake_toml, tags = built
    listing = run_output(client, tags["vite-node20"],
                         ["sh", "-c", "ls /opt/app/node_modules; true"]).decode().split()
    assert "express" in listing and "vite" not in listing
    session = Session(workspace_file=wake_toml)
    marker = ["sh", "-c", "test -e /opt/wake/node-production && echo yes || echo no"]
    for name, production_only in (("express-lock", b"yes"), ("vite-node20", b"no")):
        deps = session.materializer.get(stages.app_task(name, "app-deps")).tag
        assert run_output(client, deps, marker).strip() == production_only, name


def test_apps_whose_dependencies_are_all_wheels_get_no_build_tools(
        built: tuple[Path, dict[str, str]], client: docker.DockerClient) -> None:
    """The compile images leave compilers and git out (native.sh brings them in when an
    install needs them: tests/integration/test_build_tools.py); these apps' dependencies
    never did, so their app-deps images have neither."""
    wake_toml, _ = built
    session = Session(workspace_file=wake_toml)
    has = ["sh", "-c", "for t in gcc git; do command -v $t >/dev/null && echo $t; done; true"]
    for name in ("django-static", "fastapi-uv", "fastapi-poetry", "flask-pipenv",
                 "express-lock", "express-pnpm", "rack-gems"):
        deps = session.materializer.get(stages.app_task(name, "app-deps")).tag
        assert run_output(client, deps, has).split() == [], name
