"""The deploy lock: one deploy (or rollback) of an app at a time, per cluster.

A Consul session with a TTL holds the key `wake/apps/<app>/lock`, whose value says who,
from which machine, since when and for which release. The deploying process renews the
session while it works, so a killed deploy frees the lock once Consul invalidates the
session (within two TTLs, Consul's own allowance) plus the lock-delay; never later, and
with no one having to find and delete anything. The session's behavior is "delete": the
key goes with it.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from types import TracebackType

from ..consul import Agent, ConsulError
from ..errors import WakeError
from ..waiting import Pending, wait_until

TTL = 10  # seconds; Consul's minimum. It invalidates a session within 2x TTL of its
# last renewal; the renewer renews every TTL / 3.
LOCK_DELAY = 5  # seconds after invalidation before another session may take the key


class LockHeld(WakeError):
    """Someone else deploys the app right now."""


class _Delayed(Pending):
    """The key is free but in its lock-delay: worth a few seconds' wait."""


class LockLost(WakeError):
    """This deploy's lock session died (Consul unreachable too long): it must not go on."""


@dataclass(frozen=True)
class Holder:
    who: str
    machine: str
    pid: int
    since: float
    release: str
    action: str  # deploy | rollback
    session: str = ""

    def describe(self) -> str:
        held = time.time() - self.since
        return (f"{self.who}@{self.machine} (pid {self.pid}) has held it for {held:.0f} s, "
                f"{self.action} of release {self.release[:12]}")


def key(app: str) -> str:
    return f"wake/apps/{app}/lock"


def holder(agent: Agent, app: str) -> Holder | None:
    entry = agent.kv_get(key(app))
    if entry is None or not entry.session:
        return None
    try:
        data = json.loads(entry.value)
        return Holder(**{**data, "session": entry.session})
    except (ValueError, TypeError):
        return Holder("?", "?", 0, 0.0, "?", "?", entry.session)


class DeployLock:
    """`with DeployLock(agent, app, release, "deploy", wait):` - held inside, renewed in
    the background, released on the way out (whatever happens)."""

    def __init__(self, agent: Agent, app: str, release: str, action: str = "deploy",
                 wait: float = 0.0) -> None:
        self.agent, self.app, self.release, self.action, self.wait = (
            agent, app, release, action, wait)
        self.session = ""
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost = False

    def __enter__(self) -> DeployLock:
        self.session = self.agent.session_create(f"wake deploy {self.app}", TTL,
                                                 lock_delay=LOCK_DELAY, behavior="delete")
        # Renewed from now on: waiting for the lock may take longer than the TTL.
        self._renewer = threading.Thread(target=self._renew, daemon=True,
                                         name=f"wake lock {self.app}")
        self._renewer.start()
        me = Holder(getpass.getuser(), socket.gethostname(), os.getpid(), time.time(),
                    self.release, self.action)
        value = json.dumps({k: v for k, v in asdict(me).items() if k != "session"})

        def take() -> bool:
            if self.agent.kv_put(key(self.app), value, acquire=self.session):
                return True
            other = holder(self.agent, self.app)
            if other is None:  # nobody holds it: its last holder died moments ago
                raise _Delayed(f"{self.app}'s lock is in its lock-delay ({LOCK_DELAY} s "
                               "after its last holder died or was broken)")
            message = f"{self.app} is locked: {other.describe()}"
            if self.wait > 0:
                raise Pending(message)
            raise LockHeld(f"{message}. Wait for it (`--wait SECONDS`), or if that deploy "
                           f"is dead: `wake lock break {self.app}`")
        try:
            # Without --wait, only a lock-delay (short) is waited out, never a holder.
            wait_until(take, self.wait if self.wait > 0 else LOCK_DELAY + 2,
                       f"{self.app}: the deploy lock", interval=0.5)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _renew(self) -> None:
        while not self._stop.wait(TTL / 3):
            try:
                if not self.agent.session_renew(self.session):
                    self.lost = True
                    return
            except ConsulError:
                continue  # a hiccup: the next renewal may still be in time

    def check(self) -> None:
        """Raise LockLost if the session died (checked before each step that matters)."""
        if self.lost:
            raise LockLost(f"{self.app}: this deploy lost its lock (its Consul session "
                           "expired); stopping before changing anything more")

    def _end_session(self) -> None:
        if self.session:
            with suppress(ConsulError):  # it expires by itself within its TTL
                # Released first: a released lock has no lock-delay, so the next deploy
                # may start at once (destroying a holding session would impose one).
                self.agent.kv_put(key(self.app), "", release=self.session)
                self.agent.session_destroy(self.session)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        self._end_session()


def break_lock(agent: Agent, app: str) -> Holder | None:
    """Destroy the holder's session (its deploy, if alive, stops at its next check and can
    no longer move the current release). Returns who held it."""
    found = holder(agent, app)
    if found is not None:
        agent.session_destroy(found.session)
    return found
