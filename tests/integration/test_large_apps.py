"""Apps with thousands of files: their inputs do not fit in a label (Docker caps a
Dockerfile line at 64 KiB), so they live in a file in the image; explain still works."""

from __future__ import annotations

import json
from pathlib import Path

import docker

from wake.build.explain import explain
from wake.build.session import Session

from .conftest import build

FILES = 3000
STAGES = {"platform:python-3.11-compile", "platform:python-3.11-release", "build:many:app-deps",
          "build:many:app-compile", "build:many:app-release", "build:many:release-web"}


def many_files_app(folder: Path) -> Path:
    app = folder / "many"
    for index in range(FILES):
        path = app / f"package{index % 30:02d}" / f"module_with_a_long_name_{index:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE = {index}\n")
    (app / "requirements.txt").write_text("# standard library only\n")
    (app / "manifest.json").write_text(json.dumps(
        {"name": "many", "platform": "python", "processes": {"web": {"run": "true"}}}))
    (folder / "wake.toml").write_text('[[apps]]\npath = "many"\n')
    return folder / "wake.toml"


def test_big_inputs_live_in_the_image_and_explain_still_names_the_file(
        tmp_path: Path, wake_env: Path, fresh_platforms: Path, client: docker.DockerClient,
        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    workspace = many_files_app(tmp_path)
    assert set(build(workspace).values()) == {"built"}
    session = Session(workspace_file=workspace)
    node = "build:many:app-compile"
    material = session.materializer.get(node)
    label = client.images.get(material.tag).labels["wake.inputs"]
    assert label == f"file:{material.inputs_path}"
    recorded = session.builder.index.recorded_inputs(node, session.materializer.client)
    assert recorded == material.inputs
    assert len(recorded) > FILES

    changed = tmp_path / "many" / "package07" / "module_with_a_long_name_00007.py"
    changed.write_text("VALUE = 'edited'\n")
    monkeypatch.setenv("WAKE_WORKSPACE", str(workspace))
    why = explain("many", "app-compile", {})
    assert "changed app file package07/module_with_a_long_name_00007.py" in why
    result = build(workspace)
    assert {n for n, a in result.items() if a == "built"} == {node, "build:many:release-web"}
    assert set(build(workspace).values()) == {"reused"}
