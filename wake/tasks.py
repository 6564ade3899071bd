"""doit tasks for wake's build graph: the one task generator (dodo.py and the
`wake` CLI both use it).

    platform:<platform>-compile / -release   shared by every app of the platform
    build:<app>:app-compile, :app-release, :release-<process>
    build:<app>                              everything of one app
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from doit.exceptions import InvalidDodoFile, TaskFailed

from .build import stages
from .build.session import Session
from .errors import WakeError

# doit settings for wake's tasks, shared by dodo.py and `wake build`.
DOIT_CONFIG: dict[str, Any] = {"default_tasks": ["build"], "verbosity": 2,
                               "dep_file": ".doit.db"}


def _ensure(session: Session, node: str) -> TaskFailed | None:
    try:
        session.builder.ensure(node)
    except WakeError as exc:
        return TaskFailed(str(exc))
    return None


class ImageExists:
    """doit's uptodate check: an image tagged with the stage's key is in the engine.

    Its repr is what `doit info` prints when the check is false.
    """

    def __init__(self, session: Session, node: str) -> None:
        self.session = session
        self.node = node

    def __call__(self) -> bool:
        try:
            return self.session.builder.state(self.node) == "up-to-date"
        except WakeError:
            return False  # the action runs and reports the error properly

    def __repr__(self) -> str:
        return (f"no image tagged with the key of {self.node} in the engine "
                "(`wake explain` says which inputs changed)")


def build_tasks(session: Session | None = None) -> Iterator[dict[str, Any]]:
    session = session or Session()
    try:
        graph = session.graph
    except WakeError as exc:
        # doit prints these as "ERROR: ..." without a traceback.
        raise InvalidDodoFile(str(exc)) from None
    by_app: dict[str, list[str]] = {}
    for node in stages.ordered(graph):
        stage = stages.stage(graph, node)
        basename, name = node.split(":", 1)
        yield {
            "basename": basename,
            "name": name,
            "doc": _doc(stage),
            "actions": [(_ensure, [session, node])],
            "uptodate": [ImageExists(session, node)],
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


def _draw(session: Session, format: str, output: str) -> TaskFailed | None:
    from .build.drawing import draw, write_output

    target = output or f"wake-graph.{format}"
    try:
        text, count = draw(session, format)
        write_output(Path(target), text)
    except WakeError as exc:
        return TaskFailed(str(exc))
    print(f"wrote {target} ({format}, {count} stages)")
    return None


def graph_task(session: Session | None = None) -> dict[str, Any]:
    """`doit graph [--format dot|svg|html] [--output FILE]`: the same picture as `wake graph`."""
    session = session or Session()
    return {
        "basename": "graph",
        "doc": "draw wake's build graph with each stage's state (wake-graph.svg)",
        "actions": [(_draw, [session])],
        "params": [{"name": "format", "long": "format", "short": "f", "default": "svg",
                    "choices": (("dot", ""), ("svg", ""), ("html", "")),
                    "help": "dot, svg or html"},
                   {"name": "output", "long": "output", "short": "o", "default": "",
                    "help": "file to write (default wake-graph.FORMAT)"}],
        "uptodate": [False],
        "verbosity": 2,
    }
