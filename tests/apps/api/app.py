"""api: answers who it is (instance and version), for the dependency proxy's tests."""

import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = f"api {os.environ.get('WAKE_INSTANCE', '?')} v{os.environ.get('API_VERSION', '?')}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        data = ("ok\n" if self.path == "/_health" else f"{NAME}\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass  # 50 requests a second would drown the logs


class Server(ThreadingHTTPServer):
    daemon_threads = False  # SIGTERM: requests being answered are finished first
    block_on_close = True


if __name__ == "__main__":
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
    signal.signal(signal.SIGTERM,
                  lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{NAME} listening", flush=True)
    server.serve_forever()
    server.server_close()
    print(f"{NAME} stopped", flush=True)
