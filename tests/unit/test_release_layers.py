"""Release images hold an app's dependency folders in a layer of their own (the platform's
`dependency_dirs`): the Dockerfiles that do it, rendered without an engine."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from .test_stage_keys import context_dockerfile, planner_for

APPS = {
    "shop": ({"platform": "node"}, {"package.json": '{"name": "shop"}', "app.js": "1\n"},
             "node_modules"),
    "blog": ({"platform": "python"}, {"requirements.txt": "flask\n", "app.py": "1\n"}, ".venv"),
    "tool": ({"platform": "plain"}, {"bin/tool": "#!/bin/sh\n"}, None),
}


def _dockerfiles(folder: Path, name: str) -> dict[str, str]:
    platform, files, _ = APPS[name]
    app = folder / name
    for path, text in files.items():
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        (app / path).write_text(text)
    (app / "manifest.json").write_text(json.dumps({
        "name": name, **platform,
        "processes": {"web": {"run": "true", "cpu": 0.1, "memory": 64, "health": False}}}))
    (folder / "wake.toml").write_text(f'[[apps]]\npath = "{name}"\n')
    planner = planner_for(folder / "wake.toml")
    return {kind: context_dockerfile(replace(planner.get(f"build:{name}:{kind}"),
                                             late_files=None))
            for kind in ("app-deps", "app-compile", "release-web")}


def test_dependency_folders_get_a_release_layer_of_their_own(tmp_path: Path) -> None:
    for name, (_, _, folder) in APPS.items():
        made = _dockerfiles(tmp_path / name, name)
        release = made["release-web"]
        compile_ = made["app-compile"].replace("\\\n", " ")
        if folder is None:  # nothing installed in the app's folder: one archive
            assert "deps.tar" not in release + compile_
            assert "ADD app.tar /opt/app/" in release
            continue
        # The dependencies first, the source after: a source edit writes only the latter.
        assert release.index("ADD deps.tar /opt/app/") < release.index("ADD app.tar /opt/app/")
        assert f"--exclude=./{folder}" in compile_ and f"for d in {folder};" in compile_
        # Byte for byte the same while the content is: sorted, fixed or clamped times.
        assert compile_.count("--sort=name") == 2 and "--clamp-mtime" in compile_
        assert "touch /opt/wake/deps.done" in made["app-deps"]
