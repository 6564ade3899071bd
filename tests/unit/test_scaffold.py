"""Unit tests for wake.build.scaffold: `wake init` writes a dodo.py and a wake.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wake import cli, errors
from wake.build import scaffold, workspace
from wake.errors import ManifestError, UsageError

ROOT = Path(__file__).resolve().parents[2]


def make_app(root: Path, name: str, detect_file: str = "requirements.txt") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps(
        {"name": name, "processes": {"web": {"run": "serve"}}}), encoding="utf-8")
    (root / detect_file).write_text("\n", encoding="utf-8")
    return root


def test_the_checkouts_dodo_is_the_one_init_writes() -> None:
    assert (ROOT / "dodo.py").read_text(encoding="utf-8") == scaffold.DODO


def test_a_folder_of_apps_gets_a_wake_toml_and_a_dodo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_app(repo / "web", "web", "package.json")
    make_app(repo / "services" / "billing" / "api", "billing-api", "go.mod")
    make_app(repo / "web" / "plugins" / "x", "x")  # inside an app: part of it
    make_app(repo / "node_modules" / "dep", "dep")  # never an app
    make_app(repo / ".cache" / "old", "old")
    result = scaffold.init(repo)
    assert result.written == (repo / "dodo.py", repo / "wake.toml")
    assert [(path, app.name) for path, app in result.apps] == [
        ("services/billing/api", "billing-api"), ("web", "web")]
    assert (repo / "dodo.py").read_text(encoding="utf-8") == scaffold.DODO
    loaded = workspace.load(repo / "wake.toml")
    assert [(a.name, a.platform.name) for a in loaded.apps] == [("billing-api", "go"),
                                                                ("web", "node")]


def test_a_folder_that_is_one_app_gets_only_a_dodo(tmp_path: Path) -> None:
    repo = make_app(tmp_path / "repo", "site")
    make_app(repo / "sub", "sub")
    result = scaffold.init(repo)
    assert result.one_app_at_root
    assert result.written == (repo / "dodo.py",)
    assert not (repo / "wake.toml").exists()
    assert [a.name for a in workspace.load(folder=repo).apps] == ["site"]


def test_one_app_inside_another_workspace_gets_its_own_wake_toml(tmp_path: Path) -> None:
    (tmp_path / "wake.toml").write_text('[[apps]]\npath = "other"\n', encoding="utf-8")
    repo = make_app(tmp_path / "repo", "site")
    result = scaffold.init(repo)
    assert result.written == (repo / "dodo.py", repo / "wake.toml")
    assert [a.name for a in workspace.load(folder=repo).apps] == ["site"]


def test_existing_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_app(repo / "a", "a")
    (repo / "dodo.py").write_text("# mine\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"repo/dodo.py already exists; wake init does not "
                                         r"overwrite it \(--force replaces it\)") as caught:
        scaffold.init(repo)
    assert caught.value.exit_code == errors.BAD_INPUT
    assert not (repo / "wake.toml").exists()  # nothing written
    assert (repo / "dodo.py").read_text(encoding="utf-8") == "# mine\n"
    (repo / "wake.toml").write_text("# mine\n", encoding="utf-8")
    with pytest.raises(UsageError, match="dodo.py and .*wake.toml already exist"):
        scaffold.init(repo)
    result = scaffold.init(repo, force=True)
    assert result.written == (repo / "dodo.py", repo / "wake.toml")
    assert (repo / "dodo.py").read_text(encoding="utf-8") == scaffold.DODO


def test_running_init_again_keeps_what_it_wrote(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_app(repo / "a", "a")
    scaffold.init(repo)
    again = scaffold.init(repo)
    assert (again.written, again.unchanged) == ((), (repo / "dodo.py", repo / "wake.toml"))


def test_a_folder_without_apps_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no manifest.json in .* or its subfolders"):
        scaffold.init(tmp_path)
    with pytest.raises(UsageError, match="no such folder"):
        scaffold.init(tmp_path / "missing")


def test_invalid_or_clashing_apps_write_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_app(repo / "a", "same")
    make_app(repo / "b", "same")
    with pytest.raises(UsageError, match="two apps are named 'same': a and b"):
        scaffold.init(repo)
    (repo / "b" / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(ManifestError):
        scaffold.init(repo)
    assert not (repo / "dodo.py").exists() and not (repo / "wake.toml").exists()


def test_paths_are_quoted_for_toml(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_app(repo / 'we"ird\\ é', "weird")
    scaffold.init(repo)
    assert [a.name for a in workspace.load(repo / "wake.toml").apps] == ["weird"]


def test_wake_init_prints_what_it_wrote_and_what_next(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_app(tmp_path / "repo", "site")
    assert cli.main(["init", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "one app, the folder itself: site (python)" in out
    assert f"wrote {repo}/dodo.py" in out
    assert "doit build:site" in out and "doit deploy:site" in out
    (repo / "dodo.py").write_text("# changed\n", encoding="utf-8")
    assert cli.main(["init", str(repo)]) == errors.BAD_INPUT
    assert "dodo.py already exists" in capsys.readouterr().err
    assert cli.main(["init", "--force", str(repo)]) == 0
