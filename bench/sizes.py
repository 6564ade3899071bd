"""Release image sizes per example, beside what a user gets by hand: the same base image
plus the app's runtime packages installed with apt (lists removed), plus the app.

Also checks what no image may carry: apt's package caches and downloaded packages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

from .support import ROOT, WORK, doit

EXAMPLES = ("python-hello", "node-hello", "go-hello", "bestsiteever")
LEFTOVERS = ("find /var/cache/apt -maxdepth 1 -name '*.bin'; "
             "find /var/cache/apt/archives -name '*.deb'")


@dataclass(frozen=True)
class Size:
    app: str
    platform: str
    wake_mb: float
    by_hand_mb: float
    packages: tuple[str, ...]
    leftovers: str


def _size(image: str) -> float:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", image],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip()) / 1e6


def measure(url: str, base: str = "debian:bookworm-slim") -> list[Size]:
    from wake.build import stages
    from wake.build.session import Session

    folder = WORK / "sizes"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for app in EXAMPLES:
        shutil.copytree(ROOT / "examples" / app, folder / app)
    site = json.loads((folder / "bestsiteever" / "manifest.json").read_text())
    site["repos"] = {"/opt/cache-buster": f"{url}/cache-buster.git"}
    (folder / "bestsiteever" / "manifest.json").write_text(json.dumps(site))
    (folder / "wake.toml").write_text("".join(f'[[apps]]\npath = "{a}"\n' for a in EXAMPLES))
    doit(folder / "wake.toml", "build")
    session = Session(workspace_file=folder / "wake.toml")
    found = []
    for app in EXAMPLES:
        entry = session.workspace.app(app)
        packages = entry.platform.release_packages
        tag = session.materializer.get(stages.app_task(app, "release-web")).tag
        by_hand = f"wake-bench/by-hand-{app}"
        dockerfile = (f"FROM {base}\nRUN apt-get update && apt-get install -y "
                      f"--no-install-recommends {' '.join(packages)} "
                      "&& rm -rf /var/lib/apt/lists/*\nCOPY . /opt/app\n")
        context = folder / app
        (context / "Dockerfile.by-hand").write_text(dockerfile)
        subprocess.run(["docker", "build", "-q", "-f", str(context / "Dockerfile.by-hand"),
                        "-t", by_hand, str(context)], check=True, capture_output=True,
                       env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
        leftovers = subprocess.run(["docker", "run", "--rm", "--user", "root", tag, "sh", "-c",
                                    LEFTOVERS], capture_output=True, text=True).stdout.strip()
        found.append(Size(app, entry.platform.label, _size(tag), _size(by_hand), packages,
                          leftovers))
        subprocess.run(["docker", "rmi", by_hand], capture_output=True)
    return found


def table(rows: list[Size], base: str = "debian:bookworm-slim") -> str:
    lines = [f"| app | platform | wake's release image | {base} + runtime packages by hand "
             "+ the app | wake / by hand | apt caches or .deb files |",
             "|---|---|---:|---:|---:|---|"]
    for r in rows:
        clean = "none" if not r.leftovers else "FOUND"
        lines.append(f"| {r.app} | {r.platform} | {r.wake_mb:.0f} MB | {r.by_hand_mb:.0f} MB "
                     f"| {r.wake_mb / r.by_hand_mb:.2f} | {clean} |")
    lines.append("")
    lines.append("By hand: `FROM " + base + "`, `apt-get install --no-install-recommends` of "
                 "the platform's runtime packages (" + "; ".join(
                     f"{r.platform}: {' '.join(r.packages)}" for r in rows)
                 + "), lists removed, the app's folder copied in. wake's images add the "
                 "compiled app (dependencies included) and an unprivileged user.")
    return "\n".join(lines)


if __name__ == "__main__":  # a quick look: python -m bench.sizes GIT_URL
    import sys

    print(table(measure(sys.argv[1])))
