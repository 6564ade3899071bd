"""`Aptfile`: extra Debian packages an app needs, one or more per line, # for comments.

The convention comes from Heroku's apt buildpack. Packages are installed in the
app-compile stage and the app-release stage.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .. import files
from ..errors import UsageError

NAME = "Aptfile"
PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$")


def read(app_root: Path) -> tuple[str, ...]:
    path = app_root / NAME
    if not os.path.lexists(path):
        return ()
    packages: list[str] = []
    for number, line in enumerate(files.read_text(path).splitlines(), 1):
        for word in line.split("#", 1)[0].split():
            if not PACKAGE_RE.match(word):
                raise UsageError(f"{path}:{number}: {word!r} is not a Debian package name; "
                                 "write one package name per word, e.g. 'libpq5'")
            if word not in packages:
                packages.append(word)
    return tuple(packages)
