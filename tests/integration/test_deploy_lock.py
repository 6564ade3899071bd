"""The deploy lock against a real Consul agent: one holder, a clear refusal, waiting,
breaking, and a killed holder freeing it within its TTL and lock-delay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from wake.consul import Agent
from wake.deploy import lock
from wake.deploy.lock import DeployLock, LockHeld
from wake.deploy.store import ReleaseStore

from .conftest import ROOT

HOLD = """
import sys, time
from wake.consul import Agent
from wake.deploy.lock import DeployLock
with DeployLock(Agent(sys.argv[1]), sys.argv[2], "e" * 64):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def app(consul_agent: str) -> str:
    name = f"lock-{uuid.uuid4().hex[:8]}"
    yield name
    Agent(consul_agent).kv_delete(f"wake/apps/{name}", recurse=True)


def test_one_holder_and_a_clear_refusal(consul_agent: str, app: str) -> None:
    agent = Agent(consul_agent)
    assert lock.holder(agent, app) is None
    with DeployLock(agent, app, "a" * 64) as first:
        held = lock.holder(agent, app)
        assert held is not None and held.release == "a" * 64 and held.pid == os.getpid()
        refused = rf"{app} is locked: .*\(pid {os.getpid()}\) has held it for \d+ s, deploy of "
        with pytest.raises(LockHeld, match=refused + "release aaaaaaaa"), \
                DeployLock(agent, app, "b" * 64):
            pass
        first.check()
    assert lock.holder(agent, app) is None
    with DeployLock(agent, app, "c" * 64):  # released: no lock-delay for the next one
        pass


def test_wait_takes_it_when_the_holder_is_done(consul_agent: str, app: str) -> None:
    agent = Agent(consul_agent)
    order: list[str] = []
    with DeployLock(agent, app, "a" * 64):
        def second() -> None:
            with DeployLock(agent, app, "b" * 64, wait=60):
                order.append("second")
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(2)
        order.append("first done")
    waiter.join(timeout=60)
    assert order == ["first done", "second"]


def test_a_killed_holder_frees_it_within_ttl_and_lock_delay(consul_agent: str,
                                                            app: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, consul_agent, app],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    agent = Agent(consul_agent)
    assert lock.holder(agent, app) is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    killed = time.monotonic()
    with DeployLock(agent, app, "b" * 64, wait=2 * lock.TTL + lock.LOCK_DELAY + 10):
        freed = time.monotonic() - killed
    print(f"lock taken {freed:.1f} s after its holder was killed")
    assert freed <= 2 * lock.TTL + lock.LOCK_DELAY + 5


def test_break_frees_a_live_holder_which_notices(consul_agent: str, app: str) -> None:
    agent = Agent(consul_agent)
    with DeployLock(agent, app, "a" * 64) as held:
        broken = lock.break_lock(agent, app)
        assert broken is not None and broken.release == "a" * 64
        for _ in range(40):
            if held.lost:
                break
            time.sleep(0.25)
        with pytest.raises(lock.LockLost, match="lost its lock"):
            held.check()
        # A holder that lost its lock cannot move the current release.
        store = ReleaseStore(agent, app)
        with pytest.raises(Exception, match="lost its lock"):
            store.point_to("a" * 64, 0, held.session)
        assert store.current() == (None, 0)
    # The next deploy waits out the lock-delay of a broken lock by itself (a few seconds).
    with DeployLock(agent, app, "b" * 64):
        pass
