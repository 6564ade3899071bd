"""The dependency proxy on every host of a cluster (docs/proxy.md).

An app that declares `"dependencies": ["api"]` reaches `http://api:8000/` from inside its
instances: `api` is, in each instance's /etc/hosts, the gateway of the cluster's network
on that host, where the host's HAProxy listens. HAProxy follows Consul by itself (its DNS
interface, SRV records of passing instances), so instances coming and going never reload
it; it is reloaded (hitless, master-worker) only when the set of dependencies changes.

- haproxy.py: the configuration, from the dependencies served.
- routes.py: that set in Consul's KV store, and each proxy's report of what it loaded.
- service.py: what runs in the proxy's container on each host.
"""
