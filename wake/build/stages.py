"""The build graph: every stage of every app as a node of one networkx DAG.

Nodes are doit task names; edges run from a stage to the stages that need it
(FROM, or copying its output). Tasks, `wake plan` and `wake graph` all come
from this one graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from ..errors import UsageError
from ..manifest import CronJob, Process
from .platforms import Platform
from .workspace import App, Workspace

PLATFORM_COMPILE = "platform-compile"
PLATFORM_RELEASE = "platform-release"
APP_DEPS = "app-deps"
APP_COMPILE = "app-compile"
APP_RELEASE = "app-release"
RELEASE = "release"


@dataclass(frozen=True)
class StageDef:
    id: str  # the doit task name, e.g. build:bestsiteever:app-compile
    kind: str
    platform: Platform
    app: App | None = None
    unit: Process | CronJob | None = None
    parent: str | None = None  # the stage this one is FROM
    copies_from: str | None = None  # a stage whose output it copies (release <- app-compile)

    @property
    def repository(self) -> str:
        """The image repository; the tag is the stage key."""
        if self.app is None:
            return f"wake-platform/{self.platform.ident}-{self.kind.split('-')[1]}"
        return f"wake/{self.app.name}/{self.short}"

    @property
    def short(self) -> str:
        """The stage's name within its app or platform: app-compile, release-web, ..."""
        if self.unit is not None:
            return f"release-{self.unit.name}"
        return self.kind

    @property
    def unit_kind(self) -> str:
        return "cron" if isinstance(self.unit, CronJob) else "process"


def platform_task(platform: str, kind: str) -> str:
    """platform:python-3.13-compile (`platform` is the ident: name and version)."""
    return f"platform:{platform}-{kind.split('-')[1]}"


def app_task(app: str, short: str) -> str:
    return f"build:{app}:{short}"


def app_stages(app: App) -> list[StageDef]:
    deps_id = app_task(app.name, APP_DEPS)
    compile_id = app_task(app.name, APP_COMPILE)
    release_id = app_task(app.name, APP_RELEASE)
    stages = [
        # The dependencies alone (keyed by the dependency files), so a source edit
        # reuses them - here from the engine, on a fresh machine from the registry.
        StageDef(deps_id, APP_DEPS, app.platform, app,
                 parent=platform_task(app.platform.ident, PLATFORM_COMPILE)),
        StageDef(compile_id, APP_COMPILE, app.platform, app, parent=deps_id),
        StageDef(release_id, APP_RELEASE, app.platform, app,
                 parent=platform_task(app.platform.ident, PLATFORM_RELEASE)),
    ]
    units: list[Process | CronJob] = [*app.manifest.processes, *app.manifest.cron_jobs]
    for unit in units:
        stages.append(StageDef(app_task(app.name, f"release-{unit.name}"), RELEASE,
                               app.platform, app, unit, parent=release_id,
                               copies_from=compile_id))
    return stages


def build_graph(workspace: Workspace, only: list[str] | None = None) -> nx.DiGraph:
    """The DAG of stages for the workspace's apps (or only the named ones)."""
    apps = [workspace.app(name) for name in only] if only else list(workspace.apps)
    graph = nx.DiGraph()
    for app in apps:
        for kind in (PLATFORM_COMPILE, PLATFORM_RELEASE):
            node = platform_task(app.platform.ident, kind)
            if node not in graph:
                graph.add_node(node, stage=StageDef(node, kind, app.platform))
        for stage in app_stages(app):
            graph.add_node(stage.id, stage=stage)
        for stage in app_stages(app):
            if stage.parent:
                graph.add_edge(stage.parent, stage.id, relation="from")
            if stage.copies_from:
                graph.add_edge(stage.copies_from, stage.id, relation="copies")
    check_acyclic(graph)
    return graph


def check_acyclic(graph: nx.DiGraph) -> None:
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    path = " -> ".join([str(edge[0]) for edge in cycle] + [str(cycle[0][0])])
    raise UsageError(f"the build graph has a cycle: {path}")


def stage(graph: nx.DiGraph, node: str) -> StageDef:
    value = graph.nodes[node]["stage"]
    assert isinstance(value, StageDef)
    return value


def ordered(graph: nx.DiGraph) -> list[str]:
    """Stages in the order a build runs them (deterministic)."""
    return list(nx.lexicographical_topological_sort(graph))
