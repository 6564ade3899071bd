"""`wake graph` and `wake plan` against a real engine: the states they show match
what a build then does; the HTML page renders in headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from wake.build.drawing import STYLES

from .conftest import HOST_CA, build, copy_platforms, make_workspace

APP = ["python-hello"]
STAGES = {"platform:python-3.11-compile", "platform:python-3.11-release",
          "build:python-hello:app-deps", "build:python-hello:app-compile",
          "build:python-hello:app-release",
          "build:python-hello:release-web"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("graph-view")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAKE_HOME", str(root / "home"))
        for var in ("WAKE_REGISTRY", "DOCKER_HOST"):
            patch.delenv(var, raising=False)
        if HOST_CA.is_file():
            patch.setenv("WAKE_CA_BUNDLE", str(HOST_CA))
        patch.setenv("WAKE_PLATFORMS_PATH", str(copy_platforms(root / "platforms")))
        ws = make_workspace(root / "ws", APP)
        patch.setenv("WAKE_WORKSPACE", str(ws))
        yield ws


def wake(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "wake.cli", *args], capture_output=True,
                          text=True, timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def svg_states() -> dict[str, str]:
    svg = wake("graph", "--format", "svg")
    return {html.unescape(m[1]): html.unescape(m[2]).removeprefix("state-") for m in
            re.finditer(r'<g id="([^"]+)" class="node ([^"]+)"', svg)}


def plan() -> dict[str, str]:
    return {step["stage"]: step["action"]
            for step in json.loads(wake("plan", "--json"))["build"]}


def test_states_after_cold_build_noop_and_one_edit(workspace: Path) -> None:
    cold = svg_states()
    assert set(cold) == STAGES
    # Nothing with these inputs exists; images of the same stages built from other
    # inputs (by other tests) make "will rebuild" rather than "never built".
    assert set(cold.values()) <= {"never", "build"}
    assert set(build(workspace).values()) == {"built"}
    assert svg_states() == {node: "reuse" for node in STAGES}
    assert set(build(workspace).values()) == {"reused"}
    assert svg_states() == {node: "reuse" for node in STAGES}

    with open(workspace.parent / "python-hello" / "app.py", "a") as handle:
        handle.write("\n# edited\n")
    states = svg_states()
    assert {n for n, s in states.items() if s == "build"} == {
        "build:python-hello:app-compile", "build:python-hello:release-web"}
    assert 'changed app file app.py' in wake("graph", "--format", "dot")

    # The plan lists exactly the stages the build then rebuilds, in doit's order.
    planned = plan()
    assert list(planned) == [line.split()[1] for line in
                             wake("plan").splitlines()[:-1]]
    will_build = {n for n, a in planned.items() if a == "build"}
    built = {n for n, a in build(workspace).items() if a == "built"}
    assert will_build == built == {"build:python-hello:app-compile",
                                   "build:python-hello:release-web"}
    assert set(plan().values()) == {"reuse"}


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_page_renders_the_nodes_in_headless_chromium(workspace: Path,
                                                          tmp_path: Path) -> None:
    build(workspace)
    page = tmp_path / "graph.html"
    wake("graph", "--format", "html", "--output", str(page))
    shot = tmp_path / "graph.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1400,900", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    fill = STYLES["reuse"][0]
    reuse = tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
    counts = {colour: count for count, colour in image.getcolors(maxcolors=1 << 24) or []}
    pixels = counts.get(reuse, 0)
    # Five up-to-date nodes (plus the legend chip) fill thousands of pixels green.
    assert pixels > 3000, f"only {pixels} pixels of the up-to-date colour"
