"""One error path: the same input gives the same exit code through `wake` and `doit`, and
a bug is one line naming the log that holds its traceback (errors.py has the table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from doit.exceptions import TaskFailed

from wake import cli, errors, tasks
from wake.build.drawing import format_for
from wake.errors import UsageError, WakeError

ROOT = Path(__file__).resolve().parents[2]


def _bad_workspace(folder: Path) -> Path:
    app = folder / "shop"
    app.mkdir(parents=True)
    (app / "manifest.json").write_text(json.dumps({"name": "shop", "processes": {
        "web": {"run": "x", "cpu": "lots"}}}))
    (folder / "wake.toml").write_text('[[apps]]\npath = "shop"\n')
    return folder / "wake.toml"


def _run(args: list[str], cwd: Path, workspace: Path,
         home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WAKE_WORKSPACE": str(workspace), "WAKE_HOME": str(home),
           "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "wake.cli", "build"],
    [sys.executable, "-m", "wake.cli", "plan"],
    [sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "build"],
    [sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "list"],
])
def test_a_bad_manifest_exits_2_through_wake_and_doit(command: list[str], tmp_path: Path,
                                                      wake_home: Path) -> None:
    workspace = _bad_workspace(tmp_path / "ws")
    done = _run(command, tmp_path, workspace, wake_home)
    assert done.returncode == errors.BAD_INPUT, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert f"{tmp_path}/ws/shop/manifest.json" in done.stderr
    assert "processes.web.cpu" in done.stderr


def test_a_bug_is_one_line_and_a_log(monkeypatch: pytest.MonkeyPatch, wake_home: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("the flux capacitor\nis empty")

    monkeypatch.setattr(cli, "cmd_config", broken)
    assert cli.main(["config"]) == errors.FAILURE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "unexpected error while running `wake config`: RuntimeError: the flux capacitor " \
           "is empty" in err
    (log,) = (wake_home / "logs").glob("crash-*.log")
    assert str(log) in err
    assert "Traceback (most recent call last)" in log.read_text()
    assert "raise RuntimeError" in log.read_text()


def test_errors_keep_their_codes(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    def bad_input(args: object) -> int:
        raise UsageError("config.toml: ca_bundle: not a file")

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_config", bad_input)
    assert cli.main(["config"]) == 2
    assert capsys.readouterr().err == "wake: config.toml: ca_bundle: not a file\n"
    monkeypatch.setattr(cli, "cmd_config", interrupted)
    assert cli.main(["config"]) == 130


def test_task_actions_take_the_same_path(wake_home: Path) -> None:
    def fails() -> None:
        raise WakeError("build of x failed")

    def bug() -> None:
        raise KeyError("nope")

    def interrupted() -> None:
        raise KeyboardInterrupt

    failed = tasks._action("building x", fails)
    assert isinstance(failed, TaskFailed) and "build of x failed" in str(failed)
    crashed = tasks._action("building x", bug)
    assert isinstance(crashed, TaskFailed)
    assert "unexpected error while building x: KeyError: 'nope'" in str(crashed)
    assert list((wake_home / "logs").glob("crash-*.log"))
    with pytest.raises(SystemExit) as stopped:
        tasks._action("building x", interrupted)
    assert stopped.value.code == 130
    assert tasks._action("building x", lambda: None) is None


@pytest.mark.parametrize(("output", "fmt", "expected"), [
    ("g.dot", None, "dot"), ("g.HTML", None, "html"), ("g.svg", None, "svg"),
    ("g", None, "svg"), (None, None, "svg"), ("-", None, "svg"), ("g.dot", "svg", "svg")])
def test_graph_format_follows_the_file_name(output: str | None, fmt: str | None,
                                            expected: str) -> None:
    assert format_for(output, fmt) == expected


def test_an_unknown_extension_asks_for_a_format() -> None:
    with pytest.raises(UsageError, match="cannot tell the format from 'g.png'"):
        format_for("g.png", None)
