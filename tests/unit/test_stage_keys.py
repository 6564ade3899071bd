"""Stage keys end to end (planner + tree + keys), without an engine: a stage's key
depends on content only - not on file order, folder path or mtimes."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import tarfile
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wake import settings as settings_mod
from wake.build import stages, workspace
from wake.build.materialize import Materialized, Materializer
from wake.build.tree import HashCache

NAMES = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
TREES = st.dictionaries(
    st.lists(NAMES, min_size=1, max_size=3).map("/".join).filter(
        lambda p: not p.startswith("manifest.json")),
    st.binary(max_size=64), min_size=1, max_size=8)
MANIFEST = {"name": "shop", "platform": "python",
            "processes": {"web": {"run": "python3 app.py"}, "worker": {"run": "python3 w.py"}}}


def write_app(folder: Path, files: dict[str, bytes], order_seed: int,
              manifest: dict[str, object] = MANIFEST) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    items = list(files.items())
    random.Random(order_seed).shuffle(items)  # creation order (and so inode order) varies
    for rel, data in items:
        path = folder / rel
        if path.exists() or any(p.is_file() for p in path.parents if p != folder
                                and str(p).startswith(str(folder))):
            continue  # a name used both as file and folder: keep the first
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = random.Random(order_seed + len(rel)).randint(1, 2_000_000_000)
        os.utime(path, (stamp, stamp))
    (folder.parent / "wake.toml").write_text(f'[[apps]]\npath = "{folder.name}"\n')
    return folder.parent / "wake.toml"


def planner_for(workspace_file: Path) -> Materializer:
    """The workspace's materializer without an engine (the base image's id fixed)."""
    graph = stages.build_graph(workspace.load(workspace_file))
    planner = Materializer(graph, settings_mod.load(), client_factory=lambda: None,  # type: ignore
                           cache=HashCache(workspace_file.parent / "hashes.sqlite"))
    planner.assume_base_id("sha256:" + "0" * 64)  # the engine's answer, fixed for the test
    return planner


def context_dockerfile(material: Materialized) -> str:
    """The Dockerfile a stage's build context holds."""
    out = io.BytesIO()
    material.write_context(out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        handle = tar.extractfile("Dockerfile")
        assert handle is not None
        return handle.read().decode()


def keys(workspace_file: Path) -> dict[str, str]:
    planner = planner_for(workspace_file)
    return {node: planner.get(node).key for node in planner.graph}


def written_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=TREES, seed_a=st.integers(0, 1000), seed_b=st.integers(0, 1000))
def test_same_content_in_any_order_path_or_mtime_gives_the_same_keys(
        files: dict[str, bytes], seed_a: int, seed_b: int) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        first = write_app(Path(a) / "x" / "shop", files, seed_a)
        second = write_app(Path(b) / "somewhere" / "else" / "shop", files, seed_b)
        # Both folders must hold the same files for the comparison to mean anything.
        same = written_files(first.parent / "shop") == written_files(second.parent / "shop")
        if same:
            assert keys(first) == keys(second)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=TREES, data=st.data())
def test_any_content_change_changes_app_compile_and_releases(files: dict[str, bytes],
                                                             data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = write_app(Path(tmp) / "shop", files, 0)
        before = keys(ws)
        present = sorted(written_files(Path(tmp) / "shop"))
        victim = data.draw(st.sampled_from(present))
        path = Path(tmp) / "shop" / victim
        path.write_bytes(path.read_bytes() + data.draw(st.binary(min_size=1, max_size=8)))
        after = keys(ws)
    changed = {node for node in before if before[node] != after[node]}
    assert changed == {"build:shop:app-compile", "build:shop:release-web",
                       "build:shop:release-worker"}


def test_changing_one_run_changes_only_that_process_key(tmp_path: Path) -> None:
    ws = write_app(tmp_path / "shop", {"app.py": b"print(1)\n"}, 0)
    before = keys(ws)
    edited = json.loads(json.dumps(MANIFEST))
    edited["processes"]["worker"]["run"] = "python3 w.py --fast"
    (tmp_path / "shop" / "manifest.json").write_text(json.dumps(edited))
    after = keys(ws)
    assert {n for n in before if before[n] != after[n]} == {"build:shop:release-worker"}


def test_gitignored_and_wakeignored_files_do_not_change_keys(tmp_path: Path) -> None:
    ws = write_app(tmp_path / "shop", {"app.py": b"print(1)\n", ".gitignore": b"*.log\n",
                                       ".wakeignore": b"scratch/\n"}, 0)
    before = keys(ws)
    (tmp_path / "shop" / "debug.log").write_text("noise")
    (tmp_path / "shop" / "scratch").mkdir()
    (tmp_path / "shop" / "scratch" / "notes.txt").write_text("noise")
    assert keys(ws) == before


def test_copying_the_app_elsewhere_keeps_every_key(tmp_path: Path) -> None:
    ws = write_app(tmp_path / "a" / "shop", {"app.py": b"x", "lib/util.py": b"y"}, 1)
    shutil.copytree(tmp_path / "a", tmp_path / "b" / "deeper")
    assert keys(ws) == keys(tmp_path / "b" / "deeper" / "wake.toml")


def test_build_context_dockerfile_keeps_every_instruction_on_its_own_line(
        tmp_path: Path) -> None:
    ws = write_app(tmp_path / "shop", {"app.py": b"x"}, 0)
    planner = planner_for(ws)
    for node in planner.graph:
        material = planner.get(node)
        if material.late_files:  # needs an engine; the Dockerfile does not depend on it
            material = type(material)(**{**material.__dict__, "late_files": None})
        lines = context_dockerfile(material).splitlines()
        label_lines = [line for line in lines if "wake.key=" in line]
        assert len(label_lines) == 1 and label_lines[0].startswith("LABEL "), node
        assert all(not line.rstrip().endswith("LABEL") and "LABEL wake.app" not in line[6:]
                   for line in lines), node
