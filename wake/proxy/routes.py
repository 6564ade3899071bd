"""Which apps the proxies serve, in Consul's KV store, and what each proxy loaded.

`wake/proxy/routes` holds, per app, the apps it depends on. Every host's proxy serves all
of them (an instance may land on any host), so a proxy reloads only when that set
changes. A deploy writes its app's entry (check-and-set) before it starts instances and
waits until every running proxy reports, in `wake/proxy/loaded/HOST`, that it loaded the
write; an instance never starts with a dependency its host's proxy does not serve yet.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..cluster.layout import PROXY_SERVICE
from ..consul import Agent, ConsulUnreachable
from ..errors import WakeError

ROUTES_KEY = "wake/proxy/routes"
LOADED_PREFIX = "wake/proxy/loaded/"
LOAD_TIMEOUT = 30.0  # seconds a deploy waits for the proxies to serve its dependencies

Routes = dict[str, tuple[str, ...]]  # app -> the apps it depends on


def parse(raw: bytes | None) -> Routes:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        return {str(app): tuple(str(d) for d in deps) for app, deps in data.items()}
    except (ValueError, AttributeError, TypeError):
        raise WakeError(f"Consul key {ROUTES_KEY} is not what wake writes (a JSON object of "
                        "app -> list of apps); delete it and deploy again") from None


def served(routes: Routes) -> tuple[str, ...]:
    """The apps the proxies serve: every app some app depends on."""
    return tuple(sorted({dep for deps in routes.values() for dep in deps}))


def read(agent: Agent) -> tuple[Routes, int]:
    entry = agent.kv_get(ROUTES_KEY)
    return (parse(entry.value), entry.modify_index) if entry else ({}, 0)


def set_app(agent: Agent, app: str, dependencies: Iterable[str]) -> tuple[int, bool]:
    """Record what `app` depends on (none: its entry goes). Returns the key's index after
    the write and whether the served set changed (then the proxies reload)."""
    wanted = tuple(sorted(set(dependencies)))
    for _ in range(20):  # check-and-set: another app's deploy may write at the same time
        routes, index = read(agent)
        if routes.get(app, ()) == wanted:
            return index, False
        before = served(routes)
        if wanted:
            routes[app] = wanted
        else:
            routes.pop(app, None)
        text = json.dumps(dict(sorted(routes.items())), indent=1)
        if agent.kv_put(ROUTES_KEY, text, cas=index):
            entry = agent.kv_get(ROUTES_KEY)
            return (entry.modify_index if entry else 0), served(routes) != before
    raise WakeError(f"could not record {app}'s dependencies in {ROUTES_KEY}: it kept "
                    "changing under this deploy (20 tries)")


@dataclass(frozen=True)
class Loaded:
    """What one host's proxy reported after (re)loading."""

    host: str
    index: int  # the routes key's index it loaded
    apps: tuple[str, ...]
    at: float


def report(agent: Agent, host: str, index: int, apps: Iterable[str]) -> None:
    agent.kv_put(LOADED_PREFIX + host, json.dumps(
        {"index": index, "apps": list(apps), "at": time.time()}))


def loaded(agent: Agent) -> dict[str, Loaded]:
    found = {}
    for entry in agent.kv_list(LOADED_PREFIX):
        host = entry.key[len(LOADED_PREFIX):]
        try:
            data = json.loads(entry.value)
            found[host] = Loaded(host, int(data["index"]), tuple(data["apps"]),
                                 float(data["at"]))
        except (ValueError, KeyError, TypeError):
            continue  # rewritten by that proxy at its next load
    return found


def proxies(agent: Agent) -> dict[str, str]:
    """Every host's proxy registered in Consul: host -> its health (passing, critical)."""
    found = {}
    for entry in agent.health_service(PROXY_SERVICE):
        states = {str(c.get("Status")) for c in entry["Checks"]}
        found[str(entry["Node"]["Node"])] = ("critical" if "critical" in states else
                                             "warning" if "warning" in states else "passing")
    return found


def wait_loaded(agent: Agent, index: int, hosts: Iterable[str], say: Callable[[str], None],
                timeout: float = LOAD_TIMEOUT) -> None:
    """Wait until each host's proxy loaded the routes key at `index` or later. A proxy
    that does not within `timeout` is reported, not waited for (its host may be down)."""
    pending = set(hosts)
    deadline = time.monotonic() + timeout
    while pending:
        try:
            found = loaded(agent)
        except ConsulUnreachable:
            found = {}
        pending = {h for h in pending if h not in found or found[h].index < index}
        if not pending:
            return
        if time.monotonic() > deadline:
            say(f"  proxy: {', '.join(sorted(pending))} did not load the new dependencies "
                f"within {timeout:g} s (`wake cluster status` shows the proxies)")
            return
        time.sleep(0.3)
