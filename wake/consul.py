"""The boundary with Consul: the one place a client is made and its errors translated.

Everything else in wake talks to Consul through `Agent` (one agent's HTTP API: address,
ACL token, timeout), whose methods are typed and raise only `ConsulError` (refused or
failed) or its subclass `ConsulUnreachable` (no answer, or no leader yet: worth waiting
out). The KV, session and agent-service calls are the ones deploys build on: check-and-set
writes, TTL sessions for locks, services with HTTP checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import consul as sdk
import requests

from . import calls
from .errors import UsageError, WakeError
from .waiting import Pending, wait_until

DEFAULT_PORT = 8500
DEFAULT_TIMEOUT = 5.0
# Where a cluster's services (scheduler, proxy) find the ACL token: a file in their
# container, named by this variable, so the token is in no container's environment.
TOKEN_FILE_VAR = "WAKE_CONSUL_TOKEN_FILE"
# The anonymous token's fixed accessor id, and what it may do in a cluster with ACLs:
# read nodes and services, which is what Consul's DNS answers need (the proxies' HAProxy
# asks it without a token). Everything else - KV, sessions, writes - needs the token.
ANONYMOUS_TOKEN = "00000000-0000-0000-0000-000000000002"
DNS_POLICY = "wake-dns-read"
DNS_RULES = {"node_prefix": {"": {"policy": "read"}},
             "service_prefix": {"": {"policy": "read"}}}


class ConsulError(WakeError):
    """Consul refused a call or failed it; the message names the address and the call."""


class ConsulUnreachable(ConsulError):
    """Consul did not answer, or has no leader yet: a wait may retry this."""


class ConsulDenied(ConsulError):
    """Consul's ACLs refused the call's token (HTTP 403)."""


class ConsulTimedOut(ConsulUnreachable):
    """Consul took the connection but did not answer in time. An agent that has just
    restarted does this while it looks for the raft leader (with ACLs it resolves tokens
    through it, and Consul holds such a call up to 7 s), unlike a stopped one, which
    refuses at once."""


def parse_address(text: str, what: str = "Consul address",
                  default_port: int | None = DEFAULT_PORT) -> tuple[str, int]:
    """'10.0.0.2' -> ('10.0.0.2', 8500); '[::1]:8501' -> ('::1', 8501). UsageError else;
    with `default_port` None, an address without a port is an error too."""
    raw = text.strip().removeprefix("http://")
    if not raw or not raw.isascii() or any(c.isspace() or c in "/@?#" for c in raw):
        raise UsageError(f"{what} {text!r} is not HOST[:PORT] (e.g. 10.0.0.2:8500)")
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"{what} {text!r}: an IPv6 address goes in brackets, "
                             "e.g. [fd00::2]:8500")
        port_text = rest[1:] if rest else None
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    else:  # a bare host name, IPv4 or IPv6 address
        host, port_text = raw, None
    if port_text is None:
        if default_port is None:
            raise UsageError(f"{what} {text!r} has no port (HOST:PORT, e.g. 10.0.0.2:8500)")
        port_text = str(default_port)
    # int() accepts Unicode digits ('²', '٨'): only ASCII digits are a port.
    if not host or not (port_text.isascii() and port_text.isdigit()) \
            or not 0 < int(port_text) < 65536:
        raise UsageError(f"{what} {text!r}: {port_text!r} is not a port number (1-65535)")
    return host, int(port_text)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize(text: str, what: str = "Consul address") -> str:
    """host:port with the default port filled in, IPv6 in brackets."""
    return join_address(*parse_address(text, what))


@dataclass(frozen=True)
class KV:
    """One key's value and the index a check-and-set write must name."""

    key: str
    value: bytes
    modify_index: int
    session: str | None = None  # the session holding the key's lock, if any


class Agent:
    """One Consul agent's HTTP API. Every call is bounded by `timeout` and translated."""

    def __init__(self, address: str, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        host, port = parse_address(address)
        self.address = join_address(host, port)
        self.timeout = timeout
        self.token = token
        self._client = sdk.Consul(host=host, port=port, token=token)
        if token:  # py-consul lets CONSUL_HTTP_TOKEN win over the token it is given
            self._client.token = token
        # py-consul's HTTP client takes its timeout as an attribute, not an argument.
        self._client.http.connections_timeout = timeout
        session = getattr(self._client.http, "session", None)  # the requests client's
        if session is not None:
            calls.watch(session, "consul")
            if token:  # some py-consul calls (raft configuration, txn) send no token
                session.headers["X-Consul-Token"] = token

    def __repr__(self) -> str:
        return f"Agent({self.address})"

    @contextlib.contextmanager
    def _call(self, what: str) -> Iterator[None]:
        try:
            yield
        except requests.exceptions.Timeout:
            raise ConsulTimedOut(f"Consul at {self.address}: {what}: no answer within "
                                 f"{self.timeout:g} s") from None
        except requests.exceptions.RequestException as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else \
                type(exc).__name__
            raise ConsulUnreachable(f"Consul at {self.address}: {what}: no answer "
                                    f"({reason}); is its HTTP API listening there?") from None
        except sdk.ACLPermissionDenied as exc:
            hint = ("the cluster uses ACLs and wake has no token for it: set its "
                    "`token` in clusters.json (`wake clusters add NAME --consul ADDRESS "
                    "--token TOKEN`)" if not self.token else
                    "the cluster's token (clusters.json) is not allowed this: a wrong or "
                    "revoked token?")
            raise ConsulDenied(f"Consul at {self.address}: {what}: permission denied "
                              f"({_short(exc)}); {hint}") from None
        except sdk.ConsulException as exc:
            text = _short(exc)
            # 500 "No cluster leader" / rpc errors happen during elections: transient.
            kind = ConsulUnreachable if text.startswith("500") else ConsulError
            raise kind(f"Consul at {self.address}: {what}: {text}") from None

    # --- status and the agent itself ------------------------------------------------

    def leader(self) -> str:
        """The raft leader's address, or '' while there is none."""
        with self._call("ask for the leader"):
            return str(self._client.status.leader() or "")

    def peers(self) -> list[str]:
        with self._call("ask for the servers"):
            return [str(p) for p in self._client.status.peers()]

    def info(self) -> dict[str, Any]:
        """The agent's own configuration and stats (/v1/agent/self)."""
        with self._call("read the agent's configuration"):
            data: dict[str, Any] = self._client.agent.self()
            return data

    def datacenter(self, info: dict[str, Any] | None = None) -> str:
        """The agent's datacenter (from `info`, an answer of info() already read)."""
        return str((info or self.info())["Config"]["Datacenter"])

    def acls_enabled(self, info: dict[str, Any] | None = None) -> bool:
        """Whether the agent enforces ACLs (its own configuration; `info` as above)."""
        debug = (info or self.info()).get("DebugConfig") or {}
        return bool(debug.get("ACLsEnabled"))

    def allow_anonymous_dns(self) -> None:
        """Let requests without a token read nodes and services (Consul's DNS answers),
        and nothing else: a policy on the anonymous token. Needs a management token."""
        with self._call("let the anonymous token read nodes and services"):
            policies = {p["Name"] for p in self._client.acl.policy.list()}
            if DNS_POLICY not in policies:
                self._client.acl.policy.create(
                    DNS_POLICY, rules=DNS_RULES,
                    description="wake: DNS answers (nodes and services) without a token")
            self._client.acl.token.update(ANONYMOUS_TOKEN, policies_name=[DNS_POLICY],
                                          description="Anonymous Token")

    def gossip_encrypted(self) -> bool:
        """Whether this agent's LAN gossip is encrypted (its own stats: cheap, and unlike
        the keyring list it needs no answer from every member)."""
        stats = self.info().get("Stats") or {}
        return str((stats.get("serf_lan") or {}).get("encrypted", "false")) == "true"

    def members(self) -> list[dict[str, Any]]:
        """Serf LAN members as this agent sees them."""
        with self._call("list the members"):
            return list(self._client.agent.members())

    def force_leave(self, node: str) -> None:
        with self._call(f"force {node} out"):
            self._client.agent.force_leave(node)

    def raft_servers(self) -> list[dict[str, Any]]:
        with self._call("read the raft configuration"):
            return list(self._client.operator.raft_config().get("Servers", []))

    def keyring(self) -> list[dict[str, Any]]:
        with self._call("list the gossip keyring"):
            return list(self._client.operator.keyring_list() or [])

    # --- services on this agent, and health -----------------------------------------

    def register_service(self, name: str, address: str, port: int | None = None,
                         service_id: str | None = None, tags: list[str] | None = None,
                         meta: dict[str, str] | None = None,
                         check: dict[str, Any] | None = None) -> None:
        with self._call(f"register service {service_id or name}"):
            self._client.agent.service.register(
                name, service_id=service_id or name, address=address, port=port,
                tags=tags, meta=meta, check=check)

    def deregister_service(self, service_id: str) -> None:
        with self._call(f"deregister service {service_id}"):
            self._client.agent.service.deregister(service_id)

    def catalog_services(self) -> dict[str, list[str]]:
        """Every service name in the catalog with its tags."""
        with self._call("list the services"):
            return {str(k): list(v or []) for k, v in self._client.catalog.services()[1].items()}

    def catalog_service(self, name: str) -> list[dict[str, Any]]:
        """Every instance of a service in the catalog, whatever its health."""
        with self._call(f"list service {name}"):
            return list(self._client.catalog.service(name)[1])

    def service_address(self, name: str) -> str | None:
        """host:port of a service the cluster runs once (its registry, its rsyslog
        master) from the catalog; None when it has none."""
        for entry in self.catalog_service(name):
            return join_address(str(entry.get("ServiceAddress") or entry["Address"]),
                                int(entry["ServicePort"]))
        return None

    def health_service(self, name: str, passing: bool = False) -> list[dict[str, Any]]:
        """Instances with their node and checks; `passing` keeps only healthy ones."""
        with self._call(f"read the health of {name}"):
            return list(self._client.health.service(name, passing=passing)[1])

    def wait_passing(self, name: str, timeout: float, node: str | None = None) -> None:
        """Wait until `name` has a passing instance (on `node`, if given)."""
        def passing() -> bool:
            entries = self.health_service(name, passing=True)
            return any(node is None or e["Node"]["Node"] == node for e in entries)
        wait_until(passing, timeout, f"{name}{f' on {node}' if node else ''} passing its "
                   "checks", retry_on=(ConsulUnreachable,),
                   hint="`wake cluster status` shows the checks' output")

    # --- key/value store ------------------------------------------------------------

    def kv_get(self, key: str) -> KV | None:
        with self._call(f"read {key}"):
            _, entry = self._client.kv.get(key)
        return _kv(entry) if entry else None

    def kv_watch(self, key: str, index: int, wait: float) -> tuple[int, KV | None]:
        """A blocking read: returns once the key changed after `index` (or after `wait`
        seconds), with the index to pass next time. The agent's timeout must exceed
        `wait`."""
        with self._call(f"watch {key}"):
            new_index, entry = self._client.kv.get(key, index=index or None,
                                                   wait=f"{max(1, int(wait))}s")
        return int(new_index or 0), (_kv(entry) if entry else None)

    def kv_list(self, prefix: str) -> list[KV]:
        with self._call(f"list {prefix}"):
            _, entries = self._client.kv.get(prefix, recurse=True)
        return [_kv(e) for e in entries or []]

    def kv_put(self, key: str, value: bytes | str, cas: int | None = None,
               acquire: str | None = None, release: str | None = None) -> bool:
        """Write a key. With `cas`, only if its ModifyIndex is still `cas` (0: only if it
        does not exist); with `acquire`, only if no other session holds it. False when
        the condition did not hold (nothing was written)."""
        with self._call(f"write {key}"):
            return bool(self._client.kv.put(key, value, cas=cas, acquire=acquire,
                                            release=release))

    def kv_delete(self, key: str, cas: int | None = None, recurse: bool = False) -> bool:
        with self._call(f"delete {key}"):
            return bool(self._client.kv.delete(key, recurse=recurse or None, cas=cas))

    def kv_txn(self, operations: list[dict[str, Any]], what: str) -> bool:
        """Apply KV operations atomically (Consul's /v1/txn): all or none. False when a
        check in it failed (e.g. a check-session or cas), so nothing was written."""
        try:
            with self._call(what):
                self._client.txn.put([{"KV": op} for op in operations])
        except ConsulError as exc:
            if ": 409 " in str(exc):
                return False
            raise
        return True

    def catalog_deregister(self, node: str, service_id: str) -> None:
        """Remove a service from the catalog directly (its own agent does not answer)."""
        with self._call(f"deregister {service_id} of {node} from the catalog"):
            self._client.catalog.deregister(node, service_id=service_id)

    # --- sessions (locks) -----------------------------------------------------------

    def session_create(self, name: str, ttl: int, lock_delay: int = 15,
                       behavior: str = "release") -> str:
        """A session that dies `ttl` seconds after its last renewal (and with this agent's
        node); keys it holds are released (or deleted) when it dies."""
        if not 10 <= ttl <= 86400:
            raise UsageError(f"session {name}: a TTL of {ttl} s is outside Consul's "
                             "10-86400 s")
        with self._call(f"create session {name}"):
            return str(self._client.session.create(name=name, ttl=ttl, lock_delay=lock_delay,
                                                   behavior=behavior))

    def session_renew(self, session_id: str) -> bool:
        """Extend a session by its TTL; False if it is gone (expired or destroyed)."""
        try:
            with self._call(f"renew session {session_id}"):
                return self._client.session.renew(session_id) is not None
        except ConsulError as exc:
            if "404" in str(exc) or "not found" in str(exc).lower():
                return False
            raise

    def session_info(self, session_id: str) -> dict[str, Any] | None:
        with self._call(f"read session {session_id}"):
            _, info = self._client.session.info(session_id)
        return dict(info) if info else None

    def session_destroy(self, session_id: str) -> None:
        with self._call(f"destroy session {session_id}"):
            self._client.session.destroy(session_id)


def _kv(entry: dict[str, Any]) -> KV:
    return KV(str(entry["Key"]), entry.get("Value") or b"", int(entry["ModifyIndex"]),
              entry.get("Session"))


def token_from_env(env: Mapping[str, str]) -> str | None:
    """A cluster service's ACL token: the file `WAKE_CONSUL_TOKEN_FILE` names, if set."""
    name = env.get(TOKEN_FILE_VAR)
    if not name:
        return None
    try:
        with open(name, encoding="ascii") as f:
            return f.read().strip() or None
    except OSError as exc:
        raise WakeError(f"{TOKEN_FILE_VAR}={name}: cannot read the ACL token "
                        f"({exc.strerror})") from None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def wait_for_leader(agent: Agent, servers: int, timeout: float) -> str:
    """Wait until the agent knows a leader and at least `servers` raft peers."""
    def ready() -> str:
        leader = agent.leader()
        peers = agent.peers()
        if leader and len(peers) >= servers:
            return leader
        raise Pending(f"leader {leader or '(none)'}, {len(peers)} of {servers} servers")
    return wait_until(ready, timeout, f"a Consul leader with {servers} server"
                      f"{'s' if servers > 1 else ''} at {agent.address}",
                      retry_on=(ConsulUnreachable,),
                      hint="see the wake-*-consul containers' logs")


def first_answering(addresses: list[str], token: str | None, wait: float,
                    what: str) -> Agent:
    """An agent of the first address that knows a leader; waits out an election (a few
    seconds after a server is lost). A refusal (e.g. an ACL) ends the wait at once."""
    def ask() -> Agent:
        tried = []
        for address in dict.fromkeys(addresses):
            agent = Agent(address, token, timeout=3)
            try:
                if agent.leader():
                    return agent
                tried.append(f"{agent.address} (no leader)")
            except ConsulUnreachable:
                tried.append(f"{agent.address} (no answer)")
        raise Pending(", ".join(tried))
    return wait_until(ask, wait, f"{what}: a Consul server that knows a leader")
