"""The registry cache: stage images pushed after a build, pulled instead of rebuilt.

Talks the registry's HTTP API (v2) directly for "is this tag there?", so a
check costs one HEAD request and no pull.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from .engine import Engine
from .errors import WakeError

MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


def _base_url(registry: str) -> str:
    if "://" in registry:
        return registry.rstrip("/")
    host = registry.split(":")[0]
    # Registries on loopback speak plain HTTP (and dockerd allows that for 127.0.0.0/8).
    scheme = "http" if host in ("localhost", "127.0.0.1", "::1") else "https"
    return f"{scheme}://{registry}"


def host(registry: str) -> str:
    return registry.split("://", 1)[-1].rstrip("/")


def has(registry: str, repository: str, tag: str) -> bool:
    request = urllib.request.Request(f"{_base_url(registry)}/v2/{repository}/manifests/{tag}",
                                     method="HEAD", headers={"Accept": MANIFEST_TYPES})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise WakeError(f"registry {registry}: HEAD {repository}:{tag} gave {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WakeError(f"registry {registry} does not answer ({exc}); start it or unset "
                        "WAKE_REGISTRY / registry in config.toml") from None


def push(engine: Engine, registry: str, local_tag: str) -> None:
    """Push a local image to the registry under the same repository and tag."""
    remote = f"{host(registry)}/{local_tag}"
    engine.tag(local_tag, remote)
    engine.push(remote)
    engine.untag(remote)


def pull(engine: Engine, registry: str, local_tag: str) -> None:
    """Pull an image from the registry and tag it as `local_tag`."""
    remote = f"{host(registry)}/{local_tag}"
    engine.pull(remote)
    engine.tag(remote, local_tag)
    engine.untag(remote)
