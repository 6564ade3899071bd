"""Cluster layout, ports, status and clusters.json fields, without Docker or Consul."""

from __future__ import annotations

import io
import json
import socket
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import consul
import pytest

from wake import consul as consul_api
from wake import engine
from wake.cluster import clusters, drivers, hosts, status
from wake.cluster import layout as cluster
from wake.cluster.clusters import Cluster
from wake.cluster.hosts import Host
from wake.cluster.status import HostStatus, Server, ServiceStatus, Status
from wake.errors import UsageError, WakeError

from .fakes import agent_over

# --- status: the model and its rendering -------------------------------------------------


def _status(server_serf: str = "alive", host_health: str = "passing") -> Status:
    return Status(
        "c1", "10.213.0.2:8500", "10.213.0.2:8300",
        servers=[Server("h1", "10.213.0.2:8300", "leader", "alive"),
                 Server("h3", "10.213.0.4:8300", "follower", server_serf)],
        hosts=[HostStatus("h3", "10.213.0.4", host_health, 2, 2**30, ""),
               HostStatus("h2", "10.213.0.3", "passing", 4, 2**31, "unix:///x", ["a", "b"]),
               HostStatus("h1", "10.213.0.2", "passing", 2, 2**30, "", note="no endpoint")],
        services=[ServiceStatus("wake-registry", "h1", "10.213.0.2:5000", "passing")])


def test_down_lists_each_name_once_sorted() -> None:
    assert _status().down == []
    assert _status(server_serf="failed").down == ["h3"]
    assert _status(host_health="critical").down == ["h3"]
    assert _status("failed", "critical").down == ["h3"]
    both = _status("left", "critical")
    both.hosts[1].health = "warning"
    assert both.down == ["h2", "h3"]


def test_render_says_what_is_down() -> None:
    up = status.render(_status())
    assert "all servers, hosts and services up" in up
    assert "down:" not in up
    assert "cluster c1  (asked Consul at 10.213.0.2:8500)" in up
    assert "a, b" in up and "no endpoint" in up and "2.0 GiB" in up
    down = status.render(_status("failed", "critical"))
    assert "down: h3" in down
    assert "all servers, hosts and services up" not in down


def test_render_does_not_call_a_critical_service_up() -> None:
    broken = _status()
    broken.services[0].health = "critical"
    assert "all servers, hosts and services up" not in status.render(broken)


def test_to_json_has_the_down_list() -> None:
    data = json.loads(_status("failed").to_json())
    assert data["down"] == ["h3"]
    assert data["cluster"] == "c1"
    assert [s["role"] for s in data["servers"]] == ["leader", "follower"]
    assert data["hosts"][1]["placed"] == ["a", "b"]


@pytest.mark.parametrize(("states", "worst"), [
    ([], "passing"), (["passing"], "passing"), (["passing", "warning"], "warning"),
    (["warning", "critical", "passing"], "critical"), (["maintenance", "passing"], "maintenance"),
    ([None], "critical"),
])
def test_worst_check_wins(states: list[str | None], worst: str) -> None:
    checks = [{"Status": s} if s else {} for s in states]
    assert status._worst(checks) == worst


# --- status.collect against a fake Consul ------------------------------------------------


def _entry(node: str, address: str, service: dict[str, Any],
           checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Node": {"Node": node, "Address": address}, "Service": service, "Checks": checks}


SERF_OK = {"CheckID": "serfHealth", "Status": "passing", "ServiceID": ""}
HEALTH: dict[str, list[dict[str, Any]]] = {
    cluster.HOST_SERVICE: [
        _entry("h1", "10.213.0.2", {"ID": "wake-host", "Address": "10.213.0.2", "Port": 0,
               "Meta": {"docker": "", "cpus": "2", "memory": "1073741824"}},
               [{"Status": "passing", "ServiceID": ""}]),
        _entry("h3", "10.213.0.4", {"ID": "wake-host", "Address": "", "Port": 0,
               "Meta": {"docker": "", "cpus": "8", "memory": "4294967296"}},
               [{"Status": "critical", "ServiceID": ""}]),
    ],
    cluster.RSYSLOG_SERVICE: [
        _entry("h1", "10.213.0.2", {"Address": "10.213.0.2", "Port": 5514},
               [SERF_OK, {"Status": "passing", "ServiceID": "wake-rsyslog", "Output": "ok"}]),
    ],
    cluster.REGISTRY_SERVICE: [
        _entry("h1", "10.213.0.2", {"Address": "10.213.0.2", "Port": 5000},
               [SERF_OK, {"Status": "critical", "ServiceID": "wake-registry",
                          "Output": "Get https://10.213.0.2:5000/v2/:\n   connection refused"}]),
    ],
    cluster.PROXY_SERVICE: [
        _entry("h1", "10.213.0.2", {"Address": "172.18.0.1", "Port": 8000},
               [SERF_OK, {"Status": "passing", "ServiceID": "wake-proxy", "Output": "ok"}]),
        _entry("h3", "10.213.0.4", {"Address": "172.18.0.1", "Port": 8000},
               [SERF_OK, {"Status": "passing", "ServiceID": "wake-proxy", "Output": "ok"}]),
    ],
}


def _kv_get(key: str, recurse: bool | None = None, **_: Any) -> tuple[str, Any]:
    if recurse:  # what the proxies reported they serve: h1 reported, h3 not yet
        return "42", [{"Key": "wake/proxy/loaded/h1", "ModifyIndex": 9, "Session": None,
                       "Value": b'{"index": 5, "apps": ["api", "db"], "at": 1.0}'}]
    # The cron scheduler's lock: held by h2's scheduler.
    return "42", {"Key": key, "Value": b"h2", "ModifyIndex": 7, "Session": "s1"}


def _fake_consul() -> Any:
    def service(name: str, passing: bool = False) -> tuple[str, list[dict[str, Any]]]:
        return "42", HEALTH.get(name, [])

    return SimpleNamespace(
        http=SimpleNamespace(),
        status=SimpleNamespace(leader=lambda: "10.213.0.2:8300"),
        agent=SimpleNamespace(self=lambda: {"Stats": {"serf_lan": {"encrypted": "true"}}},
                              members=lambda: [
            {"Name": "h1", "Addr": "10.213.0.2", "Status": 1},
            {"Name": "h2", "Addr": "10.213.0.3", "Status": 1},
            {"Name": "h3", "Addr": "10.213.0.4", "Status": 4}]),
        operator=SimpleNamespace(raft_config=lambda: {"Servers": [
            {"Node": "h1", "Address": "10.213.0.2:8300", "Leader": True, "Voter": True},
            {"Node": "h2", "Address": "10.213.0.3:8300", "Leader": False, "Voter": True},
            {"Node": "h3", "Address": "10.213.0.4:8300", "Leader": False, "Voter": True},
            {"Node": "h4", "Address": "10.213.0.5:8300", "Leader": False, "Voter": False}]},
        ),
        health=SimpleNamespace(service=service),
        kv=SimpleNamespace(get=_kv_get))


@pytest.fixture
def fake_consul(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    asked: list[str | None] = []

    def sdk(host: str, port: int, token: str | None = None) -> Any:
        asked.append(f"{host}:{port}")
        return _fake_consul()

    def no_engine(self: Host, timeout: float = 30.0) -> Any:
        raise AssertionError(f"engine of {self.name} contacted")

    monkeypatch.setattr(consul_api.sdk, "Consul", sdk)
    monkeypatch.setattr(hosts.Host, "engine", no_engine)
    return asked


def test_collect_reads_servers_hosts_and_services(fake_consul: list[str | None]) -> None:
    got = status.collect(Cluster("c1", "10.213.0.2:8500", servers=("10.213.0.3:8500",)))
    assert fake_consul == ["10.213.0.2:8500"]  # the master answered: no other server asked
    assert got.asked == "10.213.0.2:8500" and got.leader == "10.213.0.2:8300"
    assert [(s.node, s.role, s.serf) for s in got.servers] == [
        ("h1", "leader", "alive"), ("h2", "follower", "alive"), ("h3", "follower", "failed"),
        ("h4", "non-voter", "none")]
    assert got.servers[2].address == "10.213.0.4:8300"
    h1, h3 = got.hosts
    assert (h1.name, h1.address, h1.health, h1.cpus, h1.memory) == (
        "h1", "10.213.0.2", "passing", 2, 1073741824)
    assert isinstance(h1.cpus, int) and isinstance(h1.memory, int)
    assert (h1.placed, h1.note, h1.docker) == ([], "no endpoint", "")
    assert (h3.address, h3.health, h3.cpus) == ("10.213.0.4", "critical", 8)  # node address
    syslog, registry, proxy1, proxy3 = got.services
    assert (proxy1.name, proxy1.host, proxy1.address, proxy1.output) == (
        "wake-proxy", "h1", "172.18.0.1:8000", "serving api, db")
    assert (proxy3.host, proxy3.output) == ("h3", "not reporting what it serves yet")
    assert (syslog.name, syslog.host, syslog.address, syslog.health, syslog.output) == (
        "wake-rsyslog", "h1", "10.213.0.2:5514", "passing", "")
    assert (registry.name, registry.address, registry.health) == (
        "wake-registry", "10.213.0.2:5000", "critical")
    assert registry.output == "Get https://10.213.0.2:5000/v2/: connection refused"
    assert got.down == ["h3", "h4", "wake-registry"]  # the critical registry counts too
    assert "connection refused" in status.render(got)
    assert got.encrypted and "gossip  encrypted" in status.render(got)
    assert got.scheduler == "h2" and "wake-scheduler   scheduler active on h2" in status.render(got)


@pytest.mark.parametrize(("stats", "encrypted"), [
    ({"serf_lan": {"encrypted": "true"}}, True), ({"serf_lan": {"encrypted": "false"}}, False),
    ({}, False), (None, False)])
def test_encryption_from_the_agents_own_stats(stats: Any, encrypted: bool) -> None:
    agent = agent_over(SimpleNamespace(agent=SimpleNamespace(self=lambda: {"Stats": stats})))
    assert agent.gossip_encrypted() is encrypted
    assert "gossip  NOT encrypted" in status.render(_status())


def test_collect_notes_an_engine_that_does_not_answer(
        fake_consul: list[str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(self: Host, timeout: float = 30.0) -> Any:
        raise WakeError("does not answer")

    monkeypatch.setattr(hosts.Host, "engine", unreachable)
    monkeypatch.setitem(HEALTH, cluster.HOST_SERVICE, [_entry(
        "h2", "10.213.0.3", {"Address": "10.213.0.3", "Meta": {"docker": "unix:///x"}},
        [{"Status": "passing"}])])
    (h2,) = status.collect(Cluster("c1", "10.213.0.2:8500")).hosts
    assert (h2.docker, h2.note, h2.cpus, h2.memory) == ("unix:///x", "engine unreachable", 0, 0)


# --- layout_for --------------------------------------------------------------------------


def _save_hosts(count: int, same_address: bool = False) -> list[str]:
    made = {f"h{i}": Host(f"h{i}", f"unix:///run/wake/hosts/h{i}/docker.sock",
                          "10.213.0.9" if same_address else f"10.213.0.{i + 1}", drivers.NETNS)
            for i in range(1, count + 1)}
    hosts.save(made)
    return list(made)


@pytest.mark.parametrize(("names", "local"), [(["h1"], True), (None, False), ([], False)])
def test_hosts_or_local_exactly_one(wake_home: Path, names: list[str] | None,
                                    local: bool) -> None:
    with pytest.raises(UsageError, match="either --hosts"):
        cluster.layout_for("c1", names, local)


def test_local_layout_is_this_machine() -> None:
    layout = cluster.layout_for("c1", None, True)
    assert layout.hosts == (hosts.local_host(),)
    assert layout.servers == layout.hosts and layout.registry == "127.0.0.1:5000"


def test_bad_layouts_are_refused(wake_home: Path) -> None:
    _save_hosts(3)
    with pytest.raises(UsageError, match="named twice"):
        cluster.layout_for("c1", ["h1", "h2", "h1"], False)
    with pytest.raises(UsageError, match="no host named 'h7'"):
        cluster.layout_for("c1", ["h1", "h7"], False)
    with pytest.raises(UsageError, match="cluster name"):
        cluster.layout_for("C1", ["h1"], False)
    _save_hosts(2, same_address=True)
    with pytest.raises(UsageError, match="share an address"):
        cluster.layout_for("c1", ["h1", "h2"], False)


def test_five_hosts_three_servers(wake_home: Path) -> None:
    names = _save_hosts(5)
    layout = cluster.layout_for("c1", list(reversed(names)), False)
    assert [h.name for h in layout.hosts] == ["h5", "h4", "h3", "h2", "h1"]
    assert [h.name for h in layout.servers] == ["h5", "h4", "h3"]
    assert layout.first.name == "h5"
    assert layout.registry == "10.213.0.6:5000" and layout.syslog == "10.213.0.6:5514"
    assert layout.consul_http(layout.hosts[1]) == "10.213.0.5:8500"
    assert layout.container("consul") == "wake-c1-consul"
    server = cluster.consul_env(layout, layout.hosts[2])
    client = cluster.consul_env(layout, layout.hosts[4])
    assert server["WAKE_CONSUL_MODE"] == "server" and client["WAKE_CONSUL_MODE"] == "client"
    for env, host in ((server, layout.hosts[2]), (client, layout.hosts[4])):
        assert env["WAKE_EXPECT"] == "3"
        assert env["WAKE_JOIN"].split() == ["10.213.0.6", "10.213.0.5", "10.213.0.4"]
        assert (env["WAKE_NODE"], env["WAKE_BIND"]) == (host.name, host.address)
        assert env["WAKE_DATACENTER"] == "c1"
    assert "WAKE_ENCRYPT" not in server
    keyed = cluster.consul_env(layout, layout.hosts[4], "a2V5")
    assert keyed["WAKE_ENCRYPT"] == "a2V5" and keyed["WAKE_CONSUL_MODE"] == "client"
    pair = cluster.layout_for("c2", names[:2], False)
    env = cluster.consul_env(pair, pair.hosts[1])
    assert (env["WAKE_CONSUL_MODE"], env["WAKE_EXPECT"]) == ("server", "2")
    assert env["WAKE_JOIN"] == "10.213.0.2 10.213.0.3"


def test_acl_settings_keep_the_token_in_files() -> None:
    token = "5e1b2f6c-1111-4000-8000-000000000000"
    server = cluster.acl_config("c1", token, server=True).decode()
    client = cluster.acl_config("c1", token, server=False).decode()
    for text in (server, client):
        assert 'primary_datacenter = "c1"' in text and 'default_policy = "deny"' in text
        assert "enabled = true" in text and f'agent = "{token}"' in text
    assert f'master = "{token}"' in server and "master" not in client
    env, files = cluster.token_files(token)
    assert files == {cluster.TOKEN_PATH: f"{token}\n".encode()}
    assert env == {consul_api.TOKEN_FILE_VAR: f"/{cluster.TOKEN_PATH}"}
    assert token not in json.dumps(env)
    assert cluster.token_files(None) == ({}, None)
    layout = cluster.Layout("c1", (), token)
    assert token not in repr(layout)


def test_a_service_reads_its_token_from_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("abc-123\n")
    assert consul_api.token_from_env({consul_api.TOKEN_FILE_VAR: str(path)}) == "abc-123"
    assert consul_api.token_from_env({}) is None
    with pytest.raises(WakeError, match="cannot read the ACL token"):
        consul_api.token_from_env({consul_api.TOKEN_FILE_VAR: str(tmp_path / "missing")})


def test_the_given_token_wins_over_consul_http_token(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", "from-the-environment")
    agent = consul_api.Agent("127.0.0.1:8500", "from-clusters-json")
    assert agent._client.token == "from-clusters-json"
    assert agent._client.http.session.headers["X-Consul-Token"] == "from-clusters-json"
    assert "from-clusters-json" not in repr(agent)


# --- check_ports_free and _tar -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def quiet_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ports nothing listens on (a real registry on :5000 must not matter)."""
    monkeypatch.setattr(cluster, "CONSUL_PORTS", (_free_port(),))
    monkeypatch.setattr(cluster, "SYSLOG_PORT", _free_port())
    monkeypatch.setattr(cluster, "REGISTRY_PORT", _free_port())


def test_free_ports_pass(quiet_ports: None) -> None:
    cluster.check_ports_free(cluster.Layout("c1", (hosts.local_host(),)))


def test_a_listening_port_is_named(quiet_ports: None, listener: int,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CONSUL_PORTS", (*cluster.CONSUL_PORTS, listener))
    with pytest.raises(UsageError, match=f"host local: port {listener} on 127.0.0.1"):
        cluster.check_ports_free(cluster.Layout("c1", (hosts.local_host(),)))


def test_registry_port_only_matters_on_the_first_host(
        quiet_ports: None, listener: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "REGISTRY_PORT", listener)
    first = Host("h1", "unix:///x", "127.0.0.2")  # nothing listens on 127.0.0.2
    cluster.check_ports_free(cluster.Layout("c1", (first, hosts.local_host())))
    with pytest.raises(UsageError, match=str(listener)):
        cluster.check_ports_free(cluster.Layout("c1", (hosts.local_host(), first)))


def test_tar_round_trip() -> None:
    files = {"etc/wake-registry/tls.crt": b"CERT\n", "etc/wake-registry/tls.key": b"\x00key"}
    with tarfile.open(fileobj=io.BytesIO(engine.tar_files(files))) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == list(files)
        for member in members:
            assert member.isfile() and member.mode == 0o600
            extracted = tar.extractfile(member)
            assert extracted is not None and extracted.read() == files[member.name]


# --- clusters.json keeps what `wake cluster create` records ------------------------------


def test_clusters_keep_servers_registry_and_hosts(wake_home: Path) -> None:
    servers = ("10.213.0.2:8500", "10.213.0.3:8500")
    clusters.add("c1", "10.213.0.2:8500", check=False, servers=servers,
                 registry="10.213.0.2:5000", hosts=("h1", "h2"))
    clusters.add("old", "10.0.0.9", check=False)
    got = clusters.load().get("c1")
    assert (got.servers, got.registry, got.hosts) == (servers, "10.213.0.2:5000", ("h1", "h2"))
    old = clusters.load().get("old")
    assert (old.servers, old.registry, old.hosts) == ((), None, ())
    assert "hosts" not in json.loads(clusters.path().read_text())["clusters"]["old"]


@pytest.mark.parametrize("value", ['"h1,h2"', '["h1", 2]', "{}", '[["h1"]]'])
def test_hosts_must_be_a_list_of_strings(wake_home: Path, value: str) -> None:
    wake_home.mkdir(parents=True)
    content = ('{"version": 1, "current": "c1", "clusters": {"c1": '
               f'{{"consul": "10.0.0.2:8500", "hosts": {value}}}}}}}')
    clusters.path().write_text(content)
    with pytest.raises(UsageError, match='"hosts" must be a list of strings'):
        clusters.load()
    assert clusters.path().read_text() == content


def test_join_and_leave_keep_the_host_list(wake_home: Path) -> None:
    clusters.add("c1", "10.213.0.2:8500", check=False, hosts=("h1", "h2"))
    clusters.add("old", "10.0.0.9", check=False)
    clusters.record_hosts("c1", joined=("h4",))
    clusters.record_hosts("c1", joined=("h4", "h5"))  # twice: listed once
    assert clusters.load().get("c1").hosts == ("h1", "h2", "h4", "h5")
    clusters.record_hosts("c1", left=("h4",))
    assert clusters.load().get("c1").hosts == ("h1", "h2", "h5")
    clusters.record_hosts("old", joined=("h4",))  # added by address: destroy never runs
    assert clusters.load().get("old").hosts == ()
    with pytest.raises(UsageError, match="no cluster named 'gone'"):
        clusters.record_hosts("gone", joined=("h4",))


def test_collect_asks_again_after_an_election(
        fake_consul: list[str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = _fake_consul().operator.raft_config

    def flaky() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise consul.ConsulException("500 No cluster leader")
        return real()

    def sdk(host: str, port: int, token: str | None = None) -> Any:
        fake = _fake_consul()
        fake.operator.raft_config = flaky
        return fake

    monkeypatch.setattr(consul_api.sdk, "Consul", sdk)
    got = status.collect(Cluster("c1", "10.213.0.2:8500"))
    assert len(calls) == 2 and len(got.servers) == 4
    calls.clear()

    def broken() -> Any:
        raise consul.ConsulException("500 No cluster leader")

    def always(host: str, port: int, token: str | None = None) -> Any:
        fake = _fake_consul()
        fake.operator.raft_config = broken
        return fake

    monkeypatch.setattr(consul_api.sdk, "Consul", always)
    with pytest.raises(WakeError, match="reading its state from Consul: not within 0 s .*"
                                        "raft configuration: 500 No cluster leader"):
        status.collect(Cluster("c1", "10.213.0.2:8500"), wait=0)


def test_a_host_consul_forgot_is_down(fake_consul: list[str | None]) -> None:
    got = status.collect(Cluster("c1", "10.213.0.2:8500", hosts=("h1", "h3", "h9")))
    assert [(h.name, h.health) for h in got.hosts] == [
        ("h1", "passing"), ("h3", "critical"), ("h9", "missing")]
    assert "h9" in got.down
    assert "not registered in Consul" in status.render(got)


def test_the_anonymous_dns_policy_waits_out_an_acl_system_not_ready_only() -> None:
    """Right after the election the management token may be unknown (403) or the leader
    not settled (500): retried. Any other refusal is final, at once."""
    from wake.cluster import lifecycle

    calls: list[str] = []

    def flaky() -> None:
        calls.append("call")
        if len(calls) == 1:
            raise consul_api.ConsulDenied("Consul at x: permission denied (ACL not found)")
        if len(calls) == 2:
            raise consul_api.ConsulUnreachable("Consul at x: 500 No cluster leader")

    lifecycle._anonymous_dns(SimpleNamespace(allow_anonymous_dns=flaky))  # type: ignore[arg-type]
    assert len(calls) == 3

    def broken() -> None:
        calls.append("broken")
        raise consul_api.ConsulError("Consul at x: 400 invalid policy")

    with pytest.raises(consul_api.ConsulError, match="400 invalid policy"):
        lifecycle._anonymous_dns(SimpleNamespace(allow_anonymous_dns=broken))  # type: ignore[arg-type]
    assert calls.count("broken") == 1


def test_an_agent_is_checked_for_acls_once_per_process() -> None:
    asked: list[str] = []
    agent = SimpleNamespace(address="10.213.9.9:8500", info=lambda: asked.append("self"))
    assert clusters._without_acls(agent) is agent  # type: ignore[arg-type]
    assert clusters._without_acls(agent) is agent  # type: ignore[arg-type]
    assert asked == ["self"]
    refused = SimpleNamespace(address="10.213.9.10:8500", info=lambda: (_ for _ in ()).throw(
        consul_api.ConsulDenied("Consul at 10.213.9.10:8500: permission denied")))
    for _ in range(2):  # a refusal is not remembered: each command says it
        with pytest.raises(consul_api.ConsulDenied):
            clusters._without_acls(refused)  # type: ignore[arg-type]
