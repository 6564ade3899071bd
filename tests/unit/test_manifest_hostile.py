"""Hostile manifests (issue 10): each is rejected with a ManifestError naming the JSON path
and a fix - never a traceback - or, for a BOM and odd-but-harmless text, accepted as is.

Helpers come from test_manifest; each case checks the path and key words of the message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wake import cron, manifest
from wake.errors import ManifestError
from wake.manifest import MAX_CPU, MAX_MEMORY_MB

from .test_manifest import app, assert_one, cron_job, problems, repo, web, write

HUGE = "9" * 5000  # more digits than Python's int() takes (4300)


def raw(data: dict[str, Any], number: str) -> str:
    """`data` as JSON with each "#" value replaced by `number` written as-is."""
    return json.dumps(data).replace('"#"', number)


def raw_web(field: str, number: str) -> str:
    """A manifest whose web process has `field` set to a number written as-is."""
    return raw(web(**{field: "#"}), number)


# -- cpu and memory ranges --------------------------------------------------------

@pytest.mark.parametrize("text, path, words", [
    pytest.param(raw_web("cpu", "1" + "0" * 400), "processes.web.cpu",
                 ["401-digit", "between 0.01 and 1024"], id="cpu-int-too-big-for-float"),
    pytest.param(raw_web("cpu", HUGE), "processes.web.cpu", ["5000-digit", "1024"],
                 id="cpu-5000-digits"),
    pytest.param(raw_web("cpu", "1" + "0" * 30), "processes.web.cpu",
                 ["maximum of 1024", "between 0.01 and 1024"], id="cpu-10e30"),
    pytest.param(raw_web("cpu", "1e308"), "processes.web.cpu", ["maximum of 1024"],
                 id="cpu-1e308"),
    pytest.param(raw_web("cpu", "1e999"), "processes.web.cpu", ["finite"], id="cpu-1e999"),
    pytest.param(raw_web("cpu", "1025"), "processes.web.cpu", ["1025", "maximum of 1024"],
                 id="cpu-1025"),
    pytest.param(raw_web("cpu", "0.001"), "processes.web.cpu",
                 ["docker's minimum of 0.01", "between 0.01"], id="cpu-below-docker-minimum"),
    pytest.param(raw_web("cpu", "1e-300"), "processes.web.cpu", ["minimum of 0.01"],
                 id="cpu-tiny"),
    pytest.param(raw_web("cpu", "NaN"), "processes.web.cpu", ["finite"], id="cpu-nan"),
    pytest.param(raw_web("cpu", "-Infinity"), "processes.web.cpu", ["finite"],
                 id="cpu-minus-infinity"),
    pytest.param(raw_web("memory", "1" + "0" * 400), "processes.web.memory",
                 ["401-digit", "megabytes", "16777216"], id="memory-int-too-big-for-float"),
    pytest.param(raw_web("memory", "-" + HUGE), "processes.web.memory", ["-(a 5000-digit"],
                 id="memory-minus-5000-digits"),
    pytest.param(raw_web("memory", "1e308"), "processes.web.memory",
                 ["maximum of 16777216 mb", "16 tib"], id="memory-1e308"),
    pytest.param(raw_web("memory", str(MAX_MEMORY_MB + 1)), "processes.web.memory",
                 ["maximum", "16 tib"], id="memory-16TiB-plus-1"),
    pytest.param(raw_web("memory", "Infinity"), "processes.web.memory", ["finite"],
                 id="memory-infinity"),
])
def test_out_of_range_numbers(tmp_path: Path, text: str, path: str, words: list[str]) -> None:
    assert_one(problems(tmp_path, text), path, *words)


def test_range_limits_are_accepted(tmp_path: Path) -> None:
    loaded = manifest.load(write(tmp_path, app(processes={
        "a": {"run": "x", "cpu": 0.01, "memory": 16},
        "b": {"run": "x", "cpu": MAX_CPU, "memory": MAX_MEMORY_MB},
        "c": {"run": "x", "cpu": 1024.0, "memory": float(MAX_MEMORY_MB)}})))
    assert [(p.cpu, p.memory) for p in loaded.processes] == [
        (0.01, 16), (1024.0, MAX_MEMORY_MB), (1024.0, MAX_MEMORY_MB)]


# -- numbers with thousands of digits anywhere ---------------------------------------

@pytest.mark.parametrize("text, path, words", [
    pytest.param(raw(app(name="#"), HUGE), "name", ["must be a string", "a number"], id="name"),
    pytest.param(raw(app(env={"X": "#"}), HUGE), "env.X", ["must be a string", "quote"],
                 id="env-value"),
    pytest.param(raw(app(owner=["#"]), HUGE), "owner[0]", ["must be a string"], id="owner"),
    pytest.param(raw(app(dependencies="#"), HUGE), "dependencies", ["must be a list"],
                 id="dependencies"),
    pytest.param(raw(web(run="#"), HUGE), "processes.web.run", ["must be a string"], id="run"),
    pytest.param(raw(cron_job(memory="#"), HUGE), "cron_jobs[0].memory", ["5000-digit"],
                 id="cron-memory"),
])
def test_numbers_with_thousands_of_digits(tmp_path: Path, text: str, path: str,
                                          words: list[str]) -> None:
    assert_one(problems(tmp_path, text), path, *words)


@pytest.mark.parametrize("field", [
    HUGE, "*/" + HUGE, "1-" + HUGE, "1/" + HUGE, "1,2," + HUGE, "0" * 5000 + "77",
], ids=["value", "star-step", "range-end", "step", "list", "zeros-then-77"])
def test_cron_fields_with_thousands_of_digits(tmp_path: Path, field: str) -> None:
    found = problems(tmp_path, cron_job(run=f"{field} * * * * bin/task"))
    problem = assert_one(found, "cron_jobs[0].run", "minute field", "five schedule fields")
    assert len(str(problem)) < 300  # the digits are not repeated back in full


def test_cron_field_with_leading_zeros_is_its_value() -> None:
    assert cron.parse("0" * 5000 + "7 * * * * x").schedule.startswith("0" * 5000 + "7 ")


# -- nesting, BOM, encodings ----------------------------------------------------------

@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_absurd_nesting(tmp_path: Path, depth: int) -> None:
    assert_one(problems(tmp_path, "[" * depth + "]" * depth), "", "nested too deeply",
               "levels")


def test_nesting_inside_a_field_is_a_type_error(tmp_path: Path) -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    assert_one(problems(tmp_path, web(chdir=deep)), "processes.web.chdir", "must be a string")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(app()).encode())
    assert manifest.load(path).name == "app"


@pytest.mark.parametrize("raw, words", [
    pytest.param(b'{"name": "app\xff"}', ["not utf-8", "line 1"], id="latin"),
    pytest.param(b'{"name": "\xed\xa0\x80"}', ["not utf-8"], id="encoded-surrogate"),
    pytest.param(b"\xfe\xff\x00{", ["not utf-8"], id="utf16-bom"),
])
def test_not_utf8(tmp_path: Path, raw: bytes, words: list[str]) -> None:
    assert_one(problems(tmp_path, raw), "", *words)


# -- lone surrogates and NUL, anywhere ------------------------------------------------

SURROGATE = "\ud800"


@pytest.mark.parametrize("data, path", [
    pytest.param(app(name="a" + SURROGATE), "name", id="name"),
    pytest.param(app(owner=["me" + SURROGATE]), "owner[0]", id="owner"),
    pytest.param(app(platform=SURROGATE), "platform", id="platform"),
    pytest.param(app(dependencies=["b" + SURROGATE]), "dependencies[0]", id="dependency"),
    pytest.param(web(run="echo " + SURROGATE), "processes.web.run", id="run"),
    pytest.param(web(chdir="/opt/" + SURROGATE), "processes.web.chdir", id="chdir"),
    pytest.param(cron_job(run="@daily " + SURROGATE), "cron_jobs[0].run", id="cron-run"),
    pytest.param(repo("/opt/r", "https://h/" + SURROGATE), "repos./opt/r", id="url"),
    pytest.param(repo("/opt/r", {"url": "https://h/r", "ref": "v" + SURROGATE}),
                 "repos./opt/r.ref", id="ref"),
    pytest.param(repo("/opt/" + SURROGATE, "https://h/r"), "repos./opt/" + SURROGATE,
                 id="target"),
    pytest.param(app(env={"X": "a" + SURROGATE}), "env.X", id="env-value"),
])
def test_lone_surrogates(tmp_path: Path, data: dict[str, Any], path: str) -> None:
    problem = assert_one(problems(tmp_path, data), path, "surrogate", "remove")
    assert "\\ud800" in str(problem) or path == "name"  # shown escaped, never raw


@pytest.mark.parametrize("data, path", [
    pytest.param(app(processes={"web" + SURROGATE: {"run": "x"}}), "processes.web" + SURROGATE,
                 id="process-name"),
    pytest.param(app(env={"X" + SURROGATE: "v"}), "env.X" + SURROGATE, id="env-name"),
    pytest.param(app(**{"x" + SURROGATE: 1}), "x" + SURROGATE, id="unknown-key"),
])
def test_surrogates_in_keys_print_as_escapes(tmp_path: Path, data: dict[str, Any],
                                             path: str) -> None:
    with pytest.raises(ManifestError) as info:
        manifest.load(write(tmp_path, data))
    assert [p.path for p in info.value.problems] == [path]
    text = str(info.value)
    text.encode("utf-8")  # printable: no lone surrogate reaches the terminal
    assert "\\ud800" in text


@pytest.mark.parametrize("data, path", [
    pytest.param(app(owner=["me\x00"]), "owner[0]", id="owner"),
    pytest.param(web(run="echo\x00x"), "processes.web.run", id="run"),
    pytest.param(cron_job(run="@daily x\x00"), "cron_jobs[0].run", id="cron-run"),
    pytest.param(repo("/opt/r", {"url": "https://h/r", "ref": "main\x00"}),
                 "repos./opt/r.ref", id="ref"),
    pytest.param(app(env={"X": "a\x00b"}), "env.X", id="env-value"),
])
def test_nul_characters(tmp_path: Path, data: dict[str, Any], path: str) -> None:
    assert_one(problems(tmp_path, data), path, "nul", "remove it")


# -- chdir and repo targets -------------------------------------------------------------

UNSAFE_PATHS = [
    pytest.param("/opt/a\nRUN touch /pwned", "whitespace", id="newline-injects-a-line"),
    pytest.param("/opt/a b", "whitespace", id="space"),
    pytest.param("/opt/a\tb", "whitespace", id="tab"),
    pytest.param("/opt/a\u2028b", "whitespace", id="line-separator"),
    pytest.param("/opt/a\xa0b", "whitespace", id="nbsp"),
    pytest.param("/opt/a\x1bb", "'\\x1b'", id="escape"),
    pytest.param("/opt/$HOME", "'$'", id="dollar"),
    pytest.param("/opt/a\\b", "'\\\\'", id="backslash"),
    pytest.param('/opt/"a"', "'\"'", id="double-quote"),
    pytest.param("/opt/it's", "\"'\"", id="single-quote"),
]


@pytest.mark.parametrize("bad, what", UNSAFE_PATHS)
def test_unsafe_chdir(tmp_path: Path, bad: str, what: str) -> None:
    assert_one(problems(tmp_path, web(chdir=bad)), "processes.web.chdir", what, "workdir",
               "use a plain path")


@pytest.mark.parametrize("bad, what", UNSAFE_PATHS)
def test_unsafe_cron_chdir(tmp_path: Path, bad: str, what: str) -> None:
    assert_one(problems(tmp_path, cron_job(chdir=bad)), "cron_jobs[0].chdir", what, "copy")


@pytest.mark.parametrize("bad, what", UNSAFE_PATHS)
def test_unsafe_repo_target(tmp_path: Path, bad: str, what: str) -> None:
    assert_one(problems(tmp_path, repo(bad, "https://h/r")), f"repos.{bad}", what,
               "use a plain path")


@pytest.mark.parametrize("target, holds", [
    ("/opt", "/opt/app"), ("/opt/", "/opt/app"), ("//opt", "/opt/app"), ("/opt/.", "/opt/app"),
])
def test_repo_target_above_the_app(tmp_path: Path, target: str, holds: str) -> None:
    assert_one(problems(tmp_path, repo(target, "https://h/r")), f"repos.{target}",
               f"holds {holds}", "folder of its own")


@pytest.mark.parametrize("target", ["/", "//", "/."])
def test_repo_target_root(tmp_path: Path, target: str) -> None:
    assert_one(problems(tmp_path, repo(target, "https://h/r")), f"repos.{target}",
               "cannot clone over /")


@pytest.mark.parametrize("chdir", ["/", "/opt", "/opt/ünïcode", "/srv/a-b_c.d/e+f@g=h,i:j~k"])
def test_plain_chdirs_are_fine(tmp_path: Path, chdir: str) -> None:
    assert manifest.load(write(tmp_path, web(chdir=chdir))).processes[0].chdir == chdir


# -- repo URLs and refs -------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "ssh://-oProxyCommand=touch%20/tmp/pwned/r.git",
    "ssh://git@-oProxyCommand=x/r.git",
    "ssh://-user@host/r.git",
    "git+ssh://[-oProxyCommand=x]/r",
    "git@-oProxyCommand=x:r.git",
    "-oProxyCommand=x:r.git",
    "ssh::-oProxyCommand=x",
])
def test_option_injection_through_url_host(tmp_path: Path, url: str) -> None:
    found = problems(tmp_path, repo("/opt/r", url))
    assert_one(found, "repos./opt/r", "'-'", "option")


@pytest.mark.parametrize("url", ["https://h/r\x1b", "https://h/\x7fr", "https://h/r\x85"])
def test_control_characters_in_url(tmp_path: Path, url: str) -> None:
    assert_one(problems(tmp_path, repo("/opt/r", url)), "repos./opt/r", "control")


@pytest.mark.parametrize("ref", ["ma\x1bin", "ma\tin", "v1\n", "a..b", "a~1", "a^", "a:b",
                                 "a?", "a*", "a[b", "a\\b", "@{u}", "-x", "a b"])
def test_bad_refs(tmp_path: Path, ref: str) -> None:
    found = problems(tmp_path, repo("/opt/r", {"url": "https://h/r", "ref": ref}))
    assert_one(found, "repos./opt/r.ref", "not a branch, tag or commit", "remove")


@pytest.mark.parametrize("ref", ["main", "v1.2.3", "release/2024-01", "a" * 40, "HEAD"])
def test_good_refs(tmp_path: Path, ref: str) -> None:
    loaded = manifest.load(write(tmp_path, repo("/opt/r", {"url": "https://h/r", "ref": ref})))
    assert loaded.repos[0].ref == ref


# -- env values and owners ----------------------------------------------------------------

@pytest.mark.parametrize("value", ["a\nb", "a\rb", "trailing\n", "\r\n"])
def test_env_value_with_a_line_break(tmp_path: Path, value: str) -> None:
    assert_one(problems(tmp_path, app(env={"X": value})), "env.X", "line break", "one line")


def test_env_values_keep_odd_but_harmless_text(tmp_path: Path) -> None:
    env = {"A": "it's <a&b> $HOME \\ \"q\"", "B": "postgres://u@h/db?a=1&b=2", "C": "end\\",
           "D": "ünï ☃ 𝄞", "E": "tab\there", "F": "", "G": "\u2028\x1b\x7f"}
    assert manifest.load(write(tmp_path, app(env=env))).env_dict == env


@pytest.mark.parametrize("owner", ["me\nyou", "me\tyou", "me\x1b"])
def test_owner_on_one_line(tmp_path: Path, owner: str) -> None:
    assert_one(problems(tmp_path, app(owner=[owner])), "owner[0]", "control character",
               "one line")


# -- the CLI: exit 2 and no traceback ---------------------------------------------------

@pytest.mark.parametrize("raw, words", [
    pytest.param(raw_web("cpu", "1" + "0" * 400).encode(), ["processes.web.cpu", "1024"],
                 id="cpu-int-too-big-for-float"),
    pytest.param(raw_web("memory", HUGE).encode(), ["processes.web.memory", "16 TiB"],
                 id="memory-5000-digits"),
    pytest.param(json.dumps(cron_job(run=f"{HUGE} * * * * x")).encode(),
                 ["cron_jobs[0].run", "too large"], id="cron-digits"),
    pytest.param(b"[" * 100_000, ["nested too deeply"], id="nesting"),
    pytest.param(json.dumps(app(**{"k\ud800": 1, "env": {"X": "\ud800"}})).encode(),
                 ["k\\ud800", "env.X", "surrogate"], id="surrogates"),
    pytest.param(json.dumps(web(chdir="/opt/a\nRUN x")).encode(),
                 ["processes.web.chdir", "whitespace"], id="chdir-newline"),
    pytest.param(b"\xff\xfe{}", ["not UTF-8"], id="not-utf8"),
])
def test_cli_manifest_check_exits_2_without_traceback(tmp_path: Path, raw: bytes,
                                                      words: list[str]) -> None:
    path = write(tmp_path, raw)
    result = subprocess.run([sys.executable, "-m", "wake.cli", "manifest", "check", str(path)],
                            capture_output=True, timeout=60)
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith(f"wake: {path}: ")
    assert "fix:" in stderr
    for word in words:
        assert word in stderr, (word, stderr)


def test_cli_manifest_check_accepts_a_bom(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(app(platform="plain")).encode())
    result = subprocess.run([sys.executable, "-m", "wake.cli", "manifest", "check", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
