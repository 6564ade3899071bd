"""The five-stage graph on the real engine: what rebuilds after which change.

One cold build per module; each test then changes its own copy of the workspace
(keys are content-only, so a copy of a built workspace is warm).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from wake.build.explain import explain
from wake.build.session import Session

from .conftest import (
    HOST_CA,
    ROOT,
    TEST_LABEL,
    build,
    copy_platforms,
    make_workspace,
    run_output,
    tag_of,
    wait_for,
)

RUBY = {"platform:ruby-3.1-compile", "platform:ruby-3.1-release"}
SITE = ["build:bestsiteever:app-deps", "build:bestsiteever:app-compile",
        "build:bestsiteever:app-release",
        "build:bestsiteever:release-web", "build:bestsiteever:release-worker",
        "build:bestsiteever:release-bust-caches"]
SITE_RELEASES = {n for n in SITE if ":release-" in n}
PYTHON = {"platform:python-3.11-compile", "platform:python-3.11-release",
          "build:python-hello:app-deps", "build:python-hello:app-compile",
          "build:python-hello:app-release",
          "build:python-hello:release-web"}
NODE = {n.replace("python-3.11", "node-18").replace("python", "node") for n in PYTHON}
GO = {n.replace("python-3.11", "go-1.19").replace("python", "go") for n in PYTHON}
OTHERS = PYTHON | NODE | GO
EXAMPLE_APPS = ["bestsiteever", "python-hello", "node-hello", "go-hello"]


@dataclass
class Env:
    git_url: str
    root: Path
    workspace: Path  # the built wake.toml
    cold: dict[str, str]
    patch: pytest.MonkeyPatch

    def copy(self, name: str) -> Path:
        """A copy of the built workspace folder (new paths, inodes and mtimes)."""
        target = self.root / name
        shutil.copytree(self.workspace.parent, target, symlinks=True)
        return target / "wake.toml"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, base_image: str,
        git_server: str) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("graph")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAKE_HOME", str(root / "home"))
        for var in ("WAKE_REGISTRY", "WAKE_WORKSPACE", "DOCKER_HOST"):
            patch.delenv(var, raising=False)
        if HOST_CA.is_file():
            patch.setenv("WAKE_CA_BUNDLE", str(HOST_CA))
        patch.setenv("WAKE_PLATFORMS_PATH", str(copy_platforms(root / "platforms")))
        workspace = make_workspace(root / "ws", EXAMPLE_APPS, git_server)
        yield Env(git_server, root, workspace, build(workspace), patch)


def changed(result: dict[str, str]) -> set[str]:
    return {node for node, action in result.items() if action == "built"}


def test_cold_build_builds_every_stage(env: Env) -> None:
    assert set(env.cold) == RUBY | set(SITE) | OTHERS
    assert set(env.cold.values()) == {"built"}


def test_second_run_builds_nothing(env: Env) -> None:
    assert changed(build(env.workspace)) == set()


def test_fresh_clone_elsewhere_with_warm_engine_builds_nothing(env: Env, tmp_path: Path) -> None:
    """doit itself, in a copy at another path, with no hash cache and no .doit.db."""
    clone = env.copy("clone")
    for path in clone.parent.rglob("*"):  # a checkout's files all have new mtimes
        os.utime(path)
    env.patch.setenv("WAKE_HOME", str(tmp_path / "other-home"))
    try:
        done = subprocess.run([sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"),
                               "-d", str(clone.parent), "build"],
                              capture_output=True, text=True, timeout=600)
    finally:
        env.patch.setenv("WAKE_HOME", str(env.root / "home"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "building" not in done.stdout
    for node in RUBY | set(SITE) | OTHERS:
        assert f"-- {node}\n" in done.stdout, done.stdout  # doit's "up to date" mark


def test_touching_files_rebuilds_nothing(env: Env) -> None:
    later = time.time() + 100
    for path in env.workspace.parent.rglob("*"):
        os.utime(path, (later, later))
    assert changed(build(env.workspace)) == set()


def test_app_file_change_rebuilds_app_compile_and_process_images(env: Env) -> None:
    workspace = env.copy("app-edit")
    with open(workspace.parent / "bestsiteever" / "config.ru", "a") as handle:
        handle.write("\n# an edit\n")
    env.patch.setenv("WAKE_WORKSPACE", str(workspace))
    why = explain("bestsiteever", "app-compile", {})
    assert "will rebuild" in why and "changed app file config.ru" in why
    # app-release holds no app files (only Aptfile, repos, env), so it stays.
    assert changed(build(workspace)) == {"build:bestsiteever:app-compile"} | SITE_RELEASES
    assert "up to date" in explain("bestsiteever", "app-compile", {})


def test_a_source_edit_reuses_the_release_layer_of_dependencies(
        env: Env, client: docker.DockerClient) -> None:
    """A release image holds the dependency folders (Python's .venv) in a layer of its
    own, which Docker reuses while they are unchanged, and the process's start script
    and settings come before both: a source edit makes one step and one layer new, the
    app's own files, on the same image below."""
    node, parent = "build:python-hello:release-web", "build:python-hello:app-release"
    old = client.images.get(tag_of(env.workspace, node))
    workspace = env.copy("source-edit-layers")
    with open(workspace.parent / "python-hello" / "app.py", "a") as handle:
        handle.write("\n# an edit\n")
    assert changed(build(workspace)) == {"build:python-hello:app-compile", node}
    new = client.images.get(tag_of(workspace, node))
    before, after = old.attrs["RootFS"]["Layers"], new.attrs["RootFS"]["Layers"]
    below = len(client.images.get(tag_of(workspace, parent)).attrs["RootFS"]["Layers"])
    assert len(after) == len(before) > below + 1
    assert after[:-1] == before[:-1]  # app-release's, the start script's, the .venv's
    assert after[-1] != before[-1]  # the app's own files
    # Newest first: wake's labels, the app's files, the .venv, the settings, the start
    # script, ...
    steps, old_steps = new.history(), old.history()
    assert "COPY dir:" in steps[1]["CreatedBy"] and steps[2]["CreatedBy"].endswith(
        "in /opt/app/.venv ")
    # Every step below the app's files came from Docker's cache: the same intermediate images.
    assert [step["Id"] for step in steps[2:]] == [step["Id"] for step in old_steps[2:]]
    assert steps[1]["Id"] != old_steps[1]["Id"]


def test_dependency_file_change_rebuilds_app_deps_and_what_is_built_on_it(env: Env) -> None:
    """A source edit reuses app-deps (above); an edit of a dependency file rebuilds it."""
    workspace = env.copy("deps-edit")
    with open(workspace.parent / "python-hello" / "requirements.txt", "a") as handle:
        handle.write("\n# a comment, still a change to the dependency file\n")
    env.patch.setenv("WAKE_WORKSPACE", str(workspace))
    why = explain("python-hello", "app-deps", {})
    assert "will rebuild" in why and "changed app file requirements.txt" in why
    assert changed(build(workspace)) == {"build:python-hello:app-deps",
                                         "build:python-hello:app-compile",
                                         "build:python-hello:release-web"}


def test_process_run_change_rebuilds_only_that_process(env: Env) -> None:
    workspace = env.copy("run-edit")
    manifest_file = workspace.parent / "bestsiteever" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    # With a "$": Docker would expand it inside the label recording the inputs.
    manifest["processes"]["worker"]["run"] = "WORKER_INTERVAL=${FAST:-2} " + manifest[
        "processes"]["worker"]["run"]
    manifest_file.write_text(json.dumps(manifest, indent=2))
    env.patch.setenv("WAKE_WORKSPACE", str(workspace))
    assert "changed manifest.json processes.worker" in explain("bestsiteever",
                                                               "release-worker", {})
    assert changed(build(workspace)) == {"build:bestsiteever:release-worker"}
    session = Session(workspace_file=workspace)
    node = "build:bestsiteever:release-worker"
    assert session.builder.index.recorded_inputs(node, session.materializer.client) == \
        session.materializer.get(node).inputs


def test_platform_template_change_rebuilds_that_platform_only(env: Env) -> None:
    workspace = env.copy("template-edit")
    platforms = env.root / "edited-platforms"
    shutil.copytree(os.environ["WAKE_PLATFORMS_PATH"], platforms)
    toml = platforms / "ruby" / "platform.toml"
    toml.write_text(toml.read_text().replace("[env.release]\n",
                                             '[env.release]\nEDITED = "yes"\n'))
    env.patch.setenv("WAKE_WORKSPACE", str(workspace))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAKE_PLATFORMS_PATH", str(platforms))
        why = explain("bestsiteever", "platform-release", {})
        assert "changed platform template ruby/platform.toml" in why
        result = build(workspace)
    assert changed(result) == RUBY | set(SITE)
    assert {result[n] for n in OTHERS} == {"reused"}


def _run(client: docker.DockerClient, image: str,
         **kwargs: object) -> docker.models.containers.Container:
    return client.containers.run(image, detach=True, labels={TEST_LABEL: "1"}, **kwargs)


def test_release_images_have_app_run_script_and_no_compiler(env: Env,
                                                            client: docker.DockerClient) -> None:
    for node in sorted(SITE_RELEASES) + [f"build:{app}:release-web" for app in EXAMPLE_APPS[1:]]:
        image = tag_of(env.workspace, node)
        out = run_output(client, image, ["sh", "-c", "test -d /opt/app && test -x /opt/run "
                                         "&& ls /opt/app && cat /opt/run && (command -v gcc"
                                         " cc make go || true)"]).decode()
        assert "/usr/bin/" not in out, f"{node}: a compiler is in the release image:\n{out}"
        assert "exec /bin/bash -c" in out


def _health(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_health", timeout=5) as response:
        return int(response.status)


@pytest.mark.parametrize("node", [f"build:{app}:release-web" for app in EXAMPLE_APPS])
def test_web_release_answers_health_on_8000(env: Env, client: docker.DockerClient,
                                            node: str) -> None:
    container = _run(client, tag_of(env.workspace, node), ports={"8000/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        port = int(container.ports["8000/tcp"][0]["HostPort"])
        wait_for(lambda: _health(port) == 200, timeout=60, what=f"{node} /_health")
        # The start script execs the process, so docker's SIGTERM reaches it.
        container.stop(timeout=20)
        status = container.wait(timeout=30)
    finally:
        container.remove(force=True)
    assert status["StatusCode"] != 137, "the process ignored SIGTERM and was killed"


def test_worker_runs_and_cron_job_runs_once(env: Env, client: docker.DockerClient) -> None:
    worker = _run(client, tag_of(env.workspace, "build:bestsiteever:release-worker"))
    try:
        wait_for(lambda: worker.logs().strip() != b"", timeout=30, what="worker output")
        worker.reload()
        assert worker.status == "running", worker.logs().decode()
    finally:
        worker.remove(force=True)
    cron = _run(client, tag_of(env.workspace, "build:bestsiteever:release-bust-caches"))
    try:
        status = cron.wait(timeout=60)
        output = cron.logs().decode()
    finally:
        cron.remove(force=True)
    assert status["StatusCode"] == 0, output
    labels = client.images.get(tag_of(env.workspace,
                                      "build:bestsiteever:release-bust-caches")).labels
    assert labels["wake.schedule"] == "*/10 * * * *"
    assert labels["wake.unit-kind"] == "cron"
    web = client.images.get(tag_of(env.workspace, "build:bestsiteever:release-web")).labels
    assert web["wake.unit-kind"] == "process" and web["wake.process"] == "web"


def test_app_listed_by_git_url_builds_nothing_new(env: Env, tmp_path: Path) -> None:
    """The same app fetched from a git server on loopback has the same keys as the
    checkout's copy: keys follow content, not where the app came from."""
    workspace = tmp_path / "wake.toml"
    workspace.write_text(f'[[apps]]\ngit = "{env.git_url}/python-hello.git"\nref = "main"\n')
    result = build(workspace)
    assert set(result) == PYTHON
    assert set(result.values()) == {"reused"}
