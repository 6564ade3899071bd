"""platforms/python/lib/locked.py: a lock file's pins as pip requirements, hashes kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "platforms" / "python" / "lib" / "locked.py"

POETRY_2 = '''
[[package]]
name = "fastapi"
version = "0.112.1"
groups = ["main"]
files = [
    {file = "fastapi-0.112.1-py3-none-any.whl", hash = "sha256:aaa"},
    {file = "fastapi-0.112.1.tar.gz", hash = "sha256:bbb"},
]

[[package]]
name = "colorama"
version = "0.4.6"
groups = ["main", "dev"]
markers = {main = "platform_system == \\"Windows\\"", dev = "sys_platform == \\"win32\\""}
files = [{file = "colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:ccc"}]

[[package]]
name = "pytest"
version = "8.0.0"
groups = ["dev"]
files = [{file = "pytest-8.0.0-py3-none-any.whl", hash = "sha256:ddd"}]

[metadata]
lock-version = "2.1"
'''

POETRY_1 = '''
[[package]]
name = "requests"
version = "2.31.0"
category = "main"

[[package]]
name = "black"
version = "24.1.0"
category = "dev"

[metadata.files]
'''


def convert(tmp_path: Path, name: str, text: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    out = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()


def test_poetry_2_main_group_with_hashes_and_markers(tmp_path: Path) -> None:
    assert convert(tmp_path, "poetry.lock", POETRY_2) == [
        "fastapi==0.112.1 --hash=sha256:aaa --hash=sha256:bbb",
        'colorama==0.4.6 ; platform_system == "Windows" --hash=sha256:ccc',
    ]


def test_poetry_1_categories(tmp_path: Path) -> None:
    assert convert(tmp_path, "poetry.lock", POETRY_1) == ["requests==2.31.0"]


def test_pipfile_lock_default_section(tmp_path: Path) -> None:
    lock = {"_meta": {}, "default": {
        "flask": {"version": "==3.0.3", "hashes": ["sha256:eee", "sha256:fff"]},
        "tomli": {"version": "==2.0.1", "hashes": ["sha256:111"],
                  "markers": "python_version < '3.11'"},
        "mylib": {"git": "https://git.example.com/mylib.git", "ref": "abc123"},
    }, "develop": {"pytest": {"version": "==8.0.0", "hashes": ["sha256:222"]}}}
    assert convert(tmp_path, "Pipfile.lock", json.dumps(lock)) == [
        "flask==3.0.3 --hash=sha256:eee --hash=sha256:fff",
        "mylib @ git+https://git.example.com/mylib.git@abc123",
        "tomli==2.0.1 ; python_version < '3.11' --hash=sha256:111",
    ]
