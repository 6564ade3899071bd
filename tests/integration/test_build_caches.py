"""Build caches, against the real engine: Go's build cache stays between builds in a
volume mounted for build.sh's step alone (platform.toml [build] caches), so a source edit
compiles the app's own package, not the standard library again; no image holds the
cache, and the app-compile image keeps its own entrypoint and command. npm's download
cache stays the same way for deps.sh's install ([deps] caches): a reinstall works
offline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import docker

from wake.build import stages
from wake.build.builder import cache_volume
from wake.build.session import Session
from wake.engine import CACHE_LABEL

from .conftest import ROOT, run_output

APP = "go-stdlib"


def build(workspace: Path, *extra: str) -> str:
    result = subprocess.run([sys.executable, "-m", "wake.cli", "build", "-v", *extra],
                            cwd=workspace, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def edit(workspace: Path) -> None:
    with open(workspace / APP / "main.go", "a") as source:
        source.write(f"\n// edit {uuid.uuid4().hex}\n")


def compiled(output: str) -> list[str]:
    """The packages `go build -v` compiled (it names only those not in its cache)."""
    lines = [line.removeprefix("  | ").strip() for line in output.splitlines()]
    start = lines.index("wake: go build -v ./...") + 1
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("total "))
    return lines[start:end]


def test_a_source_edit_compiles_only_the_apps_own_package(
        wake_env: Path, tmp_path: Path, client: docker.DockerClient) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "tests" / "apps" / APP, workspace / APP)
    (workspace / "wake.toml").write_text(f'[[apps]]\npath = "{APP}"\n')
    edit(workspace)  # a source of its own: app-compile builds, whatever the engine holds
    first = build(workspace)
    assert "example.com/gostdlib" in compiled(first)  # whatever the cache held before
    session = Session(workspace_file=workspace / "wake.toml")
    platform = session.materializer.get(stages.app_task(APP, "app-compile")).stage.platform
    volume = client.volumes.get(cache_volume(platform.ident, "/tmp/go-cache"))
    assert volume.attrs["Labels"][CACHE_LABEL] == "/tmp/go-cache"
    assert f"with the build cache /tmp/go-cache (volume {volume.name})" in first

    edit(workspace)
    second = build(workspace)
    assert compiled(second) == ["example.com/gostdlib"], compiled(second)  # not net/http

    session = Session(workspace_file=workspace / "wake.toml")
    tag = session.materializer.get(stages.app_task(APP, "app-compile")).tag
    config = client.images.get(tag).attrs["Config"]
    assert config["Entrypoint"] is None and config["Cmd"] == ["bash"]
    assert not config.get("Volumes")  # mounted for the step, never a VOLUME of the image
    # The cache is the volume's: the image has its mount point, empty.
    assert run_output(client, tag, ["sh", "-c", "ls -A /tmp/go-cache | wc -l"]).strip() == b"0"
    release = session.materializer.get(stages.app_task(APP, "release-web")).tag
    assert run_output(client, release, ["sh", "-c", "ls /opt/app/bin"]).split() == [b"gostdlib"]



def test_npm_reinstalls_from_its_cache(wake_env: Path, tmp_path: Path,
                                       client: docker.DockerClient) -> None:
    """After one install (from the registry) fills npm's cache volume, a changed
    dependency stage installs again with npm offline: only the cache can serve it."""
    workspace = tmp_path / "ws"
    app = workspace / "express-lock"
    shutil.copytree(ROOT / "tests" / "apps" / "express-lock", app)
    (workspace / "wake.toml").write_text('[[apps]]\npath = "express-lock"\n')
    manifest = json.loads((app / "manifest.json").read_text())
    # Dependencies of their own (a build_env of this run), so npm ci runs whatever the
    # engine holds.
    run = {"WAKE_TEST_RUN": uuid.uuid4().hex}
    (app / "manifest.json").write_text(json.dumps({**manifest, "build_env": run}))
    first = build(workspace)
    assert "wake: npm ci --omit=dev" in first
    assert "with the build cache /root/.npm (volume wake-cache-node-18-root-.npm)" in first
    volume = client.volumes.get("wake-cache-node-18-root-.npm")
    assert volume.attrs["Labels"][CACHE_LABEL] == "/root/.npm"

    (app / "manifest.json").write_text(json.dumps(
        {**manifest, "build_env": {**run, "npm_config_offline": "true"}}))
    second = build(workspace)
    assert "wake: npm ci --omit=dev" in second  # installed again, offline
    session = Session(workspace_file=workspace / "wake.toml")
    deps = session.materializer.get(stages.app_task("express-lock", "app-deps")).tag
    assert not client.images.get(deps).attrs["Config"].get("Volumes")
    assert b"express" in run_output(client, deps, ["ls", "/opt/app/node_modules"]).split()
    # The cache is the volume's: the image has its mount point, empty.
    assert run_output(client, deps, ["sh", "-c", "ls -A /root/.npm | wc -l"]).strip() == b"0"
