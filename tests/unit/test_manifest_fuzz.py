"""Fuzzing the manifest: mutants of the example manifests are accepted or rejected with
wake's own error - nothing else - and every accepted one renders Dockerfiles with exactly
the template's instructions, env values Docker reads back unchanged, and allowed paths.

Seeded and reproducible: case i of a run uses random.Random(f"{seed}:{i}").
WAKE_FUZZ_COUNT sets how many cases (default 10,000: 10-30 s on two cores) and
WAKE_FUZZ_SEED the seed (default 10), e.g. `WAKE_FUZZ_COUNT=200000 pytest
tests/unit/test_manifest_fuzz.py`. A failure prints the case number and its bytes.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import os
import random
import re
import shlex
import tarfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from wake import manifest
from wake import settings as settings_mod
from wake.build import platforms, repos, stages
from wake.build.materialize import Materialized, Materializer
from wake.build.platforms import Platform
from wake.build.tree import HashCache
from wake.build.workspace import App, Workspace
from wake.errors import WakeError
from wake.manifest import Manifest, Repo

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("WAKE_FUZZ_SEED", "10"))
COUNT = int(os.environ.get("WAKE_FUZZ_COUNT", "10000"))
CHUNKS = 10
HUGE = "#HUGE#"  # replaced by thousands of digits in the JSON text

EXAMPLES = sorted([*ROOT.glob("examples/*/manifest.json"),
                   *ROOT.glob("services/*/manifest.json")])

STRINGS = [
    "", " ", "x", "web", "a-b", "A", "\n", "a\nRUN touch /pwned", "a\\\nb", "\r", "\r\n",
    "\x00", "a\x00b", "\t", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\xa0",
    "\ud800", "x\udfff", "\ud83d\ude00", "\U0001f600", "é", "日本", "☃", "$HOME", "${X:-y}",
    "\\", "a\\", '"', "'", "it's <a&b> $HOME \\ \"q\"", "?a=1&b=2", "-oProxyCommand=x",
    "ssh://-oProxyCommand=x/r", "git@-h:r", "ext::sh -c x", "fd::3", "https://h/r.git",
    "git://127.0.0.1/r.git", "/", "//", "/opt", "/opt/", "/opt/app", "/opt/app/x", "/opt/run",
    "/opt/x y", "/opt/$X", "/opt/it's", "/opt/a\\b", "../..", "/opt/../etc", "//opt//x/",
    "/opt/./app", "opt/x", "/srv/ünï", "*/5 * * * * x", "@daily x", "@reboot x", "* * * * *",
    "60 * * * * x", "*/0 * * * * x", "1-" + "9" * 5000 + " * * * * x", "main", "v1.0", "a..b",
    "-x", "@{u}", "refs/heads/main", "a" * 64, "a" * 1000, "0" * 5000, "#x", "[x]", "{}",
    "RUN", "ENV X=1", "\nFROM scratch", "LABEL a=b",
]
# Valid values that Docker or a shell would read differently if quoted carelessly.
TRICKY = [
    "it's <a&b> $HOME \\ \"q\"", "postgres://u:p@h/db?a=1&b=2", "a\\", "\\", "$HOME", "${X:-y}",
    "`id`", "$(id)", "\\$", '\\"', "\t", "#x", " lead and trail ", "ünï ☃ 𝄞", "\u2028",
    "\x1b[0m", "\x85", "%s", "{{ x }}", "\\u0026", "&amp;", "",
]
PLAIN_PATHS = ["/opt/app/x", "/srv/ünï", "/opt/a-b_c.d/e+f@g=h,i:j~k", "/", "/opt", "/srv/lib",
               "/opt/apps", "/opt/runner", "/opt/r/"]
NUMBERS: list[Any] = [
    0, -1, 1, 0.5, 0.01, 0.009, 16, 15, 1024, 1025, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1,
    1e308, -1e308, 1e-300, 10 ** 30, 10 ** 400, float("nan"), float("inf"), float("-inf"),
    512.5, 2 ** 63, True, False, None,
]
KEYS = [*manifest.TOP_KEYS, *manifest.PROCESS_KEYS, *manifest.CRON_KEYS, *manifest.REPO_KEYS,
        "web", "X", "PATH", "1X", "a b", "\ud800", "\x00", "", "é", "/opt/r", "/opt", "/"]
ENV_NAMES = ["X", "DATABASE_URL", "_P", "PATH", "HOME", "a1", "1X", "A-B", "A B", "\ud800"]


# -- generating cases ---------------------------------------------------------------

@cache
def examples() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(path.read_text()) for path in EXAMPLES)


def random_text(rng: random.Random) -> str:
    """A few characters from anywhere in Unicode, controls and surrogates included."""
    ranges = [(0, 0x20), (0x20, 0x7f), (0x7f, 0xa0), (0xa0, 0x800), (0xd800, 0xe000),
              (0x2000, 0x2070), (0xfff0, 0x10000), (0x10000, 0x110000)]
    out = []
    for _ in range(rng.randint(1, 6)):
        low, high = rng.choice(ranges)
        out.append(chr(rng.randrange(low, high)))
    return "".join(out)


def nasty_string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(STRINGS)
    if roll < 0.8:
        return rng.choice(STRINGS) + random_text(rng) + rng.choice(STRINGS)
    return random_text(rng)


def nasty_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.5:
        return nasty_string(rng)
    if roll < 0.75:
        return rng.choice(NUMBERS)
    if roll < 0.8:
        return HUGE
    if depth > 2:
        return None
    if roll < 0.9:
        return [nasty_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): nasty_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def slots(data: Any, depth: int = 0) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every value in the JSON tree, to a depth of 8."""
    if depth > 8:
        return
    if isinstance(data, dict):
        for key in list(data):
            yield data, key
            yield from slots(data[key], depth + 1)
    elif isinstance(data, list):
        for index in range(len(data)):
            yield data, index
            yield from slots(data[index], depth + 1)


def objects(data: Any) -> list[dict[str, Any]]:
    found = [data] if isinstance(data, dict) else []
    for container, key in slots(data):
        if isinstance(container[key], dict):
            found.append(container[key])
    return found


def section(data: dict[str, Any], key: str, empty: Any) -> Any:
    if not isinstance(data.get(key), type(empty)):
        data[key] = empty
    return data[key]


def first_unit(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    units = [u for u in section(data, "processes", {}).values() if isinstance(u, dict)]
    units += [u for u in section(data, "cron_jobs", []) if isinstance(u, dict)]
    if not units:
        units = [{"run": "x"}]
        data["processes"]["web"] = units[0]
    return rng.choice(units)


def mutate(data: dict[str, Any], rng: random.Random) -> None:
    choice = rng.randrange(10)
    if choice == 0:  # any value becomes something nasty
        places = list(slots(data))
        container, key = rng.choice(places)
        container[key] = nasty_value(rng)
    elif choice == 1:  # a key goes
        places = [(c, k) for c, k in slots(data) if isinstance(c, dict)]
        if places:
            container, key = rng.choice(places)
            del container[key]
    elif choice == 2:  # a key appears
        rng.choice(objects(data))[rng.choice(KEYS)] = nasty_value(rng)
    elif choice == 3:  # an env var (mostly valid names, so the value is what is tested)
        roll = rng.random()
        section(data, "env", {})[rng.choice(ENV_NAMES)] = (
            rng.choice(TRICKY) if roll < 0.5 else nasty_string(rng) if roll < 0.9
            else nasty_value(rng))
    elif choice == 4:  # a repo
        url: Any = rng.choice(["https://h/r.git", nasty_string(rng)])
        if rng.random() < 0.3:
            url = {"url": url, "ref": rng.choice(["main", nasty_string(rng)])}
        section(data, "repos", {})[rng.choice([*PLAIN_PATHS, nasty_string(rng)])] = url
    elif choice == 5:  # a chdir
        first_unit(data, rng)["chdir"] = rng.choice([*PLAIN_PATHS, nasty_string(rng)])
    elif choice == 6:  # cpu or memory
        first_unit(data, rng)[rng.choice(["cpu", "memory"])] = rng.choice([*NUMBERS, HUGE])
    elif choice == 7:  # a cron job
        fields = ["*", "*/5", "0", "1-5", "jan", "mon", "60", "9" * 5000, "*/" + "9" * 5000,
                  random_text(rng), "1,2", "5-1", ""]
        line = " ".join(rng.choice(fields) for _ in range(5)) + " " + nasty_string(rng)
        job: dict[str, Any] = {"run": rng.choice([line, "@hourly " + nasty_string(rng)])}
        if rng.random() < 0.5:
            job["name"] = rng.choice(["tick", nasty_string(rng)])
        section(data, "cron_jobs", []).append(job)
    elif choice == 8:  # a process run command
        first_unit(data, rng)["run"] = rng.choice([*TRICKY, nasty_string(rng)])
    else:  # deep nesting somewhere
        container, key = rng.choice(list(slots(data)))
        value = container[key]
        for _ in range(rng.choice([2, 50, 500])):
            value = [value]
        container[key] = value


def to_bytes(data: Any, rng: random.Random) -> bytes:
    try:
        text = json.dumps(data, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))
    except RecursionError:  # nested past what json.dumps writes: the reader gets the same
        text = "[" * 100_000
    text = text.replace(f'"{HUGE}"', "9" * rng.choice([65, 400, 4301, 6000]))
    raw = text.encode("utf-8", "surrogatepass")  # a raw lone surrogate is not UTF-8
    roll = rng.random()
    if roll < 0.05:
        raw = b"\xef\xbb\xbf" + raw
    elif roll < 0.07:
        raw = raw[: rng.randrange(len(raw) + 1)]
    elif roll < 0.09:
        at = rng.randrange(len(raw) + 1)
        raw = raw[:at] + bytes([rng.randrange(256)]) + raw[at:]
    elif roll < 0.1:
        depth = rng.choice([900, 5000, 200_000])
        raw = b"[" * depth + b"]" * depth
    return raw


def case(index: int) -> bytes:
    rng = random.Random(f"{SEED}:{index}")
    data = copy.deepcopy(rng.choice(examples()))
    for _ in range(rng.choice([1, 1, 2, 3, 4])):
        mutate(data, rng)
    return to_bytes(data, rng)


# -- reading Dockerfiles as Docker does -----------------------------------------------

# One double-quoted word in which every \ " $ is escaped: Docker's lexer reads it back
# by dropping the backslashes (and leaves any other \x as is - we never write one).
QUOTED = r'"((?:[^"\\$\n]|\\[\\"$])*)"'
ENV_LINE = re.compile(rf"ENV ([A-Za-z_][A-Za-z0-9_]*)={QUOTED}")
LABEL_WORD = re.compile(rf"([a-z.-]+)={QUOTED}")
UNSAFE = re.compile(r"""[\s$\\"'\x00-\x1f\x7f-\x9f]""")


def unquote(escaped: str) -> str:
    return re.sub(r"\\(.)", r"\1", escaped)


def instructions(dockerfile: str) -> list[str]:
    """The instructions of a Dockerfile, `\\` continuations joined, comments dropped."""
    found: list[str] = []
    pending = ""
    for line in dockerfile.split("\n"):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        found.append(pending + line)
        pending = ""
    assert not pending, "a continuation runs off the end"
    return found


def keywords(dockerfile: str) -> list[str]:
    return [line.split(None, 1)[0].upper() for line in instructions(dockerfile)]


def context_dockerfile(materialized: Materialized) -> str:
    """The Dockerfile exactly as the build context would carry it (labels appended)."""
    out = io.BytesIO()
    dataclasses.replace(materialized, late_files=None).write_context(out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        member = tar.extractfile("Dockerfile")
        assert member is not None
        return member.read().decode("utf-8")


def inside_allowed(path: str) -> bool:
    if not path.startswith("/") or ".." in PurePosixPath(path).parts or UNSAFE.search(path):
        return False
    return PurePosixPath(path) == PurePosixPath(path.rstrip("/") or "/")


# -- rendering -----------------------------------------------------------------------

class Renderer:
    """Every stage of one app rendered through the real Materializer, no engine."""

    def __init__(self, root: Path, registry: dict[str, Platform]) -> None:
        self.root = root
        self.registry = registry
        self.cache = HashCache(root.parent / "hashes.sqlite")
        self.settings = settings_mod.load()
        self.known_good: dict[tuple[Any, ...], list[str]] = {}

    def render(self, loaded: Manifest) -> dict[str, Materialized]:
        detection = platforms.detect(self.root, loaded.platform, self.registry)
        app = App(manifest=loaded, platform=detection.platform, detected_by=detection.reason)
        graph = stages.build_graph(Workspace(source=None, apps=(app,)))
        materializer = Materializer(graph, self.settings, client_factory=_no_engine,
                                    cache=self.cache)
        materializer.assume_base_id("sha256:" + "0" * 64)  # the engine's answer, fixed
        return {node: materializer.get(node) for node in graph}

    def shape(self, loaded: Manifest, m: Materialized) -> tuple[Any, ...]:
        unit_kind = m.stage.unit_kind if m.stage.unit is not None else None
        return (m.stage.platform.ident, m.stage.kind, unit_kind, len(loaded.env),
                len(loaded.repos), loaded.user, bool(loaded.build), len(loaded.build_env))

    def expected_keywords(self, loaded: Manifest, m: Materialized) -> list[str]:
        """The keywords a plain manifest of the same shape renders for this stage."""
        shape = self.shape(loaded, m)
        if shape not in self.known_good:
            plain = plain_twin(loaded)
            for good in self.render(plain).values():
                self.known_good[self.shape(plain, good)] = keywords(good.dockerfile)
        return self.known_good[shape]


def _no_engine() -> Any:
    raise AssertionError("rendering must not need the engine")


def plain_twin(loaded: Manifest) -> Manifest:
    """`loaded` with every free-text value replaced by a plain one (names kept)."""
    return dataclasses.replace(
        loaded, owner=(), dependencies=(),
        env=tuple((f"V{i}", "plain") for i in range(len(loaded.env))),
        build="true" if loaded.build else None,
        build_env=tuple((f"B{i}", "plain") for i in range(len(loaded.build_env))),
        repos=tuple(Repo(target=f"/opt/repo{i}", url="https://example.com/r.git")
                    for i in range(len(loaded.repos))),
        processes=tuple(dataclasses.replace(p, run="true", chdir="/opt/app")
                        for p in loaded.processes),
        cron_jobs=tuple(dataclasses.replace(c, command="true", chdir="/opt/app")
                        for c in loaded.cron_jobs))


def check_rendering(loaded: Manifest, renderer: Renderer) -> None:
    for node, m in renderer.render(loaded).items():
        # The template's instructions, no more and no fewer.
        assert keywords(m.dockerfile) == renderer.expected_keywords(loaded, m), node
        # Appended by wake: the inputs (a COPY when too big for a label) and one LABEL.
        full = context_dockerfile(m)
        built = keywords(m.dockerfile)  # by Docker: all but a last step wake runs itself
        if m.own_step:
            assert built[-1] == "RUN", node
            built = built[:-1]
        assert keywords(full)[:len(built)] == built, node
        suffix = keywords(full)[len(built):]
        assert suffix in (["LABEL"], ["COPY", "LABEL"]), (node, suffix)
        for line in instructions(full):
            word, _, rest = line.partition(" ")
            if word == "LABEL":
                assert re.fullmatch(rf"{LABEL_WORD.pattern}( {LABEL_WORD.pattern})*", rest), line
        lines = instructions(m.dockerfile)
        if m.stage.kind == stages.APP_RELEASE:
            env = [ENV_LINE.fullmatch(line) for line in lines if line.startswith("ENV ")]
            assert all(env), lines
            assert [(e[1], unquote(e[2])) for e in env if e] == list(loaded.env)
            copies = [line.split()[1:] for line in lines if line.startswith("COPY ")]
            assert [target for _, target in copies] == [f"{r.target}/" for r in loaded.repos]
            for repo in loaded.repos:
                assert inside_allowed(repo.target), repo
                for reserved in manifest.RESERVED_PATHS:
                    assert not (repo.target + "/").startswith(reserved + "/"), repo
                    assert not reserved.startswith(repo.target.rstrip("/") + "/"), repo
        if m.stage.kind == stages.RELEASE:
            unit = m.stage.unit
            assert unit is not None
            workdirs = [line.split(" ", 1)[1] for line in lines if line.startswith("WORKDIR ")]
            assert workdirs == [unit.chdir] and inside_allowed(unit.chdir), workdirs
            check_run_script(m, unit.chdir, getattr(unit, "command", None) or unit.run)


def check_run_script(m: Materialized, chdir: str, command: str) -> None:
    script = m.files["run"][0].decode("utf-8")
    cd_line = next(line for line in script.split("\n") if line.startswith("cd "))
    assert shlex.split(cd_line) == ["cd", chdir, "||", "exit", "1"]
    head, sep, quoted = script.partition("\nexec /bin/bash -c ")
    assert sep and all(line == "" or line.startswith(("#", "cd ")) or line == "#!/bin/sh"
                       for line in head.split("\n")), head
    assert shlex.split(quoted) == [command]


# -- the test ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Renderer]:
    home = tmp_path_factory.mktemp("fuzz-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("WAKE_HOME", str(home / "wake-home"))
    # Repos resolve without git: the key only needs a commit id.
    patch.setattr(repos, "resolve", lambda url, ref: "0" * 40)
    root = home / "app"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "hello").write_text("#!/bin/sh\necho hello\n")
    (root / "requirements.txt").write_text("\n")  # detected as python when not declared
    yield Renderer(root, platforms.load_all())
    patch.undo()


def run_cases(indexes: range, check: Callable[[int, bytes], None]) -> None:
    for index in indexes:
        raw = case(index)
        try:
            check(index, raw)
        except Exception as exc:
            shown = raw if len(raw) < 2000 else raw[:1000] + b"..." + raw[-200:]
            raise AssertionError(f"fuzz case {index} (seed {SEED}): {exc!r}\n{shown!r}") from exc


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_mutated_manifests_are_accepted_and_safe_or_rejected_by_wake(
        chunk: int, renderer: Renderer) -> None:
    size = -(-COUNT // CHUNKS)
    known = set(renderer.registry)

    def check(index: int, raw: bytes) -> None:
        source = renderer.root / "manifest.json"
        try:
            loaded = manifest.loads(raw, source, known_platforms=known)
        except WakeError as exc:
            str(exc).encode("utf-8")  # printable, whatever the input held
            return
        check_rendering(loaded, renderer)

    run_cases(range(chunk * size, min(COUNT, (chunk + 1) * size)), check)


def test_cases_are_reproducible_and_varied() -> None:
    assert case(7) == case(7)
    outcomes = {"accepted": 0, "rejected": 0}
    for index in range(300):
        try:
            manifest.loads(case(index), Path("/x/manifest.json"))
            outcomes["accepted"] += 1
        except WakeError:
            outcomes["rejected"] += 1
    # Both sides get exercised: a fuzzer that only produces garbage tests little.
    assert outcomes["accepted"] > 30 and outcomes["rejected"] > 30, outcomes
