"""The `wake` command: argument parsing only; the work is in the library. One module
per noun (build, cluster, deploy) holds its commands; `main` is the one error path."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from .. import __version__, crash, errors, settings
from ..errors import WakeError
from .build import (
    cmd_base_bootstrap,
    cmd_build,
    cmd_config,
    cmd_detect,
    cmd_explain,
    cmd_graph,
    cmd_init,
    cmd_manifest_check,
    cmd_plan,
    cmd_platforms,
    cmd_prune,
)
from .cluster import (
    cmd_cluster_create,
    cmd_cluster_destroy,
    cmd_cluster_join,
    cmd_cluster_leave,
    cmd_cluster_status,
    cmd_clusters_add,
    cmd_clusters_list,
    cmd_clusters_remove,
    cmd_clusters_show,
    cmd_clusters_use,
    cmd_hosts_add,
    cmd_hosts_create,
    cmd_hosts_list,
    cmd_hosts_rm,
    cmd_hosts_start,
    cmd_hosts_stop,
)
from .cron import cmd_cron
from .deploy import (
    cmd_deploy,
    cmd_lock_break,
    cmd_lock_show,
    cmd_releases,
    cmd_rollback,
    cmd_status,
)
from .logs import cmd_logs

Handler = Callable[[argparse.Namespace], int]


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

    p = add("init", cmd_init, "make a folder a workspace doit builds: a dodo.py loading "
            "wake's tasks and a wake.toml listing its apps (none when the folder is the app)")
    p.add_argument("folder", nargs="?", default=".",
                   help="the folder (default: the current one)")
    p.add_argument("--force", action="store_true", help="replace dodo.py and wake.toml")

    m = sub.add_parser("manifest", help="check manifest.json files")
    msub = m.add_subparsers(dest="manifest_command", required=True, metavar="COMMAND")
    p = add("check", cmd_manifest_check, "validate an app's manifest.json and summarize it",
            msub)
    p.add_argument("path", help="an app folder or a manifest.json")

    p = add("detect", cmd_detect, "print an app's platform@version and the files that "
                                  "decided them")
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
    p.add_argument("--suite", help="Debian suite, e.g. trixie for the newer language "
                                   "versions (default: read from the image tag); alone, it "
                                   "makes that suite's base image (debian:SUITE-slim)")
    p.add_argument("--force", action="store_true", help="rebuild even if the image exists")

    p = add("build", cmd_build, "build the images of apps (all apps by default) via doit")
    p.add_argument("apps", nargs="*", metavar="APP")
    p.add_argument("--continue", "-k", dest="keep_going", action="store_true",
                   help="after a failed stage, build every stage that does not need it; "
                        "list the failures at the end (exit 1)")
    # default None, not False: without the flag, $WAKE_VERBOSE / $WAKE_NO_CACHE decide
    p.add_argument("--verbose", "-v", action="store_true", default=None,
                   help="print every line of the build output, not only its steps "
                        "(else $WAKE_VERBOSE)")
    p.add_argument("--no-cache", action="store_true", default=None,
                   help="build without Docker's layer cache or the platforms' build "
                        "caches (else $WAKE_NO_CACHE)")
    build_options(p)

    p = add("plan", cmd_plan, "list what a build would build, pull or reuse, and why; and "
            "what a deploy to the current cluster would start and stop (changes nothing)")
    p.add_argument("apps", nargs="*", metavar="APP")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    build_options(p)

    p = add("prune", cmd_prune, "remove stage images no stage of the workspace uses, "
            "keeping the newest of each stage and what the cluster's releases and this "
            "engine's containers use")
    p.add_argument("apps", nargs="*", metavar="APP",
                   help="only these apps' images (default: every wake image; platform "
                        "images stay when apps are named)")
    p.add_argument("--keep", type=int, default=2, metavar="N",
                   help="the newest images kept per stage, used or not (default 2)")
    p.add_argument("--dry-run", action="store_true",
                   help="list what would go (tag, stage, size, why); remove nothing")
    p.add_argument("--no-cluster", action="store_true",
                   help="do not ask the current cluster which images its releases use "
                        "(needed to prune when it does not answer)")
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
    p.add_argument("--acl", action="store_true",
                   help="Consul ACLs on, default deny: a new token, kept in clusters.json, "
                        "is needed for everything but reading nodes and services")
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

    p = add("cron", cmd_cron, "an app's cron jobs: schedule (UTC, in words too), last runs "
            "with result and host, next slot; `wake cron run APP JOB` runs one now")
    p.add_argument("words", nargs="+", metavar="APP | run APP JOB")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("logs", cmd_logs, "an app's log lines from the cluster's log master: its "
            "processes' output, cron runs and deploy events (the last 100; -f follows)")
    p.add_argument("app")
    p.add_argument("process", nargs="?", help="one process, cron job, or `deploy` (events)")
    p.add_argument("-f", "--follow", action="store_true", help="then print new lines as "
                   "they come, until interrupted")
    p.add_argument("--since", metavar="WHEN", help="lines since a duration ago (30s, 10m, "
                   "2h, 1d) or a time (2026-11-26T10:00, UTC)")
    p.add_argument("--instance", metavar="ID", help="one instance (e.g. web-3f2a9c) or cron "
                   "run (its slot)")
    p.add_argument("-n", "--lines", type=int, metavar="N", help="the last N lines (default "
                   "100; with --since: every line since)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")

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
