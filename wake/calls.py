"""How many requests this process made to Docker engines and to Consul agents.

Every engine (wake.engine.connect) and agent (wake.consul.Agent) counts its HTTP requests
here through a requests response hook. With WAKE_CALLS_FILE=PATH set, the process appends
one JSON line, {"docker": N, "consul": N, "argv": [...]}, to PATH when it exits: what a
command cost, for benchmarks, the reliability suite's load test and anyone asking why a
no-op took the time it did.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections import Counter
from typing import Any

COUNTS: Counter[str] = Counter()
FILE_VARIABLE = "WAKE_CALLS_FILE"


def watch(session: Any, kind: str) -> None:
    """Count every response `session` (a requests.Session) receives under `kind`."""
    def counted(response: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS[kind] += 1
        return response
    session.hooks["response"].append(counted)


def _write() -> None:
    path = os.environ.get(FILE_VARIABLE)
    if not path:
        return
    line = json.dumps({"docker": COUNTS["docker"], "consul": COUNTS["consul"],
                       "argv": sys.argv})
    try:
        with open(path, "a") as handle:  # one short line per process: appends stay whole
            handle.write(line + "\n")
    except OSError:
        pass  # a diagnostic: never the reason a command fails


atexit.register(_write)
