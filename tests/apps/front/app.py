"""front: calls its dependency api through the host's proxy (http://api:8000/)."""

import os
import signal
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "http://api:8000/"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/_health":
            status, text = 200, "ok\n"
        else:
            try:
                with urllib.request.urlopen(API, timeout=5) as answer:
                    status, text = 200, f"front -> {answer.read().decode()}"
            except OSError as exc:
                status, text = 502, f"front: api did not answer: {exc}\n"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))),
                        Handler).serve_forever()
