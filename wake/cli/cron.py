"""`wake cron APP` (each job, its schedule, last runs, next slot) and `wake cron run APP JOB`."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import Any

from ..errors import UsageError

LAST_RUNS = 5


def cmd_cron(args: argparse.Namespace) -> int:
    words = list(args.words)
    if len(words) == 3 and words[0] == "run":
        return _run_now(args, words[1], words[2])
    if len(words) != 1:
        raise UsageError("usage: wake cron APP [--json] | wake cron run APP JOB")
    return _show(args, words[0])


def _current(args: argparse.Namespace, app: str) -> tuple[Any, Any, Any]:
    from ..cluster import clusters
    from ..deploy.store import ReleaseStore

    cluster = clusters.current(args.cluster)
    agent = cluster.answering()
    store = ReleaseStore(agent, app)
    current, _ = store.current()
    release = store.get(current) if current else None
    if release is None:
        raise UsageError(f"{app} has no current release on cluster {cluster.name}; "
                         f"deploy it first (doit deploy:{app})")
    return cluster, agent, release


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp)) if stamp else "-"


def _show(args: argparse.Namespace, app: str) -> int:
    from ..cron import times
    from ..cron.runs import Ledger

    _, agent, release = _current(args, app)
    now = time.time()
    jobs = []
    for job in release.cron_jobs:
        runs = Ledger(agent, app, job.name).history()
        jobs.append({"job": job.name, "schedule": job.schedule,
                     "in_words": times.in_words(job.schedule),
                     "next": times.next_slot(job.schedule, now).isoformat(),
                     "timeout": job.timeout, "cpu": job.cpu, "memory": job.memory,
                     "runs": [asdict(r) for r in runs[-LAST_RUNS:]]})
    if args.json:
        print(json.dumps({"app": app, "release": release.id, "jobs": jobs}, indent=2))
        return 0
    if not jobs:
        print(f"{app}: its current release ({release.short}) has no cron jobs")
        return 0
    print(f"{app}: cron jobs of release {release.short} (schedules are UTC)")
    for job in jobs:
        print(f"  {job['job']}: {job['schedule']}  - {job['in_words']}")
        print(f"    next slot {job['next'].replace('+00:00', 'Z')}, timeout {job['timeout']} s, "
              f"cpu {job['cpu']:g}, memory {job['memory']} MB")
        if not job["runs"]:
            print("    no runs yet")
        for run in reversed(job["runs"]):
            took = (f", {run['ended'] - run['started']:.0f} s" if run["ended"] and run["started"]
                    else "")
            code = f", exit {run['exit_code']}" if run["exit_code"] is not None else ""
            where = f" on {run['host']}" if run["host"] else ""
            late = " (late)" if run["late"] else ""
            print(f"    {run['slot']:<30} {run['result']:<10}{where}{code}{took}{late}")
            if run["detail"]:
                print(f"      {run['detail'].splitlines()[0][:160]}")
    return 0


def _run_now(args: argparse.Namespace, app: str, name: str) -> int:
    from ..cron import runs
    from ..cron.runner import Runner, new_run

    cluster, agent, release = _current(args, app)
    job = release.cron_job(name)
    if job is None:
        known = ", ".join(c.name for c in release.cron_jobs) or "none"
        raise UsageError(f"{app}'s current release has no cron job {name!r}; jobs: {known}")
    ledger = runs.Ledger(agent, app, name)
    run = ledger.claim(new_run(app, release, job, runs.manual_slot(), "wake cron run"))
    if run is None:  # a manual slot is new each time; a clash means a clock gone wrong
        raise UsageError(f"{app}/{name}: could not claim a manual slot; try again")
    runner = Runner(agent, cluster.name, print)
    try:
        done = runner.start(ledger, run, job, release)
    finally:
        runner.close()
    if done.result == runs.RUNNING:
        print(f"{app}/{name}: run {done.slot} started on {done.host}; the scheduler records "
              f"how it ends (wake cron {app})")
        return 0
    print(f"{app}/{name}: run {done.slot} {done.result}: {done.detail}")
    return 1
