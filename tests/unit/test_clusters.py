"""clusters.json handling without a Consul: addresses, validation, precedence, modes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from wake.cluster import clusters
from wake.cluster.clusters import Cluster, Clusters
from wake.errors import UsageError


@pytest.mark.parametrize(("given", "expected"), [
    ("10.0.0.2", "10.0.0.2:8500"), ("10.0.0.2:8501", "10.0.0.2:8501"),
    ("consul.internal", "consul.internal:8500"), ("http://10.0.0.2:8500", "10.0.0.2:8500"),
    ("::1", "[::1]:8500"), ("[::1]:9000", "[::1]:9000"),
])
def test_addresses_are_normalized(given: str, expected: str) -> None:
    assert clusters.normalize_address(given) == expected


@pytest.mark.parametrize("bad", ["", "10.0.0.2:http", "10.0.0.2:70000", "a b", "x/y:1"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        clusters.normalize_address(bad)


def test_no_file_means_no_clusters(wake_home: Path) -> None:
    assert clusters.load() == Clusters()
    with pytest.raises(UsageError, match="no current cluster"):
        clusters.current()


def test_save_then_load_round_trips_with_private_modes(wake_home: Path) -> None:
    state = Clusters(current="a", clusters={"a": Cluster("a", "10.0.0.1:8500", "secret"),
                                            "b": Cluster("b", "10.0.0.2:8500")})
    clusters.save(state)
    assert clusters.load() == state
    assert stat.S_IMODE(clusters.path().stat().st_mode) == 0o600
    assert stat.S_IMODE(wake_home.stat().st_mode) == 0o700


def test_current_prefers_flag_then_environment_then_file(
        wake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clusters.save(Clusters(current="a", clusters={n: Cluster(n, f"{n}:8500") for n in "abc"}))
    assert clusters.current().name == "a"
    monkeypatch.setenv("WAKE_CLUSTER", "b")
    assert clusters.current().name == "b"
    assert clusters.current("c").name == "c"
    with pytest.raises(UsageError, match="no cluster named 'zz'"):
        clusters.current("zz")


@pytest.mark.parametrize("content", [
    '{"version": 2, "clusters": {}}', '{"version": 1}', '[]',
    '{"version": 1, "current": "nope", "clusters": {}}',
    '{"version": 1, "clusters": {"a": {"token": null}}}',
])
def test_malformed_files_are_refused(wake_home: Path, content: str) -> None:
    wake_home.mkdir(parents=True, exist_ok=True)
    clusters.path().write_text(content)
    with pytest.raises(UsageError, match="will not overwrite"):
        clusters.load()
    with pytest.raises(UsageError):
        clusters.add("x", "127.0.0.1:8500", check=False)
    assert clusters.path().read_text() == content


def test_names_must_be_dns_labels(wake_home: Path) -> None:
    with pytest.raises(UsageError, match="cluster name"):
        clusters.add("Prod_1", "127.0.0.1", check=False)
    clusters.add("prod-1", "127.0.0.1", check=False)
    with pytest.raises(UsageError, match="exists already"):
        clusters.add("prod-1", "127.0.0.2", check=False)
    assert json.loads(clusters.path().read_text())["current"] == "prod-1"
