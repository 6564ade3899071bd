"""Release images hold an app's dependency folders in a layer of their own (the platform's
`dependency_dirs`): the Dockerfiles that do it, rendered without an engine."""

from __future__ import annotations

import json
import re
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
    return {kind: context_dockerfile(planner.get(f"build:{name}:{kind}"))
            for kind in ("app-deps", "app-compile", "release-web")}


def test_dependency_folders_get_a_release_layer_of_their_own(tmp_path: Path) -> None:
    for name, (_, _, folder) in APPS.items():
        made = _dockerfiles(tmp_path / name, name)
        release = made["release-web"]
        compile_ = made["app-compile"].replace("\\\n", " ")
        # Straight out of the app-compile image: nothing crosses the engine's socket.
        (compiled,) = set(re.findall(rf"COPY --from=(wake/{name}/app-compile:[0-9a-f]+) ",
                                     release))
        # The settings first: after a source edit only the copies below them run.
        settings = release.index('CMD ["/opt/run"]')
        if folder is None:  # nothing installed in the app's folder: all of it at once
            assert "/opt/wake/app/" not in release and "mkdir -p" not in compile_
            assert settings < release.index(f"COPY --from={compiled} /opt/app/ /opt/app/")
            continue
        # The dependencies first, the source after: a source edit writes only the latter.
        deps = release.index(f"COPY --from={compiled} /opt/app/{folder} /opt/app/{folder}")
        assert settings < deps < release.index(f"COPY --from={compiled} /opt/wake/app/ /opt/app/")
        assert f"mkdir -p {folder} /opt/wake/app" in compile_
        assert f"--exclude=./{folder}" in compile_
