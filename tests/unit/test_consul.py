"""wake.consul without a Consul: addresses, and the translation of every failure into a
ConsulError naming the address and the call (the real agent is in
tests/integration/test_consul.py)."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import consul as sdk
import pytest

from wake import consul
from wake.consul import Agent, ConsulDenied, ConsulError, ConsulUnreachable
from wake.errors import UsageError, WakeError

from .fakes import agent_over


@pytest.mark.parametrize(("text", "expected"), [
    ("10.0.0.2", "10.0.0.2:8500"), ("10.0.0.2:8501", "10.0.0.2:8501"),
    ("http://10.0.0.2:8500", "10.0.0.2:8500"), ("consul.internal", "consul.internal:8500"),
    ("fd00::2", "[fd00::2]:8500"), ("[fd00::2]:9", "[fd00::2]:9"), ("[::1]", "[::1]:8500")])
def test_addresses_normalize(text: str, expected: str) -> None:
    assert consul.normalize(text) == expected


@pytest.mark.parametrize("text", [
    "", " ", "127.0.0.1:\u00b2", "127.0.0.1:\u0668", "127.0.0.1:0", "127.0.0.1:65536",
    "127.0.0.1:", ":8500", "a b:1", "h/x:1", "user@h:1", "[fd00::2", "[fd00::2]x",
    "h\u00e9:1", "10.0.0.2:-1", "10.0.0.2:1e3"])
def test_bad_addresses_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="HOST\\[:PORT\\]|not a port number|brackets"):
        consul.normalize(text, "--consul")


def test_nothing_listening_is_unreachable_naming_address_and_call() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConsulUnreachable, match=rf"Consul at 127.0.0.1:{port}: ask for the "
                                                r"leader: no answer \(connection refused\)"):
        Agent(f"127.0.0.1:{port}", timeout=1).leader()


def test_a_silent_server_times_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # accepts, never answers
        port = server.getsockname()[1]
        with pytest.raises(ConsulUnreachable, match="no answer within 0.3 s"):
            Agent(f"127.0.0.1:{port}", timeout=0.3).peers()


def _raising(exc: Exception) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc
    return SimpleNamespace(status=SimpleNamespace(leader=fail),
                           kv=SimpleNamespace(put=fail, get=fail))


@pytest.mark.parametrize(("exc", "kind", "text"), [
    (sdk.ConsulException("500 No cluster leader"), ConsulUnreachable, "500 No cluster leader"),
    (sdk.ACLPermissionDenied("ACL not found"), ConsulDenied, "permission denied"),
    (sdk.ConsulException("400 bad\n  request"), ConsulError, "400 bad request")])
def test_consul_failures_become_wake_errors(exc: Exception, kind: type, text: str) -> None:
    agent = agent_over(_raising(exc))
    with pytest.raises(kind, match=text) as caught:
        agent.kv_put("wake/x", "1", cas=0)
    assert "Consul at 10.213.0.2:8500: write wake/x" in str(caught.value)
    if kind is not ConsulUnreachable:
        assert not isinstance(caught.value, ConsulUnreachable)


def test_a_refusal_says_whether_a_token_is_missing_or_wrong() -> None:
    denied = _raising(sdk.ACLPermissionDenied("Permission denied"))
    with pytest.raises(ConsulError, match="uses ACLs and wake has no token for it"):
        agent_over(denied).kv_put("wake/x", "1", cas=0)
    with pytest.raises(ConsulError, match="a wrong or revoked token") as caught:
        agent_over(denied, token="s3cr3t-token").kv_put("wake/x", "1", cas=0)
    assert "s3cr3t-token" not in str(caught.value)


def test_first_answering_skips_servers_without_answer_or_leader(
        monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"10.0.0.1": ConsulUnreachable("down"), "10.0.0.2": "", "10.0.0.3": "L"}

    def leader(self: Agent) -> str:
        value = answers[self.address.split(":")[0]]
        if isinstance(value, Exception):
            raise value
        return value

    monkeypatch.setattr(Agent, "leader", leader)
    agent = consul.first_answering(["10.0.0.1", "10.0.0.2", "10.0.0.3"], None, 1, "c1")
    assert agent.address == "10.0.0.3:8500"
    answers["10.0.0.3"] = ""
    with pytest.raises(WakeError, match=r"c1: a Consul server that knows a leader: not "
                                          r"within 0.1 s \(last: 10.0.0.1:8500 \(no answer\), "
                                          r"10.0.0.2:8500 \(no leader\)"):
        consul.first_answering(["10.0.0.1", "10.0.0.2", "10.0.0.3"], None, 0.1, "c1")


def test_a_hosts_agent_that_holds_calls_is_given_time_and_a_refusal_is_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A host's agent just restarted holds calls while it finds the leader (ConsulTimedOut):
    a deploy tries again; one that refuses (stopped with its host) fails at once."""
    from wake.deploy import instances
    from wake.deploy.instances import HostInfo

    host = HostInfo("h2", "10.213.0.3", "tcp://10.213.0.3:2375", "netns", 2, 1024, True)
    calls: list[str] = []

    def holds_twice(agent: Agent) -> None:
        calls.append(agent.address)
        if len(calls) < 3:
            raise consul.ConsulTimedOut("Consul at 10.213.0.3:8500: no answer within 5 s")

    host.on_agent("register web-1", holds_twice)
    assert calls == ["10.213.0.3:8500"] * 3

    def refuses(agent: Agent) -> None:
        calls.append("refused")
        raise ConsulUnreachable("Consul at 10.213.0.3:8500: no answer (connection refused)")

    calls.clear()
    with pytest.raises(ConsulUnreachable, match="connection refused"):
        host.on_agent("register web-1", refuses)
    assert calls == ["refused"]

    def holds(agent: Agent) -> None:
        raise consul.ConsulTimedOut("Consul at 10.213.0.3:8500: no answer within 5 s")

    monkeypatch.setattr(instances, "AGENT_WAIT", 0.5)
    with pytest.raises(WakeError, match="host h2: register web-1: not within 0.5 s"):
        host.on_agent("register web-1", holds)
