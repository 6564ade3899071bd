"""`wake logs APP [PROCESS] [-f] [--since 10m] [--instance ID] [--json] [-n N]`."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import UsageError
from ..manifest.model import NAME_RE

DEFAULT_LINES = 100


def cmd_logs(args: argparse.Namespace) -> int:
    from ..cluster import clusters
    from ..logs import read

    for value, what in ((args.app, "APP"), (args.process, "PROCESS")):
        if value is not None and not NAME_RE.fullmatch(value):
            raise UsageError(f"{what} {value!r} is not an app or process name (lowercase "
                             "a-z, 0-9 and '-')")
    if args.lines is not None and args.lines < 0:
        raise UsageError(f"--lines {args.lines}: give 0 or more")
    query = read.Query(args.app, args.process, args.instance,
                       read.since(args.since) if args.since else None)

    def out(line: read.Line) -> None:
        print(json.dumps(line.to_dict()) if args.json else line.render(), flush=args.follow)

    count = read.show(clusters.current(args.cluster), query,
                      DEFAULT_LINES if args.lines is None else args.lines, args.follow, out)
    if count == 0 and not args.follow:
        what = " ".join(filter(None, (args.app, args.process,
                                      args.instance and f"instance {args.instance}")))
        when = f" since {query.since.isoformat(timespec='seconds')}" if query.since else ""
        print(f"wake: no log lines of {what}{when} on the cluster's log master",
              file=sys.stderr)
    return 0
