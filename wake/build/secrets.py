"""Build secrets: values the dependency and build steps need (a private registry's token,
say) that no image may keep.

Docker's classic builder has no secret mounts (BuildKit's `RUN --mount=type=secret` does
not build here), and a build argument or ENV is written into the image's history or
config, then pushed to the registry cache. So for an app with `build_secrets`, the last
instruction of its app-deps and app-compile stages - the RUN that installs or builds - is
not built by Docker: wake builds the stage up to it, then runs the step itself in a
container of that image with the secrets in a volume at /run/secrets (also exported as
environment variables of the step), and commits the container. A mount never enters a
commit, and the step's environment is not the container's: no layer, history entry,
label or config holds a value. The stage's key counts the secrets' names, never their
values (a new token does not rebuild). What the build prints has every value masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable

from ..errors import UsageError

MOUNT = "/run/secrets"
MASK = "***"
MIN_MASKED = 3  # shorter values would mask every such run of letters in the output
_INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)(\s|$)")


def split_last_run(dockerfile: str) -> tuple[str, str] | None:
    """(the Dockerfile without its last instruction, that instruction's shell command)
    when the last instruction is a shell-form RUN; else None (no step to run)."""
    lines = dockerfile.splitlines()
    starts: list[int] = []  # the line each instruction starts on
    continued = False
    for n, line in enumerate(lines):
        stripped = line.strip()
        if not continued and stripped and not stripped.startswith("#"):
            starts.append(n)
        if stripped.startswith("#") and continued:
            continue  # Docker skips comment lines inside a continued instruction
        continued = stripped.endswith("\\") if stripped else continued
    if not starts:
        return None
    last = starts[-1]
    body = [line for line in lines[last:] if not line.strip().startswith("#")]
    match = _INSTRUCTION.match(body[0])
    if not match or match.group(1).upper() != "RUN":
        return None
    text = "\n".join(body)
    command = text[match.end():].replace("\\\n", " ").strip()
    if command.startswith("["):
        return None  # exec form: not one of wake's templates; Docker builds it
    return "\n".join(lines[:last]) + "\n", command


def values(app: str, names: Iterable[str], source: str) -> dict[str, str]:
    """The secrets' values from this process's environment; a clear error for each one
    missing (values never appear in errors)."""
    found, missing = {}, []
    for name in names:
        value = os.environ.get(name)
        if value is None or value == "":
            missing.append(name)
        else:
            found[name] = value
    if missing:
        raise UsageError(f"app {app}: {source}: \"build_secrets\" names "
                         f"{', '.join(missing)}, not set where wake builds: export "
                         f"{missing[0]}=... in the environment of the build (its value "
                         "goes to the dependency and build steps only, never into an image)")
    return found


def masker(secret_values: Iterable[str]) -> Callable[[str], str]:
    """A function that replaces every secret value in a text with ***."""
    masked = sorted((v for v in set(secret_values) if len(v) >= MIN_MASKED), key=len,
                    reverse=True)
    if not masked:
        return lambda text: text
    pattern = re.compile("|".join(map(re.escape, masked)))
    return lambda text: pattern.sub(MASK, text)
