"""doit tasks for wake's build graph: the one task generator (dodo.py and the
`wake` CLI both use it).

    platform:<platform>-compile / -release   shared by every app of the platform
    build:<app>:app-compile, :app-release, :release-<process>
    build:<app>                              everything of one app
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from doit.exceptions import TaskFailed

from . import stages
from .errors import WakeError
from .session import Session


def _ensure(session: Session, node: str) -> TaskFailed | None:
    try:
        session.builder.ensure(node)
    except WakeError as exc:
        return TaskFailed(str(exc))
    return None


def _current(session: Session, node: str) -> bool:
    """doit's uptodate: an image tagged with the stage's key is in the engine."""
    try:
        return session.builder.state(node) == "up-to-date"
    except WakeError:
        return False  # the action runs and reports the error properly


def build_tasks(session: Session | None = None) -> Iterator[dict[str, Any]]:
    session = session or Session()
    graph = session.graph
    by_app: dict[str, list[str]] = {}
    for node in stages.ordered(graph):
        stage = stages.stage(graph, node)
        basename, name = node.split(":", 1)
        yield {
            "basename": basename,
            "name": name,
            "doc": _doc(stage),
            "actions": [(_ensure, [session, node])],
            "uptodate": [(_current, [session, node])],
            "task_dep": sorted(graph.predecessors(node)),
            "verbosity": 2,
        }
        if stage.app:
            by_app.setdefault(stage.app.name, []).append(node)
    for app, nodes in sorted(by_app.items()):
        yield {"basename": "build", "name": app, "doc": f"every image of {app}",
               "actions": None, "task_dep": nodes}


def _doc(stage: stages.StageDef) -> str:
    if stage.app is None:
        return f"{stage.platform.name} {stage.kind} image (shared by its apps)"
    if stage.unit is not None:
        return f"{stage.app.name}: release image of {stage.unit_kind} {stage.unit.name}"
    return f"{stage.app.name}: {stage.kind} image"
