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

from ..errors import WakeError
from ..statefile import private_folder, write_atomically


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


def _ca(work: Path, common_name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
             "-subj", f"/CN={common_name} CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=work)


def _sign(work: Path, stem: str, common_name: str, extensions: str) -> None:
    """stem.key and stem.crt (for `common_name`), signed by work/ca.key."""
    (work / f"{stem}.cnf").write_text(extensions)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", f"/CN={common_name}",
             "-keyout", f"{stem}.key", "-out", f"{stem}.csr", cwd=work)
    _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "825", "-sha256", "-extfile", f"{stem}.cnf",
             "-out", f"{stem}.crt", cwd=work)


def _server_extensions(addresses: list[str]) -> str:
    return ("subjectAltName=" + ",".join(f"IP:{a}" for a in addresses) + "\n"
            "extendedKeyUsage=serverAuth\n")


def _keep(work: Path, folder: Path, names: dict[str, str]) -> dict[str, bytes]:
    """Write work/SOURCE to folder/TARGET (atomically, 0600) for each TARGET: SOURCE."""
    files = {target: (work / source).read_bytes() for target, source in names.items()}
    for name, data in files.items():
        write_atomically(folder / name, data)
    return files


def make(folder: Path, common_name: str, addresses: list[str]) -> ServerCert:
    """A new CA in `folder` (ca.crt, ca.key; mode 0600) and a server certificate for
    `addresses` (IP subject alternative names) signed by it."""
    private_folder(folder)
    with tempfile.TemporaryDirectory(prefix="wake-tls-") as tmp:
        work = Path(tmp)
        _ca(work, common_name)
        _sign(work, "tls", addresses[0], _server_extensions(addresses))
        files = _keep(work, folder, {name: name for name in
                                     ("ca.crt", "ca.key", "tls.crt", "tls.key")})
    return ServerCert(files["ca.crt"], files["tls.crt"], files["tls.key"])


# docker-machine's layout: what the daemon needs, and what a client needs (DOCKER_CERT_PATH).
ENGINE_FILES = {"ca.pem": "ca.crt", "ca-key.pem": "ca.key",
                "server.pem": "server.crt", "server-key.pem": "server.key",
                "cert.pem": "client.crt", "key.pem": "client.key"}


def make_engine(folder: Path, common_name: str, addresses: list[str]) -> Path:
    """Certificates for a Docker engine on tcp:// with --tlsverify, as docker-machine made
    them: a CA, a server certificate for `addresses` and one client certificate, all in
    `folder` (mode 0600). `folder` is then what `wake hosts add --tls` takes."""
    private_folder(folder)
    with tempfile.TemporaryDirectory(prefix="wake-tls-") as tmp:
        work = Path(tmp)
        _ca(work, common_name)
        _sign(work, "server", addresses[0], _server_extensions(addresses))
        _sign(work, "client", "wake", "extendedKeyUsage=clientAuth\n")
        _keep(work, folder, ENGINE_FILES)
    return folder
