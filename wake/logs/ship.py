"""Sending lines to the cluster's rsyslog master: syslog over TCP (one message per line,
RFC 3164 with the tag `APP.PROCESS.INSTANCE`). Best effort: a master that is down or
slow costs a deploy at most one short timeout, never its outcome."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable

from ..consul import Agent, parse_address
from ..errors import WakeError

TIMEOUT = 2.0  # seconds to connect and to send
PRIORITY = 14  # facility user (1) x 8 + severity info (6)
_UNSAFE = re.compile(r"[^A-Za-z0-9@_-]+")


def tag(app: str, process: str, instance: str) -> str:
    """The syslog tag the master files a line by (its parts without dots or spaces)."""
    return ".".join(_UNSAFE.sub("-", part) or "-" for part in (app, process, instance))


class Shipper:
    """Lines of one app's process to the master at `address` (host:port), or nowhere."""

    def __init__(self, address: str | None, app: str, process: str, instance: str) -> None:
        self.address = address
        self.tag = tag(app, process, instance)
        self.host = _UNSAFE.sub("-", socket.gethostname()) or "-"
        self._socket: socket.socket | None = None
        self._failed = False

    def send(self, text: str) -> None:
        if not self.address or self._failed:
            return
        stamp = time.strftime("%b %d %H:%M:%S", time.gmtime())
        data = b"".join(
            f"<{PRIORITY}>{stamp} {self.host} {self.tag}: {line}\n".encode("utf-8", "replace")
            for line in text.splitlines() or [""])
        try:
            if self._socket is None:
                host, port = parse_address(self.address, "rsyslog master",
                                           default_port=None)
                self._socket = socket.create_connection((host, port), timeout=TIMEOUT)
            self._socket.sendall(data)
        except (OSError, WakeError):
            self._failed = True  # once: the deploy goes on without its log lines
            self.close()

    def tee(self, say: Callable[[str], None]) -> Callable[[str], None]:
        """`say` that also sends each line here."""
        def both(line: str) -> None:
            say(line)
            self.send(line)
        return both

    def close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            finally:
                self._socket = None


def master_address(agent: Agent) -> str | None:
    """The cluster's rsyslog master (host:port) from Consul's catalog, if it has one."""
    from ..cluster.layout import RSYSLOG_SERVICE

    try:
        return agent.service_address(RSYSLOG_SERVICE)
    except WakeError:
        return None  # best effort: log lines never stop what sends them
