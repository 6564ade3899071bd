"""One source file edited: wake against a hand-written multi-stage Dockerfile that copies
the lock file first (the fair alternative), on a warm engine and on a fresh one that has
only a registry.

Apps: tests/apps/express-lock (npm, real dependencies from the npm registry) and
tests/apps/django-static (pip, real dependencies from PyPI, collectstatic), and
tests/apps/go-stdlib on a warm engine only (wake keeps Go's build cache in a volume; the
classic builder's Dockerfile compiles the standard library on every edit). Each run
appends a comment to one source file in both copies, then times `doit build:APP` and
`docker build` of the Dockerfile.

Fresh engine: a second, empty dockerd of the bench's own (the base image loaded into it),
with the registry wake pushed to on the first engine (`WAKE_REGISTRY`); wake pulls what
is unchanged - the dependencies - and builds the rest (pushing what it built, as a CI
build with the registry cache does). The Dockerfile gets what Docker offers there:
`--cache-from` the previous image pulled from the same registry (the classic builder can
reuse only the final stage's layers that way), and then pushes what it built, as wake
does: the new image (what a deploy pulls) and its build stage (the next run's cache).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .support import ROOT, WORK, doit, free_port, median_time, run

APPS = ROOT / "tests" / "apps"
CA = Path("/etc/ssl/certs/ca-certificates.crt")

NODE = """\
# A hand-written multi-stage Dockerfile, lock file first (dependencies are reused by the
# layer cache when only source changes). Written for this app: it has no build script,
# so production dependencies alone and no build step.
FROM {base} AS build
ENV DEBIAN_FRONTEND=noninteractive NODE_EXTRA_CA_CERTS=/ca.pem npm_config_cafile=/ca.pem
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY ca.pem /ca.pem
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .

FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends nodejs ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app /app
WORKDIR /app
USER nobody
CMD ["node", "server.js"]
"""

PYTHON = """\
# A hand-written multi-stage Dockerfile, requirements first.
FROM {base} AS build
ENV DEBIAN_FRONTEND=noninteractive PIP_CERT=/ca.pem PATH=/app/.venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \\
    ca-certificates && rm -rf /var/lib/apt/lists/*
COPY ca.pem /ca.pem
WORKDIR /app
COPY requirements.txt ./
RUN python3 -m venv .venv && pip install --no-cache-dir -r requirements.txt
COPY . .
RUN python manage.py collectstatic --noinput

FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends python3 ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH
USER nobody
CMD ["gunicorn", "mysite.wsgi", "--bind", "0.0.0.0:8000"]
"""

GO = """\
# A hand-written multi-stage Dockerfile, go.mod first. The classic builder (wake's, and
# the one on an engine without buildx) has no cache mounts: every source edit compiles
# the standard library again (BuildKit's RUN --mount=type=cache would keep it).
FROM {base} AS build
ENV DEBIAN_FRONTEND=noninteractive CGO_ENABLED=0 GOFLAGS=-trimpath SSL_CERT_FILE=/ca.pem
RUN apt-get update && apt-get install -y --no-install-recommends golang-go ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY ca.pem /ca.pem
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /out/ ./...

FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /app/
USER nobody
CMD ["/app/gostdlib"]
"""

CASES = {"express-lock": ("server.js", NODE), "django-static": ("pages/views.py", PYTHON),
         "go-stdlib": ("main.go", GO)}
# The fresh-engine case (minutes per run) for these; Go's point is its build cache,
# which a fresh engine does not have.
FRESH = ("express-lock", "django-static")


@dataclass(frozen=True)
class Result:
    app: str
    warm_wake: float
    warm_docker: float
    fresh_wake: float | None  # None: not measured (FRESH)
    fresh_docker: float | None
    fresh_actions: dict[str, str]  # stage -> built / pulled, wake's fresh-engine run


def _prepare(app: str, base: str) -> tuple[Path, Path]:
    """A wake workspace and a Dockerfile context of the same app (fresh copies)."""
    folder = WORK / "incremental" / app
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(APPS / app, folder / "ws" / app,
                    ignore=shutil.ignore_patterns("node_modules", ".venv", "dist"))
    (folder / "ws" / "wake.toml").write_text(f'[[apps]]\npath = "{app}"\n')
    context = folder / "dockerfile"
    shutil.copytree(APPS / app, context,
                    ignore=shutil.ignore_patterns("node_modules", ".venv", "dist"))
    shutil.copy(CA, context / "ca.pem")
    (context / "Dockerfile").write_text(CASES[app][1].format(base=base))
    (context / ".dockerignore").write_text("node_modules\n.venv\nDockerfile\n")
    return folder / "ws" / "wake.toml", context


def _edit(*files: Path) -> None:
    mark = f"\n// bench edit {uuid.uuid4().hex}\n" if files[0].suffix in (".js", ".go") \
        else f"\n# bench edit {uuid.uuid4().hex}\n"
    for path in files:
        with open(path, "a") as handle:
            handle.write(mark)


def _docker(context: Path, tag: str, env: dict[str, str] | None = None,
            cache_from: tuple[str, ...] = (), target: str | None = None) -> None:
    # The classic builder, as wake uses it (and as an engine without buildx has).
    env = {**(env or {}), "DOCKER_BUILDKIT": "0"}
    args = ["docker", "build", "-q", "-t", tag]
    for image in cache_from:
        args += ["--cache-from", image]
    if target:
        args += ["--target", target]
    run([*args, str(context)], env=env)


@contextlib.contextmanager
def registry() -> Iterator[str]:
    """Debian's docker-registry on a free loopback port, stopped by its handle."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="wake-bench-registry-"))
    (data / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
        f"{data / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    server = subprocess.Popen(["docker-registry", "serve", str(data / "config.yml")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2))
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def empty_engine(base: str) -> Iterator[str]:
    """A second dockerd of the bench's own on its own bridge, holding only the base image;
    yields its DOCKER_HOST. Stopped and removed afterwards by its process handle."""
    ident = uuid.uuid4().hex[:8]
    bridge = f"wb{ident}"
    work = Path(tempfile.mkdtemp(prefix=f"wb{ident}", dir="/tmp"))
    run(["ip", "link", "add", bridge, "type", "bridge"])
    daemon = None
    try:
        run(["ip", "addr", "add", f"10.{int(ident[:2], 16)}.{int(ident[2:4], 16)}.1/24",
             "dev", bridge])
        run(["ip", "link", "set", bridge, "up"])
        url = f"unix://{work / 'docker.sock'}"
        with open(work / "log", "wb") as log:
            daemon = subprocess.Popen(
                ["dockerd", "--data-root", str(work / "data"), "--exec-root",
                 str(work / "exec"), "--pidfile", str(work / "pid"), "-H", url,
                 "--bridge", bridge, "--iptables=false", "--ip-masq=false",
                 "--ip-forward=false"], stdout=log, stderr=subprocess.STDOUT)
        _wait(lambda: run(["docker", "-H", url, "info"]), timeout=60)
        save = subprocess.Popen(["docker", "save", base], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", url, "load", "-q"], stdin=save.stdout, check=True,
                       capture_output=True)
        save.wait()
        yield url
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=60)
        run(["ip", "link", "del", bridge], check=False)
        shutil.rmtree(work, ignore_errors=True)


def _wait(check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _actions(output: str) -> dict[str, str]:
    """stage -> action from wake's outcome lines ("built   build:x:app-compile  ...")."""
    found = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("built", "pulled", "reused"):
            found[words[1]] = words[0]
    return found


def _fill_registry(workspace: Path, app: str, reg: str) -> None:
    """Push every stage of the workspace to the registry: the cache a CI machine has after
    earlier builds that used it (a build pushes what it builds, release images also as
    their repository's last; these stages were built here before the registry existed,
    so a build now would push nothing)."""
    from wake import engine
    from wake import registry as wake_registry
    from wake.build import stages
    from wake.build.session import Session

    doit(workspace, f"build:{app}")  # the timed runs' last edit, built
    session = Session(workspace_file=workspace)
    client = engine.connect()
    for node in stages.ordered(session.graph):
        wake_registry.push(client, reg, session.materializer.get(node).tag,
                           as_last=session.graph.stage(node).kind == stages.RELEASE)


def measure(runs: int, base: str = "debian:bookworm-slim") -> list[Result]:
    with registry() as reg:
        return [_one(app, source, reg, runs, base) for app, (source, _) in CASES.items()]


def _one(app: str, source: str, reg: str, runs: int, base: str) -> Result:
    workspace, context = _prepare(app, base)
    wake_file, docker_file = workspace.parent / app / source, context / source
    tag = f"wake-bench/{app}-dockerfile"
    doit(workspace, f"build:{app}")  # warm both (untimed)
    _docker(context, tag)
    warm_wake = median_time(lambda: doit(workspace, f"build:{app}"), runs,
                            setup=lambda: _edit(wake_file, docker_file))
    warm_docker = median_time(lambda: _docker(context, tag), runs,
                              setup=lambda: _edit(wake_file, docker_file))
    if app not in FRESH:
        run(["docker", "rmi", tag], check=False)
        return Result(app, warm_wake, warm_docker, None, None, {})
    # The registry cache a CI machine would have: every current stage pushed (untimed).
    env = {"WAKE_REGISTRY": reg}
    _fill_registry(workspace, app, reg)
    # The previous Dockerfile images go to the registry, as a CI cache would: the final
    # image and its build stage (the classic builder caches a stage only from an image
    # of that stage: the final image alone would leave the dependency install uncached).
    _docker(context, f"{tag}-build", target="build")
    remotes = (f"{reg}/{tag}:previous", f"{reg}/{tag}:previous-build")
    for local, remote in zip((tag, f"{tag}-build"), remotes, strict=True):
        run(["docker", "tag", local, remote])
        run(["docker", "push", remote])
        run(["docker", "rmi", remote])
    run(["docker", "rmi", f"{tag}-build"], check=False)
    fresh_wake, fresh_docker, actions = [], [], {}
    for _ in range(max(1, runs - 2)):  # fresh runs are slow and noisy: 3 of 5
        _edit(wake_file, docker_file)
        with empty_engine(base) as url:
            home = str(WORK / "home-fresh" / uuid.uuid4().hex)
            started = time.perf_counter()
            out = doit(workspace, f"build:{app}",
                       env={"DOCKER_HOST": url, "WAKE_HOME": home, **env}).stdout
            fresh_wake.append(time.perf_counter() - started)
            actions = _actions(out)
        with empty_engine(base) as url:  # an engine of its own: nothing of wake's run
            started = time.perf_counter()
            for remote in remotes:
                run(["docker", "-H", url, "pull", "-q", remote])
            _docker(context, tag, env={"DOCKER_HOST": url}, cache_from=remotes)
            _docker(context, f"{tag}-build", env={"DOCKER_HOST": url},
                    cache_from=remotes, target="build")
            for local, remote in zip((tag, f"{tag}-build"), remotes, strict=True):
                run(["docker", "-H", url, "tag", local, f"{remote}-next"])
                run(["docker", "-H", url, "push", "-q", f"{remote}-next"])
            fresh_docker.append(time.perf_counter() - started)
    run(["docker", "rmi", tag], check=False)
    return Result(app, warm_wake, warm_docker, statistics.median(fresh_wake),
                  statistics.median(fresh_docker), actions)


if __name__ == "__main__":  # python -m bench.incremental: a quick look, one run each
    os.environ.setdefault("WAKE_CA_BUNDLE", str(CA))
    for result in measure(1):
        print(result)
