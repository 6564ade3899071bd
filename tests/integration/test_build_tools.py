"""Build tools on demand, against the real engine and PyPI (through the machine's CA):
the Python compile image has no compilers or git; an app whose dependency has no wheel
(tests/apps/python-native: crcmod 1.7, a C extension published as source only) gets them
in its app-deps stage, its C extension is compiled, and its release image has none of
them. A wheel-only app's app-deps stays without them (test_real_apps)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import docker

from wake.build import stages
from wake.build.session import Session

from .conftest import ROOT, TEST_LABEL, run_output, wait_for

HAS = ["sh", "-c", "for t in gcc git; do command -v $t >/dev/null && echo $t; done; true"]


def test_build_tools_come_in_only_when_a_dependency_builds_from_source(
        wake_env: Path, tmp_path: Path, client: docker.DockerClient) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "tests" / "apps" / "python-native", workspace / "python-native")
    (workspace / "wake.toml").write_text('[[apps]]\npath = "python-native"\n')
    result = subprocess.run([sys.executable, "-m", "wake.cli", "build"], cwd=workspace,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    session = Session(workspace_file=workspace / "wake.toml")
    tag = {node: session.materializer.get(node).tag for node in session.graph}
    compile_image = tag[stages.platform_task("python-3.11", "platform-compile")]
    assert run_output(client, compile_image, HAS).split() == []
    deps = tag[stages.app_task("python-native", "app-deps")]
    assert run_output(client, deps, HAS).split() == [b"gcc", b"git"]
    release = tag[stages.app_task("python-native", "release-web")]
    assert run_output(client, release, HAS).split() == []
    container = client.containers.run(release, detach=True, labels={TEST_LABEL: "1"},
                                      ports={"8000/tcp": ("127.0.0.1", None)}, init=True)
    try:
        container.reload()
        port = int(container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])

        def page() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                return str(answer.read().decode())
        wait_for(lambda: "python-native" in page(), timeout=60, what="python-native /")
        # The C extension was imported (the app refuses to start without it), and it
        # computes: crc32("wake").
        assert page() == "python-native: crc32(wake) = 2568c195 (C extension)"
    finally:
        container.remove(force=True)
