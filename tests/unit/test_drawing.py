"""`wake graph` rendering: one node per task, the right state on each, clusters per
platform, --depth, and an HTML page that needs no network."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from wake.build import drawing, stages, workspace
from wake.build.plan import Step, render_json, render_text

from .test_workspace import front_depends_on_api

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def graph():  # type: ignore[no-untyped-def]
    return stages.build_graph(workspace.load(ROOT / "wake.toml"))


def steps_for(graph, states: dict[str, str]) -> dict[str, Step]:  # type: ignore[no-untyped-def]
    """Steps as the plan makes them; nodes not in `states` are up to date."""
    out = {}
    for node in graph:
        action = states.get(node, "reuse")
        reasons: tuple[str, ...] = ()
        if action == "never":
            action, reasons = "build", ("never built: no image of this stage is in the engine",)
        elif action == "build":
            reasons = ("changed app file config.ru",)
        out[node] = Step(node, action, reasons, f"wake/x:{len(out)}")
    return out


def dot_nodes(dot: str) -> dict[str, str]:
    """node id -> state class, from the DOT text."""
    return {m[1]: m[2] for m in re.finditer(
        r'^\s*"([^"]+)" \[id=.*class="state-(\w+)"\];$', dot, re.MULTILINE)}


def test_one_node_per_task_with_its_state(graph) -> None:  # type: ignore[no-untyped-def]
    edited = {"build:bestsiteever:app-compile": "build",
              "build:bestsiteever:release-web": "build", "build:go-hello:app-compile": "never"}
    dot = drawing.to_dot(graph, steps_for(graph, edited))
    nodes = dot_nodes(dot)
    assert set(nodes) == set(graph)
    assert nodes["build:bestsiteever:app-compile"] == "build"
    assert nodes["build:go-hello:app-compile"] == "never"
    assert nodes["platform:ruby-3.1-compile"] == "reuse"
    assert 'tooltip="build:bestsiteever:app-compile: will rebuild\\n- changed app file ' \
           'config.ru"' in dot


def test_edges_show_from_and_copies(graph) -> None:  # type: ignore[no-untyped-def]
    dot = drawing.to_dot(graph, steps_for(graph, {}))
    assert ('"platform:ruby-3.1-compile" -> "build:bestsiteever:app-deps" [style=solid'
            in dot)
    assert ('"build:bestsiteever:app-deps" -> "build:bestsiteever:app-compile" [style=solid'
            in dot)
    assert ('"build:bestsiteever:app-compile" -> "build:bestsiteever:release-web" '
            '[style=dashed' in dot)
    assert dot.count(" -> ") == len(graph.edges())


def test_apps_are_grouped_per_platform(graph) -> None:  # type: ignore[no-untyped-def]
    dot = drawing.to_dot(graph, steps_for(graph, {}))
    for platform in ("ruby", "python", "node", "go"):
        assert f'subgraph "cluster_platform_{platform}"' in dot
    ruby = dot.split('subgraph "cluster_platform_ruby"')[1].split("\n  }\n")[0]
    assert 'subgraph "cluster_app_bestsiteever"' in ruby
    assert "python-hello" not in ruby


@pytest.mark.parametrize(("depth", "kinds"), [
    (1, {"platform-compile", "platform-release"}),
    (2, {"platform-compile", "platform-release", "app-deps", "app-compile", "app-release"}),
    (3, {"platform-compile", "platform-release", "app-deps", "app-compile", "app-release",
         "release"}),
])
def test_depth_narrows_the_picture(graph, depth: int, kinds: set[str]) -> None:  # type: ignore[no-untyped-def]
    nodes = dot_nodes(drawing.to_dot(graph, steps_for(graph, {}), depth))
    assert {graph.stage(n).kind for n in nodes} == kinds
    assert nodes and all(n in graph for n in nodes)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_svg_has_every_node_and_html_needs_no_network(graph) -> None:  # type: ignore[no-untyped-def]
    steps = steps_for(graph, {"build:node-hello:app-compile": "build"})
    svg = drawing.render(graph, steps, "svg")
    states = {html.unescape(m[1]): html.unescape(m[2]) for m in
              re.finditer(r'<g id="([^"]+)" class="node ([^"]+)"', svg)}
    assert set(states) == set(graph)
    assert states["build:node-hello:app-compile"] == "state-build"
    assert states["build:node-hello:release-web"] == "state-reuse"
    page = drawing.render(graph, steps, "html")
    assert page.startswith("<!doctype html>") and "<svg" in page
    # No external resources: no src/href pointing anywhere, no CDN.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<link" not in page and "<script src" not in page
    assert "1 will rebuild" in page


def test_plan_renders_as_text_and_json() -> None:
    steps = [Step("platform:ruby-3.1-compile", "reuse", ("up to date",), "t:1"),
             Step("build:a:app-compile", "build", ("changed app file x",), "t:2")]
    text = render_text(steps)
    assert "build  build:a:app-compile" in text and "changed app file x" in text
    assert text.endswith("1 to build, 0 to pull, 1 up to date")
    assert '"action": "build"' in render_json(steps)


def test_deploy_nodes_follow_the_apps_they_depend_on(tmp_path: Path) -> None:
    front_depends_on_api(tmp_path)
    graph = stages.build_graph(workspace.load(tmp_path / "wake.toml"))
    deploys = {"api": ("deploy", "release x"), "front": ("deployed", "release y")}
    dot = drawing.to_dot(graph, steps_for(graph, {}), deploys=deploys)
    assert '"deploy:api" -> "deploy:front" [style=dotted' in dot
    assert '"deploy:front" -> "deploy:api"' not in dot
    # Without deploy nodes (no cluster chosen), no such edge.
    assert "deploy:api" not in drawing.to_dot(graph, steps_for(graph, {}))
