"""Unit tests for wake.manifest: every rejection, with its JSON path, plus valid loads.

Each rejection test checks the exact `Problem.path` and that the message or the
fix carries a useful key word (not the whole text, so wording can evolve).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from wake import manifest
from wake.errors import ManifestError, Problem, UsageError
from wake.manifest import CronJob, Manifest, Process, Repo

KNOWN_PLATFORMS = ("go", "node", "python", "ruby")


# -- helpers ------------------------------------------------------------------

def write(folder: Path, data: Any) -> Path:
    """Write `data` (a dict/list to dump, or raw str/bytes) as folder/manifest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.json"
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def problems(tmp_path: Path, data: Any, **kwargs: Any) -> list[Problem]:
    """Load `data` as a manifest, expect a ManifestError, return its problems."""
    path = write(tmp_path, data)
    with pytest.raises(ManifestError) as info:
        manifest.load(path, **kwargs)
    assert info.value.source == str(path)
    assert info.value.problems, "a ManifestError must carry at least one problem"
    return info.value.problems


def text_of(problem: Problem) -> str:
    return f"{problem.message} {problem.fix}".lower()


def assert_one(found: list[Problem], path: str, *words: str) -> Problem:
    """Exactly one problem, at `path`, whose message+fix mentions every word."""
    assert len(found) == 1, found
    (problem,) = found
    assert problem.path == path, problem
    for word in words:
        assert word.lower() in text_of(problem), (word, problem)
    return problem


def app(**top: Any) -> dict[str, Any]:
    """A minimal valid manifest, with top-level keys added/overridden.

    Pass a value of `None` via `drop=[...]` to remove keys instead.
    """
    data: dict[str, Any] = {"name": "app", "processes": {"web": {"run": "bin/web"}}}
    for key in top.pop("drop", ()):
        data.pop(key, None)
    data.update(top)
    return data


def web(**fields: Any) -> dict[str, Any]:
    """A minimal manifest whose one process, `web`, has these extra fields."""
    return app(processes={"web": {"run": "bin/web", **fields}})


def cron_job(**fields: Any) -> dict[str, Any]:
    """A minimal manifest with one cron job (and the default web process)."""
    job = {"run": "*/10 * * * * bin/task", **fields}
    return app(cron_jobs=[job])


def repo(target: str, spec: Any) -> dict[str, Any]:
    return app(repos={target: spec})


# -- the happy path -----------------------------------------------------------

FULL = {
    "platform": "ruby",
    "name": "bestsiteever",
    "owner": ["alice@example.com", "bob@example.com"],
    "repos": {
        "/opt/shared": "https://github.com/example/shared.git",
        "/opt/assets": {"url": "git@github.com:example/assets.git", "ref": "v2.1"},
    },
    "processes": {
        "worker": {"run": "bundle exec sidekiq", "cpu": 0.5, "memory": 1024},
        "web": {"run": "bundle exec puma -p $PORT", "chdir": "/opt/app/web/"},
    },
    "cron_jobs": [
        {"run": "*/10 * * * * bin/rake   cleanup"},
        {"run": "@daily bin/report --all", "memory": 256, "cpu": 2},
    ],
    "env": {"RAILS_ENV": "production", "LANG": "C.UTF-8", "_PRIVATE": ""},
    "dependencies": ["accounts", "search"],
}


class TestValidManifest:
    def test_full_manifest_loads_into_frozen_values(self, tmp_path: Path) -> None:
        path = write(tmp_path, FULL)
        loaded = manifest.load(path, known_platforms=KNOWN_PLATFORMS)

        assert loaded == Manifest(
            name="bestsiteever",
            source=path,
            platform="ruby",
            owner=("alice@example.com", "bob@example.com"),
            repos=(  # sorted by target
                Repo(target="/opt/assets", url="git@github.com:example/assets.git", ref="v2.1"),
                Repo(target="/opt/shared", url="https://github.com/example/shared.git"),
            ),
            processes=(  # sorted by name; defaults filled in; chdir normalised
                Process(name="web", run="bundle exec puma -p $PORT", chdir="/opt/app/web",
                        cpu=1.0, memory=512),
                Process(name="worker", run="bundle exec sidekiq", chdir="/opt/app",
                        cpu=0.5, memory=1024),
            ),
            cron_jobs=(  # kept in file order, default names from position
                CronJob(name="cron-1", schedule="*/10 * * * *", command="bin/rake   cleanup"),
                CronJob(name="cron-2", schedule="0 0 * * *", command="bin/report --all",
                        cpu=2.0, memory=256),
            ),
            env=(("LANG", "C.UTF-8"), ("RAILS_ENV", "production"), ("_PRIVATE", "")),
            dependencies=("accounts", "search"),
        )
        assert loaded.source == path
        assert loaded.root == tmp_path

    def test_value_types(self, tmp_path: Path) -> None:
        loaded = manifest.load(write(tmp_path, FULL))
        for process in loaded.processes:
            assert type(process.cpu) is float
            assert type(process.memory) is int
        for job in loaded.cron_jobs:
            assert type(job.cpu) is float
            assert type(job.memory) is int
        for value in (loaded.owner, loaded.repos, loaded.processes, loaded.cron_jobs,
                      loaded.env, loaded.dependencies):
            assert isinstance(value, tuple)

    def test_defaults(self, tmp_path: Path) -> None:
        loaded = manifest.load(write(tmp_path, app()))
        assert loaded == Manifest(name="app", source=tmp_path / "manifest.json",
                                  processes=(Process(name="web", run="bin/web"),))
        (process,) = loaded.processes
        assert (process.chdir, process.cpu, process.memory) == ("/opt/app", 1.0, 512)
        assert loaded.platform is None
        assert loaded.owner == loaded.repos == loaded.cron_jobs == ()
        assert loaded.env == loaded.dependencies == ()

    def test_cron_only_app_is_valid(self, tmp_path: Path) -> None:
        loaded = manifest.load(write(tmp_path, {"name": "app",
                                                "cron_jobs": [{"run": "@hourly bin/x"}]}))
        assert loaded.processes == ()
        assert loaded.cron_jobs == (CronJob(name="cron-1", schedule="0 * * * *",
                                            command="bin/x"),)

    def test_cron_job_fields(self, tmp_path: Path) -> None:
        loaded = manifest.load(write(tmp_path, app(cron_jobs=[
            {"name": "nightly", "run": "0 3 * * *  bin/backup  --full ", "chdir": "/srv/x",
             "cpu": 0.25, "memory": 64.0},
        ])))
        (job,) = loaded.cron_jobs
        assert job == CronJob(name="nightly", schedule="0 3 * * *",
                              command="bin/backup  --full", chdir="/srv/x", cpu=0.25,
                              memory=64)
        assert job.run == "0 3 * * * bin/backup  --full"

    def test_default_cron_names_follow_position(self, tmp_path: Path) -> None:
        loaded = manifest.load(write(tmp_path, app(cron_jobs=[
            {"run": "@daily a"}, {"name": "named", "run": "@daily b"}, {"run": "@daily c"},
        ])))
        assert [c.name for c in loaded.cron_jobs] == ["cron-1", "named", "cron-3"]

    def test_manifest_is_frozen(self, tmp_path: Path) -> None:
        loaded = manifest.load(write(tmp_path, FULL))
        with pytest.raises(dataclasses.FrozenInstanceError):
            loaded.name = "other"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            loaded.processes[0].cpu = 8.0  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            loaded.cron_jobs[0].schedule = "* * * * *"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            loaded.repos[0].url = "x"  # type: ignore[misc]
        with pytest.raises(TypeError):
            loaded.processes[0] = loaded.processes[1]  # type: ignore[index]
        assert hash(loaded) == hash(manifest.load(write(tmp_path, FULL)))

    @pytest.mark.parametrize("as_folder", [True, False], ids=["folder", "file"])
    @pytest.mark.parametrize("as_str", [True, False], ids=["str", "Path"])
    def test_load_accepts_folder_or_file(self, tmp_path: Path, as_folder: bool,
                                         as_str: bool) -> None:
        path = write(tmp_path, app())
        target: Path | str = tmp_path if as_folder else path
        loaded = manifest.load(str(target) if as_str else target)
        assert loaded.name == "app"
        assert loaded.source == path

    def test_known_platforms_accepts_any_iterable(self, tmp_path: Path) -> None:
        path = write(tmp_path, app(platform="go"))
        assert manifest.load(path, known_platforms=iter(KNOWN_PLATFORMS)).platform == "go"

    def test_any_valid_platform_name_without_known_platforms(self, tmp_path: Path) -> None:
        assert manifest.load(write(tmp_path, app(platform="cobol"))).platform == "cobol"

    def test_summary_mentions_everything(self, tmp_path: Path) -> None:
        summary = manifest.load(write(tmp_path, FULL)).summary()
        assert summary.startswith("app bestsiteever (")
        for word in ("ruby", "alice@example.com", "process web", "process worker",
                     "bundle exec sidekiq", "cron cron-1", "cron cron-2", "/opt/assets",
                     "@ v2.1", "RAILS_ENV", "accounts, search"):
            assert word in summary, word
        assert "production" not in summary  # env values are not shown

    def test_summary_minimal(self, tmp_path: Path) -> None:
        summary = manifest.load(write(tmp_path, app())).summary()
        assert "process web" in summary
        assert "detected" in summary  # no platform given
        assert not any(line.startswith(("  env:", "  depends on:", "  owner:", "  repo ",
                                        "  cron "))
                       for line in summary.splitlines())

    def test_helpers(self, tmp_path: Path) -> None:
        loaded = manifest.load(write(tmp_path, FULL))
        assert loaded.process("worker").memory == 1024
        with pytest.raises(KeyError):
            loaded.process("nope")
        assert loaded.env_dict == {"RAILS_ENV": "production", "LANG": "C.UTF-8",
                                   "_PRIVATE": ""}

    @pytest.mark.parametrize("name", ["a", "0", "web-2", "a" * 63, "9lives", "a-b-c"])
    def test_valid_names(self, tmp_path: Path, name: str) -> None:
        data = {"name": name, "processes": {name: {"run": "x"}},
                "cron_jobs": [{"name": name + "c" if len(name) < 63 else "c", "run": "@daily x"}],
                "dependencies": [name + "d" if len(name) < 63 else "d"]}
        loaded = manifest.load(write(tmp_path, data))
        assert loaded.name == name
        assert loaded.processes[0].name == name

    @pytest.mark.parametrize("target", ["/opt/apps", "/opt/runner", "/opt/application/x",
                                        "/srv/lib", "/opt/lib/"])
    def test_repo_targets_near_reserved_paths_are_fine(self, tmp_path: Path,
                                                       target: str) -> None:
        loaded = manifest.load(write(tmp_path, repo(target, "https://example.com/r.git")))
        assert loaded.repos == (Repo(target=target.rstrip("/"),
                                     url="https://example.com/r.git"),)

    @pytest.mark.parametrize("url", ["https://example.com/r.git", "ssh://git@host/r.git",
                                     "git://host/r", "git@github.com:o/r.git", "/srv/git/r",
                                     "file:///srv/r", "https://host/ext::x"])
    def test_valid_repo_urls(self, tmp_path: Path, url: str) -> None:
        assert manifest.load(write(tmp_path, repo("/opt/r", url))).repos[0].url == url

    @pytest.mark.parametrize("memory, expected", [(16, 16), (512.0, 512), (65536, 65536)])
    def test_memory_values(self, tmp_path: Path, memory: float, expected: int) -> None:
        assert manifest.load(write(tmp_path, web(memory=memory))).processes[0].memory == expected

    @pytest.mark.parametrize("cpu", [0.01, 1, 4, 1.5])
    def test_cpu_values(self, tmp_path: Path, cpu: float) -> None:
        assert manifest.load(write(tmp_path, web(cpu=cpu))).processes[0].cpu == float(cpu)


# -- unknown keys -------------------------------------------------------------

@pytest.mark.parametrize("data, path, words", [
    pytest.param(app(proceses={}), "proceses", ["unknown", "did you mean", "'processes'"],
                 id="top-typo"),
    pytest.param(app(cron_job=[]), "cron_job", ["unknown", "'cron_jobs'"], id="top-typo-2"),
    pytest.param(app(enviroment={}), "enviroment", ["unknown", "allowed here", "env"],
                 id="top-far"),
    pytest.param(web(memroy=512), "processes.web.memroy", ["unknown", "'memory'"],
                 id="process-typo"),
    pytest.param(web(command="x"), "processes.web.command", ["unknown", "allowed here",
                                                             "run"], id="process-far"),
    pytest.param(cron_job(chidr="/x"), "cron_jobs[0].chidr", ["unknown", "'chdir'"],
                 id="cron-typo"),
    pytest.param(cron_job(nmae="x"), "cron_jobs[0].nmae", ["unknown", "'name'"],
                 id="cron-typo-2"),
    pytest.param(cron_job(schedule="x"), "cron_jobs[0].schedule",
                 ["unknown", "allowed here", "run"], id="cron-far"),
    pytest.param(repo("/opt/lib", {"url": "https://h/r", "rfe": "main"}), "repos./opt/lib.rfe",
                 ["unknown", "'ref'"], id="repo-typo"),
    pytest.param(repo("/opt/lib", {"url": "https://h/r", "branch": "main"}),
                 "repos./opt/lib.branch", ["unknown", "allowed here", "url, ref"],
                 id="repo-far"),
])
def test_unknown_keys(tmp_path: Path, data: dict[str, Any], path: str,
                      words: list[str]) -> None:
    assert_one(problems(tmp_path, data), path, *words)


def test_misspelt_processes_alone_also_reports_missing_processes(tmp_path: Path) -> None:
    found = problems(tmp_path, {"name": "app", "proceses": {"web": {"run": "x"}}})
    assert [p.path for p in found] == ["proceses", "processes"]
    assert "'processes'" in found[0].fix


# -- wrong types --------------------------------------------------------------

@pytest.mark.parametrize("data, path, words", [
    pytest.param(app(name=5), "name", ["must be a string", "a number"], id="name-number"),
    pytest.param(app(name=None), "name", ["string", "null"], id="name-null"),
    pytest.param(app(name=""), "name", ["empty"], id="name-empty"),
    pytest.param(app(name="  "), "name", ["empty"], id="name-blank"),
    pytest.param(app(platform=3), "platform", ["string"], id="platform-number"),
    pytest.param(app(processes=[{"run": "x"}]), "processes", ["object", "a list"],
                 id="processes-list"),
    pytest.param(app(processes="bin/web"), "processes", ["object", "a string"],
                 id="processes-string"),
    pytest.param(app(processes={"web": "bin/web"}), "processes.web", ["object"],
                 id="process-string"),
    pytest.param(app(cron_jobs={"run": "@daily x"}), "cron_jobs", ["must be a list",
                                                                  "an object"],
                 id="cron_jobs-object"),
    pytest.param(app(cron_jobs=["@daily x"]), "cron_jobs[0]", ["object"], id="cron-string"),
    pytest.param(app(owner="me@example.com"), "owner", ["list", '["me@example.com"]'],
                 id="owner-string"),
    pytest.param(app(owner={"a": 1}), "owner", ["list", "an object"], id="owner-object"),
    pytest.param(app(owner=["ok@example.com", 5]), "owner[1]", ["string"], id="owner-item"),
    pytest.param(app(repos=["https://h/r"]), "repos", ["object"], id="repos-list"),
    pytest.param(app(repos={"/opt/r": 5}), "repos./opt/r", ["string", "url"],
                 id="repo-number"),
    pytest.param(app(env=["A=1"]), "env", ["object"], id="env-list"),
    pytest.param(app(env={"PORT": 8080}), "env.PORT", ["quote", '"8080"'],
                 id="env-int"),
    pytest.param(app(env={"RATIO": 0.5}), "env.RATIO", ["quote", '"0.5"'], id="env-float"),
    pytest.param(app(env={"DEBUG": True}), "env.DEBUG", ["true/false", "quote"],
                 id="env-bool"),
    pytest.param(app(env={"X": None}), "env.X", ["null", "quote"], id="env-null"),
    pytest.param(app(env={"X": ["a"]}), "env.X", ["a list", "quote"], id="env-list-value"),
    pytest.param(app(dependencies="accounts"), "dependencies", ["list"], id="deps-string"),
    pytest.param(app(dependencies=[1]), "dependencies[0]", ["string"], id="deps-item"),
    pytest.param(web(cpu=True), "processes.web.cpu", ["number", "true/false"],
                 id="cpu-bool"),
    pytest.param(web(cpu="1"), "processes.web.cpu", ["number", "a string"], id="cpu-string"),
    pytest.param(web(cpu=None), "processes.web.cpu", ["number", "null"], id="cpu-null"),
    pytest.param(web(memory=True), "processes.web.memory", ["whole number"],
                 id="memory-bool"),
    pytest.param(web(run=["bin/web"]), "processes.web.run", ["string"], id="run-list"),
    pytest.param(web(run=""), "processes.web.run", ["empty"], id="run-empty"),
    pytest.param(web(chdir=1), "processes.web.chdir", ["string", "absolute"],
                 id="chdir-number"),
    pytest.param(cron_job(run=5), "cron_jobs[0].run", ["string"], id="cron-run-number"),
    pytest.param(cron_job(name=5), "cron_jobs[0].name", ["string"], id="cron-name-number"),
    pytest.param(cron_job(cpu=False), "cron_jobs[0].cpu", ["number"], id="cron-cpu-bool"),
])
def test_wrong_types(tmp_path: Path, data: dict[str, Any], path: str,
                     words: list[str]) -> None:
    assert_one(problems(tmp_path, data), path, *words)


# -- names --------------------------------------------------------------------

BAD_NAMES = [
    pytest.param("MyApp", ["lowercase", "'myapp'"], id="uppercase"),
    pytest.param("my_app", ["lowercase", "'my-app'"], id="underscore"),
    pytest.param("-app", ["starting or ending with '-'", "'app'"], id="leading-dash"),
    pytest.param("app-", ["starting or ending with '-'", "'app'"], id="trailing-dash"),
    pytest.param("my app", ["lowercase", "'my-app'"], id="space"),
    pytest.param("app.v2", ["lowercase", "'app-v2'"], id="dot"),
    pytest.param("café", ["lowercase"], id="non-ascii"),
    pytest.param("a" * 64, ["64 characters", "at most 63", "shorten"], id="64-chars"),
]


def _with_bad_name(where: str, bad: str) -> tuple[dict[str, Any], str]:
    if where == "app":
        return app(name=bad), "name"
    if where == "process":
        return app(processes={bad: {"run": "x"}}), f"processes.{bad}"
    if where == "cron":
        return cron_job(name=bad), "cron_jobs[0].name"
    if where == "dependency":
        return app(dependencies=["ok", bad]), "dependencies[1]"
    if where == "platform":
        return app(platform=bad), "platform"
    raise AssertionError(where)


@pytest.mark.parametrize("where", ["app", "process", "cron", "dependency", "platform"])
@pytest.mark.parametrize("bad, words", BAD_NAMES)
def test_bad_names(tmp_path: Path, where: str, bad: str, words: list[str]) -> None:
    data, path = _with_bad_name(where, bad)
    problem = assert_one(problems(tmp_path, data), path, *words)
    assert repr(bad) in problem.message  # the message quotes the offending name


@pytest.mark.parametrize("where, what", [("app", "app name"), ("process", "process name"),
                                         ("cron", "cron job name"),
                                         ("dependency", "app name"),
                                         ("platform", "platform")])
def test_bad_name_message_says_what_kind_of_name(tmp_path: Path, where: str,
                                                 what: str) -> None:
    data, path = _with_bad_name(where, "Bad_Name")
    assert_one(problems(tmp_path, data), path, what, "image, container and dns name")


def test_name_with_no_usable_characters_gets_no_example(tmp_path: Path) -> None:
    problem = assert_one(problems(tmp_path, app(name="___")), "name", "lowercase")
    assert "e.g." not in problem.fix


@pytest.mark.parametrize("platform, words", [
    pytest.param("rubby", ["unknown platform", "did you mean 'ruby'"], id="close"),
    pytest.param("pyton", ["unknown platform", "'python'"], id="close-2"),
    pytest.param("cobol", ["unknown platform", "use one of", "go, node, python, ruby",
                           "remove the key"], id="far"),
])
def test_unknown_platform(tmp_path: Path, platform: str, words: list[str]) -> None:
    found = problems(tmp_path, app(platform=platform), known_platforms=KNOWN_PLATFORMS)
    assert_one(found, "platform", *words)


def test_empty_known_platforms_rejects_every_platform(tmp_path: Path) -> None:
    found = problems(tmp_path, app(platform="ruby"), known_platforms=[])
    assert_one(found, "platform", "unknown platform")


# -- chdir ----------------------------------------------------------------------

@pytest.mark.parametrize("make, path", [
    pytest.param(lambda v: web(chdir=v), "processes.web.chdir", id="process"),
    pytest.param(lambda v: cron_job(chdir=v), "cron_jobs[0].chdir", id="cron"),
])
@pytest.mark.parametrize("chdir, words", [
    pytest.param("opt/app", ["not an absolute path", "write /opt/app"], id="relative"),
    pytest.param("./srv", ["absolute", "/srv"], id="dot-relative"),
    pytest.param("/opt/../etc", ["contains '..'", "without '..'"], id="dotdot-middle"),
    pytest.param("/opt/app/..", ["'..'"], id="dotdot-end"),
    pytest.param("", ["empty"], id="empty"),
])
def test_bad_chdir(tmp_path: Path, make: Any, path: str, chdir: str,
                   words: list[str]) -> None:
    assert_one(problems(tmp_path, make(chdir)), path, *words)


def test_chdir_is_normalised(tmp_path: Path) -> None:
    loaded = manifest.load(write(tmp_path, web(chdir="/srv//app/./x/")))
    assert loaded.processes[0].chdir == "/srv/app/x"


def test_dots_inside_a_name_are_not_dotdot(tmp_path: Path) -> None:
    loaded = manifest.load(write(tmp_path, web(chdir="/srv/a..b")))
    assert loaded.processes[0].chdir == "/srv/a..b"


# -- cpu and memory -------------------------------------------------------------

@pytest.mark.parametrize("make, prefix", [
    pytest.param(lambda **kw: web(**kw), "processes.web", id="process"),
    pytest.param(lambda **kw: cron_job(**kw), "cron_jobs[0]", id="cron"),
])
@pytest.mark.parametrize("field, value, words", [
    pytest.param("cpu", 0, ["0 cpus", "minimum of 0.01", "between 0.01 and 1024"], id="cpu-0"),
    pytest.param("cpu", 0.0, ["minimum of 0.01"], id="cpu-0.0"),
    pytest.param("cpu", -1, ["-1 cpus", "minimum"], id="cpu-negative"),
    pytest.param("cpu", -0.5, ["minimum"], id="cpu-negative-float"),
    pytest.param("memory", 15, ["15 mb", "minimum of 16", "megabytes"], id="memory-15"),
    pytest.param("memory", 0, ["minimum"], id="memory-0"),
    pytest.param("memory", -512, ["minimum"], id="memory-negative"),
    pytest.param("memory", 8.5, ["whole number", "8.5", "write 8 or 9"], id="memory-8.5"),
    pytest.param("memory", 512.25, ["whole number", "512 or 513"], id="memory-fraction"),
    pytest.param("memory", "512", ["whole number", "a string", "512"], id="memory-string"),
    pytest.param("memory", "512m", ["whole number", "a string"], id="memory-unit"),
    pytest.param("memory", None, ["whole number", "null"], id="memory-null"),
])
def test_bad_cpu_and_memory(tmp_path: Path, make: Any, prefix: str, field: str,
                            value: Any, words: list[str]) -> None:
    assert_one(problems(tmp_path, make(**{field: value})), f"{prefix}.{field}", *words)


# -- cron lines -------------------------------------------------------------------

@pytest.mark.parametrize("line, words", [
    pytest.param("* * * * cmd", ["five schedule fields", "found 5"], id="four-fields"),
    pytest.param("*/5 cmd", ["five schedule fields"], id="one-field"),
    pytest.param("* * * * *", ["command"], id="no-command"),
    pytest.param("@daily", ["not followed by a command"], id="macro-no-command"),
    pytest.param("60 * * * * cmd", ["minute", "60", "0-59"], id="minute-60"),
    pytest.param("* 24 * * * cmd", ["hour", "24", "0-23"], id="hour-24"),
    pytest.param("* * 0 * * cmd", ["day of month", "1-31"], id="day-0"),
    pytest.param("* * 32 * * cmd", ["day of month", "32"], id="day-32"),
    pytest.param("* * * 13 * cmd", ["month", "13", "1-12"], id="month-13"),
    pytest.param("* * * 0 * cmd", ["month", "1-12"], id="month-0"),
    pytest.param("* * * * 8 cmd", ["day of week", "8", "0-7"], id="dow-8"),
    pytest.param("*/0 * * * * cmd", ["minute", "step of 0"], id="star-step-0"),
    pytest.param("0-30/0 * * * * cmd", ["step of 0"], id="range-step-0"),
    pytest.param("30-10 * * * * cmd", ["minute", "runs backwards"], id="backwards"),
    pytest.param("* * * dec-jan * cmd", ["month", "backwards"], id="backwards-names"),
    pytest.param("0-60 * * * * cmd", ["minute", "60"], id="range-end-out"),
    pytest.param("abc * * * * cmd", ["minute", "not a number"], id="word"),
    pytest.param("1;2 * * * * cmd", ["minute", "not a value, range or step"],
                 id="semicolon"),
    pytest.param("1,,2 * * * * cmd", ["minute", "not a value"], id="empty-list-item"),
    pytest.param("-5 * * * * cmd", ["minute", "not a value"], id="negative"),
    pytest.param("*/x * * * * cmd", ["minute", "'*/n'"], id="star-step-word"),
    pytest.param("** * * * * cmd", ["minute", "'*/n'"], id="double-star"),
    pytest.param("* * * * mon-funday cmd", ["day of week", "not a number"], id="bad-name"),
    pytest.param("* * * mon * cmd", ["month", "not a number"], id="dow-name-in-month"),
    pytest.param("jan * * * * cmd", ["minute", "not a number"], id="month-name-in-minute"),
    pytest.param("@reboot cmd", ["unknown macro", "@reboot", "@daily"], id="reboot"),
    pytest.param("@every5m cmd", ["unknown macro"], id="unknown-macro"),
    pytest.param("@DAILY cmd", ["unknown macro"], id="macro-case"),
])
def test_bad_cron_lines(tmp_path: Path, line: str, words: list[str]) -> None:
    problem = assert_one(problems(tmp_path, cron_job(run=line)), "cron_jobs[0].run",
                         "bad cron line", *words)
    assert "five schedule fields then the command" in problem.fix


@pytest.mark.parametrize("line, schedule, command", [
    ("*/10 * * * * cmd", "*/10 * * * *", "cmd"),
    ("0 0 1 jan mon cmd", "0 0 1 jan mon", "cmd"),
    ("0 0 1 JAN Mon cmd", "0 0 1 JAN Mon", "cmd"),
    ("@daily cmd", "0 0 * * *", "cmd"),
    ("1-5,10 */2 * * 1-5 cmd", "1-5,10 */2 * * 1-5", "cmd"),
    ("0,15,30,45 * * * * cmd", "0,15,30,45 * * * *", "cmd"),
    ("59 23 31 12 7 cmd", "59 23 31 12 7", "cmd"),
    ("0 9-17/2 * jan-jun,dec sun,sat cmd", "0 9-17/2 * jan-jun,dec sun,sat", "cmd"),
    ("*/5 * * * * bin/x  --flag   'a  b'", "*/5 * * * *", "bin/x  --flag   'a  b'"),
])
def test_good_cron_lines(tmp_path: Path, line: str, schedule: str, command: str) -> None:
    (job,) = manifest.load(write(tmp_path, cron_job(run=line))).cron_jobs
    assert (job.schedule, job.command) == (schedule, command)


# -- repos ----------------------------------------------------------------------

@pytest.mark.parametrize("target, spec, path, words", [
    pytest.param("opt/lib", "https://h/r", "repos.opt/lib", ["not an absolute path",
                                                             "/opt/lib"], id="relative"),
    pytest.param("/opt/lib/../app", "https://h/r", "repos./opt/lib/../app", ["'..'"],
                 id="dotdot"),
    pytest.param("/opt/app", "https://h/r", "repos./opt/app", ["where wake puts the app",
                                                               "somewhere else"],
                 id="opt-app"),
    pytest.param("/opt/app/", "https://h/r", "repos./opt/app/", ["/opt/app",
                                                                 "puts the app"],
                 id="opt-app-slash"),
    pytest.param("/opt/app/vendor/lib", "https://h/r", "repos./opt/app/vendor/lib",
                 ["/opt/app/vendor/lib", "puts the app"], id="under-opt-app"),
    pytest.param("/opt/run", "https://h/r", "repos./opt/run", ["puts the app"],
                 id="opt-run"),
    pytest.param("/opt/run/x", "https://h/r", "repos./opt/run/x", ["puts the app"],
                 id="under-opt-run"),
    pytest.param("/opt/./app", "https://h/r", "repos./opt/./app", ["puts the app"],
                 id="opt-dot-app"),
    pytest.param("/", "https://h/r", "repos./", ["cannot clone over /"], id="root"),
    pytest.param("", "https://h/r", "repos.", ["empty"], id="empty-target"),
    pytest.param("/opt/lib", "-uhttps://h/r", "repos./opt/lib", ["starts with '-'",
                                                                 "option"],
                 id="url-dash"),
    pytest.param("/opt/lib", "--upload-pack=touch /tmp/x", "repos./opt/lib", ["option"],
                 id="url-upload-pack"),
    pytest.param("/opt/lib", "ext::sh -c touch% /tmp/pwned", "repos./opt/lib",
                 ["ext:: transport", "arbitrary commands", "https://"], id="ext"),
    pytest.param("/opt/lib", "EXT::sh", "repos./opt/lib", ["ext:: transport"],
                 id="ext-upper"),
    pytest.param("/opt/lib", "Ext::sh", "repos./opt/lib", ["ext:: transport"],
                 id="ext-mixed"),
    pytest.param("/opt/lib", "fd::17", "repos./opt/lib", ["fd:: transport"], id="fd"),
    pytest.param("/opt/lib", "FD::3,4", "repos./opt/lib", ["fd:: transport"], id="fd-upper"),
    pytest.param("/opt/lib", "https://h/a b", "repos./opt/lib", ["whitespace"],
                 id="url-space"),
    pytest.param("/opt/lib", "https://h/a\x00", "repos./opt/lib", ["nul", "remove"],
                 id="url-nul"),
    pytest.param("/opt/lib", "", "repos./opt/lib", ["empty"], id="url-empty"),
    pytest.param("/opt/lib", {"ref": "main"}, "repos./opt/lib.url", ["is required",
                                                                    "git url"],
                 id="object-no-url"),
    pytest.param("/opt/lib", {}, "repos./opt/lib.url", ["is required"], id="object-empty"),
    pytest.param("/opt/lib", {"url": "ext::sh"}, "repos./opt/lib.url", ["ext::"],
                 id="object-ext"),
    pytest.param("/opt/lib", {"url": "-x"}, "repos./opt/lib.url", ["option"],
                 id="object-url-dash"),
    pytest.param("/opt/lib", {"url": "https://h/r", "ref": "-main"}, "repos./opt/lib.ref",
                 ["not a branch, tag or commit", "leading '-'"], id="ref-dash"),
    pytest.param("/opt/lib", {"url": "https://h/r", "ref": "--output=/etc/x"},
                 "repos./opt/lib.ref", ["not a branch"], id="ref-option"),
    pytest.param("/opt/lib", {"url": "https://h/r", "ref": "my branch"},
                 "repos./opt/lib.ref", ["not a branch", "spaces"], id="ref-space"),
    pytest.param("/opt/lib", {"url": "https://h/r", "ref": 3}, "repos./opt/lib.ref",
                 ["string", "branch, tag or commit"], id="ref-number"),
    pytest.param("/opt/lib", {"url": "https://h/r", "ref": ""}, "repos./opt/lib.ref",
                 ["empty"], id="ref-empty"),
])
def test_bad_repos(tmp_path: Path, target: str, spec: Any, path: str,
                   words: list[str]) -> None:
    assert_one(problems(tmp_path, repo(target, spec)), path, *words)


def test_bad_target_and_bad_url_are_both_reported(tmp_path: Path) -> None:
    found = problems(tmp_path, repo("/opt/app", "ext::sh"))
    assert [p.path for p in found] == ["repos./opt/app", "repos./opt/app"]
    assert "puts the app" in text_of(found[0])
    assert "ext::" in text_of(found[1])


# -- env ------------------------------------------------------------------------

@pytest.mark.parametrize("key, fixed", [
    pytest.param("1FOO", "'_1FOO'", id="leading-digit"),
    pytest.param("MY-VAR", "'MY_VAR'", id="dash"),
    pytest.param("MY VAR", "'MY_VAR'", id="space"),
    pytest.param("A.B", "'A_B'", id="dot"),
    pytest.param("", "'_'", id="empty"),
    pytest.param("9", "'_9'", id="digit-only"),
])
def test_bad_env_names(tmp_path: Path, key: str, fixed: str) -> None:
    problem = assert_one(problems(tmp_path, app(env={key: "x"})), f"env.{key}",
                         "not a valid environment variable name",
                         "not starting with a digit", fixed.lower())
    assert fixed in problem.fix  # the suggestion keeps the user's case


def test_bad_env_name_is_reported_once_even_with_bad_value(tmp_path: Path) -> None:
    assert_one(problems(tmp_path, app(env={"1X": 5})), "env.1X", "environment variable name")


# -- reading the file -----------------------------------------------------------

class TestReading:
    def test_malformed_json_reports_line_and_column(self, tmp_path: Path) -> None:
        text = '{\n  "name": "app"\n  "processes": {}\n}\n'  # missing comma
        problem = assert_one(problems(tmp_path, text), "", "invalid json",
                             "line 3, column 3", "delimiter", "comma")
        assert str(problem).startswith("(top level): invalid JSON")

    @pytest.mark.parametrize("text, where", [
        ("", "line 1, column 1"),
        ('{"name": "app",}', "line 1, column 16"),
        ('{"name": "app"', "line 1, column 15"),
        ("{'name': 'app'}", "line 1, column 2"),
        ('{"name": "app"}\n{}', "line 2, column 1"),
        ('\ufeff\ufeff{"name": "app"}', "line 1, column 1"),  # one BOM is fine, not two
    ], ids=["empty", "trailing-comma", "unclosed", "single-quotes", "extra-data", "two-boms"])
    def test_other_invalid_json(self, tmp_path: Path, text: str, where: str) -> None:
        assert_one(problems(tmp_path, text), "", "invalid json", where)

    def test_non_utf8_file(self, tmp_path: Path) -> None:
        raw = b'{\n  "name": "app",\n  "env": {"X": "caf\xe9"}\n}\n'  # latin-1 e-acute
        assert_one(problems(tmp_path, raw), "", "not utf-8", "line 3", "save the file as utf-8")

    def test_utf16_file_is_not_utf8(self, tmp_path: Path) -> None:
        raw = json.dumps(app()).encode("utf-16")
        assert_one(problems(tmp_path, raw), "", "not utf-8", "line 1")

    @pytest.mark.parametrize("text, path", [
        ('{"name": "a", "name": "b", "processes": {"web": {"run": "x"}}}', "name"),
        ('{"name": "a", "processes": {"web": {"run": "x"}, "web": {"run": "y"}}}',
         "processes.web"),
        ('{"name": "a", "processes": {"web": {"run": "x", "run": "y"}}}',
         "processes.web.run"),
        ('{"name": "a", "cron_jobs": [{"run": "@daily x", "run": "@daily y"}]}',
         "cron_jobs[0].run"),
        ('{"name": "a", "processes": {"web": {"run": "x"}}, "env": {"A": "1", "A": "2"}}',
         "env.A"),
        ('{"name": "a", "processes": {"web": {"run": "x"}}, '
         '"repos": {"/opt/r": "https://h/1", "/opt/r": "https://h/2"}}', "repos./opt/r"),
        ('{"name": "a", "processes": {"web": {"run": "x"}}, '
         '"repos": {"/opt/r": {"url": "https://h/1", "url": "https://h/2"}}}',
         "repos./opt/r.url"),
    ], ids=["top", "process", "process-field", "cron-field", "env", "repo", "repo-field"])
    def test_duplicate_keys(self, tmp_path: Path, text: str, path: str) -> None:
        assert_one(problems(tmp_path, text), path, "more than once", "keep one")

    def test_key_given_three_times_is_reported_twice(self, tmp_path: Path) -> None:
        found = problems(tmp_path, '{"name": "a", "name": "b", "name": "c", '
                                   '"processes": {"web": {"run": "x"}}}')
        assert [p.path for p in found] == ["name", "name"]

    def test_missing_file(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope.json"
        with pytest.raises(ManifestError) as info:
            manifest.load(missing)
        assert info.value.source == str(missing)
        assert_one(info.value.problems, "", "no such file", "manifest.json")
        assert str(info.value).startswith(f"{missing}: 1 problem\n")

    def test_folder_without_manifest(self, tmp_path: Path) -> None:
        (tmp_path / "other.json").write_text("{}")
        with pytest.raises(ManifestError) as info:
            manifest.load(tmp_path)
        assert info.value.source == str(tmp_path / "manifest.json")
        assert_one(info.value.problems, "", "no such file", "create manifest.json")

    def test_missing_folder(self, tmp_path: Path) -> None:
        with pytest.raises(ManifestError) as info:
            manifest.load(tmp_path / "no" / "such" / "dir")
        assert_one(info.value.problems, "", "no such file")

    @pytest.mark.parametrize("data, kind", [
        ([{"name": "app"}], "a list"), ("app", "a string"), (None, "null"), (3, "a number"),
        (True, "true/false"),
    ], ids=["list", "string", "null", "number", "bool"])
    def test_top_level_must_be_an_object(self, tmp_path: Path, data: Any, kind: str) -> None:
        assert_one(problems(tmp_path, json.dumps(data)), "", "must be an object", kind, "{")


# -- missing and inconsistent ------------------------------------------------------

def test_missing_name_suggests_one_from_the_folder(tmp_path: Path) -> None:
    found = problems(tmp_path / "My Cool_App", app(drop=["name"]))
    assert_one(found, "name", "is required", '"name": "my-cool-app"')


def test_missing_name_in_unnameable_folder(tmp_path: Path) -> None:
    found = problems(tmp_path / "___", app(drop=["name"]))
    assert_one(found, "name", "is required", '"name": "myapp"')


@pytest.mark.parametrize("data, path, words", [
    pytest.param({"name": "app"}, "processes", ["at least one process or cron job"],
                 id="no-processes-or-cron"),
    pytest.param(app(processes={}), "processes", ["is empty"], id="empty-processes"),
    pytest.param(app(processes={"web": {"cpu": 1}}), "processes.web.run",
                 ["is required", "command"], id="process-without-run"),
    pytest.param(app(processes={"web": {}}), "processes.web.run", ["is required"],
                 id="process-empty-object"),
    pytest.param(app(cron_jobs=[{"name": "x"}]), "cron_jobs[0].run", ["is required",
                                                                      "*/10"],
                 id="cron-without-run"),
    pytest.param(app(cron_jobs=[{"name": "web", "run": "@daily x"}]), "cron_jobs",
                 ["'web'", "also a process name"], id="cron-clashes-with-process"),
    pytest.param(app(cron_jobs=[{"name": "cron-2", "run": "@daily x"},
                                {"run": "@daily y"}]), "cron_jobs[1].name",
                 ["'cron-2'", "used twice"], id="named-clashes-with-default-name"),
    pytest.param(app(cron_jobs=[{"name": "job", "run": "@daily x"},
                                {"name": "job", "run": "@daily y"}]), "cron_jobs[1].name",
                 ["'job'", "used twice", "its own name"], id="duplicate-cron-names"),
    pytest.param(app(dependencies=["accounts", "app"]), "dependencies",
                 ["'app'", "lists itself"], id="depends-on-itself"),
    pytest.param(app(dependencies=["accounts", "search", "accounts"]), "dependencies[2]",
                 ["'accounts'", "listed twice"], id="duplicate-dependency"),
])
def test_missing_and_inconsistent(tmp_path: Path, data: dict[str, Any], path: str,
                                  words: list[str]) -> None:
    assert_one(problems(tmp_path, data), path, *words)


def test_every_cron_clash_is_reported(tmp_path: Path) -> None:
    data = app(processes={"web": {"run": "x"}, "worker": {"run": "y"}},
               cron_jobs=[{"name": "worker", "run": "@daily a"},
                          {"name": "web", "run": "@daily b"}])
    found = problems(tmp_path, data)
    assert [(p.path, "'web'" in p.message, "'worker'" in p.message) for p in found] == [
        ("cron_jobs", True, False), ("cron_jobs", False, True)]


# -- many problems at once -----------------------------------------------------------

def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    data = {
        "name": "My_App",                                     # 1 bad name
        "proceses": {},                                       # 2 unknown key
        "processes": {"web": {"run": "x", "memory": 15}},     # 3 memory too small
        "cron_jobs": [{"run": "60 * * * * x"}],               # 4 bad cron line
        "env": {"PORT": 80},                                  # 5 unquoted env value
    }
    path = write(tmp_path, data)
    with pytest.raises(ManifestError) as info:
        manifest.load(path)
    error = info.value
    assert sorted(p.path for p in error.problems) == sorted([
        "name", "proceses", "processes.web.memory", "cron_jobs[0].run", "env.PORT"])
    report = str(error)
    assert report.startswith(f"{path}: 5 problems\n")
    for problem in error.problems:
        assert f"  - {problem.path}: {problem.message}" in report
    assert report.count("fix: ") == 5


def test_problems_in_several_processes_and_cron_jobs(tmp_path: Path) -> None:
    data = {
        "name": "app",
        "processes": {"a": {"cpu": 0}, "B": {"run": "x", "chdir": "rel"}},
        "cron_jobs": [{"run": "* * * *"}, {"name": "-x", "run": "@daily x", "memory": 1.5}],
        "dependencies": ["x", "x", "Y"],
    }
    found = problems(tmp_path, data)
    assert sorted(p.path for p in found) == sorted([
        "processes.a.run", "processes.a.cpu", "processes.B", "processes.B.chdir",
        "cron_jobs[0].run", "cron_jobs[1].name", "cron_jobs[1].memory",
        "dependencies[1]", "dependencies[2]",
    ])


# -- the error objects ------------------------------------------------------------

def test_manifest_error_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, {"name": "app"})
    with pytest.raises(UsageError) as info:
        manifest.load(path)
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"{path}: 1 problem\n  - processes: ")


def test_problem_str() -> None:
    assert str(Problem("a.b", "is wrong", "do this")) == "a.b: is wrong\n      fix: do this"
    assert str(Problem("", "is wrong")) == "(top level): is wrong"


# -- regressions: bugs found while writing these tests ----------------------------

@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_bug_non_finite_memory_is_a_problem(tmp_path: Path, literal: str) -> None:
    text = '{"name": "app", "processes": {"web": {"run": "x", "memory": MEMORY}}}'
    text = text.replace("MEMORY", literal)
    assert_one(problems(tmp_path, text), "processes.web.memory", "memory")


def test_bug_infinite_cpu_is_a_problem(tmp_path: Path) -> None:
    text = '{"name": "app", "processes": {"web": {"run": "x", "cpu": Infinity}}}'
    assert_one(problems(tmp_path, text), "processes.web.cpu", "cpu")


@pytest.mark.parametrize("where", ["app", "process", "cron", "dependency", "platform", "env"])
def test_bug_trailing_newline_in_names(tmp_path: Path, where: str) -> None:
    if where == "env":
        data, path = app(env={"FOO\n": "1"}), "env.FOO\n"
    else:
        data, path = _with_bad_name(where, "web\n")
    assert_one(problems(tmp_path, data), path)


@pytest.mark.parametrize("target", ["//opt/app", "//opt/run/x", "//"])
def test_bug_double_slash_repo_targets(tmp_path: Path, target: str) -> None:
    assert_one(problems(tmp_path, repo(target, "https://h/r")), f"repos.{target}")


def test_bug_empty_cron_jobs_alone_is_rejected(tmp_path: Path) -> None:
    assert len(problems(tmp_path, {"name": "app", "cron_jobs": []})) == 1


# -- the shipped example ---------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "bestsiteever"


@pytest.mark.skipif(not (EXAMPLE / "manifest.json").is_file(), reason="no example app")
def test_shipped_example_manifest_is_valid() -> None:
    platforms = [p.name for p in (REPO_ROOT / "platforms").iterdir()
                 if p.is_dir() and not p.name.startswith("_")]
    loaded = manifest.load(EXAMPLE, known_platforms=platforms)
    assert loaded.name == "bestsiteever"
    assert loaded.root == EXAMPLE
    summary = loaded.summary()
    for process in loaded.processes:
        assert f"process {process.name}:" in summary
