"""Unit tests for wake.cli: exit codes, stdout and stderr of the commands that need no Docker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wake import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "bestsiteever"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def make_app(root: Path, manifest: dict[str, Any] | str | None, *files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest, indent=2)
        (root / "manifest.json").write_text(text, encoding="utf-8")
    for name in files:
        (root / name).write_text("# placeholder\n", encoding="utf-8")
    return root


BAD_CPU = {"name": "shop", "processes": {"web": {"run": "puma", "cpu": "lots"}}}


# -- wake manifest check ----------------------------------------------------------------

def test_manifest_check_of_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    if not (EXAMPLE / "manifest.json").is_file():
        pytest.skip(f"{EXAMPLE} is missing")
    code, out, err = run(capsys, "manifest", "check", str(EXAMPLE))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"app bestsiteever ({EXAMPLE / 'manifest.json'})"
    assert "  process web: 'bundle exec puma -C config/puma.rb' in /opt/app, cpu 0.5, " \
           "memory 256 MB" in lines
    assert "    x2, health /_health within 60 s, stop timeout 10 s" in lines
    assert "    x1, no HTTP check, stop timeout 5 s" in lines
    assert any(line.startswith("  cron bust-caches: '*/10 * * * *'") for line in lines)
    assert ('  builds as: ruby@3.1 (3.1.2, Debian bookworm) - platform: manifest.json sets '
            '"platform"; version: default') in lines
    assert lines[-1] == "ok"


def test_manifest_check_accepts_the_manifest_file_itself(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app", {"name": "api", "processes": {"web": {"run": "x"}}},
                   "requirements.txt")
    code, out, _ = run(capsys, "manifest", "check", str(app / "manifest.json"))
    assert code == 0
    assert ("  builds as: python@3.11 (3.11.2, Debian bookworm) - platform: requirements.txt; "
            "version: default") in out.splitlines()


def test_manifest_check_of_a_bad_manifest(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app", BAD_CPU, "Gemfile")
    code, out, err = run(capsys, "manifest", "check", str(app))
    assert code == 2
    assert out == ""
    assert err.startswith("wake: ")
    assert str(app / "manifest.json") in err
    assert "processes.web.cpu" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("manifest, words", [
    ('{"name": "shop",', ["invalid JSON at line 1"]),
    (None, ["no such file"]),
    ({"name": "shop", "platform": "rubby", "processes": {"web": {"run": "x"}}},
     ["platform", "'rubby'", "did you mean 'ruby'"]),
    ({"processes": {}}, ["name: is required"]),
])
def test_manifest_check_problems_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        manifest: Any, words: list[str]) -> None:
    app = make_app(tmp_path / "app", manifest, "Gemfile")
    code, out, err = run(capsys, "manifest", "check", str(app))
    assert (code, out) == (2, "")
    assert err.startswith(f"wake: {app / 'manifest.json'}: ")
    for word in words:
        assert word in err, word


def test_manifest_check_of_an_undetectable_app(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app", {"name": "shop", "processes": {"web": {"run": "x"}}})
    code, _, err = run(capsys, "manifest", "check", str(app))
    assert code == 2
    assert "cannot tell the platform" in err


def test_manifest_check_as_a_subprocess_prints_no_traceback(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app", BAD_CPU, "Gemfile")
    result = subprocess.run([sys.executable, "-m", "wake.cli", "manifest", "check", str(app)],
                            cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("wake: ")
    assert str(app / "manifest.json") in result.stderr
    assert "processes.web.cpu" in result.stderr
    assert "Traceback" not in result.stderr


# -- wake detect --------------------------------------------------------------------------

def test_detect_prints_platform_and_file(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app", None, "package.json", "requirements.txt")
    assert run(capsys, "detect", str(app)) == (0, "python@3.11\trequirements.txt\tdefault\n", "")


def test_detect_of_a_file_uses_its_folder(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app", None, "go.mod", "main.go")
    assert run(capsys, "detect", str(app / "main.go")) == (0, "go@1.19\tgo.mod\tdefault\n", "")


def test_detect_honours_the_manifest_platform(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app", {"name": "site", "platform": "node",
                                      "processes": {"web": {"run": "x"}}}, "Gemfile")
    assert run(capsys, "detect", str(app)) == (
        0, 'node@18\tmanifest.json sets "platform"\tdefault\n', "")


def test_detect_of_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "empty", None)
    code, out, err = run(capsys, "detect", str(app))
    assert (code, out) == (2, "")
    assert err.startswith(f"wake: {app}: cannot tell the platform")
    for name in ("Gemfile", "config.ru", "*.gemspec", "Rakefile", "requirements.txt",
                 "pyproject.toml", "setup.py", "Pipfile", "go.mod", "package.json"):
        assert name in err, name
    assert "Traceback" not in err


def test_detect_of_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "detect", str(tmp_path / "nowhere"))
    assert (code, out) == (1, "")
    assert err == f"wake: {tmp_path / 'nowhere'}: no such folder\n"


def test_detect_of_a_folder_with_a_bad_manifest(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app", BAD_CPU, "Gemfile")
    code, _, err = run(capsys, "detect", str(app))
    assert code == 2
    assert "processes.web.cpu" in err


# -- wake platforms and wake config ---------------------------------------------------------

def platform_lines(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()[1:]]


def test_platforms_lists_detection_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "platforms")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("Detection order")
    rows = platform_lines(out)
    assert [row[:2] for row in rows] == [["1.", "ruby"], ["2.", "python"], ["3.", "go"],
                                         ["4.", "node"], ["5.", "plain"]]
    assert rows[0][2] == "Gemfile,"
    assert rows[3][-1].endswith("/platforms/node")
    # plain is never detected from files: only "platform": "plain" picks it.
    assert rows[4][2] == "(declared" and rows[-1][-1].endswith("/platforms/plain")


def test_platforms_includes_custom_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    custom = tmp_path / "extra" / "elixir"
    custom.mkdir(parents=True)
    (custom / "platform.toml").write_text('order = 35\ndetect = ["mix.exs"]\n', encoding="utf-8")
    (custom / "build.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("WAKE_PLATFORMS_PATH", str(tmp_path / "extra"))
    code, out, _ = run(capsys, "platforms")
    assert code == 0
    assert [row[1] for row in platform_lines(out)] == ["ruby", "python", "go", "elixir", "node",
                                                        "plain"]
    assert platform_lines(out)[3] == ["4.", "elixir", "mix.exs", str(custom)]


def test_platforms_with_a_broken_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    custom = tmp_path / "extra" / "broken"
    custom.mkdir(parents=True)
    (custom / "platform.toml").write_text("order = = 1\n", encoding="utf-8")
    monkeypatch.setenv("WAKE_PLATFORMS_PATH", str(tmp_path / "extra"))
    code, out, err = run(capsys, "platforms")
    assert (code, out) == (2, "")
    assert err.startswith(f"wake: {custom / 'platform.toml'}: ")


def test_config_shows_settings_and_origins(wake_home: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WAKE_REGISTRY", "reg.local:5000")
    code, out, err = run(capsys, "config")
    assert (code, err) == (0, "")
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines == [f"WAKE_HOME {wake_home}",
                     "base_image debian:bookworm-slim [default]",
                     "ca_bundle (not set) [default]",
                     "registry reg.local:5000 [$WAKE_REGISTRY]"]


def test_config_with_a_bad_config_file(wake_home: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    wake_home.mkdir(parents=True)
    (wake_home / "config.toml").write_text('colour = "blue"\n', encoding="utf-8")
    code, _, err = run(capsys, "config")
    assert code == 2
    assert err.startswith(f"wake: {wake_home / 'config.toml'}: unknown setting 'colour'")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "usage: wake" in capsys.readouterr().err


# -- --cluster before or after the command ------------------------------------------------


@pytest.mark.parametrize(("argv", "chosen"), [
    (["cluster", "status"], None),
    (["--cluster", "a", "cluster", "status"], "a"),
    (["cluster", "status", "--cluster", "b"], "b"),
    (["--cluster", "a", "cluster", "join", "h4", "--cluster", "b"], "b"),
    (["--cluster", "a", "clusters", "list"], "a"),
])
def test_cluster_option_anywhere(argv: list[str], chosen: str | None) -> None:
    assert cli.parser().parse_args(argv).cluster == chosen


def test_join_needs_a_current_cluster(capsys: pytest.CaptureFixture[str],
                                      wake_home: Path) -> None:
    code, _, err = run(capsys, "cluster", "join", "h4")
    assert code == 2 and "no current cluster" in err and "Traceback" not in err
    code, _, err = run(capsys, "cluster", "leave", "h4", "--cluster", "nope")
    assert code == 2 and "no cluster named 'nope'" in err


def test_hosts_list_names_each_hosts_clusters(capsys: pytest.CaptureFixture[str],
                                              wake_home: Path) -> None:
    from wake.cluster import clusters, hosts
    from wake.cluster.hosts import Host

    hosts.save({"h1": Host("h1", "unix:///nonexistent/a.sock", "10.0.0.1"),
                "h2": Host("h2", "unix:///nonexistent/b.sock", "10.0.0.2")})
    clusters.add("c1", "10.0.0.1:8500", check=False, hosts=("h1",))
    code, out, _ = run(capsys, "hosts", "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    assert code == 0
    assert rows["h1"][3:5] == ["down", "c1"] and rows["h2"][3:5] == ["down", "-"]
