"""`wake plan`: what a build would do - build, pull or reuse each stage, and why -
in the order doit runs the stages, without building anything."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from . import stages
from .builder import Builder, StageState
from .explain import reasons_for

ACTIONS = {StageState.BUILD: "build", StageState.PULL: "pull", StageState.CURRENT: "reuse"}


@dataclass(frozen=True)
class Step:
    stage: str
    action: str  # build / pull / reuse
    reasons: tuple[str, ...]
    tag: str


def make_plan(builder: Builder) -> list[Step]:
    steps = []
    for node in stages.ordered(builder.materializer.graph):
        state, reasons = reasons_for(builder, node)
        steps.append(Step(node, ACTIONS[state], tuple(reasons),
                          builder.materializer.get(node).tag))
    return steps


def render_text(steps: list[Step]) -> str:
    width = max((len(s.stage) for s in steps), default=10)
    lines = []
    for step in steps:
        why = "" if step.action == "reuse" else "; ".join(step.reasons)
        lines.append(f"{step.action:<6} {step.stage:<{width}}  {why}".rstrip())
    counts = {a: sum(1 for s in steps if s.action == a) for a in ("build", "pull", "reuse")}
    lines.append(f"{counts['build']} to build, {counts['pull']} to pull, "
                 f"{counts['reuse']} up to date")
    return "\n".join(lines)


def render_json(steps: list[Step]) -> str:
    return json.dumps([asdict(s) for s in steps], indent=2)
