"""python-native: a page served by the standard library, from a dependency that
compiled a C extension when it was installed (crcmod._crcfunext)."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import crcmod
import crcmod._crcfunext  # noqa: F401 - the compiled part; ImportError if it was not built

CRC32 = crcmod.predefined.mkCrcFun("crc-32")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if self.path == "/_health":
            body = b"ok"
        else:
            body = f"python-native: crc32(wake) = {CRC32(b'wake'):08x} (C extension)".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
