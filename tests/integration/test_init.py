"""`wake init` in a repo outside wake's checkout, then doit there: the user's first build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import docker

from wake.build.session import Session

from .conftest import EXAMPLES, ROOT


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The environment wake_env and fresh_platforms set; this checkout's wake on the path.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def test_init_then_doit_build_in_a_repo_that_is_one_app(
        tmp_path: Path, wake_env: Path, fresh_platforms: Path,
        client: docker.DockerClient) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "python-hello", repo)
    assert not repo.resolve().is_relative_to(ROOT)

    init = run("wake.cli", "init", cwd=repo)
    assert init.returncode == 0, init.stderr
    assert f"wrote {repo.resolve()}/dodo.py" in init.stdout
    assert "doit build:python-hello" in init.stdout
    assert sorted(p.name for p in repo.iterdir()) == [
        "README.md", "app.py", "dodo.py", "manifest.json", "requirements.txt"]  # no wake.toml

    listed = run("doit", "list", "--all", cwd=repo)
    assert listed.returncode == 0, listed.stderr
    assert "build:python-hello:release-web" in listed.stdout
    assert "deploy:python-hello" in listed.stdout

    built = run("doit", "build:python-hello", cwd=repo)
    assert built.returncode == 0, built.stdout + built.stderr
    tag = Session(folder=repo).materializer.get("build:python-hello:release-web").tag
    assert client.images.get(tag).labels["wake.key"]

    # doit's own leftovers (.doit.db, dodo.py's __pycache__) are no input: nothing to build.
    again = run("doit", "build:python-hello", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert "building" not in again.stdout + again.stderr, again.stdout
