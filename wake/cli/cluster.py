"""`wake` commands about clusters and hosts: clusters, hosts, cluster."""

from __future__ import annotations

import argparse

from ..errors import WakeError
from .common import _stderr


def cmd_clusters_list(args: argparse.Namespace) -> int:
    from ..cluster import clusters

    state = clusters.load()
    if not state.clusters:
        print("no clusters yet: wake clusters add NAME --consul HOST[:PORT]")
        return 0
    chosen = clusters.chosen_name(state, args.cluster)
    for name, cluster in sorted(state.clusters.items()):
        marker = "*" if name == chosen else " "
        print(f"{marker} {name:<20} consul {cluster.consul}")
    return 0


def cmd_clusters_add(args: argparse.Namespace) -> int:
    from ..cluster import clusters

    cluster = clusters.add(args.name, args.consul, args.token)
    print(f"added cluster {cluster.name} (consul {cluster.consul}) to {clusters.path()}")
    return 0


def cmd_clusters_use(args: argparse.Namespace) -> int:
    from ..cluster import clusters

    clusters.use(args.name)
    print(f"current cluster: {args.name}")
    return 0


def cmd_clusters_show(args: argparse.Namespace) -> int:
    from ..cluster import clusters
    from ..consul import ConsulUnreachable

    cluster = (clusters.load().get(args.name) if args.name
               else clusters.current(args.cluster))
    print(f"cluster  {cluster.name}")
    print(f"consul   {cluster.consul}")
    print(f"token    {'(set)' if cluster.token else '(none)'}")
    try:
        leader = clusters.check_consul(cluster)
        peers = cluster.agent().peers()
        print(f"leader   {leader}")
        print(f"servers  {', '.join(sorted(peers))}")
    except ConsulUnreachable as exc:
        print(f"status   unreachable: {exc}")
        return 1
    except WakeError as exc:  # refused: an ACL token missing or wrong, say
        print(f"status   refused: {exc}")
        return 1
    return 0


def cmd_clusters_remove(args: argparse.Namespace) -> int:
    from ..cluster import clusters

    clusters.remove(args.name)
    print(f"removed cluster {args.name} from {clusters.path()} (nothing on it was touched)")
    return 0


def cmd_hosts_add(args: argparse.Namespace) -> int:
    from ..cluster import hosts

    host, (cpus, memory) = hosts.add(args.name, args.docker, args.tls, args.insecure,
                                     args.address)
    print(f"added host {host.name}: {host.docker} (address {host.address}, {cpus} cpu, "
          f"{memory / 2**30:.1f} GiB)")
    return 0


def cmd_hosts_create(args: argparse.Namespace) -> int:
    from ..cluster import hosts

    host, notes = hosts.create(args.name, args.driver, say=_stderr)
    print(f"created host {host.name}: {host.docker} (address {host.address})")
    for note in notes:
        print(f"  {note}")
    return 0


def cmd_hosts_list(args: argparse.Namespace) -> int:
    from ..cluster import hosts

    known = hosts.load()
    if not known:
        print("no hosts yet: wake hosts add NAME --docker URL, or "
              "wake hosts create NAME --driver netns")
        return 0
    from ..cluster import clusters

    known_clusters = clusters.load()
    for host in known.values():
        try:
            engine = host.engine(timeout=3)
            try:
                cpus, memory = engine.capacity()
            finally:
                engine.close()
            state = f"up ({cpus} cpu, {memory / 2**30:.1f} GiB)"
        except WakeError:
            state = "down"
        cluster_names = ",".join(clusters.clusters_of(host.name, known_clusters)) or "-"
        print(f"{host.name:<20} {host.driver:<9} {host.address:<16} {state:<26} "
              f"{cluster_names:<12} {host.docker}")
    return 0


def cmd_hosts_rm(args: argparse.Namespace) -> int:
    from ..cluster import hosts

    host = hosts.remove(args.name, say=_stderr, force=args.force)
    print(f"removed host {host.name}")
    return 0


def cmd_hosts_stop(args: argparse.Namespace) -> int:
    from ..cluster import hosts

    hosts.set_running(args.name, False, say=_stderr)
    print(f"stopped host {args.name}")
    return 0


def cmd_hosts_start(args: argparse.Namespace) -> int:
    from ..cluster import hosts

    hosts.set_running(args.name, True, say=_stderr)
    print(f"started host {args.name}")
    return 0


def cmd_cluster_create(args: argparse.Namespace) -> int:
    from ..cluster import lifecycle as cluster

    names = [n.strip() for n in args.hosts.split(",") if n.strip()] if args.hosts else None
    made = cluster.create(args.name, names, args.local, say=_stderr, address=args.address,
                          acl=args.acl)
    print(f"cluster {made.name}: consul {made.consul}, registry {made.registry}")
    return 0


def cmd_cluster_destroy(args: argparse.Namespace) -> int:
    from ..cluster import lifecycle as cluster

    cluster.destroy(args.name, say=_stderr)
    return 0


def cmd_cluster_join(args: argparse.Namespace) -> int:
    from ..cluster import clusters, membership

    chosen = clusters.current(args.cluster)
    names = [n.strip() for n in args.hosts.split(",") if n.strip()]
    if not names:
        raise WakeError("give the hosts to join, e.g. `wake cluster join h4,h5`")
    membership.join(chosen, names, say=_stderr)
    print(f"joined {', '.join(names)} to cluster {chosen.name}")
    return 0


def cmd_cluster_leave(args: argparse.Namespace) -> int:
    from ..cluster import clusters, membership

    chosen = clusters.current(args.cluster)
    membership.leave(chosen, args.host, say=_stderr)
    print(f"{args.host} left cluster {chosen.name}")
    return 0


def cmd_cluster_status(args: argparse.Namespace) -> int:
    from ..cluster import clusters, status

    chosen = (clusters.load().get(args.name) if args.name else clusters.current(args.cluster))
    found = status.collect(chosen)
    print(found.to_json() if args.json else status.render(found))
    return 1 if found.down else 0
