"""`wake clusters` against a real Consul agent, and clusters.json surviving SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from .conftest import free_port


def wake(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wake.cli", *args], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "WAKE_HOME": str(home), **env})


def test_add_use_show_list_remove(tmp_path: Path, consul_agent: str) -> None:
    home = tmp_path / "home"
    added = wake(home, "clusters", "add", "prod", "--consul", consul_agent)
    assert added.returncode == 0, added.stderr
    assert wake(home, "clusters", "add", "staging", "--consul", consul_agent).returncode == 0

    file = home / "clusters.json"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    data = json.loads(file.read_text())
    assert data["current"] == "prod"  # the first one added
    assert data["clusters"]["staging"]["consul"] == consul_agent

    assert "* prod" in wake(home, "clusters", "list").stdout
    assert wake(home, "clusters", "use", "staging").returncode == 0
    assert "* staging" in wake(home, "clusters", "list").stdout
    assert "* prod" in wake(home, "clusters", "list", WAKE_CLUSTER="prod").stdout
    assert "* prod" in wake(home, "--cluster", "prod", "clusters", "list").stdout

    shown = wake(home, "clusters", "show")
    assert shown.returncode == 0, shown.stderr
    assert "cluster  staging" in shown.stdout
    assert "leader   127.0.0.1:" in shown.stdout and "servers  127.0.0.1:" in shown.stdout

    assert wake(home, "clusters", "remove", "staging").returncode == 0
    data = json.loads(file.read_text())
    assert set(data["clusters"]) == {"prod"} and data["current"] is None
    missing = wake(home, "clusters", "use", "staging")
    assert missing.returncode == 2 and "no cluster named 'staging'" in missing.stderr


def test_add_where_nothing_answers_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = wake(home, "clusters", "add", "ghost", "--consul", f"127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "Consul at 127.0.0.1:" in done.stderr
    assert "no answer (connection refused)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "clusters.json").exists()


def test_corrupt_file_is_reported_and_never_overwritten(tmp_path: Path,
                                                         consul_agent: str) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "clusters.json").write_text('{"version": 1, "clusters": {')
    for args in (["clusters", "list"], ["clusters", "add", "x", "--consul", consul_agent]):
        done = wake(home, *args)
        assert done.returncode == 2
        assert "clusters.json is corrupt" in done.stderr and "will not overwrite" in done.stderr
    assert (home / "clusters.json").read_text() == '{"version": 1, "clusters": {'


WRITER = """
import sys
from wake.cluster import clusters
from wake.cluster.clusters import Cluster, Clusters
print("ready", flush=True)  # the kill lands during writes, not during the imports
n = 0
while True:
    n += 1
    names = {f"c{i}": Cluster(f"c{i}", f"127.0.0.1:{8500 + i}") for i in range(n % 50 + 1)}
    clusters.save(Clusters(current="c0", clusters=names))
"""


def test_clusters_json_survives_sigkill_during_writes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "WAKE_HOME": str(home)}
    seen = set()
    for attempt in range(40):
        writer = subprocess.Popen([sys.executable, "-c", WRITER], env=env,
                                  stdout=subprocess.PIPE)
        assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
        time.sleep(0.05 + (attempt % 7) * 0.013)  # kill at varied points of a write
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        file = home / "clusters.json"
        if not file.exists():
            continue  # killed before the first rename: nothing, not half of something
        data = json.loads(file.read_text())  # always parses: old or new, never a mix
        assert set(data) == {"version", "current", "clusters"}
        assert data["current"] == "c0" and "c0" in data["clusters"]
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        seen.add(len(data["clusters"]))
    assert seen, "the writer never completed a write"
