"""Unit tests for wake.stages: the DAG of stages built from a workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wake.build import stages, workspace
from wake.build.workspace import Workspace
from wake.errors import UsageError
from wake.manifest import CronJob


def make_app(root: Path, name: str, detect_file: str, **fields: Any) -> None:
    root.mkdir(parents=True, exist_ok=True)
    data = {"name": name, **fields}
    (root / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    (root / detect_file).write_text("# placeholder\n", encoding="utf-8")


@pytest.fixture
def two_ruby_apps(tmp_path: Path) -> Workspace:
    ws = tmp_path / "ws"
    make_app(ws / "shop", "shop", "Gemfile",
             processes={"web": {"run": "puma"}, "worker": {"run": "rake work"}},
             cron_jobs=[{"name": "nightly", "run": "0 3 * * * rake nightly"}])
    make_app(ws / "blog", "blog", "config.ru", processes={"web": {"run": "rackup"}})
    (ws / "wake.toml").write_text('[[apps]]\npath = "shop"\n[[apps]]\npath = "blog"\n',
                                  encoding="utf-8")
    return workspace.load(ws / "wake.toml")


SHOP_NODES = {"build:shop:app-deps", "build:shop:app-compile", "build:shop:app-release",
              "build:shop:release-web", "build:shop:release-worker", "build:shop:release-nightly"}
BLOG_NODES = {"build:blog:app-deps", "build:blog:app-compile", "build:blog:app-release",
              "build:blog:release-web"}
RUBY_NODES = {"platform:ruby-3.1-compile", "platform:ruby-3.1-release"}


def test_node_ids(two_ruby_apps: Workspace) -> None:
    graph = stages.build_graph(two_ruby_apps)
    assert set(graph) == RUBY_NODES | SHOP_NODES | BLOG_NODES


def test_apps_of_one_platform_share_the_platform_nodes(two_ruby_apps: Workspace) -> None:
    graph = stages.build_graph(two_ruby_apps)
    assert sorted(n for n in graph if n.startswith("platform:")) == sorted(RUBY_NODES)
    assert set(graph.successors("platform:ruby-3.1-compile")) == {
        "build:shop:app-deps", "build:blog:app-deps"}
    assert set(graph.successors("platform:ruby-3.1-release")) == {
        "build:shop:app-release", "build:blog:app-release"}


def test_edges(two_ruby_apps: Workspace) -> None:
    graph = stages.build_graph(two_ruby_apps)
    expected = set()
    for app, units in (("shop", ("web", "worker", "nightly")), ("blog", ("web",))):
        expected |= {("platform:ruby-3.1-compile", f"build:{app}:app-deps", "from"),
                     (f"build:{app}:app-deps", f"build:{app}:app-compile", "from"),
                     ("platform:ruby-3.1-release", f"build:{app}:app-release", "from")}
        for unit in units:
            expected |= {(f"build:{app}:app-release", f"build:{app}:release-{unit}", "from"),
                         (f"build:{app}:app-compile", f"build:{app}:release-{unit}", "copies")}
    assert set(graph.edges()) == expected
    assert graph.has_edge("platform:ruby-3.1-compile", "build:shop:app-deps")
    assert not graph.has_edge("platform:ruby-3.1-compile", "build:shop:app-compile")
    assert not graph.has_edge("platform:ruby-3.1-compile", "build:shop:app-release")
    assert not graph.has_edge("build:shop:app-compile", "build:blog:release-web")


def test_stage_definitions(two_ruby_apps: Workspace) -> None:
    graph = stages.build_graph(two_ruby_apps)
    compile_ = graph.stage("platform:ruby-3.1-compile")
    assert (compile_.kind, compile_.app, compile_.parent) == ("platform-compile", None, None)
    assert compile_.repository == "wake-platform/ruby-3.1-compile"
    release = graph.stage("platform:ruby-3.1-release")
    assert release.repository == "wake-platform/ruby-3.1-release"
    deps = graph.stage("build:shop:app-deps")
    assert (deps.kind, deps.parent, deps.repository) == (
        "app-deps", "platform:ruby-3.1-compile", "wake/shop/app-deps")
    app_compile = graph.stage("build:shop:app-compile")
    assert app_compile.parent == "build:shop:app-deps"
    assert app_compile.repository == "wake/shop/app-compile"
    assert app_compile.app is not None and app_compile.app.name == "shop"
    web = graph.stage("build:shop:release-web")
    assert (web.kind, web.parent, web.copies_from) == (
        "release", "build:shop:app-release", "build:shop:app-compile")
    assert (web.short, web.unit_kind, web.repository) == (
        "release-web", "process", "wake/shop/release-web")
    nightly = graph.stage("build:shop:release-nightly")
    assert isinstance(nightly.unit, CronJob)
    assert nightly.unit_kind == "cron"
    assert nightly.unit.schedule == "0 3 * * *"


def test_ordered_puts_parents_first(two_ruby_apps: Workspace) -> None:
    graph = stages.build_graph(two_ruby_apps)
    order = stages.ordered(graph)
    assert sorted(order) == sorted(graph)
    position = {node: index for index, node in enumerate(order)}
    for parent, child, _ in graph.edges():
        assert position[parent] < position[child], (parent, child)
    assert order[0] == "platform:ruby-3.1-compile"
    # Deterministic: a graph built again (nodes added in another order) sorts the same.
    again = stages.StageGraph()
    for node in reversed(list(graph)):
        again.add(graph.stage(node))
    for parent, child, relation in reversed(graph.edges()):
        again.link(parent, child, relation)
    assert stages.ordered(again) == order


def test_only_some_apps(two_ruby_apps: Workspace) -> None:
    graph = stages.build_graph(two_ruby_apps, only=["blog"])
    assert set(graph) == RUBY_NODES | BLOG_NODES
    with pytest.raises(UsageError, match="no app named 'nope'"):
        stages.build_graph(two_ruby_apps, only=["nope"])


def test_apps_of_two_platforms_get_their_own_platform_nodes(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    make_app(ws / "shop", "shop", "Gemfile", processes={"web": {"run": "puma"}})
    make_app(ws / "api", "api", "requirements.txt", processes={"web": {"run": "gunicorn"}})
    (ws / "wake.toml").write_text('[[apps]]\npath = "shop"\n[[apps]]\npath = "api"\n',
                                  encoding="utf-8")
    graph = stages.build_graph(workspace.load(ws / "wake.toml"))
    assert sorted(n for n in graph if n.startswith("platform:")) == [
        "platform:python-3.11-compile", "platform:python-3.11-release",
        "platform:ruby-3.1-compile", "platform:ruby-3.1-release"]
    assert list(graph.successors("platform:python-3.11-compile")) == ["build:api:app-deps"]
    assert list(graph.successors("platform:ruby-3.1-compile")) == ["build:shop:app-deps"]


def test_task_name_helpers() -> None:
    assert stages.platform_task("go-1.19", "platform-compile") == "platform:go-1.19-compile"
    assert stages.platform_task("go-1.19", "platform-release") == "platform:go-1.19-release"
    assert stages.app_task("shop", "release-web") == "build:shop:release-web"


# -- cycles -----------------------------------------------------------------------------

def test_check_acyclic_accepts_a_dag() -> None:
    assert stages.check_acyclic([("a", "b"), ("b", "c"), ("a", "c")]) is None


def test_check_acyclic_spells_a_two_node_cycle() -> None:
    with pytest.raises(UsageError) as info:
        stages.check_acyclic([("a", "b"), ("b", "a")])
    assert str(info.value) == "the build graph has a cycle: a -> b -> a"


def test_check_acyclic_spells_a_longer_cycle_reached_from_a_dag_part() -> None:
    with pytest.raises(UsageError) as info:
        stages.check_acyclic([("start", "x"), ("y", "z"), ("x", "y"), ("z", "x")])
    assert str(info.value).endswith("cycle: x -> y -> z -> x")


def test_check_acyclic_spells_a_cycle_in_the_direction_of_its_edges() -> None:
    with pytest.raises(UsageError) as info:
        stages.check_acyclic([("q", "p"), ("p", "r"), ("r", "q"), ("z", "q")])
    assert str(info.value).endswith("cycle: p -> r -> q -> p")


def test_check_acyclic_spells_a_self_loop() -> None:
    with pytest.raises(UsageError, match="cycle: a -> a$"):
        stages.check_acyclic([("a", "a")])


def test_ancestors_are_every_stage_a_stage_is_made_from(two_ruby_apps: Workspace) -> None:
    graph = stages.build_graph(two_ruby_apps)
    assert graph.ancestors("build:shop:release-web") == {
        "platform:ruby-3.1-compile", "platform:ruby-3.1-release", "build:shop:app-deps",
        "build:shop:app-compile", "build:shop:app-release"}
    assert graph.ancestors("platform:ruby-3.1-compile") == set()


def test_a_link_names_a_missing_stage() -> None:
    with pytest.raises(KeyError, match="no stage 'a'"):
        stages.StageGraph().link("a", "b", "from")
