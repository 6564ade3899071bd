"""Host drivers: where a host's engine comes from, behind one small interface.

`existing` is an engine that runs already (`wake hosts add`: unix://, ssh://, tcp:// with
TLS); wake never creates, removes, stops or starts it. `netns` makes a host on this
machine: a network namespace with its own dockerd (netns.py). The rest of wake asks the
driver, never which driver it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import UsageError
from . import netns

Say = Callable[[str], None]
EXISTING = "existing"
NETNS = "netns"


@dataclass(frozen=True)
class Made:
    """A host a driver created: its engine's URL, the address its containers listen
    on, and lines worth telling the user."""

    docker: str
    address: str
    notes: tuple[str, ...] = ()


class Driver(Protocol):
    name: str

    def create(self, host: str, say: Say) -> Made:
        """Make a new host (UsageError if this driver does not make hosts)."""

    def destroy(self, host: str, say: Say) -> None:
        """Remove what `create` made (nothing for engines wake did not make)."""

    def set_running(self, host: str, running: bool, say: Say) -> None:
        """Stop or start the host's engine (UsageError if wake cannot)."""

    def on_this_machine(self, docker_url: str) -> bool:
        """Whether the engine shares this machine's filesystem (/etc/docker/certs.d)."""


class Existing:
    name = EXISTING

    def create(self, host: str, say: Say) -> Made:
        raise UsageError(f"--driver {EXISTING}: an existing engine is added, not created: "
                         "`wake hosts add NAME --docker URL`")

    def destroy(self, host: str, say: Say) -> None:
        return None  # wake did not make it; forgetting it is all there is to do

    def set_running(self, host: str, running: bool, say: Say) -> None:
        raise UsageError(f"host {host} is an existing engine; wake only stops and starts "
                         "the hosts it created (--driver netns)")

    def on_this_machine(self, docker_url: str) -> bool:
        return docker_url.startswith("unix://")


class Netns:
    name = NETNS

    def create(self, host: str, say: Say) -> Made:
        made = netns.create(host, say)
        address = made.address()
        if not address:
            raise UsageError(f"host {host}: its namespace has no address")
        return Made(made.docker_url, address, (
            f"its engine also answers on tcp://{address}:{netns.TLS_PORT} with TLS: "
            f"--tls {made.tls_dir}",))

    def destroy(self, host: str, say: Say) -> None:
        netns.destroy(host, say)

    def set_running(self, host: str, running: bool, say: Say) -> None:
        (netns.start if running else netns.stop)(netns.NetnsHost(host), say)

    def on_this_machine(self, docker_url: str) -> bool:
        return True


DRIVERS: dict[str, Driver] = {EXISTING: Existing(), NETNS: Netns()}
CREATABLE = (NETNS,)  # the drivers `wake hosts create --driver` offers


def get(name: str) -> Driver:
    if name not in DRIVERS:
        raise UsageError(f"unknown host driver {name!r}; known: {', '.join(DRIVERS)}")
    return DRIVERS[name]
