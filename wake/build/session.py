"""One build session: workspace, graph, materializer and builder wired together.

Created lazily so `doit list` never talks to the engine or hashes a tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import engine, settings
from ..settings import Settings
from . import stages, workspace
from .builder import Builder, stderr_say
from .materialize import Materializer
from .tree import HashCache


@dataclass
class Session:
    workspace_file: Path | None = None
    folder: Path | None = None  # where to look for the workspace (default: the current one)
    only: tuple[str, ...] = ()
    overrides: tuple[tuple[str, str | None], ...] = ()
    # What deploys of this session did, by app (`wake deploy --json` prints it), and how
    # long a deploy waits for another's lock (`wake deploy --wait`).
    results: dict[str, Any] = field(default_factory=dict)
    deploy_wait: float = 0.0
    # `wake build --verbose / --no-cache`; None: $WAKE_VERBOSE / $WAKE_NO_CACHE decide.
    verbose: bool | None = None
    nocache: bool | None = None

    @cached_property
    def settings(self) -> Settings:
        return settings.load(dict(self.overrides))

    @cached_property
    def workspace(self) -> workspace.Workspace:
        return workspace.load(self.workspace_file, self.folder)

    @cached_property
    def graph(self) -> stages.StageGraph:
        return stages.build_graph(self.workspace, list(self.only) or None)

    @cached_property
    def materializer(self) -> Materializer:
        return Materializer(self.graph, self.settings, engine.connect, HashCache())

    @cached_property
    def builder(self) -> Builder:
        return Builder(self.materializer, verbose=self.verbose, nocache=self.nocache)


def quiet_builder(session: Session) -> Builder:
    """A builder whose messages go to stderr (for commands that print data on stdout)."""
    return Builder(session.materializer, say=stderr_say)
