"""platforms/ and services/ ship inside the wheel and are found from there, not only
from a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_platforms_and_finds_them(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(ROOT)], check=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("wake-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("wake/platforms/_common/app-compile.Dockerfile.j2",
                     "wake/platforms/ruby/platform.toml", "wake/platforms/go/build.sh",
                     "wake/services/consul/bin/consul-agent",
                     "wake/services/registry/manifest.json"):
        assert expected in names
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    # Run from the unpacked wheel alone (not the checkout): platforms come from inside it.
    probe = ("import wake.build.platforms as p; print(p.builtin_dir()); "
             "print(sorted(p.load_all())); import wake.cluster.services as s; "
             "print(s.source_dir())")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin",
                                          "WAKE_HOME": str(tmp_path / "home")}, check=True)
    folder, platforms, services = done.stdout.splitlines()
    assert services == str(unpacked / "wake" / "services")
    assert folder == str(unpacked / "wake" / "platforms")
    assert platforms == "['go', 'node', 'plain', 'python', 'ruby']"
