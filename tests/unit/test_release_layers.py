"""Release images hold an app's dependency folders in a layer of their own (the platform's
`dependency_dirs`): the Dockerfiles that do it, rendered without an engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .test_stage_keys import context_dockerfile, planner_for

APPS = {
    "shop": ({"platform": "node"},
             {"package.json": '{"name": "shop", "scripts": {"build": "vite build"}}',
              "app.js": "1\n"}, "node_modules"),
    "blog": ({"platform": "python"}, {"requirements.txt": "flask\n", "app.py": "1\n"}, ".venv"),
    "tool": ({"platform": "plain"}, {"bin/tool": "#!/bin/sh\n"}, None),
}


def _dockerfiles(folder: Path, name: str,
                 spec: tuple[dict[str, str], dict[str, str]] | None = None) -> dict[str, str]:
    platform, files = spec or APPS[name][:2]
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


def test_with_nothing_to_build_the_source_goes_straight_to_the_process_images(
        tmp_path: Path) -> None:
    """An npm app with no build script: app-compile is its dependencies (no source, no
    build.sh), and each process image copies the source from its own context - a source
    edit rebuilds the process images alone."""
    files = {"package.json": '{"name": "api"}', "app.js": "1\n", "package-lock.json": "{}"}
    made = _dockerfiles(tmp_path / "api", "api", ({"platform": "node"}, files))
    compile_, release = made["app-compile"], made["release-web"]
    assert "COPY app/" not in compile_ and "/opt/wake/build" not in compile_
    assert "RUN mkdir -p node_modules" in compile_  # for the copy, even with no dependencies
    (compiled,) = set(re.findall(r"COPY --from=(wake/api/app-compile:[0-9a-f]+) ", release))
    deps = release.index(f"COPY --from={compiled} /opt/app/node_modules /opt/app/node_modules")
    assert release.index('CMD ["/opt/run"]') < deps < release.index("COPY app/ /opt/app/")
    assert "/opt/wake/app" not in release
    # A yarn lock file (build.sh prunes development dependencies) or a manifest build
    # command: build.sh runs, and the source is in app-compile.
    for extra, manifest in (({"yarn.lock": ""}, {}), ({}, {"build": "make"})):
        made = _dockerfiles(tmp_path / f"api-{len(extra)}", "api",
                            ({"platform": "node", **manifest}, {**files, **extra}))
        assert "COPY app/ /opt/app/" in made["app-compile"], (extra, manifest)
        assert "COPY app/" not in made["release-web"]
