"""Failures a person can act on: the failing stage named, its step's output shown,
a non-zero exit, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from wake.build.session import Session

from .conftest import ROOT, copy_app


def broken_app(folder: Path) -> Path:
    app = folder / "broken"
    app.mkdir(parents=True)
    (app / "manifest.json").write_text(json.dumps(
        {"name": "broken", "platform": "python", "processes": {"web": {"run": "true"}}}))
    # pip fails at once, without touching the network.
    (app / "requirements.txt").write_text("-e /nonexistent/wake-test-package\n")
    (folder / "wake.toml").write_text('[[apps]]\npath = "broken"\n')
    return folder / "wake.toml"


def wake(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wake.cli", *args], capture_output=True,
                          text=True, env=env, timeout=900)


def test_failed_build_names_the_stage_and_shows_the_step(
        tmp_path: Path, wake_env: Path, fresh_platforms: Path) -> None:
    env = {**os.environ, "WAKE_WORKSPACE": str(broken_app(tmp_path))}
    done = wake("build", "broken", env=env)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "build of build:broken:app-compile failed at Step" in output
    assert "RUN /opt/wake/build" in output
    assert "nonexistent/wake-test-package" in output  # pip's own message
    assert "Traceback" not in output
    # The stages before it were built; nothing after it was attempted.
    assert "built   platform:python-3.11-compile" in output
    assert "release-web" not in output.split("failed at Step")[0].split("app-compile")[-1]


def test_missing_base_image_says_how_to_make_it(tmp_path: Path, wake_env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "WAKE_WORKSPACE": str(broken_app(tmp_path)),
           "WAKE_BASE_IMAGE": "wake-test-no-such-base:1"}
    done = wake("build", "broken", env=env)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "wake-test-no-such-base:1 is not in the engine" in output
    assert "wake base bootstrap" in output
    assert "Traceback" not in output


def test_explain_of_an_unknown_stage_lists_the_stages(tmp_path: Path, wake_env: Path) -> None:
    env = {**os.environ, "WAKE_WORKSPACE": str(broken_app(tmp_path))}
    done = wake("explain", "broken", "release-nope", env=env)
    assert done.returncode == 2
    assert "broken has no stage 'release-nope'" in done.stderr
    assert "release-web" in done.stderr


@pytest.mark.parametrize("command", [["wake.cli", "build", "--continue"],
                                     ["doit", "-f", str(ROOT / "dodo.py"), "--continue"]])
def test_continue_builds_every_app_it_can_and_lists_the_failures(
        command: list[str], tmp_path: Path, wake_env: Path, fresh_platforms: Path,
        client: docker.DockerClient) -> None:
    source = broken_app(tmp_path)
    copy_app("python-hello", tmp_path)
    # The broken app first: the good one is built after the failure.
    source.write_text('[[apps]]\npath = "broken"\n\n[[apps]]\npath = "python-hello"\n')
    done = subprocess.run([sys.executable, "-m", *command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900, env={**os.environ, "PYTHONPATH": str(ROOT)})
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    failed_at = output.index("build of build:broken:app-compile failed at Step")
    assert "python-hello:release-web" in output[failed_at:]  # attempted after the failure
    summary = output[output.rindex("#" * 40):]
    assert "wake: 1 task failed:\n  build:broken:app-compile: build of build:broken:" \
        "app-compile failed at Step" in summary
    assert "wake: not built because of it: broken\n" in summary
    tag = Session(workspace_file=source).materializer.get("build:python-hello:release-web").tag
    assert client.images.get(tag).labels["wake.key"]
