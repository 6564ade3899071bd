"""What the command modules share: build overrides, sessions, output."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _overrides(args: argparse.Namespace) -> dict[str, str | None]:
    return {"ca_bundle": getattr(args, "ca_bundle", None),
            "base_image": getattr(args, "base_image", None),
            "registry": getattr(args, "registry", None)}


def _session(args: argparse.Namespace) -> Any:
    from ..build.session import Session

    return Session(only=tuple(args.apps), overrides=tuple(sorted(_overrides(args).items())))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _stdout(line: str) -> None:
    print(line, flush=True)
