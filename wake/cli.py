"""The `wake` command: argument parsing only; the work is in the library."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__, crash, engine, errors, manifest, settings
from .build import base, platforms
from .errors import WakeError

Handler = Callable[[argparse.Namespace], int]


def cmd_manifest_check(args: argparse.Namespace) -> int:
    registry = platforms.load_all()
    found = manifest.load(Path(args.path), known_platforms=registry)
    detection = platforms.detect(found.root, found.platform, registry)
    print(found.summary())
    print(f"  builds as: {detection.platform.name} ({detection.reason})")
    print("ok")
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    path = Path(args.path)
    root = path.parent if path.is_file() else path
    if not root.is_dir():
        raise WakeError(f"{path}: no such folder")
    declared = None
    if (root / manifest.MANIFEST_NAME).is_file():
        declared = manifest.load(root, known_platforms=platforms.load_all()).platform
    detection = platforms.detect(root, declared)
    print(f"{detection.platform.name}\t{detection.reason}")
    return 0


def cmd_platforms(args: argparse.Namespace) -> int:
    registry = platforms.load_all()
    print("Detection order (first match wins; manifest.json \"platform\" overrides):")
    for number, platform in enumerate(platforms.detection_order(registry), 1):
        files = ", ".join(platform.detect_files) or "(declared in manifest.json only)"
        print(f"  {number}. {platform.name:<8} {files:<48} "
              f"{platform.directory}")
    return 0


def cmd_base_bootstrap(args: argparse.Namespace) -> int:
    config = settings.load({"base_image": args.image})
    result = base.bootstrap(engine.connect(), config.base_image, mirror=args.mirror,
                            suite=args.suite, force=args.force)
    print(result)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    print(f"WAKE_HOME   {settings.wake_home()}")
    print(settings.load().describe())
    return 0


def _overrides(args: argparse.Namespace) -> dict[str, str | None]:
    return {"ca_bundle": getattr(args, "ca_bundle", None),
            "base_image": getattr(args, "base_image", None),
            "registry": getattr(args, "registry", None)}


def cmd_build(args: argparse.Namespace) -> int:
    from .run import run_doit

    settings.load(_overrides(args))  # fail early, before doit starts
    targets = [f"build:{app}" for app in args.apps] or ["build"]
    return run_doit(["run", *targets], args.apps, _overrides(args))


def _session(args: argparse.Namespace) -> Any:
    from .build.session import Session

    return Session(only=tuple(args.apps), overrides=tuple(sorted(_overrides(args).items())))


def cmd_plan(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from .build.plan import make_plan, render_text
    from .build.session import quiet_builder

    session = _session(args)
    steps = make_plan(quiet_builder(session))
    deploy, cluster_name = _deploy_plan(session, args)
    if args.json:
        print(json.dumps({"build": [asdict(s) for s in steps], "deploy": deploy,
                          "cluster": cluster_name}, indent=2))
        return 0
    print(render_text(steps))
    if deploy is not None and cluster_name:
        from .deploy.deployer import render_preview

        print()
        print(render_preview(deploy, cluster_name))
    return 0


def _deploy_states(session: Any, args: argparse.Namespace) -> dict[str, tuple[str, str]] | None:
    """deploy:<app> nodes for `wake graph`, when a cluster is chosen."""
    from .cluster import clusters
    from .deploy import deployer

    state = clusters.load()
    name = clusters.chosen_name(state, args.cluster)
    if not name or (args.depth and args.depth < 3):
        return None
    return deployer.states(session, state.get(name))


def _deploy_plan(session: Any, args: argparse.Namespace) -> tuple[list[Any] | None,
                                                                  str | None]:
    """The deploy section of `wake plan`: only when a cluster is chosen; a cluster that
    does not answer is said, not fatal (the build plan stands on its own)."""
    from .cluster import clusters
    from .deploy import deployer
    from .deploy.target import Target

    state = clusters.load()
    name = clusters.chosen_name(state, args.cluster)
    if not name:
        return None, None
    try:
        target = Target.open(state.get(name))
    except WakeError as exc:
        return [{"app": "*", "error": str(exc)}], name
    try:
        session.materializer.base_id_fallback = target.base_image_id
        found = []
        for app in [a.name for a in session.workspace.apps
                    if not args.apps or a.name in args.apps]:
            try:
                found.append(deployer.preview(session, target, app))
            except WakeError as exc:
                found.append({"app": app, "error": str(exc)})
        return found, name
    finally:
        target.close()


def cmd_graph(args: argparse.Namespace) -> int:
    from .build.drawing import check_output, draw, format_for, write_output

    chosen = format_for(args.output, args.format)
    if args.output and args.output != "-":
        check_output(Path(args.output))  # before the (slow) drawing
    session = _session(args)
    text, count = draw(session, chosen, args.depth, _deploy_states(session, args))
    if args.output and args.output != "-":
        write_output(Path(args.output), text)
        print(f"wrote {args.output} ({chosen}, {count} stages)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_clusters_list(args: argparse.Namespace) -> int:
    from .cluster import clusters

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
    from .cluster import clusters

    cluster = clusters.add(args.name, args.consul, args.token)
    print(f"added cluster {cluster.name} (consul {cluster.consul}) to {clusters.path()}")
    return 0


def cmd_clusters_use(args: argparse.Namespace) -> int:
    from .cluster import clusters

    clusters.use(args.name)
    print(f"current cluster: {args.name}")
    return 0


def cmd_clusters_show(args: argparse.Namespace) -> int:
    from .cluster import clusters

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
    except WakeError as exc:
        print(f"status   unreachable: {exc}")
        return 1
    return 0


def cmd_clusters_remove(args: argparse.Namespace) -> int:
    from .cluster import clusters

    clusters.remove(args.name)
    print(f"removed cluster {args.name} from {clusters.path()} (nothing on it was touched)")
    return 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _stdout(line: str) -> None:
    print(line, flush=True)


def cmd_hosts_add(args: argparse.Namespace) -> int:
    from .cluster import hosts

    host, (cpus, memory) = hosts.add(args.name, args.docker, args.tls, args.insecure,
                                     args.address)
    print(f"added host {host.name}: {host.docker} (address {host.address}, {cpus} cpu, "
          f"{memory / 2**30:.1f} GiB)")
    return 0


def cmd_hosts_create(args: argparse.Namespace) -> int:
    from .cluster import hosts

    host, notes = hosts.create(args.name, args.driver, say=_stderr)
    print(f"created host {host.name}: {host.docker} (address {host.address})")
    for note in notes:
        print(f"  {note}")
    return 0


def cmd_hosts_list(args: argparse.Namespace) -> int:
    from .cluster import hosts

    known = hosts.load()
    if not known:
        print("no hosts yet: wake hosts add NAME --docker URL, or "
              "wake hosts create NAME --driver netns")
        return 0
    from .cluster import clusters

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
    from .cluster import hosts

    host = hosts.remove(args.name, say=_stderr, force=args.force)
    print(f"removed host {host.name}")
    return 0


def cmd_hosts_stop(args: argparse.Namespace) -> int:
    from .cluster import hosts

    hosts.set_running(args.name, False, say=_stderr)
    print(f"stopped host {args.name}")
    return 0


def cmd_hosts_start(args: argparse.Namespace) -> int:
    from .cluster import hosts

    hosts.set_running(args.name, True, say=_stderr)
    print(f"started host {args.name}")
    return 0


def cmd_cluster_create(args: argparse.Namespace) -> int:
    from .cluster import lifecycle as cluster

    names = [n.strip() for n in args.hosts.split(",") if n.strip()] if args.hosts else None
    made = cluster.create(args.name, names, args.local, say=_stderr, address=args.address)
    print(f"cluster {made.name}: consul {made.consul}, registry {made.registry}")
    return 0


def cmd_cluster_destroy(args: argparse.Namespace) -> int:
    from .cluster import lifecycle as cluster

    cluster.destroy(args.name, say=_stderr)
    return 0


def cmd_cluster_join(args: argparse.Namespace) -> int:
    from .cluster import clusters, membership

    chosen = clusters.current(args.cluster)
    names = [n.strip() for n in args.hosts.split(",") if n.strip()]
    if not names:
        raise WakeError("give the hosts to join, e.g. `wake cluster join h4,h5`")
    membership.join(chosen, names, say=_stderr)
    print(f"joined {', '.join(names)} to cluster {chosen.name}")
    return 0


def cmd_cluster_leave(args: argparse.Namespace) -> int:
    from .cluster import clusters, membership

    chosen = clusters.current(args.cluster)
    membership.leave(chosen, args.host, say=_stderr)
    print(f"{args.host} left cluster {chosen.name}")
    return 0


def cmd_cluster_status(args: argparse.Namespace) -> int:
    from .cluster import clusters, status

    chosen = (clusters.load().get(args.name) if args.name else clusters.current(args.cluster))
    found = status.collect(chosen)
    print(found.to_json() if args.json else status.render(found))
    return 1 if found.down else 0


def cmd_deploy(args: argparse.Namespace) -> int:
    import contextlib
    import json

    from .build.session import Session
    from .cluster import clusters
    from .run import run_doit

    if args.cluster:
        os.environ["WAKE_CLUSTER"] = args.cluster  # doit's tasks read the current cluster
    clusters.current()  # no cluster: say so before doit starts
    settings.load(_overrides(args))
    session = Session(only=tuple(args.apps), overrides=tuple(sorted(_overrides(args).items())),
                      deploy_wait=args.wait)
    targets = [f"deploy:{app}" for app in args.apps] or ["deploy"]
    # With --json, stdout carries only the result; progress goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        code = run_doit(["run", *targets], args.apps, _overrides(args), session=session)
    if args.json:
        apps = args.apps or [app.name for app in session.workspace.apps]
        print(json.dumps([session.results.get(app, {"app": app, "outcome": "up to date"})
                          for app in apps], indent=2))
    return code


def _agent_for(args: argparse.Namespace) -> Any:
    from .cluster import clusters

    return clusters.current(args.cluster).answering()


def cmd_releases(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from .deploy.store import ReleaseStore

    store = ReleaseStore(_agent_for(args), args.app)
    current, _ = store.current()
    events = store.events()
    if args.json:
        print(json.dumps({"app": args.app, "current": current,
                          "history": [asdict(e) for e in events]}, indent=2))
        return 0
    if not events:
        print(f"{args.app}: no releases yet")
        return 0
    print(f"{args.app}: current release {(current or 'none')[:12]}")
    for e in events:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        what = f"{e.action} {e.release[:12]}" if e.release else e.action
        who = f"{e.who}@{e.machine}" if e.machine else e.who
        commit = f" commit {e.commit[:10]}" if e.commit else ""
        print(f"  {when}  {what:<22} {e.result:<12} {who}{commit}")
        if e.changes:
            print(f"      {'; '.join(e.changes)}")
        if e.detail:
            print(f"      {e.detail.splitlines()[0][:200]}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    import json

    from .build.session import Session
    from .cluster import clusters
    from .deploy import deployer

    result = deployer.rollback(Session(), clusters.current(args.cluster), args.app,
                               args.release, _stderr if args.json else _stdout,
                               wait=args.wait)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def cmd_lock_show(args: argparse.Namespace) -> int:
    from .deploy import lock

    holder = lock.holder(_agent_for(args), args.app)
    print(f"{args.app}: locked: {holder.describe()}" if holder else f"{args.app}: free")
    return 0


def cmd_lock_break(args: argparse.Namespace) -> int:
    import getpass
    import socket

    from .deploy import lock
    from .deploy.store import Event, ReleaseStore

    agent = _agent_for(args)
    holder = lock.break_lock(agent, args.app)
    if holder is None:
        print(f"{args.app}: the lock is free; nothing to break")
        return 0
    ReleaseStore(agent, args.app).record(Event(
        time.time(), "lock break", "", "done", getpass.getuser(), socket.gethostname(),
        detail=f"broke the lock of {holder.describe()}"))
    print(f"{args.app}: broke the lock of {holder.describe()}; that deploy cannot move the "
          "current release any more")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .build.session import Session
    from .cluster import clusters
    from .deploy import status

    found = status.collect(Session(), clusters.current(args.cluster), args.apps)
    print(status.to_json(found) if args.json else status.render(found))
    return 0 if all(app.matches for app in found) else 1


def cmd_explain(args: argparse.Namespace) -> int:
    from .build.explain import explain

    print(explain(args.app, args.stage, _overrides(args)))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="wake", description=(
        "Content-hashed staged Docker builds and deploys. Build steps are doit tasks: "
        "`doit list`, `doit build:APP`."))
    top.add_argument("--version", action="version", version=f"wake {__version__}")
    top.add_argument("--cluster", metavar="NAME",
                     help="the cluster to work on (else $WAKE_CLUSTER, else `clusters use`)")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # `--cluster` also after the command (`wake cluster status --cluster prod`); SUPPRESS
    # keeps a value given before the command when it is not repeated after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cluster", metavar="NAME", default=argparse.SUPPRESS,
                        help="the cluster to work on (else $WAKE_CLUSTER, else `clusters use`)")

    def add(name: str, handler: Handler, help: str,
            parent: argparse._SubParsersAction = sub) -> argparse.ArgumentParser:  # type: ignore[type-arg]
        p: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help,
                                                       parents=[common])
        p.set_defaults(handler=handler)
        return p

    def build_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--ca-bundle", metavar="PEM",
                       help="CA bundle the compile stages trust (else $WAKE_CA_BUNDLE)")
        p.add_argument("--base-image", metavar="IMAGE", help="base image of platform stages")
        p.add_argument("--registry", metavar="HOST:PORT", help="registry cache for stages")

    m = sub.add_parser("manifest", help="check manifest.json files")
    msub = m.add_subparsers(dest="manifest_command", required=True, metavar="COMMAND")
    p = add("check", cmd_manifest_check, "validate an app's manifest.json and summarize it",
            msub)
    p.add_argument("path", help="an app folder or a manifest.json")

    p = add("detect", cmd_detect, "print an app's platform and the file that decided it")
    p.add_argument("path", help="an app folder")
    add("platforms", cmd_platforms, "list platforms in detection order")
    add("config", cmd_config, "show wake's settings and where each comes from")

    b = sub.add_parser("base", help="the base image of platform stages")
    bsub = b.add_subparsers(dest="base_command", required=True, metavar="COMMAND")
    p = add("bootstrap", cmd_base_bootstrap,
            "make the base image with debootstrap from this machine's Debian mirror", bsub)
    p.add_argument("--image",
                   help=f"image name (default: configured, {settings.DEFAULT_BASE_IMAGE})")
    p.add_argument("--mirror", help="Debian mirror URL (default: this machine's apt mirror)")
    p.add_argument("--suite", help="Debian suite (default: read from the image tag)")
    p.add_argument("--force", action="store_true", help="rebuild even if the image exists")

    p = add("build", cmd_build, "build the images of apps (all apps by default) via doit")
    p.add_argument("apps", nargs="*", metavar="APP")
    build_options(p)

    p = add("plan", cmd_plan, "list what a build would build, pull or reuse, and why; and "
            "what a deploy to the current cluster would start and stop (changes nothing)")
    p.add_argument("apps", nargs="*", metavar="APP")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    build_options(p)

    p = add("graph", cmd_graph, "draw the build graph with each stage's state")
    p.add_argument("apps", nargs="*", metavar="APP", help="only these apps (default: all)")
    p.add_argument("--format", "-f", choices=("dot", "svg", "html"),
                   help="default: the --output file's extension, else svg")
    p.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--depth", type=int, choices=(1, 2, 3),
                   help="1: platform stages, 2: + app stages, 3: + process images (default)")
    build_options(p)

    c = sub.add_parser("clusters", help="the clusters this machine knows ($WAKE_HOME)")
    csub = c.add_subparsers(dest="clusters_command", required=True, metavar="COMMAND")
    add("list", cmd_clusters_list, "list clusters; * marks the current one", csub)
    p = add("add", cmd_clusters_add, "add a cluster by its Consul master's address", csub)
    p.add_argument("name")
    p.add_argument("--consul", required=True, metavar="HOST[:PORT]",
                   help="the Consul master's HTTP API (port 8500 if not given)")
    p.add_argument("--token", help="a Consul ACL token, if the cluster uses ACLs")
    p = add("use", cmd_clusters_use, "make a cluster the current one", csub)
    p.add_argument("name")
    p = add("show", cmd_clusters_show, "a cluster's address and its Consul leader and "
            "servers", csub)
    p.add_argument("name", nargs="?")
    p = add("remove", cmd_clusters_remove, "forget a cluster (touches nothing on it)", csub)
    p.add_argument("name")

    h = sub.add_parser("hosts", help="Docker hosts: existing engines and local test hosts")
    hsub = h.add_subparsers(dest="hosts_command", required=True, metavar="COMMAND")
    p = add("add", cmd_hosts_add, "register an existing Docker engine as a host", hsub)
    p.add_argument("name")
    p.add_argument("--docker", required=True, metavar="URL",
                   help="unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376")
    p.add_argument("--tls", metavar="FOLDER",
                   help="for tcp://: a folder with ca.pem, cert.pem and key.pem")
    p.add_argument("--insecure", action="store_true",
                   help="allow plain tcp:// without TLS (anyone reaching it is root there)")
    p.add_argument("--address", metavar="IP",
                   help="where the host's containers listen (default: from the URL)")
    p = add("create", cmd_hosts_create, "make a new host with a driver", hsub)
    p.add_argument("name")
    p.add_argument("--driver", required=True, choices=("netns",),
                   help="netns: a network namespace with its own dockerd, on this machine")
    add("list", cmd_hosts_list, "list hosts and whether their engines answer", hsub)
    p = add("rm", cmd_hosts_rm, "forget a host; for netns hosts, tear it down", hsub)
    p.add_argument("name")
    p.add_argument("--force", action="store_true",
                   help="even if a cluster uses it (the cluster forgets the host)")
    p = add("stop", cmd_hosts_stop, "stop a netns host's engine (and its containers)", hsub)
    p.add_argument("name")
    p = add("start", cmd_hosts_start, "start a stopped netns host's engine again", hsub)
    p.add_argument("name")

    k = sub.add_parser("cluster", help="make, inspect and remove a cluster")
    ksub = k.add_subparsers(dest="cluster_command", required=True, metavar="COMMAND")
    p = add("create", cmd_cluster_create, "start Consul servers, rsyslog and a registry "
            "on hosts and add the cluster to clusters.json", ksub)
    p.add_argument("name")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--hosts", metavar="H1,H2,H3",
                       help="hosts from `wake hosts`; servers on the first three")
    where.add_argument("--local", action="store_true",
                       help="everything on this machine's own engine (one server)")
    p.add_argument("--address", metavar="127.0.0.N",
                   help="with --local: the loopback address its services listen on "
                        "(default 127.0.0.1; another lets two local clusters run at once)")
    p = add("destroy", cmd_cluster_destroy, "remove what `cluster create` started", ksub)
    p.add_argument("name")
    p = add("join", cmd_cluster_join, "add hosts to the current cluster (--cluster NAME "
            "for another): a Consul client on each, registered with its capacity", ksub)
    p.add_argument("hosts", metavar="H4[,H5...]", help="hosts from `wake hosts`")
    p = add("leave", cmd_cluster_leave, "take a host out of the current cluster (not one "
            "that runs a server, rsyslog or the registry)", ksub)
    p.add_argument("host")
    p = add("status", cmd_cluster_status, "leader, servers, hosts and services with health "
            "(exit 1 if anything is down)", ksub)
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("deploy", cmd_deploy, "build what changed and deploy it to the current cluster "
            "(the doit task deploy:APP; nothing happens when nothing changed)")
    p.add_argument("apps", nargs="*", metavar="APP", help="apps to deploy (default: all)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if another deploy holds the app's lock, wait this long for it")
    build_options(p)

    p = add("releases", cmd_releases, "an app's history, newest first: deploys, rollbacks "
            "and lock breaks with when, who, commit, result and what changed")
    p.add_argument("app")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("rollback", cmd_rollback, "deploy an earlier release again (default: the last "
            "successful one before the current), health-gated like a deploy")
    p.add_argument("app")
    p.add_argument("release", nargs="?", help="a release id or its first characters")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="if another deploy holds the app's lock, wait this long for it")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")

    lk = sub.add_parser("lock", help="an app's deploy lock")
    lsub = lk.add_subparsers(dest="lock_command", required=True, metavar="COMMAND")
    p = add("show", cmd_lock_show, "who holds an app's deploy lock, since when", lsub)
    p.add_argument("app")
    p = add("break", cmd_lock_break, "free an app's deploy lock (its holder's deploy can "
            "no longer move the current release); recorded in the app's history", lsub)
    p.add_argument("app")

    p = add("status", cmd_status, "each app's current release and instances: host, "
            "address, health, uptime; whether the cluster matches the workspace")
    p.add_argument("apps", nargs="*", metavar="APP", help="only these apps")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("explain", cmd_explain, "say why a stage would rebuild, or that it is up to date")
    p.add_argument("app")
    p.add_argument("stage", nargs="?", help="e.g. app-compile, release-web (default: all)")
    build_options(p)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome is an exit code from errors.py, never a traceback."""
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()
        return code
    except WakeError as exc:
        print(f"wake: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wake: interrupted", file=sys.stderr)
        return errors.INTERRUPTED
    except BrokenPipeError:
        # `wake explain APP | head`: the reader left. Say nothing more (Python's advice:
        # point stdout at devnull so the flush at exit does not fail again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return errors.FAILURE
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a message
        command = " ".join(str(a) for a in (argv if argv is not None else sys.argv[1:]))
        print(f"wake: {crash.report_unexpected(exc, f'running `wake {command}`')}",
              file=sys.stderr)
        return errors.FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
