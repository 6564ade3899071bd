"""What the command modules share: build overrides, sessions, output."""

from __future__ import annotations

import argparse
from typing import Any

from ..build.progress import Printer


def _overrides(args: argparse.Namespace) -> dict[str, str | None]:
    return {"ca_bundle": getattr(args, "ca_bundle", None),
            "base_image": getattr(args, "base_image", None),
            "registry": getattr(args, "registry", None)}


def _session(args: argparse.Namespace) -> Any:
    from ..build.session import Session

    return Session(only=tuple(args.apps), overrides=tuple(sorted(_overrides(args).items())))


# Printers, not plain functions: a build they report on knows their stream, and shows a
# long step's progress there.
_stderr = Printer(stderr=True)
_stdout = Printer()
