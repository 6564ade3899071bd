"""Requests to api through the proxy at a steady rate, from inside a front instance:
`python3 load.py RATE MAX_SECONDS [STOP_FILE]`: until STOP_FILE exists or MAX_SECONDS
passed (so at most RATE x MAX_SECONDS requests). Prints one JSON line: sent, failed,
the first failures, per api instance how many answers it gave and when it gave its last
(unix time), and when the load began."""

import collections
import http.client
import json
import os
import sys
import time


def main() -> None:
    rate, seconds = float(sys.argv[1]), float(sys.argv[2])
    stop = sys.argv[3] if len(sys.argv) > 3 else None
    failures, count, last = [], collections.Counter(), {}
    began, wall = time.monotonic(), time.time()
    n = 0
    while n < rate * seconds and not (stop and os.path.exists(stop)):
        # A steady rate, whatever each answer took.
        time.sleep(max(0.0, began + n / rate - time.monotonic()))
        n += 1
        try:
            conn = http.client.HTTPConnection("api", 8000, timeout=10)
            conn.request("GET", "/")
            answer = conn.getresponse()
            body = answer.read().decode().strip()
            conn.close()
        except OSError as exc:
            failures.append(f"{n}: {exc!r}")
            continue
        if answer.status != 200:
            failures.append(f"{n}: {answer.status} {body[:160]}")
            continue
        instance = body.split(" ")[1] if body.startswith("api ") else body[:40]
        count[instance] += 1
        last[instance] = time.time()
    print(json.dumps({"sent": n, "failed": len(failures), "failures": failures[:10],
                      "answers": count, "last": last, "began": wall,
                      "seconds": round(time.monotonic() - began, 1)}))


if __name__ == "__main__":
    main()
