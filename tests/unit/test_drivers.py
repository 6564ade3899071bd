"""Host drivers: the rest of wake asks them, never which one a host has."""

from __future__ import annotations

import pytest

from wake.cluster import drivers, hosts
from wake.cluster.hosts import Host
from wake.errors import UsageError


def test_existing_engines_are_added_not_made_stopped_or_removed() -> None:
    existing = drivers.get(drivers.EXISTING)
    with pytest.raises(UsageError, match="wake hosts add NAME --docker URL"):
        existing.create("h1", print)
    with pytest.raises(UsageError, match="only stops and starts the hosts it created"):
        existing.set_running("h1", False, print)
    existing.destroy("h1", print)  # nothing to tear down


def test_which_engines_share_this_machine() -> None:
    assert hosts.on_this_machine(Host("a", "unix:///var/run/docker.sock", "127.0.0.1"))
    assert not hosts.on_this_machine(Host("b", "ssh://deploy@10.0.0.5", "10.0.0.5"))
    assert not hosts.on_this_machine(Host("c", "tcp://10.0.0.5:2376", "10.0.0.5"))
    assert hosts.on_this_machine(Host("d", "unix:///run/wake/hosts/d/docker.sock",
                                      "10.213.0.2", drivers.NETNS))


def test_an_unknown_driver_is_named() -> None:
    with pytest.raises(UsageError, match="unknown host driver 'vbox'; known: existing, netns"):
        drivers.get("vbox")


def test_only_netns_makes_hosts(wake_home: object) -> None:
    with pytest.raises(UsageError, match="drivers that make hosts: netns"):
        hosts.create("h1", drivers.EXISTING)
