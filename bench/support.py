"""Helpers shared by the benchmark cases: timing, synthetic apps, servers, machine facts."""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_PLATFORMS = ROOT / "bench" / "platforms"
WORK = Path(os.environ.get("WAKE_BENCH_DIR", "/var/tmp/wake-bench"))
PYTHON = sys.executable


def median_time(action: Callable[[], object], runs: int, setup: Callable[[], object] | None = None
                ) -> float:
    """Median wall time of `action` over `runs` runs (setup runs untimed before each)."""
    times = []
    for _ in range(runs):
        if setup:
            setup()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-3000:]}")
    return done


def doit(workspace: Path, *targets: str, env: dict[str, str] | None = None,
         command: str = "run") -> subprocess.CompletedProcess[str]:
    """What a user runs: doit with wake's dodo.py in the workspace's folder."""
    return run([PYTHON, "-m", "doit", command, "-f", str(ROOT / "dodo.py"),
                "-d", str(workspace.parent), *targets], env=env)


def tiny_workspace(folder: Path, count: int, processes: int = 3,
                   name: str = "wake.toml") -> Path:
    """`count` apps on the tiny platform, each with `processes` processes; the first
    apps of a bigger workspace are the same apps (same keys, same images)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(count):
        app_name = f"app{index:04d}"
        app = folder / app_name
        if not (app / "manifest.json").is_file():
            app.mkdir(exist_ok=True)
            (app / "tiny.txt").write_text(f"tiny app {index}\n")
            (app / "manifest.json").write_text(json.dumps({
                "name": app_name, "platform": "tiny",
                "processes": {f"p{n}": {"run": f"echo {app_name} p{n}", "cpu": 0.1,
                                        "memory": 32} for n in range(processes)}}))
        lines.append(f'[[apps]]\npath = "{app_name}"\n')
    (folder / name).write_text("\n".join(lines))
    return folder / name


def big_app(folder: Path, files: int = 10_000, total_mb: int = 100) -> Path:
    """A python app with `files` files of `total_mb` MB in all (deterministic content)."""
    app = folder / "bigapp"
    marker = app / ".complete"
    if marker.is_file():
        return folder / "wake.toml"
    shutil.rmtree(folder, ignore_errors=True)
    app.mkdir(parents=True)
    rng = random.Random(42)
    size = total_mb * 1024 * 1024 // files
    for index in range(files):
        path = app / f"pkg{index % 100:02d}" / f"sub{index % 7}" / f"mod{index:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    (app / "app.py").write_text("print('big app')\n")
    (app / "requirements.txt").write_text("# standard library only\n")
    (app / "manifest.json").write_text(json.dumps(
        {"name": "bigapp", "platform": "python", "processes": {"web": {"run": "python3 app.py"}}}))
    (folder / "wake.toml").write_text('[[apps]]\npath = "bigapp"\n')
    marker.write_text("")
    return folder / "wake.toml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def git_server(base: Path, repos: dict[str, Path]) -> Iterator[str]:
    """`git daemon` on loopback serving `repos` (name -> folder, committed with fixed dates)."""
    env = {"GIT_AUTHOR_NAME": "wake", "GIT_AUTHOR_EMAIL": "wake@localhost",
           "GIT_COMMITTER_NAME": "wake", "GIT_COMMITTER_EMAIL": "wake@localhost",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    base.mkdir(parents=True, exist_ok=True)
    for name, source in repos.items():
        bare = base / f"{name}.git"
        if not bare.is_dir():
            work = base / f"{name}.work"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(source, work)
            for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", name]):
                run(["git", *args], cwd=work, env=env)
            run(["git", "clone", "-q", "--bare", str(work), str(bare)])
            shutil.rmtree(work)
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--listen=127.0.0.1",
                               f"--port={port}", f"--base-path={base}", "--export-all", str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"git://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if run(["git", "ls-remote", f"{url}/{next(iter(repos))}.git"], check=False
                   ).returncode == 0:
                break
            time.sleep(0.1)
        yield url
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def machine() -> str:
    """A description of this machine for RESULTS.md."""
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    docker = run(["docker", "version", "--format", "{{.Server.Version}}"], check=False)
    images = run(["docker", "images", "-q", "--filter", "label=wake.key"], check=False)
    count = len(set(images.stdout.split()))
    return (f"{platform.platform()}; {os.cpu_count()} cores ({cpu}); {memory} RAM; "
            f"Python {platform.python_version()}; Docker engine "
            f"{docker.stdout.strip() or 'unknown'} holding {count} wake images (listing "
            "images costs the engine time per image it holds)")
