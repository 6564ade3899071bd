"""Repairs a deploy makes before it plans, so that whatever was left behind (a killed
deploy, a crashed container, a dead host) ends in exactly the desired state:

- stale registrations: an instance in Consul whose container is gone or stopped;
- instances of a host that is down: taken out of the catalog (its agent cannot be asked),
  so placement puts them elsewhere;
- orphans: a container labelled for the app, on a host that is up, that Consul does not
  know (a deploy killed between starting and registering it, or an old one it stopped).

`find` reports them (`wake status` names them); `repair` removes them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from ..cluster.layout import LABEL_CLUSTER
from ..errors import WakeError
from . import instances
from .instances import LABEL_APP, LABEL_INSTANCE, Instance
from .target import Target

Say = Callable[[str], None]


@dataclass(frozen=True)
class Leftovers:
    stale: tuple[Instance, ...]  # registered, container gone or stopped
    lost: tuple[Instance, ...]  # registered on a host that is down
    orphans: tuple[tuple[str, str], ...]  # (host, container) nobody registered

    def describe(self) -> list[str]:
        return ([f"stale registration {i.instance} on {i.host} (its container is gone)"
                 for i in self.stale]
                + [f"{i.instance} on {i.host}, which is down" for i in self.lost]
                + [f"orphan container {name} on {host}" for host, name in self.orphans])

    def __bool__(self) -> bool:
        return bool(self.stale or self.lost or self.orphans)


def find(target: Target, app: str, registered: list[Instance] | None = None) -> Leftovers:
    """What a deploy would repair; `registered` is the app's instances in Consul when the
    caller has read them already."""
    if registered is None:
        registered = instances.instances(target.agent, app)
    stale, lost = [], []
    known = {(i.host, i.container) for i in registered}
    for i in registered:
        host = target.hosts.get(i.host)
        if host is None or not host.passing:
            lost.append(i)
            continue
        try:
            container = target.engine(i.host).container(i.container)
        except WakeError:
            lost.append(i)  # its engine does not answer: as good as down
            continue
        if container is None or container.status not in ("running", "restarting"):
            stale.append(i)
    orphans = []
    for name, host in sorted(target.hosts.items()):
        if not host.passing:
            continue
        try:
            found = target.engine(name).containers(
                {LABEL_CLUSTER: target.cluster.name, LABEL_APP: app})
        except WakeError:
            continue
        orphans += [(name, c.name) for c in found
                    if (name, c.name) not in known and c.labels.get(LABEL_INSTANCE)]
    return Leftovers(tuple(stale), tuple(lost), tuple(orphans))


def repair(target: Target, app: str, say: Say) -> Leftovers:
    """Remove what `find` finds; each repair is said."""
    found = find(target, app)
    for i in found.stale:
        with suppress(WakeError):
            target.hosts[i.host].deregister(i.service_id)
        with suppress(WakeError):
            target.engine(i.host).remove(i.container)
    for i in found.lost:
        with suppress(WakeError):
            target.agent.catalog_deregister(i.host, i.service_id)
    for host, name in found.orphans:
        with suppress(WakeError):
            target.engine(host).remove(name)
    for line in found.describe():
        say(f"  repaired: {line}")
    return found
