"""`wake graph`: the build DAG as DOT, SVG (graphviz's `dot`) or one self-contained
HTML page, drawn from the graph doit runs, with each stage's state from the plan."""

from __future__ import annotations

import html
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from ..errors import FileError, UsageError, WakeError
from ..statefile import replace_file
from . import stages
from .plan import Step
from .session import Session, quiet_builder

FORMATS = ("dot", "svg", "html")
# state -> (fill, border, legend text)
STYLES = {
    "reuse": ("#dcedc8", "#33691e", "up to date"),
    "build": ("#ffe0b2", "#e65100", "will rebuild"),
    "never": ("#eceff1", "#546e7a", "never built"),
    "pull": ("#bbdefb", "#0d47a1", "will pull from the registry"),
}
# A deploy:<app> node's state -> (fill, border, legend text)
DEPLOY_STYLES = {
    "deployed": ("#c8e6c9", "#1b5e20", "deployed: the cluster runs what the workspace wants"),
    "deploy": ("#fff9c4", "#f57f17", "will deploy"),
    "unknown": ("#f5f5f5", "#9e9e9e", "the cluster did not answer"),
}
# app -> (state, tooltip text)
Deploys = dict[str, tuple[str, str]]
LEVELS = {stages.PLATFORM_COMPILE: 1, stages.PLATFORM_RELEASE: 1, stages.APP_DEPS: 2,
          stages.APP_COMPILE: 2, stages.APP_RELEASE: 2, stages.RELEASE: 3}


def state_of(step: Step) -> str:
    if step.action == "build" and step.reasons and step.reasons[0].startswith("never built"):
        return "never"
    return step.action


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: stages.StageGraph, steps: dict[str, Step], depth: int | None = None,
           deploys: Deploys | None = None) -> str:
    """DOT text: a cluster per platform holding its stages and a cluster per app; with
    `deploys`, each app's deploy:<app> node after its release images."""
    keep = [n for n in stages.ordered(graph)
            if depth is None or LEVELS[graph.stage(n).kind] <= depth]
    by_platform: dict[str, list[str]] = defaultdict(list)
    by_app: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for node in keep:
        s = graph.stage(node)
        if s.app is None:
            by_platform[s.platform.name].append(node)
        else:
            by_app[s.platform.name][s.app.name].append(node)
    out = ["digraph wake {", "  rankdir=LR; compound=true; newrank=true;",
           '  graph [fontname="Helvetica", fontsize=12, style="rounded", color="#9e9e9e"];',
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
           '  edge [color="#616161", arrowsize=0.7];']

    def node_line(node: str, label: str, indent: str) -> str:
        step = steps[node]
        state = state_of(step)
        fill, border, legend = STYLES[state]
        tip = f"{node}: {legend}" + "".join(f"\n- {r}" for r in step.reasons
                                            if state != "reuse")
        return (f"{indent}{_q(node)} [id={_q(node)}, label={_q(label)}, fillcolor={_q(fill)},"
                f" color={_q(border)}, tooltip={_q(tip)}, class={_q('state-' + state)}];")

    for platform in sorted(set(by_platform) | set(by_app)):
        out.append(f"  subgraph {_q('cluster_platform_' + platform)} {{")
        out.append(f"    label={_q(platform)};")
        for node in by_platform[platform]:
            out.append(node_line(node, node.split(":", 1)[1], "    "))
        for app, nodes in sorted(by_app[platform].items()):
            out.append(f"    subgraph {_q('cluster_app_' + app)} {{")
            out.append(f"      label={_q(app)}; style=\"rounded,filled\"; fillcolor=\"#fafafa\";")
            for node in nodes:
                out.append(node_line(node, node.rsplit(":", 1)[1], "      "))
            if deploys and app in deploys:
                state, tip = deploys[app]
                fill, border, legend = DEPLOY_STYLES[state]
                name = f"deploy:{app}"
                out.append(f"      {_q(name)} [id={_q(name)}, label={_q(name)}, shape=ellipse,"
                           f" fillcolor={_q(fill)}, color={_q(border)}, "
                           f"tooltip={_q(f'{name}: {legend}' + (chr(10) + tip if tip else ''))},"
                           f" class={_q('state-' + state)}];")
            out.append("    }")
        out.append("  }")
    kept = set(keep)
    for source, target, relation in sorted(graph.edges()):
        if source in kept and target in kept:
            style = "dashed" if relation == "copies" else "solid"
            tip = "copies the compiled app" if style == "dashed" else "FROM"
            out.append(f"  {_q(source)} -> {_q(target)} [style={style}, tooltip={_q(tip)}];")
    if deploys:  # deploy order: an app after the apps it depends on
        depends = {s.app.name: s.app.manifest.dependencies for s in
                   (graph.stage(n) for n in graph) if s.app is not None}
        for app in sorted(deploys):
            for dep in sorted(set(depends.get(app, ())) & set(deploys)):
                tip = _q(f"{app} depends on {dep}: deployed after it")
                out.append(f"  {_q('deploy:' + dep)} -> {_q('deploy:' + app)} "
                           f"[style=dotted, tooltip={tip}];")
    for app in sorted(deploys or {}):
        for node in keep:
            s = graph.stage(node)
            if s.app is not None and s.app.name == app and s.unit_kind == "process" \
                    and s.unit is not None:
                out.append(f"  {_q(node)} -> {_q('deploy:' + app)} [tooltip=\"deploys\"];")
    out.append("}")
    return "\n".join(out) + "\n"


def to_svg(dot: str) -> str:
    if shutil.which("dot") is None:
        raise WakeError("graphviz's `dot` is not installed; apt-get install graphviz "
                        "(or use --format dot)")
    done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise WakeError(f"dot failed: {done.stderr.strip()}")
    return done.stdout


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wake build graph</title>
<style>
 body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5rem; color: #212121; }}
 h1 {{ font-size: 1.3rem; margin: 0 0 .5rem; }}
 .legend span {{ display: inline-block; padding: .15rem .6rem; margin-right: .5rem;
                border-radius: .4rem; border: 1px solid; font-size: .85rem; }}
 #graph svg {{ max-width: 100%; height: auto; }}
 #details {{ white-space: pre-wrap; font-family: monospace; background: #f5f5f5;
             padding: .6rem; min-height: 3rem; border-radius: .4rem; }}
 .summary {{ margin: .5rem 0; }}
</style></head>
<body>
<h1>wake build graph</h1>
<div class="summary">{summary}</div>
<div class="legend">{legend}</div>
<p>Hover a stage for why it would rebuild (the same text as <code>wake explain</code>).</p>
<div id="details">&nbsp;</div>
<div id="graph">{svg}</div>
<script>
// Self-contained: no network. Show a stage's tooltip text in the details box on hover.
document.querySelectorAll("#graph g.node").forEach(function (g) {{
  var a = g.querySelector("a");
  var text = a ? (a.getAttribute("xlink:title") || a.getAttribute("title")) : g.id;
  g.addEventListener("mouseenter", function () {{
    document.getElementById("details").textContent = text;
  }});
}});
</script>
</body></html>
"""


def to_html(svg: str, steps: dict[str, Step]) -> str:
    body = svg[svg.find("<svg"):] if "<svg" in svg else svg
    legend = "".join(f'<span style="background:{fill};border-color:{border}">'
                     f"{html.escape(text)}</span>" for fill, border, text in STYLES.values())
    counts: dict[str, int] = defaultdict(int)
    for step in steps.values():
        counts[state_of(step)] += 1
    summary = ", ".join(f"{counts[s]} {STYLES[s][2]}" for s in STYLES if counts[s])
    return _PAGE.format(svg=body, legend=legend, summary=html.escape(summary))


def draw(session: Session, fmt: str, depth: int | None = None,
         deploys: Deploys | None = None) -> tuple[str, int]:
    """The session's graph drawn with each stage's planned state (and each app's deploy
    state, when given); (text, stages)."""
    from .plan import make_plan

    steps = {step.stage: step for step in make_plan(quiet_builder(session))}
    return render(session.graph, steps, fmt, depth, deploys), len(steps)


def format_for(output: str | None, fmt: str | None) -> str:
    """-f if given; else the output file's extension (g.dot -> dot); else svg."""
    if fmt:
        return fmt
    suffix = Path(output).suffix.lstrip(".").lower() if output and output != "-" else ""
    if not suffix:
        return "svg"
    if suffix not in FORMATS:
        raise UsageError(f"cannot tell the format from {output!r}: give -f "
                         f"{'|'.join(FORMATS)} or end the file name in one of them")
    return suffix


def check_output(path: Path) -> None:
    """Refuse (FileError) an output path that cannot be written, before drawing anything."""
    folder = path.parent
    if not folder.is_dir():
        raise FileError(path, f"no folder {folder} to write it in; make the folder first, or "
                        "give another --output")
    if path.is_dir():
        raise FileError(path, "is a folder; give a file name, e.g. --output graph.svg")


def write_output(path: Path, text: str) -> None:
    """Replace `path` whole (a reader never sees half a picture, and a failed write leaves
    the old one); FileError if it cannot be written."""
    check_output(path)
    replace_file(path, text.encode("utf-8"), mode=0o644)


def render(graph: stages.StageGraph, steps: dict[str, Step], fmt: str,
           depth: int | None = None, deploys: Deploys | None = None) -> str:
    if fmt not in FORMATS:
        raise WakeError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    dot = to_dot(graph, steps, depth, deploys)
    if fmt == "dot":
        return dot
    svg = to_svg(dot)
    return svg if fmt == "svg" else to_html(svg, steps)
