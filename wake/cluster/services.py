"""wake's own cluster services (Consul, rsyslog, the registry, the cron scheduler, the
dependency proxy) as wake apps.

The manifests live in `services/` (shipped in the wheel as `wake/services`). They are
copied into `$WAKE_HOME/services/` together with this machine's consul binary and built
with the ordinary build graph, so a service image is rebuilt exactly when its files,
its platform or the consul binary change.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..build import stages
from ..errors import WakeError
from ..settings import wake_home

CONSUL = "wake-consul"
RSYSLOG = "wake-rsyslog"
REGISTRY = "wake-registry"
SCHEDULER = "wake-scheduler"
PROXY = "wake-proxy"
# app name -> its one process
PROCESSES = {CONSUL: "agent", RSYSLOG: "master", REGISTRY: "registry",
             SCHEDULER: "scheduler", PROXY: "proxy"}
FOLDERS = {CONSUL: "consul", RSYSLOG: "rsyslog", REGISTRY: "registry",
           SCHEDULER: "scheduler", PROXY: "proxy"}
# The services that run wake's own Python code (copied in with what it imports).
PYTHON_SERVICES = (SCHEDULER, PROXY)


@cache
def source_dir() -> Path:
    """services/ inside an installed wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parents[1]  # the wake package
    for candidate in (here / "services", here.parent / "services"):
        if (candidate / "consul" / "manifest.json").is_file():
            return candidate
    raise WakeError(f"wake's services folder is missing (looked in {here / 'services'} and "
                    f"{here.parent / 'services'}); reinstall wake")


def consul_binary() -> Path:
    found = shutil.which("consul")
    if not found:
        raise WakeError("no consul binary on PATH: the cluster's Consul image needs one. "
                        "Debian 12 has no package; `bash scripts/get-consul.sh` installs "
                        "Debian 11's consul 1.8.7 into /usr/local/bin")
    return Path(found).resolve()


# What the scheduler and the proxy import beyond the standard library (with what these
# require).
SERVICE_LIBRARIES = ("docker", "py-consul", "tenacity", "cronsim")


def python_files() -> dict[Path, Path]:
    """The Python code of the scheduler and the proxy, relative path in their images ->
    file here: the wake package and the libraries it imports, copied from the environment
    wake runs in (so building the images needs no package index; Debian's python3 runs
    them)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    package = Path(__file__).resolve().parents[1]
    found = {Path("wake") / p.relative_to(package): p for p in package.rglob("*.py")}
    todo, seen = list(SERVICE_LIBRARIES), set()
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise WakeError(f"the cluster's services need the Python package {name}, which is "
                            "not installed where wake runs; reinstall wake") from None
        for line in dist.requires or []:
            wanted = Requirement(line)
            if wanted.marker is None or wanted.marker.evaluate({"extra": ""}):
                todo.append(wanted.name)
        for item in dist.files or []:
            parts = item.parts
            if (parts[0].endswith((".dist-info", ".egg-info")) or parts[0] in ("..", "bin")
                    or "__pycache__" in parts or item.suffix == ".pyc"):
                continue
            found[Path(*parts)] = Path(str(dist.locate_file(item)))
    return found


def _sync_file(source: Path, target: Path) -> None:
    """Copy unless the target already has the same size and mtime (consul is ~100 MB)."""
    if target.is_file():
        a, b = source.stat(), target.stat()
        if a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime):
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def materialize(home: Path | None = None) -> Path:
    """Write the services workspace under $WAKE_HOME/services; returns its wake.toml."""
    root = (home or wake_home()) / "services"
    for app, folder in FOLDERS.items():
        src = source_dir() / folder
        dst = root / folder
        wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
        for rel in wanted:
            _sync_file(src / rel, dst / rel)
        if app == CONSUL:
            _sync_file(consul_binary(), dst / "bin" / "consul")
            wanted.add(Path("bin/consul"))
        if app in PYTHON_SERVICES:  # wake's own code and the libraries it imports, as is
            for rel, source in python_files().items():
                _sync_file(source, dst / rel)
                wanted.add(rel)
        # Files removed from the source go from the copy too (they would change the key).
        for stale in [p for p in dst.rglob("*") if p.is_file()]:
            if stale.relative_to(dst) not in wanted:
                stale.unlink()
    toml = root / "wake.toml"
    text = "# wake's cluster services (written by wake; see services/README.md)\n" + "".join(
        f'\n[[apps]]\npath = "{folder}"\n' for folder in FOLDERS.values())
    if not toml.is_file() or toml.read_text() != text:
        toml.write_text(text)
    return toml


@dataclass(frozen=True)
class ServiceImages:
    consul: str
    rsyslog: str
    registry: str
    scheduler: str
    proxy: str

    def all(self) -> list[str]:
        return [self.consul, self.rsyslog, self.registry, self.scheduler, self.proxy]

    def every_host(self) -> list[str]:
        """What runs on every host (the first host runs all)."""
        return [self.consul, self.scheduler, self.proxy]


def build(say: Callable[[str], None] | None = None) -> ServiceImages:
    """Build (or find up to date) the service images; returns their tags."""
    from ..build.builder import Builder
    from ..build.session import Session

    session = Session(workspace_file=materialize())
    builder = Builder(session.materializer, say=say) if say else session.builder
    for node in stages.ordered(session.graph):
        builder.ensure(node)
    tags = {app: session.materializer.get(stages.app_task(app, f"release-{process}")).tag
            for app, process in PROCESSES.items()}
    return ServiceImages(tags[CONSUL], tags[RSYSLOG], tags[REGISTRY], tags[SCHEDULER],
                         tags[PROXY])
