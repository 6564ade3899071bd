"""Scale: `doit list` and a no-op build over workspaces of 10, 100 and 500 tiny apps,
with the number of Docker API calls a no-op makes; and a profile of the biggest."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .support import ROOT, WORK, doit, median_time, tiny_workspace

APPS = 500


@dataclass(frozen=True)
class ScaleRow:
    apps: int
    stages: int
    list_s: float
    noop_s: float
    api_calls: int


def workspace(count: int) -> Path:
    return tiny_workspace(WORK / "scale", count, name=f"wake-{count}.toml")


def env(count: int) -> dict[str, str]:
    return {"WAKE_WORKSPACE": str(workspace(count)),
            "WAKE_PLATFORMS_PATH": str(ROOT / "bench" / "platforms")}


def count_api_calls(count: int) -> tuple[int, int]:
    """(stages, Docker API requests) of an in-process no-op check of every stage."""
    import os

    from wake import engine
    from wake.build import stages
    from wake.build.builder import Builder, StageState
    from wake.build.materialize import Materializer
    from wake.build.session import Session

    made: list[engine.Engine] = []

    def counting_client() -> engine.Engine:
        made.append(engine.connect())  # counts its image and container queries
        return made[-1]

    old = dict(os.environ)
    os.environ.update(env(count))
    try:
        session = Session(workspace_file=workspace(count))
        builder = Builder(Materializer(session.graph, session.settings, counting_client),
                          say=lambda line: None)
        states = {builder.state(node) for node in stages.ordered(session.graph)}
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert states == {StageState.CURRENT}, f"the {count}-app workspace is not fully built: {states}"
    return len(session.graph), sum(e.api_calls for e in made)


def scale(runs: int, sizes: tuple[int, ...]) -> list[ScaleRow]:
    rows = []
    doit(workspace(max(sizes)), env=env(max(sizes)))  # build whatever is missing (untimed)
    for count in sizes:
        listing = median_time(lambda c=count: doit(workspace(c), "--all", env=env(c),
                                                   command="list"), runs)
        noop = median_time(lambda c=count: doit(workspace(c), env=env(c)), runs)
        stages, calls = count_api_calls(count)
        rows.append(ScaleRow(count, stages, listing, noop, calls))
    return rows


def profile(count: int, out: Path) -> str:
    """A pyinstrument profile of the in-process no-op doit run; returns its summary."""
    import os

    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain
    from pyinstrument import Profiler

    old = dict(os.environ)
    os.environ.update(env(count))
    cwd = Path.cwd()
    try:
        os.chdir(workspace(count).parent)
        namespace: dict[str, Any] = {}
        exec(compile((ROOT / "dodo.py").read_text(), str(ROOT / "dodo.py"), "exec"), namespace)
        profiler = Profiler(interval=0.001)
        profiler.start()
        with redirect_stdout(io.StringIO()):
            DoitMain(ModuleTaskLoader(namespace)).run(["run", "build"])
        profiler.stop()
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(old)
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    out.write_text(text)
    return text
