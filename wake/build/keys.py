"""Stage keys: sha256 over the sorted JSON of a stage's named inputs."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping

TAG_LENGTH = 32  # hex characters of the key used as the image tag (128 bits)
# Labels above this size are stored compressed; big trees make big input lists.
LABEL_PLAIN_LIMIT = 32 * 1024
# Docker refuses Dockerfile lines over 64 KiB, and all labels share one LABEL line:
# inputs bigger than this live in a file inside the image instead.
LABEL_MAX = 48 * 1024
INPUTS_FILE_PREFIX = "file:"


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def combine(inputs: Mapping[str, str]) -> str:
    """The key of a stage: order-independent, a function of the inputs' values only."""
    canonical = json.dumps(sorted(inputs.items()), separators=(",", ":"), ensure_ascii=True)
    return sha256(canonical)


def encode_inputs(inputs: Mapping[str, str]) -> str:
    text = json.dumps(dict(sorted(inputs.items())), separators=(",", ":"))
    if len(text) <= LABEL_PLAIN_LIMIT:
        return text
    return "z:" + base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def decode_inputs(label: str) -> dict[str, str]:
    if label.startswith("z:"):
        label = zlib.decompress(base64.b64decode(label[2:])).decode()
    data = json.loads(label)
    return {str(k): str(v) for k, v in data.items()}
