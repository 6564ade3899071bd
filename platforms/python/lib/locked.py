"""Print a lock file's pinned packages as pip requirements (with their hashes).

    python3 locked.py poetry.lock     # the main group (Poetry 1: category "main")
    python3 locked.py Pipfile.lock    # the "default" section

Runs in the app-compile stage with the image's python3 (standard library only).
pip then installs exactly these versions with --no-deps, checking every hash when
all of them have one: the versions in the image are the locked ones.
"""

import json
import sys
import tomllib
from pathlib import Path


def poetry(path: Path) -> list[str]:
    data = tomllib.loads(path.read_text())
    lines = []
    for package in data.get("package", []):
        groups = package.get("groups")  # Poetry 2
        if groups is None and "category" in package:  # Poetry 1
            groups = [package["category"]]
        if groups is not None and "main" not in groups:
            continue
        markers = package.get("markers")
        if isinstance(markers, dict):  # Poetry 2: per group
            markers = markers.get("main")
        source = package.get("source") or {}
        kind = source.get("type")
        if kind == "git":
            ref = source.get("resolved_reference") or source.get("reference") or ""
            line = f"{package['name']} @ git+{source['url']}@{ref}"
        elif kind in ("url", "file", "directory"):
            line = f"{package['name']} @ {source['url']}"
        else:
            line = f"{package['name']}=={package['version']}"
        if markers:
            line += f" ; {markers}"
        hashes = [f["hash"] for f in package.get("files", []) if f.get("hash")]
        if kind is None and hashes:
            line += "".join(f" --hash={h}" for h in hashes)
        lines.append(line)
    return lines


def pipfile(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    lines = []
    for name, entry in sorted((data.get("default") or {}).items()):
        if "git" in entry:
            line = f"{name} @ git+{entry['git']}@{entry.get('ref', '')}"
        elif "file" in entry or "path" in entry:
            line = f"{name} @ {entry.get('file') or entry['path']}"
        else:
            line = f"{name}{entry.get('version', '')}"
        if entry.get("markers"):
            line += f" ; {entry['markers']}"
        if "version" in entry and entry.get("hashes"):
            line += "".join(f" --hash={h}" for h in entry["hashes"])
        lines.append(line)
    return lines


def main() -> int:
    path = Path(sys.argv[1])
    lines = poetry(path) if path.name == "poetry.lock" else pipfile(path)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
