"""Unit tests for wake.workspace: wake.toml, the fallback without it, and app names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wake.build import workspace
from wake.errors import ManifestError, UsageError


def make_app(root: Path, name: str, detect_file: str = "Gemfile", **fields: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data = {"name": name, "processes": {"web": {"run": "serve"}}, **fields}
    (root / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    if detect_file:
        (root / detect_file).write_text("# placeholder\n", encoding="utf-8")
    return root


def write_toml(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wake.toml"
    path.write_text(text, encoding="utf-8")
    return path


def front_depends_on_api(folder: Path) -> Path:
    """A workspace of two Python apps, `front` depending on `api`; its wake.toml."""
    make_app(folder / "api", "api", "requirements.txt")
    make_app(folder / "front", "front", "requirements.txt", dependencies=["api"])
    return write_toml(folder, '[[apps]]\npath = "front"\n[[apps]]\npath = "api"\n')


def test_wake_toml_with_path_apps(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shop = make_app(ws / "apps" / "shop", "shop", "Gemfile")
    api = make_app(ws / "api", "api", "requirements.txt")
    source = write_toml(ws, '[[apps]]\npath = "apps/shop"\n\n[[apps]]\npath = "api"\n')
    loaded = workspace.load(source)
    assert loaded.source == source
    assert [a.name for a in loaded.apps] == ["shop", "api"]  # wake.toml's order
    assert [a.root for a in loaded.apps] == [shop.resolve(), api.resolve()]
    assert [(a.platform.name, a.detected_by) for a in loaded.apps] == [
        ("ruby", "Gemfile"), ("python", "requirements.txt")]
    assert loaded.app("api").root == api.resolve()


def test_path_is_relative_to_wake_toml_not_cwd(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    make_app(tmp_path / "ws" / "shop", "shop")
    source = write_toml(tmp_path / "ws", '[[apps]]\npath = "shop"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert [a.name for a in workspace.load(source).apps] == ["shop"]


def test_manifest_platform_decides(tmp_path: Path) -> None:
    make_app(tmp_path / "ws" / "site", "site", "Gemfile", platform="node")
    loaded = workspace.load(write_toml(tmp_path / "ws", '[[apps]]\npath = "site"\n'))
    (app,) = loaded.apps
    assert (app.platform.name, app.detected_by) == ("node", 'manifest.json sets "platform"')


def test_subdir_of_a_path_app(tmp_path: Path) -> None:
    make_app(tmp_path / "ws" / "mono" / "services" / "web", "web", "go.mod")
    source = write_toml(tmp_path / "ws", '[[apps]]\npath = "mono"\nsubdir = "services/web"\n')
    (app,) = workspace.load(source).apps
    assert app.name == "web"
    assert app.platform.name == "go"


def test_unknown_app_name(tmp_path: Path) -> None:
    make_app(tmp_path / "ws" / "shop", "shop")
    loaded = workspace.load(write_toml(tmp_path / "ws", '[[apps]]\npath = "shop"\n'))
    with pytest.raises(UsageError, match="no app named 'blog'.*apps: shop"):
        loaded.app("blog")


def test_unknown_key_in_an_app(tmp_path: Path) -> None:
    make_app(tmp_path / "ws" / "shop", "shop")
    source = write_toml(tmp_path / "ws",
                        '[[apps]]\npath = "shop"\n\n[[apps]]\npath = "shop"\nbranch = "main"\n')
    with pytest.raises(UsageError) as info:
        workspace.load(source)
    message = str(info.value)
    assert message.startswith(f"{source}: apps[1]: ")
    assert "'branch'" in message
    assert "path, git, ref, subdir" in message


@pytest.mark.parametrize("entry", [
    'path = "shop"\ngit = "git://127.0.0.1/shop.git"\n',
    'ref = "main"\n',
])
def test_exactly_one_of_path_and_git(tmp_path: Path, entry: str) -> None:
    make_app(tmp_path / "ws" / "shop", "shop")
    source = write_toml(tmp_path / "ws", "[[apps]]\n" + entry)
    with pytest.raises(UsageError) as info:
        workspace.load(source)
    assert str(info.value).startswith(f"{source}: apps[0]: ")
    assert "exactly one of path" in str(info.value)


def test_duplicate_app_names_are_rejected(tmp_path: Path) -> None:
    first = make_app(tmp_path / "ws" / "one", "shop")
    second = make_app(tmp_path / "ws" / "two", "shop", "package.json")
    source = write_toml(tmp_path / "ws", '[[apps]]\npath = "one"\n[[apps]]\npath = "two"\n')
    with pytest.raises(UsageError) as info:
        workspace.load(source)
    message = str(info.value)
    assert "'shop'" in message
    assert str(first.resolve()) in message and str(second.resolve()) in message
    assert "unique" in message


def test_apps_must_be_an_array_of_tables(tmp_path: Path) -> None:
    source = write_toml(tmp_path / "ws", 'apps = "shop"\n')
    with pytest.raises(UsageError, match=r"apps must be an array of tables"):
        workspace.load(source)


def test_app_entry_must_be_a_table(tmp_path: Path) -> None:
    source = write_toml(tmp_path / "ws", 'apps = ["shop"]\n')
    with pytest.raises(UsageError, match=r"apps\[0\]: must be a table"):
        workspace.load(source)


def test_invalid_toml(tmp_path: Path) -> None:
    source = write_toml(tmp_path / "ws", "[[apps]\npath = \n")
    with pytest.raises(UsageError, match="cannot read workspace") as info:
        workspace.load(source)
    assert str(source) in str(info.value)


def test_path_app_without_a_manifest(tmp_path: Path) -> None:
    (tmp_path / "ws" / "empty").mkdir(parents=True)
    source = write_toml(tmp_path / "ws", '[[apps]]\npath = "empty"\n')
    with pytest.raises(ManifestError, match="no such file"):
        workspace.load(source)


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    make_app(tmp_path / "ws" / "shop", "shop")
    source = write_toml(tmp_path / "ws", '[[app]]\npath = "shop"\n')
    with pytest.raises(UsageError, match="app"):
        workspace.load(source)


# -- finding the workspace ------------------------------------------------------------

def test_without_wake_toml_every_child_with_a_manifest_is_an_app(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    make_app(ws / "beta", "beta", "package.json")
    make_app(ws / "alpha", "alpha", "go.mod")
    (ws / "notes").mkdir()
    make_app(ws / "deep" / "nested", "nested")  # not directly under the folder
    monkeypatch.chdir(ws)
    assert workspace.find_file() is None
    loaded = workspace.load()
    assert loaded.source is None
    assert [(a.name, a.platform.name) for a in loaded.apps] == [("alpha", "go"),
                                                                ("beta", "node")]


def test_a_folder_that_is_itself_an_app_needs_no_wake_toml(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_app(tmp_path / "repo", "site", "package.json")
    make_app(repo / "tools" / "helper", "helper")  # inside the app: part of it, not an app
    monkeypatch.chdir(repo)
    loaded = workspace.load()
    assert loaded.source is None
    assert [(a.name, a.root) for a in loaded.apps] == [("site", repo.resolve())]
    monkeypatch.chdir(tmp_path)
    assert [a.name for a in workspace.load(folder=repo).apps] == ["site"]
    (tmp_path / "empty").mkdir()
    assert workspace.found_in(repo) and not workspace.found_in(tmp_path / "empty")


def test_wake_toml_is_found_in_a_parent_folder(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    make_app(tmp_path / "ws" / "shop", "shop")
    source = write_toml(tmp_path / "ws", '[[apps]]\npath = "shop"\n')
    (tmp_path / "ws" / "shop" / "lib").mkdir()
    monkeypatch.chdir(tmp_path / "ws" / "shop" / "lib")
    assert workspace.find_file() == source.resolve()
    assert [a.name for a in workspace.load().apps] == ["shop"]


def test_wake_workspace_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_app(tmp_path / "chosen" / "shop", "shop")
    chosen = write_toml(tmp_path / "chosen", '[[apps]]\npath = "shop"\n')
    make_app(tmp_path / "here" / "blog", "blog")
    write_toml(tmp_path / "here", '[[apps]]\npath = "blog"\n')
    monkeypatch.chdir(tmp_path / "here")
    monkeypatch.setenv("WAKE_WORKSPACE", str(chosen))
    assert workspace.find_file() == chosen
    assert [a.name for a in workspace.load().apps] == ["shop"]


def test_wake_workspace_pointing_to_a_missing_file(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope" / "wake.toml"
    monkeypatch.setenv("WAKE_WORKSPACE", str(missing))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no such file") as info:
        workspace.load()
    assert f"WAKE_WORKSPACE={missing}" in str(info.value)


def test_deploy_order_follows_dependencies_inside_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    make_app(ws / "api", "api")
    make_app(ws / "front", "front", dependencies=["api", "payments"])  # payments: elsewhere
    loaded = workspace.load(write_toml(ws, '[[apps]]\npath = "front"\n\n[[apps]]\npath = "api"\n'))
    assert loaded.deploy_order() == [("api", "front")]


def test_a_dependency_cycle_is_spelled_out(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    make_app(ws / "a", "a", dependencies=["b"])
    make_app(ws / "b", "b", dependencies=["c"])
    make_app(ws / "c", "c", dependencies=["a"])
    make_app(ws / "d", "d", dependencies=["a"])
    source = write_toml(ws, "".join(f'[[apps]]\npath = "{n}"\n' for n in "abcd"))
    with pytest.raises(UsageError) as caught:
        workspace.load(source)
    text = str(caught.value)
    assert "cycle" in text and str(ws / "a" / "manifest.json") in text
    # The cycle, from any of its apps, each depending on the next.
    said = text.split("cycle: ", 1)[1].split(" (", 1)[0].split(" -> ")
    assert len(said) == 4 and said[0] == said[-1] and set(said) == {"a", "b", "c"}
    for first, then in zip(said, said[1:], strict=False):
        assert {"a": "b", "b": "c", "c": "a"}[first] == then
