"""The build graph: every stage of every app as a node of one DAG.

Nodes are doit task names; edges run from a stage to the stages that need it
(FROM, or copying its output). Tasks, `wake plan` and `wake graph` all come
from this one graph.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import UsageError
from ..manifest import CronJob, Process
from .cycles import find_cycle
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


class StageGraph:
    """Stages by task name, and edges from a stage to the stages made from it, each
    with its relation: "from" (FROM it) or "copies" (a release copying the built app out
    of app-compile).

    A class of wake's own rather than a networkx DiGraph: every command builds this
    graph, a no-op build included, and importing networkx costs about 75 ms there
    (a fifth of the no-op) for what is a few dicts and a sort.
    """

    def __init__(self) -> None:
        self._stages: dict[str, StageDef] = {}
        self._children: dict[str, dict[str, str]] = {}  # node -> {child: relation}
        self._parents: dict[str, dict[str, str]] = {}

    def add(self, stage: StageDef) -> None:
        self._stages[stage.id] = stage
        self._children.setdefault(stage.id, {})
        self._parents.setdefault(stage.id, {})

    def link(self, source: str, target: str, relation: str) -> None:
        for node in (source, target):
            if node not in self._stages:
                raise KeyError(f"no stage {node!r} in the graph")
        self._children[source][target] = relation
        self._parents[target][source] = relation

    def __contains__(self, node: object) -> bool:
        return node in self._stages

    def __iter__(self) -> Iterator[str]:
        return iter(self._stages)

    def __len__(self) -> int:
        return len(self._stages)

    def stage(self, node: str) -> StageDef:
        return self._stages[node]

    def successors(self, node: str) -> list[str]:
        return list(self._children[node])

    def predecessors(self, node: str) -> list[str]:
        return list(self._parents[node])

    def has_edge(self, source: str, target: str) -> bool:
        return target in self._children.get(source, {})

    def edges(self) -> list[tuple[str, str, str]]:
        """(source, target, relation) for every edge."""
        return [(source, target, relation) for source, children in self._children.items()
                for target, relation in children.items()]

    def ancestors(self, node: str) -> set[str]:
        """Every stage `node` is made from, directly or not."""
        found: set[str] = set()
        todo = list(self._parents[node])
        while todo:
            parent = todo.pop()
            if parent not in found:
                found.add(parent)
                todo.extend(self._parents[parent])
        return found


def build_graph(workspace: Workspace, only: list[str] | None = None) -> StageGraph:
    """The DAG of stages for the workspace's apps (or only the named ones)."""
    apps = [workspace.app(name) for name in only] if only else list(workspace.apps)
    graph = StageGraph()
    for app in apps:
        for kind in (PLATFORM_COMPILE, PLATFORM_RELEASE):
            node = platform_task(app.platform.ident, kind)
            if node not in graph:
                graph.add(StageDef(node, kind, app.platform))
        for stage in app_stages(app):
            graph.add(stage)
        for stage in app_stages(app):
            if stage.parent:
                graph.link(stage.parent, stage.id, "from")
            if stage.copies_from:
                graph.link(stage.copies_from, stage.id, "copies")
    check_acyclic((source, target) for source, target, _ in graph.edges())
    return graph


def check_acyclic(edges: Iterable[tuple[str, str]]) -> None:
    cycle = find_cycle(edges)
    if cycle is not None:
        raise UsageError(f"the build graph has a cycle: {' -> '.join(cycle)}")


def ordered(graph: StageGraph) -> list[str]:
    """Stages in the order a build runs them: parents first, and among the stages
    ready at a time the smallest name first (deterministic)."""
    waiting = {node: len(graph.predecessors(node)) for node in graph}
    ready = [node for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in graph.successors(node):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    return order
