"""Platform stages on the real engine: rendered, built, and the language runs in them."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from wake import engine
from wake.build.platforms import load_all
from wake.build.session import Session
from wake.build.versions import numbers

from .conftest import HOST_CA, TEST_LABEL

# One file that makes each platform detect, for a minimal app.
MARKERS = {"ruby": "config.ru", "python": "requirements.txt", "node": "package.json",
           "go": "go.mod"}


def platform_workspace(folder: Path, platform: str, version: str | None = None) -> Path:
    app = folder / f"min-{platform}"
    app.mkdir(parents=True)
    (app / MARKERS[platform]).write_text("{}\n" if platform == "node" else "\n")
    manifest: dict[str, object] = {"name": f"min-{platform}",
                                   "processes": {"web": {"run": "true"}}}
    if version:
        manifest["platform"] = f"{platform}@{version}"
    (app / "manifest.json").write_text(json.dumps(manifest))
    (folder / "wake.toml").write_text(f'[[apps]]\npath = "min-{platform}"\n')
    return folder / "wake.toml"


def run(client: docker.DockerClient, image: str, command: list[str]) -> tuple[int, str]:
    return engine.connect().run_once(image, command, labels={TEST_LABEL: "1"})


# Every version each platform offers (Debian 12's and 13's), checked against what runs.
VERSIONS = [("ruby", "3.1"), ("ruby", "3.3"), ("python", "3.11"), ("python", "3.13"),
            ("node", "18"), ("node", "20"), ("go", "1.19"), ("go", "1.24")]


@pytest.mark.parametrize(("platform", "version"), VERSIONS)
def test_platform_stages_build_and_run_the_language(
        platform: str, version: str, tmp_path: Path, wake_env: Path,
        client: docker.DockerClient) -> None:
    from wake.build import base

    spec = load_all()[platform]
    offered = next(v for v in spec.versions if v.name == version)
    base.bootstrap(engine.connect(), f"debian:{offered.suite}-slim")
    session = Session(workspace_file=platform_workspace(tmp_path, platform, version))
    builder = session.builder
    images = {}
    for kind in ("compile", "release"):
        node = f"platform:{platform}-{version}-{kind}"
        outcome = builder.ensure(node)
        assert outcome.action in ("built", "reused")
        images[kind] = outcome.tag
        labels = client.images.get(outcome.tag).labels
        assert labels["wake.key"].startswith(outcome.tag.rsplit(":", 1)[1])
        assert labels["wake.kind"] == f"platform-{kind}"

    where = "compile" if spec.version_stage == "platform-compile" else "release"
    code, output = run(client, images[where], list(spec.version_command))
    assert code == 0, output
    # The version the platform says it offers is the one installed: its release line
    # exactly, and no older than `full` says (Debian's security updates may be newer).
    prefix = {"ruby": "ruby ", "python": "Python ", "node": "v", "go": "go version go"}
    installed = output.split(prefix[platform], 1)[1].split()[0]
    assert installed.startswith(f"{version}."), (offered, output)
    assert numbers(installed) >= numbers(offered.full), (offered, output)

    # The release image has the runtime only: no compiler.
    code, output = run(client, images["release"],
                       ["sh", "-c", "command -v gcc || command -v cc || command -v go"])
    assert code != 0, f"a compiler is in the release image: {output}"


@pytest.mark.skipif(not HOST_CA.is_file(), reason="the host has no CA bundle to pass in")
def test_ca_bundle_reaches_compile_stage_only(tmp_path: Path, wake_env: Path,
                                              client: docker.DockerClient) -> None:
    session = Session(workspace_file=platform_workspace(tmp_path, "python"))
    compile_tag = session.builder.ensure("platform:python-3.11-compile").tag
    release_tag = session.builder.ensure("platform:python-3.11-release").tag

    code, output = run(client, compile_tag, ["sh", "-c",
                                             "cmp /etc/wake/ca-bundle.pem /dev/stdin || true; "
                                             "echo $SSL_CERT_FILE $PIP_CERT"])
    assert code == 0
    assert "/etc/wake/ca-bundle.pem /etc/wake/ca-bundle.pem" in output
    code, output = run(client, compile_tag, ["sha256sum", "/etc/wake/ca-bundle.pem"])
    assert code == 0 and output.split()[0] == __import__("hashlib").sha256(
        HOST_CA.read_bytes()).hexdigest()

    # pip trusts it: a download from PyPI through this machine's TLS-intercepting proxy.
    code, output = run(client, compile_tag, [
        "sh", "-c", "python3 -m venv /tmp/v && /tmp/v/bin/pip download --no-deps "
        "--no-cache-dir -d /tmp/d six==1.16.0 && ls /tmp/d"])
    assert code == 0, output
    assert "six-1.16.0" in output

    # Not in the release image: no file, no variables.
    code, output = run(client, release_tag, ["sh", "-c",
                                             "ls /etc/wake 2>&1; env | grep -c _CA || true"])
    assert "No such file" in output
    assert "ca-bundle" not in output
