"""doit tasks for wake's build graph: the one task generator (dodo.py and the
`wake` CLI both use it).

    platform:<platform>-compile / -release   shared by every app of the platform
    build:<app>:app-compile, :app-release, :release-<process>
    build:<app>                              everything of one app
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from doit.exceptions import TaskFailed, UnmetDependency
from doit.reporter import ConsoleReporter

from . import crash, errors
from .build import stages, workspace
from .build.builder import StageState
from .build.session import Session
from .errors import WakeError


class FailedRun(SystemExit):
    """The end of a run in which wake's tasks failed: exit 1 (`wake build` catches it)."""


class Reporter(ConsoleReporter):  # type: ignore[misc]
    """doit's console reporter, plus a summary at the end of a run that went on after a
    failure (`--continue`): each failed task with the first line of its message, and which
    apps were not built or deployed because of it. Such a run exits 1, as any failed build
    does (doit would say 2, its code for a task left out)."""

    def __init__(self, outstream: Any, options: dict[str, Any]) -> None:
        super().__init__(outstream, options)
        self.went_on = False  # a task ran after a failure

    def execute_task(self, task: Any) -> None:
        self.went_on = self.went_on or bool(self.failures)
        super().execute_task(task)

    def complete_run(self) -> None:
        super().complete_run()
        failed = [r for r in self.failures if isinstance(r["exception"], TaskFailed)]
        unmet = [r["task"].name for r in self.failures
                 if isinstance(r["exception"], UnmetDependency)]
        if not failed or not (self.went_on or unmet):
            return
        self.write("#" * 40 + "\n")
        self.write(f"wake: {len(failed)} task{'s' if len(failed) > 1 else ''} failed:\n")
        for result in failed:
            lines = (result["exception"].message or "").strip().splitlines() or ["failed"]
            self.write(f"  {result['task'].name}: {lines[0]}\n")
        for verb, kind in (("built", "build"), ("deployed", "deploy")):
            apps = [name.split(":")[1] for name in unmet
                    if name.startswith(f"{kind}:") and name.count(":") == 1]
            if apps:
                self.write(f"wake: not {verb} because of {'it' if len(failed) == 1 else 'them'}"
                           f": {', '.join(apps)}\n")
        if len(failed) + len(unmet) == len(self.failures):
            raise FailedRun(errors.FAILURE)


# doit settings for wake's tasks, shared by dodo.py and `wake build`.
DOIT_CONFIG: dict[str, Any] = {"default_tasks": ["build"], "verbosity": 2,
                               "dep_file": ".doit.db", "reporter": Reporter}


def _action(doing: str, work: Callable[[], object]) -> TaskFailed | None:
    """A doit action on wake's error path: a WakeError fails the task with its message; a
    bug fails it with one line naming the log holding its traceback; Ctrl-C ends the
    run with exit code 130 (doit itself would print a traceback)."""
    try:
        work()
    except WakeError as exc:
        return TaskFailed(str(exc))
    except KeyboardInterrupt:
        print("wake: interrupted", file=sys.stderr, flush=True)
        raise SystemExit(errors.INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a message
        return TaskFailed(crash.report_unexpected(exc, doing))
    return None


def _ensure(session: Session, node: str) -> TaskFailed | None:
    return _action(f"building {node}", lambda: session.builder.ensure(node))


def _load_failed(exc: BaseException) -> NoReturn:
    """Bad input found while doit loads the tasks: the same message and exit code as
    `wake` gives (doit would exit 3 for every load error)."""
    if isinstance(exc, WakeError):
        print(f"wake: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(exc.exit_code)
    print(f"wake: {crash.report_unexpected(exc, 'loading the workspace')}", file=sys.stderr,
          flush=True)
    raise SystemExit(errors.FAILURE)


def _dodo_session() -> Session:
    """The session of tasks a dodo file loads (`wake build` passes its own)."""
    return Session(folder=_started_in())


@functools.cache
def _started_in() -> Path | None:
    """`doit -f ~/wake/dodo.py build:myapp` run in another folder: doit has moved into the
    dodo file's folder before loading it, but the user means the apps where they are. Use
    the workspace `wake` would use in the folder doit was started in when there is one;
    else the dodo folder's, and say so (it would build other apps without a word)."""
    import doit.loader

    started = getattr(doit.loader, "initial_workdir", None)
    here = Path.cwd()
    if os.environ.get("WAKE_WORKSPACE") or not started or Path(started) == here:
        return None
    if not any(getattr(module, "DOIT_CONFIG", None) is DOIT_CONFIG
               and Path(getattr(module, "__file__", None) or "/").parent == here
               for module in list(sys.modules.values())):
        return None  # `doit -d FOLDER`, or not run by doit: the current folder it is
    if workspace.found_in(Path(started)):
        return Path(started)
    source = workspace.nearest_file(here)
    used = str(source) if source else f"the apps under {here}"
    print(f"wake: no wake.toml or manifest.json in {started}, where doit was started; using "
          f"the workspace of the dodo file's folder: {used} (`wake init` in {started} makes "
          "one there)", file=sys.stderr, flush=True)
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
            return self.session.builder.state(self.node) is StageState.CURRENT
        except Exception:  # noqa: BLE001 - the action runs and reports it properly
            return False

    def __repr__(self) -> str:
        return (f"no image tagged with the key of {self.node} in the engine "
                "(`wake explain` says which inputs changed)")


def build_tasks(session: Session | None = None) -> Iterator[dict[str, Any]]:
    session = session or _dodo_session()
    try:
        graph = session.graph
        session.settings  # noqa: B018 - a bad config.toml is bad input: report it now
    except Exception as exc:  # noqa: BLE001 - see _load_failed
        _load_failed(exc)
    by_app: dict[str, list[str]] = {}
    for node in stages.ordered(graph):
        stage = graph.stage(node)
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


class ReleaseCurrent:
    """doit's uptodate check of `deploy:<app>`: the release the workspace wants (from
    stage keys: nothing is built or pulled to know it) is the cluster's current one, and
    every instance it wants is passing in Consul."""

    def __init__(self, session: Session, app: str) -> None:
        self.session = session
        self.app = app

    def __call__(self) -> bool:
        from .deploy import deployer

        try:
            return deployer.up_to_date(self.session, self.app)
        except Exception:  # noqa: BLE001 - the action runs and reports it properly
            return False

    def __repr__(self) -> str:
        return (f"the cluster's current release of {self.app} is not the one the workspace "
                "wants, or not all its instances pass (`wake plan` shows what would change)")


def _deploy(session: Session, app: str) -> TaskFailed | None:
    from .deploy import deployer

    return _action(f"deploying {app}", lambda: deployer.deploy_task(session, app))


def deploy_tasks(session: Session | None = None) -> Iterator[dict[str, Any]]:
    """`deploy:<app>` for every app of the workspace; its app's images are its setup
    (built only when the deploy must happen), the deploys of the apps it depends on its
    task dependencies."""
    session = session or _dodo_session()
    try:
        apps = [app.name for app in session.workspace.apps
                if not session.only or app.name in session.only]
    except Exception as exc:  # noqa: BLE001 - see _load_failed
        _load_failed(exc)
    after: dict[str, list[str]] = {}
    for dependency, app in session.workspace.deploy_order():
        if dependency in apps:
            after.setdefault(app, []).append(f"deploy:{dependency}")
    for app in apps:
        yield {
            "basename": "deploy",
            "name": app,
            "doc": f"deploy {app} to the current cluster (builds what changed first)",
            "actions": [(_deploy, [session, app])],
            "uptodate": [ReleaseCurrent(session, app)],
            "setup": [f"build:{app}"],
            # The apps it depends on are deployed first (when they changed too).
            "task_dep": after.get(app, []),
            "verbosity": 2,
        }


def _doc(stage: stages.StageDef) -> str:
    if stage.app is None:
        return f"{stage.platform.name} {stage.kind} image (shared by its apps)"
    if stage.unit is not None:
        return f"{stage.app.name}: release image of {stage.unit_kind} {stage.unit.name}"
    return f"{stage.app.name}: {stage.kind} image"


def _draw(session: Session, format: str, output: str) -> TaskFailed | None:
    from .build.drawing import check_output, draw, format_for, write_output

    def work() -> None:
        chosen = format_for(output, format)
        target = output or f"wake-graph.{chosen}"
        check_output(Path(target))
        text, count = draw(session, chosen)
        write_output(Path(target), text)
        print(f"wrote {target} ({chosen}, {count} stages)")

    return _action("drawing the graph", work)


def graph_task(session: Session | None = None) -> dict[str, Any]:
    """`doit graph [--format dot|svg|html] [--output FILE]`: the same picture as `wake graph`."""
    session = session or _dodo_session()
    return {
        "basename": "graph",
        "doc": "draw wake's build graph with each stage's state (wake-graph.svg)",
        "actions": [(_draw, [session])],
        "params": [{"name": "format", "long": "format", "short": "f", "default": "",
                    "choices": (("dot", ""), ("svg", ""), ("html", "")),
                    "help": "dot, svg or html (default: the output's extension, else svg)"},
                   {"name": "output", "long": "output", "short": "o", "default": "",
                    "help": "file to write (default wake-graph.FORMAT)"}],
        "uptodate": [False],
        "verbosity": 2,
    }
