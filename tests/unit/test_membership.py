"""`wake cluster join` / `leave` decisions against a fake Consul (the real thing is in
tests/integration/test_cluster_netns.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import consul
import pytest

from wake.cluster import clusters, hosts, membership
from wake.cluster.clusters import Cluster
from wake.cluster.hosts import Host
from wake.cluster.membership import Facts
from wake.errors import UsageError, WakeError

from .fakes import agent_over

CLUSTER = Cluster("c1", "10.213.0.2:8500", hosts=("h1", "h2", "h3"))


def _facts(servers: tuple[str, ...] = ("10.213.0.2",), **members: tuple[str, int]) -> Facts:
    return Facts("c1", servers, "10.213.0.2:5000", b"CA", {
        name: {"Name": name, "Addr": addr, "Status": state}
        for name, (addr, state) in members.items()}, frozenset({"h1"}), False)


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(membership, "listening", lambda address, port: False)


def test_a_new_host_may_join(quiet: None) -> None:
    membership._check_joinable(CLUSTER, _facts(h1=("10.213.0.2", 1)),
                               [Host("h4", "unix:///x", "10.213.0.5")])


def test_a_member_or_its_address_may_not(quiet: None) -> None:
    facts = _facts(h1=("10.213.0.2", 1), h4=("10.213.0.5", 4))
    with pytest.raises(UsageError, match="host h4 is in cluster c1 already"):
        membership._check_joinable(CLUSTER, facts, [Host("h4", "unix:///x", "10.213.0.5")])
    with pytest.raises(UsageError, match="10.213.0.2 is cluster c1's node h1"):
        membership._check_joinable(CLUSTER, facts, [Host("h9", "unix:///x", "10.213.0.2")])
    # A node that left may come back, under its name and address.
    gone = _facts(h1=("10.213.0.2", 1), h4=("10.213.0.5", 3))
    membership._check_joinable(CLUSTER, gone, [Host("h4", "unix:///x", "10.213.0.5")])


def test_a_loopback_cluster_takes_no_netns_host(quiet: None) -> None:
    with pytest.raises(UsageError, match="listen on loopback"):
        membership._check_joinable(CLUSTER, _facts(("127.0.0.1",)),
                                   [Host("h4", "unix:///x", "10.213.0.5")])


def test_busy_consul_ports_are_named(listener: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(membership, "CONSUL_PORTS", (listener,))
    with pytest.raises(UsageError, match=f"ports {listener} on 127.0.0.1 already in use"):
        membership._check_joinable(CLUSTER, _facts(("127.0.0.1",)),
                                   [Host("h4", "unix:///x", "127.0.0.1")])


def _fake(rings: Any = (), ca: bytes | None = b"PEM", encrypted: bool = True) -> Any:
    def keyring_list() -> Any:
        if isinstance(rings, Exception):
            raise rings
        return list(rings)

    def service(name: str) -> tuple[str, list[dict[str, Any]]]:
        rows = {"wake-registry": [{"Node": "h1", "Address": "10.213.0.2",
                                   "ServiceAddress": "", "ServicePort": 5000}],
                "wake-rsyslog": [{"Node": "h1"}]}
        return "1", rows.get(name, [])

    return SimpleNamespace(
        agent=SimpleNamespace(self=lambda: {"Config": {"Datacenter": "c1"}, "Stats": {
                                  "serf_lan": {"encrypted": str(encrypted).lower()}}},
                              members=lambda: [{"Name": "h2", "Addr": "10.213.0.3",
                                                "Status": 1}]),
        operator=SimpleNamespace(
            raft_config=lambda: {"Servers": [{"Node": "h2", "Address": "10.213.0.3:8300"}]},
            keyring_list=keyring_list),
        catalog=SimpleNamespace(service=service),
        kv=SimpleNamespace(get=lambda key: (
            "1", {"Key": key, "Value": ca, "ModifyIndex": 7} if ca else None)))


def _agent(*args: Any, **kwargs: Any) -> Any:
    return agent_over(_fake(*args, **kwargs))


def test_read_facts_from_consul() -> None:
    facts = membership.read_facts(_agent())
    assert (facts.datacenter, facts.servers) == ("c1", ("10.213.0.3",))
    assert (facts.registry, facts.registry_ca) == ("10.213.0.2:5000", b"PEM")
    assert facts.service_nodes == {"h1", "h2"}  # registry/rsyslog on h1, a server on h2
    assert facts.members["h2"]["Addr"] == "10.213.0.3"
    assert membership.read_facts(_agent(ca=None)).registry_ca is None


RINGS = [{"WAN": True, "Keys": {"d2Fu": 3}}, {"WAN": False, "Keys": {"bGFu": 4}}]


def test_gossip_key_saved_here_first_then_the_keyring(wake_home: Path) -> None:
    assert membership.gossip_key(CLUSTER, _agent(RINGS, encrypted=False)) is None
    assert membership.gossip_key(CLUSTER, _agent(RINGS)) == "bGFu"  # the LAN ring's
    saved = wake_home / "clusters" / "c1" / "gossip.key"
    saved.parent.mkdir(parents=True)
    saved.write_text("c2F2ZWQ=\n")
    assert membership.gossip_key(CLUSTER, _agent(RINGS)) == "c2F2ZWQ="


def test_an_unreadable_keyring_is_a_clear_error(wake_home: Path) -> None:
    down = consul.ConsulException("500 1 error occurred: node h3 failed to respond")
    with pytest.raises(WakeError, match="node h3 failed to respond.*bring stopped hosts"):
        membership.gossip_key(CLUSTER, _agent(down))
    with pytest.raises(WakeError, match="no LAN key listed"):
        membership.gossip_key(CLUSTER, _agent([{"WAN": True, "Keys": {"d2Fu": 3}}]))


def test_leave_refuses_service_hosts_and_strangers(
        wake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Cluster, "answering", lambda self, wait=20.0: _agent())
    with pytest.raises(UsageError, match="runs a Consul server, rsyslog or the registry"):
        membership.leave(CLUSTER, "h1")
    with pytest.raises(UsageError, match="host h7 is not in cluster c1"):
        membership.leave(CLUSTER, "h7")
    assert not clusters.path().exists() and not hosts.path().exists()  # nothing written


def test_join_refuses_a_host_named_twice(wake_home: Path) -> None:
    with pytest.raises(UsageError, match="named twice"):
        membership.join(CLUSTER, ["h4", "h4"])


def test_two_joining_hosts_need_two_addresses(quiet: None) -> None:
    with pytest.raises(UsageError, match="share an address"):
        membership._check_joinable(CLUSTER, _facts(h1=("10.213.0.2", 1)),
                                   [Host("h4", "unix:///x", "10.213.0.5"),
                                    Host("h5", "unix:///y", "10.213.0.5")])
