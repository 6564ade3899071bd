"""The benchmark cases. Each returns rows for the results table; every wake figure
sits next to the alternative a user would otherwise run, measured in the same run."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import support
from .support import ROOT, WORK, doit, median_time, run


@dataclass(frozen=True)
class Row:
    case: str
    wake: str  # what wake runs
    wake_s: float
    other: str  # the alternative
    other_s: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.other_s / self.wake_s if self.wake_s else float("inf")


def _contexts(workspace: Path, app: str, folder: Path) -> list[Path]:
    """Each stage's build context as wake sends it, written to tar files in build order."""
    from wake.build import stages
    from wake.build.session import Session

    session = Session(workspace_file=workspace, only=(app,))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for node in stages.ordered(session.graph):
        path = folder / (node.replace(":", "_") + ".tar")
        with open(path, "wb") as out:
            session.materializer.get(node).write_context(out)
        paths.append(path)
    return paths


def _docker_build_all(contexts: list[Path]) -> Callable[[], None]:
    def build() -> None:
        for context in contexts:
            with open(context, "rb") as handle:
                subprocess.run(["docker", "build", "-q", "-"], stdin=handle, check=True,
                               capture_output=True)
    return build


def _site(url: str) -> Path:
    """bestsiteever with its extra repo served by the bench's git server."""
    folder = WORK / "site"
    app = folder / "bestsiteever"
    if not app.is_dir():
        shutil.copytree(ROOT / "examples" / "bestsiteever", app)
        (folder / "wake.toml").write_text('[[apps]]\npath = "bestsiteever"\n')
    manifest = json.loads((app / "manifest.json").read_text())
    manifest["repos"] = {"/opt/cache-buster": f"{url}/cache-buster.git"}
    (app / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder / "wake.toml"


def noop(runs: int, url: str) -> list[Row]:
    rows = []
    site = _site(url)
    big = support.big_app(WORK / "big")
    for label, workspace, app in (("bestsiteever", site, "bestsiteever"),
                                  ("10,000 files / 100 MB", big, "bigapp")):
        doit(workspace, f"build:{app}")  # make sure everything is built (untimed)
        wake_s = median_time(lambda w=workspace, a=app: doit(w, f"build:{a}"), runs)
        contexts = _contexts(workspace, app, WORK / "contexts" / app)
        docker_s = median_time(_docker_build_all(contexts), runs)
        rows.append(Row(f"no-op check, {label}", f"doit build:{app}", wake_s,
                        f"docker build of its {len(contexts)} stages, warm cache", docker_s))
    return rows


def hashing(runs: int) -> list[Row]:
    big = support.big_app(WORK / "big").parent / "bigapp"
    if not (big / ".git").is_dir():
        for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c",
                                                     "user.email=b@b", "commit", "-qm", "x"]):
            run(["git", *args], cwd=big)
    cache = WORK / "hash-cache.sqlite"
    probe = ("import sys; from pathlib import Path; "
             "from wake.build.tree import HashCache, hash_tree;"
             f"print(len(hash_tree(Path({str(big)!r}), HashCache(Path({str(cache)!r})))))")

    def wake_hash() -> None:
        run([support.PYTHON, "-c", probe], cwd=ROOT)

    def clear() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{cache}{suffix}").unlink(missing_ok=True)

    cold = median_time(wake_hash, runs, setup=clear)
    wake_hash()
    warm = median_time(wake_hash, runs)
    from wake.build.tree import HashCache, hash_tree

    warm_cache = HashCache(cache)
    in_process = median_time(lambda: hash_tree(big, warm_cache), runs)
    warm_cache.close()
    git = median_time(lambda: run(["git", "status", "--porcelain"], cwd=big), runs)
    sha = median_time(lambda: run(["sh", "-c", "find . -type f ! -path './.git/*' -print0 | "
                                   "xargs -0 sha256sum > /dev/null"], cwd=big), runs)
    return [
        Row("tree hashing, warm cache (10,000 files)", "wake, a new process", warm,
            "git status (the stat-only floor)", git,
            "target: wake within 3x git status; the process figure includes starting "
            "Python and importing wake (about 60 ms here)"),
        Row("tree hashing, warm cache (10,000 files)", "wake, in-process (library call)",
            in_process, "git status (the stat-only floor)", git),
        Row("tree hashing, cold cache (10,000 files)", "wake (read every file)", cold,
            "sha256sum of every file (the read floor)", sha),
    ]
