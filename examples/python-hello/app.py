"""python-hello: a tiny web app on the standard library's http.server."""

import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGES = {"/": "Hello from python-hello!\n", "/_health": "ok\n"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGES.get(self.path.split("?", 1)[0])
        self.send_response(200 if body else 404)
        data = (body or "not found\n").encode()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"python-hello listening on 0.0.0.0:{port}", flush=True)
    # As PID 1 in a container, a process without a handler ignores SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
