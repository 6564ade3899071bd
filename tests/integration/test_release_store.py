"""Releases in a real Consul's KV store: records, the current pointer by check-and-set,
and the newest 20 kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from wake.consul import Agent
from wake.deploy.release import ProcessRelease, Release
from wake.deploy.store import KEEP, PointerMoved, ReleaseStore


@pytest.fixture
def store(consul_agent: str) -> Iterator[ReleaseStore]:
    made = ReleaseStore(Agent(consul_agent), f"app-{uuid.uuid4().hex[:8]}")
    yield made
    made.agent.kv_delete(made.folder, recurse=True)


def _release(app: str, n: int) -> Release:
    web = ProcessRelease("web", f"{n:064d}", f"wake/{app}/release-web:{n}", 1, 0.5, 256,
                         "/_health", 0.0, 60.0, 10)
    return Release(app, (web,), at=1000.0 + n)


def test_records_and_the_current_pointer(store: ReleaseStore) -> None:
    assert store.current() == (None, 0) and store.history() == []
    first = _release(store.app, 1)
    store.save(first)
    assert store.get(first.id) == first
    store.point_to(first.id, 0)
    current, index = store.current()
    assert current == first.id and index > 0
    second = _release(store.app, 2)
    store.save(replace(second, result="succeeded"))
    with pytest.raises(PointerMoved, match="the current release moved, or this deploy lost"):
        store.point_to(second.id, 0)  # a deploy that read "no release yet" lost the race
    store.point_to(second.id, index)
    assert store.current()[0] == second.id
    assert [r.id for r in store.history()] == [second.id, first.id]  # newest first


def test_the_newest_are_kept_and_never_the_current_one_dropped(store: ReleaseStore) -> None:
    oldest = _release(store.app, 0)
    store.save(oldest)
    store.point_to(oldest.id, 0)
    for n in range(1, KEEP + 5):
        store.save(_release(store.app, n))
    kept = store.history()
    assert len(kept) == KEEP + 1  # the newest KEEP, and the current one however old
    assert kept[0].at == 1000.0 + KEEP + 4 and oldest.id in {r.id for r in kept}
