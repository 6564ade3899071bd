"""Language versions: the app's files and the manifest choose among a platform's offers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wake.build import platforms, stages, versions
from wake.build.workspace import App, Workspace
from wake.cli import main
from wake.errors import UsageError
from wake.manifest import parse


def app_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "app"
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(("files", "label", "decided_by"), [
    ({"requirements.txt": ""}, "python@3.11", "default"),
    ({"requirements.txt": "", ".python-version": "3.13\n"}, "python@3.13", ".python-version"),
    ({"requirements.txt": "", ".python-version": "3.13.1\n"}, "python@3.13", ".python-version"),
    ({"requirements.txt": "", "runtime.txt": "python-3.13.2"}, "python@3.13", "runtime.txt"),
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n'},
     "python@3.13", "pyproject.toml (requires-python)"),
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.9"\n'},
     "python@3.11", "pyproject.toml (requires-python)"),  # the default satisfies it
    ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.12"\n'},
     "python@3.13", "pyproject.toml (tool.poetry.dependencies.python)"),
    ({"Pipfile": '[requires]\npython_version = "3.13"\n'}, "python@3.13",
     "Pipfile (requires.python_version)"),
    # .python-version comes before requires-python.
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.9"\n',
      ".python-version": "3.13"}, "python@3.13", ".python-version"),
    ({"package.json": json.dumps({"engines": {"node": ">=20.9.0"}})}, "node@20",
     "package.json (engines.node)"),
    ({"package.json": json.dumps({"engines": {"node": "^18 || ^20"}})}, "node@18",
     "package.json (engines.node)"),
    ({"package.json": "{}", ".nvmrc": "v20.11.0\n"}, "node@20", ".nvmrc"),
    ({"package.json": "{}", ".nvmrc": "lts/*\n"}, "node@18", ".nvmrc"),
    ({"package.json": "{}", ".node-version": "20"}, "node@20", ".node-version"),
    ({"Gemfile": 'source "https://rubygems.org"\nruby "~> 3.3"\n'}, "ruby@3.3", "Gemfile (ruby)"),
    ({"Gemfile": "", ".ruby-version": "ruby-3.3.0\n"}, "ruby@3.3", ".ruby-version"),
    ({"Gemfile": 'ruby ">= 3.0"\n'}, "ruby@3.1", "Gemfile (ruby)"),
    ({"go.mod": "module x\n\ngo 1.22\n"}, "go@1.24", "go.mod (go)"),
    ({"go.mod": "module x\n\ngo 1.19\n"}, "go@1.19", "go.mod (go)"),
])
def test_the_apps_files_decide_the_version(tmp_path: Path, files: dict[str, str], label: str,
                                           decided_by: str) -> None:
    detection = platforms.detect(app_with(tmp_path, files))
    assert (detection.platform.label, detection.version_reason) == (label, decided_by)


def test_the_manifest_overrides_the_files(tmp_path: Path) -> None:
    root = app_with(tmp_path, {"requirements.txt": "", ".python-version": "3.11"})
    detection = platforms.detect(root, "python@3.13")
    assert detection.platform.label == "python@3.13"
    assert detection.version_reason == 'manifest.json "platform": "python@3.13"'


def test_an_unsatisfiable_request_names_the_versions_there_are(tmp_path: Path) -> None:
    root = app_with(tmp_path, {"requirements.txt": "", ".python-version": "3.9"})
    with pytest.raises(UsageError) as info:
        platforms.detect(root)
    message = str(info.value)
    assert str(root / ".python-version") in message and "'3.9'" in message
    assert "3.11 (3.11.2, Debian bookworm)" in message and "3.13 (3.13.5, Debian trixie)" in message
    with pytest.raises(UsageError, match=r"no version '2\.7'; offered: 3\.11"):
        platforms.detect(root, "python@2.7")


def test_wake_detect_prints_the_version_and_the_file(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = app_with(tmp_path, {"package.json": json.dumps({"engines": {"node": ">=20"}})})
    assert main(["detect", str(root)]) == 0
    assert capsys.readouterr().out == "node@20\tpackage.json\tpackage.json (engines.node)\n"
    (root / ".nvmrc").write_text("16\n")
    assert main(["detect", str(root)]) == 2
    err = capsys.readouterr().err
    assert ".nvmrc asks for version '16'" in err and "20 (20.19.2, Debian trixie)" in err
    assert "Traceback" not in err


def test_the_version_is_part_of_the_stage_keys_and_names(tmp_path: Path) -> None:
    root = app_with(tmp_path, {"requirements.txt": "", "manifest.json": json.dumps(
        {"name": "shop", "processes": {"web": {"run": "x"}}})})
    manifest = parse((root / "manifest.json").read_text(), root / "manifest.json")
    graphs = {}
    for wanted in ("3.11", "3.13"):
        detection = platforms.detect(root, f"python@{wanted}")
        app = App(manifest=manifest, platform=detection.platform, detected_by="test")
        graphs[wanted] = stages.build_graph(Workspace(source=None, apps=(app,)))
    assert "platform:python-3.13-compile" in graphs["3.13"]
    assert "platform:python-3.11-compile" in graphs["3.11"]
    assert graphs["3.13"].stage("build:shop:app-deps").parent == \
        "platform:python-3.13-compile"


def test_manifest_platform_with_a_version_is_checked(tmp_path: Path) -> None:
    source = tmp_path / "manifest.json"
    ok = parse(json.dumps({"name": "a", "platform": "python@3.13",
                           "processes": {"web": {"run": "x"}}}), source, {"python"})
    assert ok.platform == "python@3.13"
    for bad in ("python@", "python@3 13", "pythn@3.13"):
        with pytest.raises(UsageError) as info:
            parse(json.dumps({"name": "a", "platform": bad, "processes": {"web": {"run": "x"}}}),
                  source, {"python"})
        assert "platform" in str(info.value)


@pytest.mark.parametrize(("request_text", "full", "expected"), [
    ("~> 3.3", "3.3.8", True), ("~> 3.3", "4.0.0", False), ("~> 3.3.1", "3.4.0", False),
    (">= 3.1", "3.1.2", True), ("3.3.0", "3.3.8", True), ("3.3.0", "3.1.2", False),
])
def test_gem_requirements(request_text: str, full: str, expected: bool) -> None:
    assert versions.gem_requirement(request_text)(full) is expected


def test_a_version_added_in_config_points_at_another_base_image(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("WAKE_HOME", str(home))
    (home / "config.toml").write_text(
        '[[versions]]\nplatform = "python"\nname = "3.12"\nfull = "3.12.8"\n'
        'image = "python:3.12-slim-bookworm"\n')
    registry = platforms.load_all()
    root = app_with(tmp_path, {"requirements.txt": "", ".python-version": "3.12"})
    detection = platforms.detect(root, None, registry)
    assert detection.platform.label == "python@3.12"
    assert detection.platform.version is not None
    assert detection.platform.version.image == "python:3.12-slim-bookworm"
    (home / "config.toml").write_text('[[versions]]\nplatform = "pythn"\nname = "3.12"\n')
    with pytest.raises(UsageError, match="'pythn' is not a platform"):
        platforms.load_all()


def test_platform_toml_versions_are_checked(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "build.sh").write_text("#!/bin/sh\n")
    (folder / "platform.toml").write_text(
        'version_files = ["setup.cfg"]\n[[versions]]\nname = "1"\nfull = "x"\nsuite = "bookworm"\n')
    with pytest.raises(UsageError) as info:
        platforms._load_one(folder)
    message = str(info.value)
    assert "cannot read a version from 'setup.cfg'" in message
    assert "full must be the installed version" in message
