"""Where each service of a cluster runs, on which ports, and with which settings.

A cluster is Consul servers on its first three hosts (a Consul client agent on every
other host), the rsyslog master and the image registry on the first host. The ports are
fixed (each host has its own address), so they are checked before anything starts.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from ..consul import TOKEN_FILE_VAR, join_address
from ..errors import UsageError
from . import clusters, hosts
from .hosts import Host

Say = Callable[[str], None]

CONSUL_HTTP_PORT = 8500
SYSLOG_PORT = 5514
REGISTRY_PORT = 5000
# The dependency proxy on every host (docs/proxy.md): inside an instance, http://APP:8000/
# reaches a passing instance of APP; it listens on the gateway of the cluster's network.
PROXY_PORT = 8000
CONSUL_DNS_PORT = 8600
CONSUL_PORTS = (8300, 8301, 8302, CONSUL_HTTP_PORT, CONSUL_DNS_PORT)
MAX_SERVERS = 3
LABEL_CLUSTER = "wake.cluster"
LABEL_SERVICE = "wake.service"
HOST_SERVICE = "wake-host"
RSYSLOG_SERVICE = "wake-rsyslog"
REGISTRY_SERVICE = "wake-registry"
PROXY_SERVICE = "wake-proxy"
CERTS_D = "/etc/docker/certs.d"
# The registry's CA in Consul's KV store, so `wake cluster join` works from any machine.
KV_REGISTRY_CA = "wake/registry/ca.crt"
GOSSIP_KEY_FILE = "gossip.key"  # in $WAKE_HOME/clusters/NAME, beside the registry's CA
# In a cluster with ACLs: the agents' ACL settings (read by services/consul/bin/consul-agent)
# and the token file of the scheduler and the proxy, inside their containers.
ACL_CONFIG = "etc/wake-consul/acl.hcl"
TOKEN_PATH = "etc/wake/consul-token"
LEADER_TIMEOUT = 90.0
HEALTH_TIMEOUT = 90.0


@dataclass(frozen=True)
class Layout:
    """Where each service of a cluster runs."""

    name: str
    hosts: tuple[Host, ...]
    token: str | None = field(default=None, repr=False)  # the ACL token, if ACLs are on

    @property
    def first(self) -> Host:
        return self.hosts[0]

    @property
    def servers(self) -> tuple[Host, ...]:
        return self.hosts[:MAX_SERVERS]

    @property
    def registry(self) -> str:
        return host_port(self.first.address, REGISTRY_PORT)

    @property
    def syslog(self) -> str:
        return host_port(self.first.address, SYSLOG_PORT)

    def consul_http(self, host: Host) -> str:
        return host_port(host.address, CONSUL_HTTP_PORT)

    def container(self, service: str) -> str:
        return f"wake-{self.name}-{service}"


def network_name(cluster: str) -> str:
    """The cluster's bridge network on each host: its instances run on it, and its
    gateway (the host, as they see it) is where the host's proxy listens."""
    return f"wake-{cluster}"


def layout_for(name: str, host_names: list[str] | None, local: bool,
               address: str | None = None) -> Layout:
    clusters.check_name(name)
    if local == bool(host_names):
        raise UsageError("give either --hosts h1,h2,h3 or --local")
    if address is not None and not local:
        raise UsageError("--address is for --local clusters (hosts have their own)")
    if local:
        return Layout(name, (hosts.local_host(_loopback(address or "127.0.0.1")),))
    assert host_names
    if len(set(host_names)) != len(host_names):
        raise UsageError(f"--hosts {','.join(host_names)}: a host is named twice")
    chosen = tuple(hosts.get(n) for n in host_names)
    addresses = [h.address for h in chosen]
    if len(set(addresses)) != len(addresses):
        raise UsageError("--hosts: two hosts share an address; each needs its own (the "
                         "services listen on fixed ports)")
    return Layout(name, chosen)


def _loopback(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    if ip is None or ip.version != 4 or not ip.is_loopback:
        raise UsageError(f"--address {address!r}: a local cluster listens on a loopback "
                         "address, 127.0.0.1 to 127.255.255.254")
    return str(ip)


def listening(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1.0).close()
    except OSError:  # refused, unreachable, timed out, no such name
        return False
    return True


def host_port(address: str, port: int) -> str:
    return join_address(address, port)


def check_ports_free(layout: Layout) -> None:
    """The services use fixed ports on each host's address: fail before starting anything."""
    for host in layout.hosts:
        ports = [*CONSUL_PORTS, *((SYSLOG_PORT, REGISTRY_PORT) if host == layout.first else ())]
        busy = [port for port in ports if listening(host.address, port)]
        if busy:
            raise UsageError(f"host {host.name}: port{'s' if len(busy) > 1 else ''} "
                             f"{', '.join(map(str, busy))} on {host.address} already in use "
                             "(another cluster or Consul there?); `wake cluster destroy` it "
                             "or free the ports")


def gossip_key() -> str:
    """A new gossip encryption key (what `consul keygen` prints: 32 random bytes, base64)."""
    return base64.b64encode(os.urandom(32)).decode()


def agent_env(datacenter: str, host: Host, server: bool, servers: list[str],
              key: str | None) -> dict[str, str]:
    """The consul-agent start script's settings (services/consul/bin/consul-agent)."""
    env = {"WAKE_CONSUL_MODE": "server" if server else "client",
           "WAKE_DATACENTER": datacenter, "WAKE_NODE": host.name,
           "WAKE_BIND": host.address, "WAKE_EXPECT": str(len(servers)),
           "WAKE_JOIN": " ".join(servers)}
    if key:
        env["WAKE_ENCRYPT"] = key
    return env


def acl_config(datacenter: str, token: str, server: bool) -> bytes:
    """The agents' ACL settings: deny what no token allows, and the cluster's token as the
    agent's own (it registers its node and syncs services with it). On servers the same
    token is the initial management token, made when the first leader is elected."""
    tokens = f'agent = "{token}"' + (f'\n    master = "{token}"' if server else "")
    return (f'primary_datacenter = "{datacenter}"\n'
            'acl {\n  enabled = true\n  default_policy = "deny"\n'
            '  down_policy = "extend-cache"\n'
            f'  tokens {{\n    {tokens}\n  }}\n}}\n').encode()


def acl_files(datacenter: str, token: str | None, server: bool) -> dict[str, bytes] | None:
    """The files giving a Consul agent the cluster's ACL settings (None: no ACLs)."""
    return {ACL_CONFIG: acl_config(datacenter, token, server)} if token else None


def token_files(token: str | None) -> tuple[dict[str, str], dict[str, bytes] | None]:
    """(environment, files) giving a scheduler or proxy container the ACL token."""
    if not token:
        return {}, None
    return {TOKEN_FILE_VAR: f"/{TOKEN_PATH}"}, {TOKEN_PATH: f"{token}\n".encode()}


def consul_env(layout: Layout, host: Host, key: str | None = None) -> dict[str, str]:
    return agent_env(layout.name, host, host in layout.servers,
                     [s.address for s in layout.servers], key)
