"""HAProxy's configuration for one host's dependency proxy.

One HTTP frontend on the cluster network's gateway, port 8000; the Host header names the
app (`http://api:8000/` sends `Host: api:8000`). One backend per app depended upon, whose
servers come from Consul's DNS: the SRV records of `_APP._http.service.consul` are the
app's instances that serve HTTP and pass their checks (the agents answer with passing
instances only). HAProxy asks again every second, so a new or removed instance needs no
reload.
"""

from __future__ import annotations

from collections.abc import Sequence

# Instances of an app a backend can hold (server-template slots; unused ones cost nothing).
SLOTS = 32
HTTP_TAG = "http"  # Consul tag of an instance that serves HTTP on its port
RESOLVE_EVERY = 1.0  # seconds between HAProxy's DNS questions (`timeout resolve`)
UNKNOWN = ("wake proxy: no dependency by that name here; the Host header names the app "
           "(http://APP:8000/) and the calling app must list APP in its dependencies")


def srv_name(app: str) -> str:
    """The DNS name of the app's passing HTTP instances (RFC 2782 form: a tag filter)."""
    return f"_{app}._{HTTP_TAG}.service.consul"


def render(bind: str, port: int, dns: str, apps: Sequence[str], host: str = "") -> str:
    """The whole configuration: `bind` the address to listen on, `dns` Consul's DNS
    (host:port), `apps` the apps depended upon."""
    lines = [
        f"# wake's dependency proxy{' on ' + host if host else ''}: written by",
        "# wake.proxy.service from Consul's KV store (wake/proxy/routes); do not edit.",
        "global",
        "    master-worker",
        # Errors and abnormal requests only: a request log of every dependency call would
        # drown the host's logs.
        "    log stdout format raw local0 info",
        "    stats socket /run/wake-proxy/admin.sock mode 600 level admin expose-fd listeners",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlog-normal",
        "    option dontlognull",  # the health checks' bare TCP connections
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",
        "    timeout queue 10s",
        # A refused or reset connection is tried again on another instance, 3 times at
        # most; a request that had an answer is never sent twice.
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
        "    default-server init-addr none resolvers consul resolve-prefer ipv4 "
        "resolve-opts allow-dup-ip check inter 2s fall 2 rise 1",
        "",
        "resolvers consul",
        f"    nameserver consul {dns}",
        "    accepted_payload_size 8192",
        "    resolve_retries 3",
        f"    timeout resolve {RESOLVE_EVERY:g}s",
        "    timeout retry 1s",
        # An instance gone from the answer is gone at once; a failed question keeps the
        # last answer a while (the host's agent restarting).
        "    hold valid 10s",
        "    hold obsolete 0s",
        "",
        "frontend dependencies",
        f"    bind {bind}:{port}",
    ]
    for app in apps:
        lines.append(f"    use_backend app-{app} if {{ req.hdr(host),field(1,:),lower -m str "
                     f"{app} }}")
    lines += [
        "    default_backend unknown",
        "",
        "backend unknown",
        f'    http-request return status 503 content-type text/plain string "{UNKNOWN}"',
    ]
    for app in apps:
        lines += [
            "",
            f"backend app-{app}",
            "    balance roundrobin",
            # A POST or PATCH that met an empty answer may have been acted on: not resent.
            "    http-request disable-l7-retry if METH_POST || { method PATCH }",
            f"    server-template {app} 1-{SLOTS} {srv_name(app)}",
        ]
    return "\n".join(lines) + "\n"
