"""hosts.json, engine URL checks and the cluster CA, without a Docker engine or root."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from wake.cluster import drivers, hosts, tls
from wake.cluster.hosts import Host
from wake.errors import UsageError, WakeError

# --- check_url ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["unix:///var/run/docker.sock", "unix:///run/wake/h1.sock",
                                 "ssh://deploy@10.0.0.5", "ssh://10.0.0.5:2222"])
def test_unix_and_ssh_urls_are_taken_as_given(url: str) -> None:
    assert hosts.check_url(url, None, False) == url


@pytest.mark.parametrize(("url", "hint"), [("unix://", "socket's path"),
                                           ("ssh://", "user@host"),
                                           ("ssh://deploy@", "user@host"),
                                           ("tcp://10.0.0.5", "host and port")])
def test_urls_missing_their_parts_are_refused(url: str, hint: str) -> None:
    with pytest.raises(UsageError, match=hint) as caught:
        hosts.check_url(url, None, True)
    assert caught.value.exit_code == 2


def test_plain_tcp_needs_tls_or_insecure() -> None:
    with pytest.raises(UsageError) as caught:
        hosts.check_url("tcp://h:2376", None, False)
    message = str(caught.value)
    assert "--insecure" in message and "--tls" in message
    assert caught.value.exit_code == 2
    assert hosts.check_url("tcp://h:2376", None, True) == "tcp://h:2376"


def test_tls_folder_must_hold_all_three_files(tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem"):
        (tmp_path / name).write_text("x")
    with pytest.raises(UsageError, match="missing key.pem") as caught:
        hosts.check_url("tcp://h:2376", str(tmp_path), False)
    assert "missing key.pem (" in str(caught.value)  # names only what lacks
    (tmp_path / "key.pem").write_text("x")
    assert hosts.check_url("tcp://h:2376", str(tmp_path), False) == "tcp://h:2376"


def test_tls_folder_that_does_not_exist_names_every_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="missing ca.pem, cert.pem, key.pem"):
        hosts.check_url("tcp://h:2376", str(tmp_path / "nope"), True)


@pytest.mark.parametrize("url", ["http://h:2376", "https://h:2376", "npipe:////./pipe/x",
                                 "h:2376", "/var/run/docker.sock", ""])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(UsageError, match=r"use unix://PATH, ssh://USER@HOST or tcp://HOST:PORT"):
        hosts.check_url(url, None, True)


@pytest.mark.parametrize("url", ["tcp://h:abc", "tcp://h:99999"])
def test_a_bad_tcp_port_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError, match="host and port"):
        hosts.check_url(url, None, True)


# --- names and addresses -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["h1", "a", "web-2", "0", "a" * 40, "x-y-z"])
def test_good_names(name: str) -> None:
    hosts.check_name(name)


@pytest.mark.parametrize("name", ["a" * 41, "H1", "Web", "-h1", "h1-", "h_1", "h.1", "",
                                  "local"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="host name"):
        hosts.check_name(name)


@pytest.mark.parametrize(("url", "address"), [
    ("unix:///var/run/docker.sock", "127.0.0.1"), ("ssh://deploy@10.0.0.5", "10.0.0.5"),
    ("ssh://box.internal:2222", "box.internal"), ("tcp://10.0.0.7:2376", "10.0.0.7"),
])
def test_default_address_follows_the_url(url: str, address: str) -> None:
    assert hosts.default_address(url) == address


# --- the inventory -----------------------------------------------------------------------


def _two_hosts(tls_folder: str | None = None) -> dict[str, Host]:
    return {"h1": Host("h1", "unix:///run/wake/hosts/h1/docker.sock", "10.213.0.2",
                       drivers.NETNS),
            "h2": Host("h2", "tcp://10.0.0.5:2376", "10.0.0.5", drivers.EXISTING,
                       tls_folder, tls_folder is None)}


def test_no_file_means_no_hosts(wake_home: Path) -> None:
    assert hosts.load() == {}
    assert not wake_home.exists()


def test_save_then_load_round_trips_with_private_modes(wake_home: Path) -> None:
    saved = _two_hosts("/etc/wake/tls-h2")
    hosts.save(saved)
    assert hosts.load() == saved
    assert hosts.path() == wake_home / "hosts.json"
    assert stat.S_IMODE(hosts.path().stat().st_mode) == 0o600
    assert stat.S_IMODE(wake_home.stat().st_mode) == 0o700
    data = json.loads(hosts.path().read_text())
    assert data["version"] == 1
    assert data["hosts"]["h1"] == {"docker": "unix:///run/wake/hosts/h1/docker.sock",
                                   "address": "10.213.0.2", "driver": "netns",
                                   "tls": None, "insecure": False}


@pytest.mark.parametrize("content", [
    "{not json", '{"version": 2, "hosts": {}}', '{"version": 1}', "[]",
    '{"version": 1, "hosts": []}',
    '{"version": 1, "hosts": {"h1": {"docker": "unix:///x", "address": "1.2.3.4", '
    '"colour": "red"}}}',
    '{"version": 1, "hosts": {"h1": {"docker": "unix:///x"}}}',
    '{"version": 1, "hosts": {"h1": ["unix:///x", "1.2.3.4"]}}',
])
def test_corrupt_files_are_refused_and_left_alone(wake_home: Path, content: str) -> None:
    wake_home.mkdir(parents=True)
    hosts.path().write_text(content)
    before = hosts.path().read_bytes()
    with pytest.raises(UsageError, match="hosts.json"):
        hosts.load()
    with pytest.raises(UsageError):
        hosts.get("h1")
    with pytest.raises(UsageError):
        hosts._record(Host("h9", "unix:///x", "127.0.0.1"))
    assert hosts.path().read_bytes() == before


def test_get_names_the_known_hosts(wake_home: Path) -> None:
    with pytest.raises(UsageError, match="none yet"):
        hosts.get("h1")
    hosts.save(_two_hosts())
    assert hosts.get("h2").address == "10.0.0.5"
    with pytest.raises(UsageError, match=r"no host named 'h3'; known: h1, h2"):
        hosts.get("h3")


def test_local_is_this_machines_engine(wake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/other.sock")
    local = hosts.get("local")
    assert local == Host("local", "unix:///tmp/other.sock", "127.0.0.1", drivers.EXISTING)
    monkeypatch.delenv("DOCKER_HOST")
    assert hosts.get(hosts.LOCAL).docker == "unix:///var/run/docker.sock"
    assert not hosts.path().exists()


def test_record_refuses_a_second_host_of_the_same_name(wake_home: Path) -> None:
    hosts.save(_two_hosts())
    with pytest.raises(UsageError, match="exists already"):
        hosts._record(Host("h1", "unix:///y", "10.0.0.9"))
    hosts._record(Host("h3", "unix:///y", "10.0.0.9"))
    assert sorted(hosts.load()) == ["h1", "h2", "h3"]


def test_add_needs_an_engine_that_answers(wake_home: Path, tmp_path: Path) -> None:
    socket = tmp_path / "no-such-dir" / "docker.sock"
    with pytest.raises(WakeError, match="does not answer") as caught:
        hosts.add("h1", f"unix://{socket}")
    assert not isinstance(caught.value, UsageError)
    assert not hosts.path().exists()


def test_add_checks_name_and_url_before_anything(wake_home: Path) -> None:
    with pytest.raises(UsageError, match="host name"):
        hosts.add("Bad", "unix:///nope.sock")
    with pytest.raises(UsageError, match="--insecure"):
        hosts.add("h1", "tcp://10.0.0.5:2375")
    hosts.save(_two_hosts())
    with pytest.raises(UsageError, match="exists already"):
        hosts.add("h1", "unix:///nope.sock")


def test_create_knows_only_the_netns_driver(wake_home: Path) -> None:
    with pytest.raises(UsageError, match="drivers that make hosts: netns"):
        hosts.create("h1", "vbox", say=lambda _line: None)
    assert not hosts.path().exists()


# --- the cluster CA (real openssl) -------------------------------------------------------


def test_tls_make_signs_a_server_cert_for_the_addresses(tmp_path: Path) -> None:
    folder = tmp_path / "clusters" / "c1"
    cert = tls.make(folder, "wake cluster c1", ["10.213.0.2", "127.0.0.1"])
    names = ("ca.crt", "ca.key", "tls.crt", "tls.key")
    for name in names:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert cert.ca == (folder / "ca.crt").read_bytes()
    assert cert.cert == (folder / "tls.crt").read_bytes()
    assert cert.key == (folder / "tls.key").read_bytes()
    assert b"PRIVATE KEY" in cert.key
    verified = subprocess.run(["openssl", "verify", "-CAfile", "ca.crt", "tls.crt"],
                              cwd=folder, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert "tls.crt: OK" in verified.stdout
    text = subprocess.run(["openssl", "x509", "-in", "tls.crt", "-noout", "-text"],
                          cwd=folder, capture_output=True, text=True, check=True).stdout
    assert "IP Address:10.213.0.2" in text
    assert "IP Address:127.0.0.1" in text
    assert "TLS Web Server Authentication" in text
    assert "CN = 10.213.0.2" in text


def test_tls_make_twice_makes_a_new_ca(tmp_path: Path) -> None:
    first = tls.make(tmp_path / "a", "one", ["10.0.0.1"])
    second = tls.make(tmp_path / "a", "one", ["10.0.0.1"])
    assert first.ca != second.ca
    assert (tmp_path / "a" / "ca.crt").read_bytes() == second.ca


def test_rm_refuses_a_host_a_cluster_uses(wake_home: Path) -> None:
    from wake.cluster import clusters

    hosts.save({"h1": Host("h1", "unix:///x", "10.0.0.1"),
                "h2": Host("h2", "unix:///y", "10.0.0.2")})
    clusters.add("c1", "10.0.0.1:8500", check=False, hosts=("h1", "h2"))
    with pytest.raises(UsageError, match="host h1 is in cluster c1: `wake cluster leave h1 "
                                         "--cluster c1`") as caught:
        hosts.remove("h1")
    assert "--force" in str(caught.value)
    assert set(hosts.load()) == {"h1", "h2"}
    hosts.remove("h1", force=True)  # an existing engine: nothing to tear down
    assert set(hosts.load()) == {"h2"}
    assert clusters.load().get("c1").hosts == ("h2",)


def test_engine_certs_are_laid_out_as_docker_machine_did(tmp_path: Path) -> None:
    folder = tls.make_engine(tmp_path / "tls", "wake host h1", ["10.213.0.2", "127.0.0.1"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(tls.ENGINE_FILES)
    for name in tls.ENGINE_FILES:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name

    def x509(name: str) -> str:
        return subprocess.run(["openssl", "x509", "-in", name, "-noout", "-text"], cwd=folder,
                              capture_output=True, text=True, check=True).stdout

    verified = subprocess.run(["openssl", "verify", "-CAfile", "ca.pem", "server.pem",
                               "cert.pem"], cwd=folder, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert "IP Address:10.213.0.2, IP Address:127.0.0.1" in x509("server.pem")
    assert "TLS Web Server Authentication" in x509("server.pem")
    assert "TLS Web Client Authentication" in x509("cert.pem")
    # what `wake hosts add --tls` asks of the folder
    assert hosts.check_url("tcp://10.213.0.2:2376", str(folder), False)


FAKE_SSH = """#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/args"
[ -n "$FAKE_SSH_FAIL" ] && { echo "$FAKE_SSH_FAIL" >&2; exit 255; }
echo 1.41
"""


@pytest.fixture
def fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `ssh` that records its arguments (the real one is in test_hosts_ssh.py)."""
    (tmp_path / "ssh").write_text(FAKE_SSH)
    (tmp_path / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return tmp_path / "args"


def test_ssh_is_asked_first_in_batch_mode_with_a_timeout(fake_ssh: Path) -> None:
    host = Host("r", "ssh://deploy@10.0.0.5:2222", "10.0.0.5")
    assert host._ssh_preflight(5) == "1.41"
    args = fake_ssh.read_text().splitlines()
    assert args[:4] == ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]
    assert args[4:10] == ["-l", "deploy", "-p", "2222", "--", "10.0.0.5"]
    assert args[10].startswith("docker version --format")


def test_an_ssh_failure_says_what_ssh_said(fake_ssh: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SSH_FAIL", "deploy@10.0.0.5: Permission denied (publickey).")
    with pytest.raises(WakeError, match=r"does not answer: ssh: deploy@10.0.0.5: Permission "
                                        r"denied \(publickey\)\. \(wake runs"):
        Host("r", "ssh://deploy@10.0.0.5", "10.0.0.5").engine(timeout=5)
