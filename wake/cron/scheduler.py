"""The cluster's cron scheduler: one active at a time, standbys on the other hosts.

Every host runs one (the wake-scheduler service). They compete for a Consul lock
(`wake/cron/leader`, held by a session with a TTL, renewed while alive); the holder is
active. Each second the active one looks at every cron job of every app's current
release: when the job's latest slot (UTC) is one it has not handled, it claims the slot
in KV with check-and-set (runs.py) and starts the run (runner.py). Every few seconds it
records runs that ended.

Missed slots: only the latest slot of a job is ever considered. A scheduler that takes
over (its predecessor's host died) therefore runs at most the one most recent missed
slot, late, and never one already claimed; older missed slots are not run. Slots before
the job was first scheduled never run (a new daily job waits for its next slot).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from ..consul import Agent, ConsulError
from ..deploy.release import CronRelease, Release
from ..deploy.store import ReleaseStore
from ..deploy.store import apps as apps_with_releases
from ..errors import WakeError
from . import times
from .runner import Runner
from .runs import Ledger

LEADER_KEY = "wake/cron/leader"  # cluster status reads it too (SCHEDULER_LOCK)
SESSION_TTL = 10  # seconds; a dead scheduler's lock is free within 2x this + LOCK_DELAY
LOCK_DELAY = 5
RENEW_EVERY = 3.0
TICK = 1.0  # seconds between looks at the slots
WATCH_EVERY = 5.0  # seconds between looks at running runs
REFRESH_EVERY = 5.0  # seconds between reads of the apps' current releases
LATE_AFTER = 10.0  # a slot claimed this long after its time is recorded as late

Say = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    app: str
    release: Release
    job: CronRelease


class Scheduler:
    def __init__(self, agent: Agent, cluster: str, name: str | None = None,
                 say: Say = print, clock: Callable[[], float] = time.time) -> None:
        self.agent, self.cluster = agent, cluster
        self.name = name or socket.gethostname()
        self.say, self.clock = say, clock
        self.session: str | None = None
        self.runner = Runner(agent, cluster, say)
        self._jobs: list[Job] = []
        self._handled: dict[tuple[str, str], str] = {}  # (app, job) -> last slot stamp
        self._since: dict[tuple[str, str], float] = {}
        self._renewed = self._refreshed = self._watched = 0.0

    # --- leadership -------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.session is not None

    def try_lead(self) -> bool:
        """Take the lock if it is free; True when this scheduler holds it."""
        if self.session is None:
            session = self.agent.session_create(f"wake-scheduler {self.name}", SESSION_TTL,
                                                lock_delay=LOCK_DELAY, behavior="release")
            if self.agent.kv_put(LEADER_KEY, self.name, acquire=session):
                self.session = session
                self._renewed = time.monotonic()
                self._handled.clear()  # a new term looks at every job's latest slot again
                self.say(f"scheduler {self.name}: active")
            else:
                self.agent.session_destroy(session)
        return self.session is not None

    def keep_lead(self) -> None:
        """Renew the session; a lost one (expired while this host was cut off) ends the
        term: another scheduler may be active now."""
        if self.session is None or time.monotonic() - self._renewed < RENEW_EVERY:
            return
        held = self.agent.kv_get(LEADER_KEY)
        if held is not None and held.session == self.session \
                and self.agent.session_renew(self.session):
            self._renewed = time.monotonic()
            return
        # The session expired (this host was cut off) or the lock was broken by hand:
        # another scheduler may be active now. (Were both active for a moment, the slot
        # claims in KV still let each slot run once.)
        self.say(f"scheduler {self.name}: lost the lock; standing by")
        with contextlib.suppress(WakeError):
            self.agent.session_destroy(self.session)
        self.session = None

    def resign(self) -> None:
        if self.session is not None:
            try:
                self.agent.kv_put(LEADER_KEY, self.name, release=self.session)
                self.agent.session_destroy(self.session)
            except WakeError:
                pass
            self.session = None

    # --- the work ---------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """Every cron job of every app's current release (read every few seconds)."""
        if time.monotonic() - self._refreshed >= REFRESH_EVERY or not self._refreshed:
            found = []
            for app in apps_with_releases(self.agent):
                store = ReleaseStore(self.agent, app)
                current, _ = store.current()
                release = store.get(current) if current else None
                if release is not None:
                    found += [Job(app, release, job) for job in release.cron_jobs]
            self._jobs = found
            self._refreshed = time.monotonic()
        return self._jobs

    def tick(self) -> None:
        """One look at every job's latest slot (and, now and then, at running runs)."""
        now = self.clock()
        for job in self.jobs():
            self.consider(job, now)
        if time.monotonic() - self._watched >= WATCH_EVERY:
            self.runner.watch(now)
            self._watched = time.monotonic()

    def consider(self, entry: Job, now: float) -> None:
        key = (entry.app, entry.job.name)
        slot = times.latest_slot(entry.job.schedule, now)
        stamp = times.stamp(slot)
        if self._handled.get(key) == stamp:
            return
        ledger = Ledger(self.agent, entry.app, entry.job.name)
        if key not in self._since:
            self._since[key] = ledger.since(entry.release.at or now)
        self._handled[key] = stamp
        if slot.timestamp() < self._since[key]:
            return  # before the job was deployed
        from .runner import new_run

        late = now - slot.timestamp() > LATE_AFTER
        run = ledger.claim(new_run(entry.app, entry.release, entry.job, stamp, self.name,
                                   late))
        if run is None:
            return  # claimed already: by this scheduler's predecessor or a rival
        self.runner.start(ledger, run, entry.job, entry.release)

    def serve(self, stop: threading.Event) -> None:
        """Stand by or be active until `stop` is set; Consul trouble is waited out."""
        self.say(f"scheduler {self.name}: standing by for {LEADER_KEY}")
        while not stop.is_set():
            try:
                if self.try_lead():
                    self.keep_lead()
                    if self.session is not None:
                        self.tick()
            except ConsulError as exc:
                self.say(f"scheduler {self.name}: {exc}; retrying")
            except WakeError as exc:
                self.say(f"scheduler {self.name}: {exc}")
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the schedule
                self.say(f"scheduler {self.name}: unexpected {type(exc).__name__}: {exc}")
                traceback.print_exc()
            stop.wait(TICK)
        self.resign()
        self.runner.close()
