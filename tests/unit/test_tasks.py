"""doit sees wake's graph: task names, docs, dependencies; errors without tracebacks.
(No engine is needed: listing never talks to Docker or hashes a tree.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wake.build.session import Session
from wake.tasks import build_tasks

from .test_workspace import front_depends_on_api

ROOT = Path(__file__).resolve().parents[2]


def doit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"),
                           "-d", str(cwd), *args], capture_output=True, text=True, timeout=120)


def test_task_names_read_naturally() -> None:
    tasks = {f"{t['basename']}:{t['name']}": t
             for t in build_tasks(Session(workspace_file=ROOT / "wake.toml"))}
    assert {"platform:ruby-3.1-compile", "platform:ruby-3.1-release", "build:bestsiteever",
            "build:bestsiteever:app-compile", "build:bestsiteever:app-release",
            "build:bestsiteever:release-web", "build:bestsiteever:release-worker",
            "build:bestsiteever:release-bust-caches", "build:go-hello:release-web",
            "platform:node-18-compile", "platform:python-3.11-release"} <= set(tasks)
    assert tasks["build:bestsiteever:release-web"]["task_dep"] == [
        "build:bestsiteever:app-compile", "build:bestsiteever:app-release"]
    assert tasks["build:bestsiteever:app-compile"]["task_dep"] == ["build:bestsiteever:app-deps"]
    assert tasks["build:bestsiteever:app-deps"]["task_dep"] == ["platform:ruby-3.1-compile"]
    assert tasks["build:bestsiteever"]["actions"] is None
    assert "build:bestsiteever:release-worker" in tasks["build:bestsiteever"]["task_dep"]


def test_doit_list_and_info_work_on_the_repository_workspace() -> None:
    listed = doit("list", "--all")
    assert listed.returncode == 0, listed.stderr
    assert "build:bestsiteever:app-compile" in listed.stdout
    assert "platform:ruby-3.1-compile" in listed.stdout
    info = doit("info", "build:bestsiteever:app-deps")
    assert info.returncode in (0, 1), info.stderr  # 1: doit's "not up to date"
    assert "platform:ruby-3.1-compile" in info.stdout  # its task_dep
    assert "Traceback" not in info.stderr


def test_doit_with_a_bad_manifest_prints_the_problems_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "manifest.json").write_text(json.dumps(
        {"name": "Bad_App", "processes": {"web": {"run": "x", "memory": 8}}}))
    (tmp_path / "wake.toml").write_text('[[apps]]\npath = "app"\n')
    done = doit("list", cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "manifest.json: 2 problems" in done.stderr
    assert "processes.web.memory" in done.stderr


def _doit_from(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """doit with the checkout's dodo.py, started in another folder (doit moves into the
    dodo file's folder before loading it)."""
    return subprocess.run([sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), *args],
                          cwd=folder, capture_output=True, text=True, timeout=120)


def test_doit_f_uses_the_apps_of_the_folder_it_was_started_in(tmp_path: Path) -> None:
    app = tmp_path / "site"
    app.mkdir()
    (app / "manifest.json").write_text(json.dumps(
        {"name": "site", "processes": {"web": {"run": "serve"}}}))
    (app / "requirements.txt").write_text("\n")
    listed = _doit_from(app, "list", "--all")
    assert listed.returncode == 0, listed.stderr
    assert "build:site:app-compile" in listed.stdout
    assert "bestsiteever" not in listed.stdout
    assert listed.stderr == ""


def test_doit_f_from_a_folder_without_apps_says_which_workspace_it_uses(
        tmp_path: Path) -> None:
    listed = _doit_from(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert (f"wake: no wake.toml or manifest.json in {tmp_path}, where doit was started; "
            f"using the workspace of the dodo file's folder: {ROOT / 'wake.toml'}"
            in listed.stderr)
    assert listed.stderr.count("wake:") == 1  # once, not once per task generator


def _run_fake_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    *options: str) -> tuple[int, str]:
    """wake's DOIT_CONFIG (its reporter) over a graph of two apps, one failing."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain
    from doit.exceptions import TaskFailed

    from wake.run import FAILURE
    from wake.tasks import DOIT_CONFIG, FailedRun

    def task_build():  # type: ignore[no-untyped-def]
        yield {"basename": "build", "name": "bad:app-compile",
               "actions": [lambda: TaskFailed("pip failed\nat step 4")]}
        yield {"basename": "build", "name": "bad:release-web", "actions": [lambda: None],
               "task_dep": ["build:bad:app-compile"]}
        yield {"basename": "build", "name": "bad", "actions": None,
               "task_dep": ["build:bad:release-web"]}
        yield {"basename": "build", "name": "good", "actions": [lambda: print("good built")]}

    config = {**DOIT_CONFIG, "dep_file": str(tmp_path / ".doit.db")}
    report = tmp_path / "report.txt"  # doit's reporter writes to the stdout it saw first
    loader = ModuleTaskLoader({"task_build": task_build, "DOIT_CONFIG": config})
    try:
        code = DoitMain(loader).run(["run", "--output-file", str(report), *options, "build"])
    except FailedRun as exc:
        assert exc.code == FAILURE
        code = FAILURE
    return code, capsys.readouterr().out + report.read_text()


def test_continue_lists_the_failures_at_the_end_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run_fake_graph(tmp_path, capsys, "--continue")
    assert code == 1  # not doit's 2 for the tasks it left out
    assert "good built" in output
    assert output.endswith("wake: 1 task failed:\n  build:bad:app-compile: pip failed\n"
                           "wake: not built because of it: bad\n")


def test_without_continue_the_run_stops_at_the_failure(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run_fake_graph(tmp_path, capsys)
    assert code == 1
    assert "good built" not in output
    assert "wake: 1 task failed" not in output  # the failure is the last thing said


def test_deploys_run_after_the_deploys_of_their_dependencies(tmp_path: Path) -> None:
    front_depends_on_api(tmp_path)
    done = doit("info", "deploy:front", cwd=tmp_path)  # exits 1: not up to date
    assert "Traceback" not in done.stderr, done.stderr
    assert "deploy:api" in done.stdout.split("task_dep", 1)[1].split("setup", 1)[0], done.stdout
    # A cycle: doit says which, without a traceback.
    (tmp_path / "api" / "manifest.json").write_text(json.dumps(
        {"name": "api", "dependencies": ["front"], "processes": {"web": {"run": "x"}}}))
    done = doit("list", cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert ("front -> api -> front" in done.stderr or "api -> front -> api" in done.stderr), \
        done.stderr
