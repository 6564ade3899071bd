"""The wake-scheduler service's process: `python3 -m wake.cron.service`.

Runs in a container on every host of a cluster (host network), talking to that host's
Consul agent; the settings come from the environment the cluster gives it:

    WAKE_CONSUL   the host's agent, address:port
    WAKE_CLUSTER  the cluster's name (labels of run containers)
    WAKE_HOST     the host's name (who claimed a run)
    WAKE_CONSUL_TOKEN_FILE  a file holding the cluster's ACL token (a cluster with ACLs)
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from ..consul import Agent, token_from_env
from ..errors import WakeError
from .scheduler import Scheduler


def main() -> int:
    missing = [v for v in ("WAKE_CONSUL", "WAKE_CLUSTER", "WAKE_HOST") if not os.environ.get(v)]
    if missing:
        print(f"wake-scheduler: set {', '.join(missing)}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        token = token_from_env(os.environ)
    except WakeError as exc:
        print(f"wake-scheduler: {exc}", file=sys.stderr)
        return 2
    agent = Agent(os.environ["WAKE_CONSUL"], token)
    Scheduler(agent, os.environ["WAKE_CLUSTER"], os.environ["WAKE_HOST"], say).serve(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
