"""wake.consul against a real Consul agent: check-and-set writes, TTL sessions as locks,
services with HTTP checks, and the waits deploys will build on."""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from wake.consul import Agent, ConsulError
from wake.errors import WakeError

from .conftest import free_port


@pytest.fixture
def agent(consul_agent: str) -> Agent:
    return Agent(consul_agent, timeout=5)


@pytest.fixture
def prefix(agent: Agent) -> Iterator[str]:
    key = f"wake-test/{uuid.uuid4().hex[:8]}"
    yield key
    agent.kv_delete(key, recurse=True)


def test_check_and_set(agent: Agent, prefix: str) -> None:
    key = f"{prefix}/current"
    assert agent.kv_get(key) is None
    assert agent.kv_put(key, "r1", cas=0)  # create-only
    assert not agent.kv_put(key, "r1-again", cas=0)  # exists: refused, nothing written
    first = agent.kv_get(key)
    assert first is not None and first.value == b"r1"
    assert agent.kv_put(key, b"r2", cas=first.modify_index)
    assert not agent.kv_put(key, b"r3", cas=first.modify_index)  # a stale index loses
    now = agent.kv_get(key)
    assert now is not None and now.value == b"r2" and now.modify_index > first.modify_index
    agent.kv_put(f"{prefix}/releases/a", "{}")
    assert [kv.key for kv in agent.kv_list(prefix)] == [f"{prefix}/current",
                                                       f"{prefix}/releases/a"]
    assert not agent.kv_delete(key, cas=first.modify_index)
    assert agent.kv_delete(key, cas=now.modify_index) and agent.kv_get(key) is None


def test_a_session_holds_a_lock_until_it_dies(agent: Agent, prefix: str) -> None:
    lock = f"{prefix}/lock"
    one = agent.session_create("wake-test one", ttl=10, lock_delay=0)
    two = agent.session_create("wake-test two", ttl=10, lock_delay=0)
    try:
        assert agent.kv_put(lock, "held by one", acquire=one)
        assert not agent.kv_put(lock, "held by two", acquire=two)  # taken
        held = agent.kv_get(lock)
        assert held is not None and held.session == one
        assert agent.session_renew(one)
        info = agent.session_info(one)
        assert info is not None and info["TTL"] == "10s"
        agent.session_destroy(one)  # the holder dies: the lock is released at once
        assert agent.session_info(one) is None and not agent.session_renew(one)
        released = agent.kv_get(lock)
        assert released is not None and released.session is None
        assert agent.kv_put(lock, "held by two", acquire=two)
    finally:
        agent.session_destroy(two)


class _Health(http.server.BaseHTTPRequestHandler):
    healthy = True

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200 if _Health.healthy and self.path == "/_health" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_service_with_an_http_check_passes_and_goes(agent: Agent) -> None:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    service = f"wake-test-{uuid.uuid4().hex[:8]}"
    try:
        agent.register_service(service, "127.0.0.1", port, tags=["release-abc"],
                               meta={"app": "demo"},
                               check={"HTTP": f"http://127.0.0.1:{port}/_health",
                                      "Interval": "1s", "Timeout": "1s"})
        agent.wait_passing(service, timeout=30)
        (entry,) = agent.health_service(service, passing=True)
        assert entry["Service"]["Tags"] == ["release-abc"]
        assert entry["Service"]["Meta"] == {"app": "demo"}
        _Health.healthy = False
        started = time.monotonic()
        while agent.health_service(service, passing=True):
            assert time.monotonic() - started < 30, "the failing check never showed"
            time.sleep(0.5)
        with pytest.raises(WakeError, match=f"{service} passing its checks: not within 1 s"):
            agent.wait_passing(service, timeout=1)
    finally:
        _Health.healthy = True
        agent.deregister_service(service)
        server.shutdown()
    assert agent.catalog_service(service) == []


def test_a_refused_call_is_a_clear_error(consul_agent: str) -> None:
    with pytest.raises(ConsulError, match=f"Consul at {consul_agent}: register service "
                                          "wake-test-bad: 400"):
        Agent(consul_agent).register_service("wake-test-bad", "127.0.0.1", 1, check={
            "HTTP": "http://127.0.0.1:1/", "Interval": "every now and then"})
    with pytest.raises(WakeError, match="outside Consul's 10-86400 s"):
        Agent(consul_agent).session_create("x", ttl=1)
