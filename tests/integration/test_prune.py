"""`wake prune` on the real engine: the images of an app's older version go, the
workspace's stay, and the next build has nothing to do."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from wake import cli, engine

from .conftest import build, tag_of


def tiny_app(folder: Path, name: str) -> Path:
    app = folder / name
    (app / "bin").mkdir(parents=True)
    (app / "bin" / "serve").write_text("#!/bin/sh\necho v1\n")
    (app / "manifest.json").write_text(json.dumps(
        {"name": name, "platform": "plain", "processes": {"web": {"run": "bin/serve"}}}))
    (folder / "wake.toml").write_text(f'[[apps]]\npath = "{name}"\n')
    return folder / "wake.toml"


def test_prune_removes_the_older_version_and_the_build_stays_current(
        tmp_path: Path, wake_env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # A name of its own: prune is limited to this app, so images of other apps and the
    # platform stages (which others on this engine may use) are never candidates.
    name = f"prune-{uuid.uuid4().hex[:8]}"
    workspace = tiny_app(tmp_path, name)
    monkeypatch.setenv("WAKE_WORKSPACE", str(workspace))
    stages = [f"build:{name}:{s}" for s in ("app-compile", "app-release", "release-web")]

    build(workspace)
    old = {node: tag_of(workspace, node) for node in stages}
    time.sleep(1.1)  # image ages are in seconds: the second version is strictly newer
    (tmp_path / name / "bin" / "serve").write_text("#!/bin/sh\necho v2\n")
    actions = build(workspace)
    new = {node: tag_of(workspace, node) for node in stages}
    changed = [node for node in stages if old[node] != new[node]]
    assert changed == [stages[0], stages[2]]  # app-compile and the process image
    assert actions[stages[0]] == actions[stages[2]] == "built"

    client = engine.connect()
    capsys.readouterr()
    assert cli.main(["prune", name, "--keep", "1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "cluster: none configured" in out
    listed = [line.split()[2] for line in out.splitlines() if line.startswith("would remove  ")]
    assert sorted(listed) == sorted(old[node] for node in changed)
    assert "would remove 2 images" in out and "keep 4" in out  # app-deps stayed the same
    assert all(client.inspect(old[node]) is not None for node in changed)  # dry: all there

    assert cli.main(["prune", name, "--keep", "2", "--dry-run"]) == 0
    assert "would remove 0 images" in capsys.readouterr().out

    assert cli.main(["prune", name, "--keep", "1"]) == 0
    out = capsys.readouterr().out
    assert "removed 2 images" in out, out
    assert all(client.inspect(old[node]) is None for node in changed)
    assert all(client.inspect(tag) is not None for tag in new.values())

    # Every stage is still up to date: nothing builds.
    assert set(build(workspace).values()) == {"reused"}
    assert cli.main(["prune", name, "--keep", "0", "--dry-run"]) == 0
    assert "would remove 0 images" in capsys.readouterr().out
