"""`wake` commands about deploys: deploy, status, releases, rollback, lock."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from .. import settings
from .common import _overrides, _stderr, _stdout


def cmd_deploy(args: argparse.Namespace) -> int:
    import contextlib
    import json

    from ..build.session import Session
    from ..cluster import clusters
    from ..run import run_doit

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
    from ..cluster import clusters

    return clusters.current(args.cluster).answering()


def cmd_releases(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from ..deploy.store import ReleaseStore

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

    from ..build.session import Session
    from ..cluster import clusters
    from ..deploy import deployer

    result = deployer.rollback(Session(), clusters.current(args.cluster), args.app,
                               args.release, _stderr if args.json else _stdout,
                               wait=args.wait)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def cmd_lock_show(args: argparse.Namespace) -> int:
    from ..deploy import lock

    holder = lock.holder(_agent_for(args), args.app)
    print(f"{args.app}: locked: {holder.describe()}" if holder else f"{args.app}: free")
    return 0


def cmd_lock_break(args: argparse.Namespace) -> int:
    import getpass
    import socket

    from ..deploy import lock
    from ..deploy.store import Event, ReleaseStore

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
    from ..build.session import Session
    from ..cluster import clusters
    from ..deploy import status

    cluster = clusters.current(args.cluster)
    found = status.collect(Session(), cluster, args.apps)
    if args.json:
        print(status.to_json(found))
    else:
        print(status.render(found))
        print("\n".join(status.proxies(cluster)))
    return 0 if all(app.matches for app in found) else 1
