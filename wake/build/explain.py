"""`wake explain`: why a stage would rebuild, by comparing today's inputs with
the inputs recorded on the newest image built for that stage.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from . import stages
from .builder import CURRENT, PULL, Builder, StageState
from .session import Session, quiet_builder

# More changed files than this are summed up per kind of change: the count, the first few
# and the folder most of them are in (a new node_modules/ is tens of thousands of files).
MANY_FILES = 10
SHOWN_FILES = 5


def diff_inputs(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Readable reasons, one per changed input, named as the user knows them; many
    changed files are summed up."""
    changes = []
    for name in sorted(set(old) | set(new)):
        if old.get(name) == new.get(name):
            continue
        verb = "added" if name not in old else "removed" if name not in new else "changed"
        changes.append((verb, name))
    files = [(verb, name) for verb, name in changes if name.startswith("file:")]
    if len(files) <= MANY_FILES:
        return [f"{verb} {_label(name)}" for verb, name in changes]
    groups: dict[tuple[str, str], list[str]] = {}
    for verb, name in files:
        path = name.removeprefix("file:")
        noun = "app file" if path.startswith("app/") else "file"
        groups.setdefault((verb, noun), []).append(path.removeprefix("app/"))
    reasons = [f"{verb} {_label(name)}" for verb, name in changes
               if not name.startswith("file:")]
    for (verb, noun), paths in groups.items():
        if len(paths) <= SHOWN_FILES:
            reasons += [f"{verb} {noun} {path}" for path in paths]
        else:
            reasons.append(_summary(verb, noun, paths))
    return reasons


def _summary(verb: str, noun: str, paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN_FILES])
    text = f"{verb} {len(paths):,} {noun}s: {shown} and {len(paths) - SHOWN_FILES:,} more"
    folders: dict[str, int] = {}
    for path in paths:
        if "/" in path:
            top = path.split("/", 1)[0]
            folders[top] = folders.get(top, 0) + 1
    if folders:
        top, count = max(folders.items(), key=lambda item: (item[1], item[0]))
        if count * 2 > len(paths):
            text += f" ({count:,} of them under {top}/)"
    return text


def _label(name: str) -> str:
    kind, _, rest = name.partition(":")
    if kind == "file" and rest.startswith("app/"):
        return f"app file {rest.removeprefix('app/')}"
    return {
        "file": f"file {rest}",
        "template": f"platform template {rest}",
        "manifest": f"manifest.json {rest}",
        "repo": f"repo {rest}",
        "parent": "parent stage (it was rebuilt)",
        "app-compile": "compiled app (app-compile was rebuilt)",
        "base-image": "base image",
        "dockerfile": "rendered Dockerfile",
        "aptfile": "Aptfile packages",
    }.get(kind, name)


VERBS = {StageState.CURRENT: "up to date", StageState.PULL: "will pull",
         StageState.BUILD: "will rebuild"}


def reasons_for(builder: Builder, node: str) -> tuple[StageState, list[str]]:
    """(state, reasons) for one stage: why it is current, pulled or rebuilt."""
    mat = builder.materializer.get(node)
    state = builder.state(node)
    if state == CURRENT:
        return state, ["up to date: an image with its key is in the engine"]
    if state == PULL:
        return state, ["its key is in the registry cache: it will be pulled, not built"]
    old = builder.index.recorded_inputs(node, builder.materializer.client)
    if old is None:
        return state, ["never built: no image of this stage is in the engine"]
    reasons = diff_inputs(old, mat.inputs)
    # Name the root cause first: a parent's rebuild is a consequence.
    reasons.sort(key=lambda r: ("stage" in r or "compiled app" in r, r))
    return state, reasons or ["same inputs as the newest image, but that key is not tagged"]


def explain(app: str, stage_name: str | None, overrides: dict[str, Any]) -> str:
    session = Session(only=(app,), overrides=tuple(sorted(overrides.items())))
    graph = session.graph
    nodes = [n for n in stages.ordered(graph)]
    if stage_name:
        wanted = [n for n in nodes if n.endswith(":" + stage_name) or n == stage_name
                  or n.endswith("-" + stage_name.removeprefix("platform-"))]
        if not wanted:
            shorts = ", ".join(n.rsplit(":", 1)[-1] for n in nodes)
            raise UsageError(f"{app} has no stage {stage_name!r}; stages: {shorts}")
        nodes = wanted
    builder = quiet_builder(session)
    lines = []
    for node in nodes:
        state, reasons = reasons_for(builder, node)
        verb = VERBS[state]
        lines.append(f"{node}: {verb}")
        if state != CURRENT:
            lines += [f"  - {r}" for r in reasons]
    return "\n".join(lines)
