"""Manifest env values reach the release image byte for byte, on the real engine.

Docker's ENV unescapes only \\\\ \\" \\$ inside double quotes and expands $VAR; Jinja's
tojson escaped ' < > & for HTML. The `dockerquote` filter writes what Docker reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

import docker

from .conftest import TEST_LABEL, build, tag_of

ENV = {
    "QUOTES": "it's <a&b> $HOME \\ \"q\"",
    "DATABASE_URL": "postgres://user:pw@db:5432/app?a=1&b=2",
    "TRAILING_BACKSLASH": "C:\\temp\\",
    "UNICODE": "ünïcödé ☃ 𝄞 日本 \u2028",
    "SHELLISH": "\t${HOME:-x} `id` $(id) #x ; '\"'  ",
    "EMPTY": "",
}


def printenv(client: docker.DockerClient, image: str, name: str) -> bytes:
    """stdout of `printenv NAME` in the image, as bytes."""
    container = client.containers.run(image, ["printenv", name], detach=True,
                                      labels={TEST_LABEL: "1"})
    try:
        assert container.wait(timeout=120)["StatusCode"] == 0
        return bytes(container.logs(stdout=True, stderr=False))
    finally:
        container.remove(force=True)


def test_env_values_arrive_byte_for_byte(tmp_path: Path, wake_env: Path,
                                         client: docker.DockerClient) -> None:
    app = tmp_path / "envy"
    (app / "bin").mkdir(parents=True)
    (app / "bin" / "hello").write_text("#!/bin/sh\necho hello\n")
    (app / "manifest.json").write_text(json.dumps({
        "name": "envy", "platform": "plain", "env": ENV,
        "processes": {"web": {"run": "bin/hello", "cpu": 0.1, "memory": 32}},
        "cron_jobs": [{"name": "tick", "run": "*/5 * * * * bin/hello"}],
    }), encoding="utf-8")
    workspace = tmp_path / "wake.toml"
    workspace.write_text('[[apps]]\npath = "envy"\n')

    build(workspace)
    for unit in ("web", "tick"):
        image = tag_of(workspace, f"build:envy:release-{unit}")
        for name, value in ENV.items():
            assert printenv(client, image, name) == value.encode("utf-8") + b"\n", name
        assert printenv(client, image, "WAKE_PROCESS") == unit.encode() + b"\n"

    labels = client.images.get(tag_of(workspace, "build:envy:release-tick")).labels
    assert labels["wake.schedule"] == "*/5 * * * *"
    assert labels["wake.process"] == "tick"
    assert labels["wake.unit-kind"] == "cron"
