"""The manifest's values: frozen dataclasses and the limits validation enforces."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "manifest.json"
# Names become image names, container names and DNS labels: the intersection
# of those rules is a lowercase RFC 1123 label.
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
NAME_MAX = 63
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIN_MEMORY_MB = 16
MAX_MEMORY_MB = 16 * 1024 * 1024  # 16 TiB
MIN_CPU = 0.01  # Docker's smallest --cpus
MAX_CPU = 1024
# Longer JSON integers are kept as _HugeNumber: Python refuses to convert ints of
# over 4300 digits, and no field needs more than a few.
MAX_INT_DIGITS = 64
# Characters that may not appear in chdir and repo targets: Docker's WORKDIR and
# COPY expand `$`, treat `\` and quotes as escapes, and split on whitespace; a
# line break would start a new Dockerfile instruction.
UNSAFE_PATH_RE = re.compile(r"""[\s\x00-\x1f\x7f-\x9f$\\"']""")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SURROGATE_RE = re.compile("[\ud800-\udfff]")
# What git's check-ref-format refuses anywhere in a ref name.
BAD_REF_RE = re.compile(r"[\s\x00-\x1f\x7f~^:?*\[\\]|\.\.|@\{")
DEFAULT_CHDIR = "/opt/app"
DEFAULT_CPU = 1.0
DEFAULT_MEMORY_MB = 512
# Paths the process image owns; extra repos may not be cloned over them.
RESERVED_PATHS = ("/opt/app", "/opt/run")
TOP_KEYS = ("platform", "name", "owner", "repos", "processes", "cron_jobs", "env",
            "dependencies", "build", "build_env", "build_secrets", "user")
# Who release images run as: a user wake's platform stages make (uid 10001), or root.
USERS = ("wake", "root")
DEFAULT_USER = "wake"
PROCESS_KEYS = ("chdir", "run", "cpu", "memory", "instances", "health", "stop_timeout")
HEALTH_KEYS = ("path", "grace", "deadline")
DEFAULT_HEALTH_PATH = "/_health"
DEFAULT_DEADLINE = 60.0
DEFAULT_STOP_TIMEOUT = 10
MAX_INSTANCES = 100
MAX_SECONDS = 3600
CRON_KEYS = ("name", "run", "chdir", "cpu", "memory", "timeout")
DEFAULT_CRON_TIMEOUT = 3600  # seconds a run may take before it is stopped
MAX_CRON_TIMEOUT = 86400
REPO_KEYS = ("url", "ref")


@dataclass(frozen=True)
class Process:
    name: str
    run: str
    chdir: str = DEFAULT_CHDIR
    cpu: float = DEFAULT_CPU
    memory: int = DEFAULT_MEMORY_MB
    # How deploys run it (not in its image's key: scaling rebuilds nothing).
    instances: int = 1
    health_path: str | None = DEFAULT_HEALTH_PATH  # None: "health": false, no HTTP check
    grace: float = 0.0  # seconds before its check counts (or it must keep running)
    deadline: float = DEFAULT_DEADLINE  # seconds to become passing
    stop_timeout: int = DEFAULT_STOP_TIMEOUT  # seconds from SIGTERM to SIGKILL

    def image_fields(self) -> dict[str, str]:
        """What of the process its release image holds (the start script)."""
        return {"name": self.name, "run": self.run, "chdir": self.chdir}


@dataclass(frozen=True)
class CronJob:
    name: str
    schedule: str  # five cron fields (macros expanded)
    command: str
    chdir: str = DEFAULT_CHDIR
    cpu: float = DEFAULT_CPU
    memory: int = DEFAULT_MEMORY_MB
    # How the cluster runs it (not in its image's key).
    timeout: int = DEFAULT_CRON_TIMEOUT

    @property
    def run(self) -> str:
        return f"{self.schedule} {self.command}"

    def image_fields(self) -> dict[str, str]:
        """What of the job its release image holds (the start script, the schedule label)."""
        return {"name": self.name, "schedule": self.schedule, "command": self.command,
                "chdir": self.chdir}


@dataclass(frozen=True)
class Repo:
    """An extra git repository cloned into the app-release image at `target`."""

    target: str
    url: str
    ref: str | None = None  # branch, tag or commit; None means the remote's HEAD


@dataclass(frozen=True)
class Manifest:
    name: str
    source: Path = field(compare=False)  # the manifest file it was read from
    platform: str | None = None
    owner: tuple[str, ...] = ()
    repos: tuple[Repo, ...] = ()
    processes: tuple[Process, ...] = ()
    cron_jobs: tuple[CronJob, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    dependencies: tuple[str, ...] = ()
    # Run in the app-compile stage after the platform's install, with build_env set:
    # neither reaches a release image (they copy only the compiled app).
    build: str | None = None
    build_env: tuple[tuple[str, str], ...] = ()
    # Names of environment variables of the machine that builds, whose values the
    # dependency and build steps get (as variables and as files in /run/secrets) but no
    # image keeps: wake runs those steps itself (wake.build.secrets).
    build_secrets: tuple[str, ...] = ()
    user: str = DEFAULT_USER

    @property
    def root(self) -> Path:
        """The application's folder (the one holding manifest.json)."""
        return self.source.parent

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    def process(self, name: str) -> Process:
        for process in self.processes:
            if process.name == name:
                return process
        raise KeyError(name)

    def summary(self) -> str:
        """A few lines describing the app, for `wake manifest check`."""
        lines = [f"app {self.name} ({self.source})"]
        lines.append(f"  platform: {self.platform or '(detected from files)'}")
        if self.owner:
            lines.append(f"  owner: {', '.join(self.owner)}")
        for p in self.processes:
            health = (f"health {p.health_path} within {p.deadline:g} s" if p.health_path
                      else "no HTTP check")
            lines.append(f"  process {p.name}: {p.run!r} in {p.chdir}, "
                         f"cpu {p.cpu:g}, memory {p.memory} MB")
            lines.append(f"    x{p.instances}, {health}, stop timeout {p.stop_timeout} s")
        for c in self.cron_jobs:
            lines.append(f"  cron {c.name}: {c.schedule!r} {c.command!r}, "
                         f"cpu {c.cpu:g}, memory {c.memory} MB")
        for r in self.repos:
            lines.append(f"  repo {r.target} <- {r.url}" + (f" @ {r.ref}" if r.ref else ""))
        if self.env:
            lines.append(f"  env: {', '.join(k for k, _ in self.env)}")
        if self.build:
            lines.append(f"  build: {self.build!r}")
        if self.build_env:
            lines.append(f"  build_env: {', '.join(k for k, _ in self.build_env)}")
        if self.build_secrets:
            lines.append(f"  build_secrets: {', '.join(self.build_secrets)} (from the "
                         "builder's environment)")
        if self.user != DEFAULT_USER:
            lines.append(f"  runs as: {self.user}")
        if self.dependencies:
            lines.append(f"  depends on: {', '.join(self.dependencies)}")
        return "\n".join(lines)
