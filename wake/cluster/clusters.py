"""Clusters known to this machine: `$WAKE_HOME/clusters.json`, managed by `wake clusters`.

    {"version": 1, "current": "prod",
     "clusters": {"prod": {"consul": "10.0.0.2:8500", "token": null,
                           "servers": ["10.0.0.2:8500", ...], "registry": "10.0.0.2:5000",
                           "hosts": ["h1", "h2", "h3"]}}}

`servers`, `registry` and `hosts` are there for clusters `wake cluster create` made
(status falls back to another server when the first is down; destroy finds the hosts).

The file is written atomically (mode 0600 in a 0700 folder) under a lock; a corrupt
file is reported and never overwritten. Adding a cluster checks that its Consul answers.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..consul import DEFAULT_TIMEOUT, Agent, first_answering, normalize, parse_address
from ..errors import UsageError, WakeError
from ..files import decode, parse_json, read_if_present
from ..settings import wake_home
from ..statefile import locked, write_atomically

FILE = "clusters.json"
VERSION = 1
NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class Cluster:
    name: str
    consul: str  # host:port of the Consul master's HTTP API
    token: str | None = None
    servers: tuple[str, ...] = ()  # every Consul server's HTTP API (host:port)
    registry: str | None = None  # the cluster's image registry (host:port)
    hosts: tuple[str, ...] = ()  # the hosts `wake cluster create` used (hosts.json names)

    def agent(self, timeout: float = DEFAULT_TIMEOUT,
              address: str | None = None) -> Agent:
        """The Consul master's HTTP API (or another server's `address`), with the token."""
        return Agent(address or self.consul, self.token, timeout)

    def answering(self, wait: float = 20.0) -> Agent:
        """The first of the master and the other servers that knows a leader, waiting
        out an election (a few seconds after a server is lost)."""
        agent = first_answering([self.consul, *self.servers], self.token, wait,
                                f"cluster {self.name}")
        return agent if self.token else _without_acls(agent)


@dataclass(frozen=True)
class Clusters:
    current: str | None = None
    clusters: dict[str, Cluster] = field(default_factory=dict)

    def get(self, name: str) -> Cluster:
        if name not in self.clusters:
            known = ", ".join(sorted(self.clusters)) or "none yet (wake clusters add ...)"
            raise UsageError(f"no cluster named {name!r}; known: {known}")
        return self.clusters[name]


def path() -> Path:
    return wake_home() / FILE


def normalize_address(address: str) -> str:
    """'10.0.0.2' -> '10.0.0.2:8500'; rejects what is not host[:port]."""
    return normalize(address, "--consul")


def load() -> Clusters:
    file = path()
    raw = read_if_present(file)
    if raw is None:
        return Clusters()
    data = parse_json(file, decode(file, raw), "wake will not overwrite it. Fix it, or "
                      "move it away and add the clusters again")
    problems = _check(data)
    if problems:
        raise UsageError(f"{file}: {problems}; wake will not overwrite it. Fix it, or move "
                         "it away and add the clusters again")
    return Clusters(current=data.get("current"), clusters={
        name: Cluster(name, spec["consul"], spec.get("token"),
                      tuple(spec.get("servers") or ()), spec.get("registry"),
                      tuple(spec.get("hosts") or ()))
        for name, spec in data["clusters"].items()})


def _short(text: str) -> str:
    return text if len(text) < 200 else text[:200] + "..."


def _check(data: Any) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("clusters"), dict):
        return 'expected {"version": 1, "current": ..., "clusters": {...}}'
    if data.get("version") != VERSION or isinstance(data.get("version"), bool):
        return (f"unknown version {_short(repr(data.get('version')))} "
                f"(this wake reads {VERSION})")
    for name, spec in data["clusters"].items():
        if not NAME_RE.fullmatch(name):
            return f"cluster name {_short(repr(name))}: use lowercase letters, digits and '-'"
        if not isinstance(spec, dict) or not isinstance(spec.get("consul"), str):
            return f'cluster {name!r} needs "consul": "host:port"'
        for key in ("token", "registry"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                return f'cluster {name!r}: "{key}" must be a string or null'
        for key in ("servers", "hosts"):
            value = [] if spec.get(key) is None else spec[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f'cluster {name!r}: "{key}" must be a list of strings'
        for key, address in [("consul", spec["consul"]), ("registry", spec.get("registry")),
                             *(("servers", s) for s in spec.get("servers") or ())]:
            try:
                if address is not None:
                    parse_address(address, f'"{key}"', default_port=None)
            except UsageError as exc:
                return f"cluster {name!r}: {_short(str(exc))}"
    current = data.get("current")
    if current is not None and (not isinstance(current, str) or current not in data["clusters"]):
        return f'"current" {_short(repr(current))} is not the name of a cluster in the file'
    return ""


def save(state: Clusters) -> None:
    data = {"version": VERSION, "current": state.current,
            "clusters": {name: _spec(c) for name, c in sorted(state.clusters.items())}}
    write_atomically(path(), (json.dumps(data, indent=2) + "\n").encode())


def _spec(c: Cluster) -> dict[str, Any]:
    spec: dict[str, Any] = {"consul": c.consul, "token": c.token}
    if c.servers or c.registry or c.hosts:
        spec.update(servers=list(c.servers), registry=c.registry, hosts=list(c.hosts))
    return spec


# Agents this process has seen answer without a token: checked once each, not per call.
_OPEN_AGENTS: set[str] = set()


def _without_acls(agent: Agent) -> Agent:
    """An agent wake has no token for, once it is known not to enforce ACLs: under ACLs
    a tokenless listing comes back filtered to nothing, as if empty, so fail at once and
    say why. /v1/agent/self needs agent:read, which no anonymous token here has."""
    if agent.address not in _OPEN_AGENTS:
        agent.info()
        _OPEN_AGENTS.add(agent.address)
    return agent


def check_consul(cluster: Cluster, timeout: float = 5.0) -> str:
    """The leader's address, or a WakeError saying why Consul did not answer (or that it
    enforces ACLs and wake has no token for it)."""
    agent = cluster.agent(timeout)
    leader = agent.leader()
    if leader and not cluster.token:
        _without_acls(agent)
    if not leader:
        raise WakeError(f"Consul at {cluster.consul} answers but has no leader yet")
    return leader


def check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise UsageError(f"cluster name {name!r}: use lowercase letters, digits and '-'")


def add(name: str, address: str, token: str | None = None, check: bool = True,
        servers: tuple[str, ...] = (), registry: str | None = None,
        hosts: tuple[str, ...] = ()) -> Cluster:
    check_name(name)
    cluster = Cluster(name, normalize_address(address), token, servers, registry, hosts)
    load()  # a bad clusters.json is reported before anything is asked or written
    if check:
        check_consul(cluster)  # before touching the file
    with locked(path()):
        state = load()
        if name in state.clusters:
            raise UsageError(f"a cluster named {name!r} exists already; "
                             f"`wake clusters remove {name}` first")
        state = replace(state, clusters={**state.clusters, name: cluster},
                        current=state.current or name)
        save(state)
    return cluster


def use(name: str) -> None:
    with locked(path()):
        state = load()
        state.get(name)
        save(replace(state, current=name))


def remove(name: str) -> None:
    with locked(path()):
        state = load()
        state.get(name)
        rest = {k: v for k, v in state.clusters.items() if k != name}
        save(Clusters(current=None if state.current == name else state.current, clusters=rest))


def record_hosts(name: str, joined: tuple[str, ...] = (), left: tuple[str, ...] = ()) -> None:
    """Keep the host list of a cluster `wake cluster create` made in step with join/leave
    (destroy removes what runs on those hosts). Clusters added by address keep none."""
    with locked(path()):
        state = load()
        cluster = state.get(name)
        if not cluster.hosts:
            return
        kept = [h for h in cluster.hosts if h not in left]
        kept += [h for h in joined if h not in kept]
        save(replace(state, clusters={**state.clusters,
                                      name: replace(cluster, hosts=tuple(kept))}))


def clusters_of(host: str, state: Clusters | None = None) -> list[str]:
    """The clusters (made by `wake cluster create` here) that list `host`, sorted."""
    return sorted(c.name for c in (state or load()).clusters.values() if host in c.hosts)


def chosen_name(state: Clusters, override: str | None = None) -> str | None:
    """--cluster, then $WAKE_CLUSTER, then the one `wake clusters use` chose."""
    return override or os.environ.get("WAKE_CLUSTER") or state.current


def current(override: str | None = None) -> Cluster:
    """The cluster a command works on."""
    state = load()
    name = chosen_name(state, override)
    if not name:
        raise UsageError("no current cluster: `wake clusters add NAME --consul ADDR` or "
                         "`wake clusters use NAME`")
    return state.get(name)
