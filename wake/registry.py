"""Image registries: the build cache (stage images pushed after a build, pulled instead
of rebuilt) and a cluster's registry (release images hosts pull by digest).

Talks the registry's HTTP API (v2) directly for "is this tag there?" and "what image is
this tag?", so a check costs one request and no pull. A cluster's registry speaks TLS with
the cluster's own CA (`ca`, PEM bytes).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from .engine import Engine
from .errors import WakeError

MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


def _base_url(registry: str, ca: bytes | None = None) -> str:
    if "://" in registry:
        return registry.rstrip("/")
    if ca is not None:
        return f"https://{registry}"
    host = registry.split(":")[0]
    # Registries on loopback speak plain HTTP (and dockerd allows that for 127.0.0.0/8).
    scheme = "http" if host in ("localhost", "127.0.0.1", "::1") else "https"
    return f"{scheme}://{registry}"


def host(registry: str) -> str:
    return registry.split("://", 1)[-1].rstrip("/")


def _manifest(registry: str, repository: str, tag: str, method: str,
              ca: bytes | None) -> bytes | None:
    """The manifest of repository:tag (HEAD: b""), or None when the registry has none."""
    request = urllib.request.Request(
        f"{_base_url(registry, ca)}/v2/{repository}/manifests/{tag}", method=method,
        headers={"Accept": MANIFEST_TYPES})
    context = ssl.create_default_context(cadata=ca.decode()) if ca else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return bytes(response.read()) if method == "GET" else b""
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise WakeError(f"registry {registry}: {method} {repository}:{tag} gave {exc.code}"
                        ) from None
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        hint = ("is the cluster up? `wake cluster status`" if ca else
                "start it or unset WAKE_REGISTRY / registry in config.toml")
        raise WakeError(f"registry {registry} does not answer ({exc}); {hint}") from None


def has(registry: str, repository: str, tag: str, ca: bytes | None = None) -> bool:
    return _manifest(registry, repository, tag, "HEAD", ca) is not None


def image_id(registry: str, repository: str, tag: str, ca: bytes | None = None) -> str | None:
    """The image ID (its config's digest) of repository:tag in the registry, without
    pulling it: what a stage key needs on an engine that lacks its base image."""
    data = _manifest(registry, repository, tag, "GET", ca)
    if data is None:
        return None
    try:
        config = json.loads(data)["config"]["digest"]
    except (ValueError, KeyError, TypeError):
        raise WakeError(f"registry {registry}: {repository}:{tag} has no single-image "
                        "manifest") from None
    return str(config)


# A moving tag of a release stage's repository: the image last built and pushed. A fresh
# engine builds the next release with it as its layer cache, as a Dockerfile build uses
# --cache-from (docs/platforms.md, "Dependencies").
LAST = "last"


def push(engine: Engine, registry: str, local_tag: str, as_last: bool = False) -> str:
    """Push a local image to the registry under the same repository and tag (and, with
    `as_last`, as the repository's LAST too: no layer is sent twice); returns the
    registry's digest of it."""
    remotes = [f"{host(registry)}/{local_tag}"]
    if as_last:
        remotes.append(f"{host(registry)}/{local_tag.rsplit(':', 1)[0]}:{LAST}")
    digests = []
    for remote in remotes:
        engine.tag(local_tag, remote)
        digests.append(engine.push(remote))
        engine.untag(remote)
    return digests[0]


def pull_last(engine: Engine, registry: str, repository: str) -> str | None:
    """Pull the repository's LAST image, if the registry has one; returns its local name
    (the caller untags it when done with it)."""
    if not has(registry, repository, LAST):
        return None
    remote = f"{host(registry)}/{repository}:{LAST}"
    engine.pull(remote)
    return remote


def pull(engine: Engine, registry: str, local_tag: str) -> None:
    """Pull an image from the registry and tag it as `local_tag`."""
    remote = f"{host(registry)}/{local_tag}"
    engine.pull(remote)
    engine.tag(remote, local_tag)
    engine.untag(remote)
