"""A cluster's own certificate authority, for its image registry (openssl CLI).

Every engine that pulls from or pushes to the registry trusts the CA through
`/etc/docker/certs.d/HOST:PORT/ca.crt`, which dockerd reads at each connection, so
no engine restarts and no `insecure-registries` setting is needed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import WakeError
from .statefile import private_folder, write_atomically


@dataclass(frozen=True)
class ServerCert:
    ca: bytes  # PEM of the CA that signed it
    cert: bytes
    key: bytes


def _openssl(*args: str, cwd: Path) -> None:
    if not shutil.which("openssl"):
        raise WakeError("openssl is needed to make the cluster registry's certificate "
                        "(apt-get install openssl)")
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise WakeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


def make(folder: Path, common_name: str, addresses: list[str]) -> ServerCert:
    """A new CA in `folder` (ca.crt, ca.key; mode 0600) and a server certificate for
    `addresses` (IP subject alternative names) signed by it."""
    private_folder(folder)
    with tempfile.TemporaryDirectory(prefix="wake-tls-") as tmp:
        work = Path(tmp)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
                 "-subj", f"/CN={common_name} CA", "-keyout", "ca.key", "-out", "ca.crt",
                 cwd=work)
        (work / "ext.cnf").write_text(
            "subjectAltName=" + ",".join(f"IP:{a}" for a in addresses) + "\n"
            "extendedKeyUsage=serverAuth\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256",
                 "-subj", f"/CN={addresses[0]}", "-keyout", "tls.key", "-out", "tls.csr",
                 cwd=work)
        _openssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "825", "-sha256", "-extfile", "ext.cnf",
                 "-out", "tls.crt", cwd=work)
        files = {name: (work / name).read_bytes()
                 for name in ("ca.crt", "ca.key", "tls.crt", "tls.key")}
    for name, data in files.items():
        write_atomically(folder / name, data)
    return ServerCert(files["ca.crt"], files["tls.crt"], files["tls.key"])
