"""A release: what an app runs, as a content-addressed record.

Its id is the sha256 of the canonical JSON of what decides it: per process the stage key
of its release image (not the image id, so the id is known before anything is built),
instances, cpu, memory, health and stop settings; and the app's env. The record adds
what is only known later: image ids and registry digests, who deployed it, when, from
which commit, and the result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import WakeError

SHORT = 12  # characters of a release id shown to people (and in container names)


@dataclass(frozen=True)
class ProcessRelease:
    """One process of a release: its image and how it runs."""

    name: str
    stage_key: str  # the key of build:<app>:release-<name>
    image: str  # the local tag, repository:key
    instances: int
    cpu: float
    memory: int  # MB
    health_path: str | None  # None: no HTTP check (a worker); passing = running
    grace: float
    deadline: float
    stop_timeout: int
    image_id: str = ""  # known once built
    digest: str = ""  # known once pushed to the cluster's registry
    # The apps its instances reach through the host's proxy (the app's `dependencies`):
    # part of an instance, as their names are in its /etc/hosts.
    dependencies: tuple[str, ...] = ()

    def decided(self) -> dict[str, Any]:
        """What decides the release id (no image id or digest)."""
        data = asdict(self)
        for known_later in ("image", "image_id", "digest"):
            data.pop(known_later)
        if not self.dependencies:  # absent: ids of releases without any stay as they were
            data.pop("dependencies")
        else:
            data["dependencies"] = list(self.dependencies)
        return data

    @property
    def spec(self) -> str:
        """What an instance of this process is: an instance whose spec is the same runs on
        through a deploy (its image, size, health and stop settings did not change; the
        instance count is not part of it)."""
        data = self.decided()
        data.pop("instances")
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CronRelease:
    """One cron job of a release: its image and how the cluster's scheduler runs it."""

    name: str
    stage_key: str  # the key of build:<app>:release-<name>
    image: str
    schedule: str  # five cron fields, UTC
    cpu: float
    memory: int  # MB
    timeout: int  # seconds a run may take
    image_id: str = ""
    digest: str = ""
    dependencies: tuple[str, ...] = ()  # as ProcessRelease.dependencies

    def decided(self) -> dict[str, Any]:
        data = asdict(self)
        for known_later in ("image", "image_id", "digest"):
            data.pop(known_later)
        if not self.dependencies:
            data.pop("dependencies")
        else:
            data["dependencies"] = list(self.dependencies)
        return data


@dataclass(frozen=True)
class Release:
    app: str
    processes: tuple[ProcessRelease, ...]
    env: tuple[tuple[str, str], ...] = ()
    cron_jobs: tuple[CronRelease, ...] = ()
    # The record: filled in by the deploy.
    deployed_by: str = ""
    deployed_from: str = ""  # the machine
    commit: str = ""  # the app's git commit, if it is a git checkout
    at: float = 0.0  # unix time the deploy began
    result: str = "deploying"  # deploying | succeeded | failed | rolled back
    error: str = ""
    changes: tuple[str, ...] = field(default=())  # what changed from the one before

    @property
    def id(self) -> str:
        decided: dict[str, Any] = {"app": self.app, "env": dict(self.env),
                                   "processes": {p.name: p.decided() for p in self.processes}}
        if self.cron_jobs:  # absent otherwise: ids of apps without cron jobs stay as they were
            decided["cron_jobs"] = {c.name: c.decided() for c in self.cron_jobs}
        canonical = json.dumps(decided, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def short(self) -> str:
        return self.id[:SHORT]

    @property
    def dependencies(self) -> tuple[str, ...]:
        """The apps its instances reach through the proxies."""
        return tuple(sorted({*(d for p in self.processes for d in p.dependencies),
                             *(d for c in self.cron_jobs for d in c.dependencies)}))

    def process(self, name: str) -> ProcessRelease:
        for p in self.processes:
            if p.name == name:
                return p
        raise WakeError(f"release {self.short} of {self.app} has no process {name!r}")

    def with_process(self, updated: ProcessRelease) -> Release:
        return replace(self, processes=tuple(updated if p.name == updated.name else p
                                             for p in self.processes))

    def cron_job(self, name: str) -> CronRelease | None:
        return next((c for c in self.cron_jobs if c.name == name), None)

    def with_cron_job(self, updated: CronRelease) -> Release:
        return replace(self, cron_jobs=tuple(updated if c.name == updated.name else c
                                             for c in self.cron_jobs))

    def to_json(self) -> str:
        data = asdict(self)
        data["id"] = self.id
        data["env"] = dict(self.env)
        return json.dumps(data, sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: bytes | str, where: str) -> Release:
        try:
            data = json.loads(text)
            processes = tuple(ProcessRelease(**{**p, "dependencies": tuple(
                p.get("dependencies", ()))}) for p in data.pop("processes"))
            cron_jobs = tuple(CronRelease(**{**c, "dependencies": tuple(
                c.get("dependencies", ()))}) for c in data.pop("cron_jobs", ()))
            data.pop("id", None)
            env = tuple(sorted((str(k), str(v)) for k, v in data.pop("env").items()))
            changes = tuple(data.pop("changes", ()))
            return cls(processes=processes, env=env, changes=changes, cron_jobs=cron_jobs,
                       **data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise WakeError(f"{where}: not a release record wake can read ({exc}); was it "
                            "written by a newer wake?") from None


def changes(old: Release | None, new: Release) -> tuple[str, ...]:
    """What differs from the release before, in words (`wake releases` shows it)."""
    if old is None:
        return ("first release",)
    found = []
    before = {p.name: p for p in old.processes}
    for p in new.processes:
        was = before.pop(p.name, None)
        if was is None:
            found.append(f"{p.name}: new process")
            continue
        if was.stage_key != p.stage_key:
            found.append(f"{p.name}: new image")
        for attr in ("instances", "cpu", "memory", "health_path", "stop_timeout",
                     "dependencies"):
            if getattr(was, attr) != getattr(p, attr):
                found.append(f"{p.name}: {attr} {getattr(was, attr)} -> {getattr(p, attr)}")
    found += [f"{name}: removed" for name in sorted(before)]
    jobs = {c.name: c for c in old.cron_jobs}
    for c in new.cron_jobs:
        was_job = jobs.pop(c.name, None)
        if was_job is None:
            found.append(f"cron {c.name}: new")
        elif was_job.decided() != c.decided():
            found.append(f"cron {c.name}: changed")
    found += [f"cron {name}: removed" for name in sorted(jobs)]
    if dict(old.env) != dict(new.env):
        found.append("env changed")
    return tuple(found) or ("same as before",)
