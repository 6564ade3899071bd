"""Extra git repositories (manifest `repos`): resolve a ref to a commit, export its files.

Repos are fetched on the build machine into a bare mirror under
$WAKE_HOME/cache/repos, so credentials never enter an image and the key can
use the commit id alone.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

from ..errors import WakeError
from ..settings import wake_home
from .keys import sha256

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh"}


def _run(args: tuple[str, ...], cwd: Path | None) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV},
                              capture_output=True, timeout=300)
    except FileNotFoundError:
        raise WakeError("git is not installed; apt-get install git") from None
    except subprocess.TimeoutExpired:
        raise WakeError(f"git {' '.join(args)} took over 5 minutes") from None
    if done.returncode != 0:
        raise WakeError(f"git {' '.join(args)} failed: {done.stderr.decode().strip()}")
    return done


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git (no prompts, safe transports only); its output, or a WakeError."""
    return _run(args, cwd).stdout.decode()


def resolve(url: str, ref: str | None) -> str:
    """The commit `ref` (default: the remote's HEAD) points at, asked with ls-remote."""
    if ref and len(ref) == 40 and all(c in "0123456789abcdef" for c in ref):
        return ref
    wanted = ref or "HEAD"
    out = git("ls-remote", "--", url, wanted)
    for line in out.splitlines():
        commit, name = line.split("\t", 1)
        if name in (wanted, f"refs/heads/{wanted}", f"refs/tags/{wanted}^{{}}"):
            return commit
    for line in out.splitlines():  # a tag without ^{} (lightweight)
        commit, name = line.split("\t", 1)
        if name == f"refs/tags/{wanted}":
            return commit
    raise WakeError(f"repo {url}: no branch or tag {wanted!r}")


def mirror(url: str) -> Path:
    path = wake_home() / "cache" / "repos" / sha256(url)[:24]
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "--bare", "--quiet", "--", url, str(path))
    return path


def export(url: str, commit: str) -> dict[str, tuple[bytes, int]]:
    """Files of `url` at `commit`: relative path -> (content, mode)."""
    bare = mirror(url)
    try:
        git("cat-file", "-e", f"{commit}^{{commit}}", cwd=bare)
    except WakeError:
        git("fetch", "--quiet", "--", url, "+refs/*:refs/*", cwd=bare)
    archive = _run(("archive", "--format=tar", commit), bare).stdout
    files: dict[str, tuple[bytes, int]] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                files[member.name] = (handle.read(), member.mode)
    return files
