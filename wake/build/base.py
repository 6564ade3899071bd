"""`wake base bootstrap`: make the base image with debootstrap, for engines that cannot pull."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..engine import Engine
from ..errors import WakeError

DEB822_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
LEGACY_SOURCES = Path("/etc/apt/sources.list")
DEFAULT_SUITE = "bookworm"
# Debian codenames debootstrap knows how to make; used to read a suite off a tag.
KNOWN_SUITES = ("buster", "bullseye", "bookworm", "trixie", "sid")
NUMBERED_SUITES = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie"}


@dataclass(frozen=True)
class BootstrapResult:
    image: str
    image_id: str
    created: bool
    mirror: str | None = None
    suite: str | None = None

    def __str__(self) -> str:
        if not self.created:
            return (f"base image {self.image} is already present ({self.image_id[:19]}); "
                    "nothing to do")
        return (f"made base image {self.image} ({self.image_id[:19]}) with debootstrap "
                f"{self.suite} from {self.mirror}")


def machine_mirror(sources: Path = DEB822_SOURCES, legacy: Path = LEGACY_SOURCES,
                   suite: str = DEFAULT_SUITE) -> str:
    """The Debian mirror this machine's apt uses for `suite` (never a hard-coded host)."""
    if sources.is_file():
        for stanza in re.split(r"\n\s*\n", sources.read_text()):
            fields = dict(
                (m[1].lower(), m[2].strip())
                for m in re.finditer(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.MULTILINE))
            suites = fields.get("suites", "").split()
            enabled = fields.get("enabled", "yes").lower() not in ("no", "false", "0")
            if fields.get("uris") and suite in suites and enabled:
                return str(fields["uris"].split()[0])
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            # deb [options] URI SUITE COMPONENTS...; options may hold spaces.
            words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                return words[1]
    raise WakeError(f"cannot find a Debian mirror for {suite} in {sources} or {legacy}; "
                    "pass --mirror URL")


def suite_for(image: str) -> str:
    """Read the Debian suite off a tag like debian:bookworm-slim; default bookworm."""
    image = image.split("@", 1)[0]  # a digest pin says nothing about the suite
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    version = tag.split("-", 1)[0].split(".", 1)[0]
    if version in NUMBERED_SUITES:
        return NUMBERED_SUITES[version]
    for suite in KNOWN_SUITES:
        if tag == suite or tag.startswith(suite + "-"):
            return suite
    return DEFAULT_SUITE


def bootstrap(engine: Engine, image: str, mirror: str | None = None,
              suite: str | None = None, force: bool = False,
              say: Callable[[str], None] = print) -> BootstrapResult:
    """Make `image` from debootstrap's minbase variant unless it already exists."""
    existing = engine.inspect(image)
    if existing is not None and not force:
        return BootstrapResult(image=image, image_id=str(existing["Id"]), created=False)
    suite = suite or suite_for(image)
    mirror = mirror or machine_mirror(suite=suite)
    if shutil.which("debootstrap") is None:
        raise WakeError("debootstrap is not installed; apt-get install debootstrap "
                        "(scripts/ensure-env.sh does)")
    if os.geteuid() != 0:
        raise WakeError("debootstrap needs root; run `sudo wake base bootstrap`")
    # /var/tmp: debootstrap needs a filesystem without noexec/nodev.
    workdir = Path(tempfile.mkdtemp(prefix="wake-base-", dir="/var/tmp"))
    rootfs = workdir / "rootfs"
    try:
        say(f"debootstrap --variant=minbase {suite} from {mirror} (about 30 s)")
        _debootstrap(suite, rootfs, mirror, say)
        # Leave apt's downloaded packages and lists out of the image, as slim images do.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for child in (rootfs / leftover).glob("*"):
                if child.is_file():
                    child.unlink()
        say(f"importing {rootfs} as {image}")
        image_id = _import(engine, rootfs, image, mirror, suite)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return BootstrapResult(image=image, image_id=image_id, created=True, mirror=mirror,
                           suite=suite)


def _debootstrap(suite: str, rootfs: Path, mirror: str, say: Callable[[str], None]) -> None:
    process = subprocess.Popen(
        ["debootstrap", "--variant=minbase", suite, str(rootfs), mirror],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    tail: list[str] = []
    phases: set[str] = set()
    for line in process.stdout:
        tail = (tail + [line.rstrip()])[-30:]
        # Print each phase once ("I: Retrieving ...", "I: Unpacking ...") as progress;
        # debootstrap prints a line per package otherwise.
        words = line.split()
        if len(words) >= 2 and words[0] in ("I:", "W:", "E:") and words[1] not in phases:
            phases.add(words[1])
            say(f"  {line.strip()}")
    if process.wait() != 0:
        raise WakeError("debootstrap failed:\n" + "\n".join(f"    {t}" for t in tail))


def _import(engine: Engine, rootfs: Path, image: str, mirror: str, suite: str) -> str:
    changes = [
        'CMD ["bash"]',
        "ENV LANG=C.UTF-8",
        f"LABEL wake.base=debootstrap wake.base.suite={suite} wake.base.mirror={mirror}",
    ]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                           stdout=subprocess.PIPE)
    assert tar.stdout is not None
    engine.import_tar(tar.stdout, image, changes)
    if tar.wait() != 0:
        raise WakeError(f"tar of {rootfs} failed")
    made = engine.inspect(image)
    if made is None:
        raise WakeError(f"docker import finished but {image} is not in the engine")
    return str(made["Id"])
