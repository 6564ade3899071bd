"""Secrets stay out: a canary given to a build through `build_secrets` (the documented
path: docs/manifest.md) reaches the build step that needs it, and is absent from every
image of the app - history, config, labels and every file of every layer - from the
build's output and from the cluster's logs after a deploy."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import tarfile
import time

import docker
import pytest

from tests.integration.conftest import run_output
from tests.integration.sites import Site, ok

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

APP = "vault"


def _layer_hits(client: docker.DockerClient, image: str, canary: bytes) -> list[str]:
    """Every file of every layer of `image` (`docker save`) that holds the canary."""
    hits = []
    data = io.BytesIO(b"".join(client.images.get(image).save(named=False)))
    with tarfile.open(fileobj=data) as saved:
        for member in saved.getmembers():
            blob = saved.extractfile(member) if member.isfile() else None
            if blob is None:
                continue
            content = blob.read()
            if canary in content:
                hits.append(member.name)
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=io.BytesIO(content)) as layer:
                    for item in layer.getmembers():
                        inner = layer.extractfile(item) if item.isfile() else None
                        if inner is not None and canary in inner.read():
                            hits.append(f"{member.name}:{item.name}")
    return hits


def test_a_build_secret_reaches_the_step_and_nothing_keeps_it(  # type: ignore[no-untyped-def]
        site: Site, client: docker.DockerClient, figures) -> None:
    canary = f"canary-{secrets.token_hex(12)}"
    folder = site.workspace.parent.parent / "ws-secrets"
    app = folder / APP
    (app / "bin").mkdir(parents=True, exist_ok=True)
    (app / "bin" / "work").write_text("#!/bin/sh\necho vault up\nexec sleep 2147483647\n")
    (app / "bin" / "work").chmod(0o755)
    (app / "Aptfile").write_text("jq\n")  # so app-deps has a step that runs too
    # This run's own content: stages an earlier run left on the engine are not current.
    (app / "run-id").write_text(secrets.token_hex(8))
    (app / "manifest.json").write_text(json.dumps({
        "name": APP, "platform": "plain", "build_secrets": ["VAULT_TOKEN"],
        # Uses the value (as a variable and as a file), says it, keeps only its hash;
        # fails after saying it while the app has a file `fail-on-purpose`.
        "build": 'test "$VAULT_TOKEN" = "$(cat /run/secrets/VAULT_TOKEN)" '
                 '&& echo "building with $VAULT_TOKEN" && test ! -f fail-on-purpose '
                 '&& printf %s "$VAULT_TOKEN" | sha256sum | cut -c1-64 > token.sha',
        "processes": {"work": {"run": "bin/work", "cpu": 0.05, "memory": 32,
                               "health": False, "stop_timeout": 1}}}, indent=2))
    (folder / "wake.toml").write_text(f'[[apps]]\npath = "{APP}"\n')
    workspace = folder / "wake.toml"

    # Without the value: a clear error naming the manifest and the variable, no image.
    refused = site.doit(f"build:{APP}", workspace=workspace)
    assert refused.returncode != 0 and "Traceback" not in refused.stdout + refused.stderr
    assert "VAULT_TOKEN" in refused.stdout + refused.stderr
    assert "export VAULT_TOKEN=" in refused.stdout + refused.stderr

    # A build that fails after printing the value: the error shows the step's output,
    # the value masked.
    (app / "fail-on-purpose").write_text("")
    failed = site.doit(f"build:{APP}", workspace=workspace, VAULT_TOKEN=canary)
    said = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "building with ***" in said, said
    assert canary not in said
    (app / "fail-on-purpose").unlink()

    out = ok(site.doit(f"deploy:{APP}", workspace=workspace, VAULT_TOKEN=canary,
                       timeout=900))
    assert canary not in out and "run by wake with the build secrets VAULT_TOKEN" in out
    images = client.images.list(filters={"label": f"wake.app={APP}"})
    assert len(images) >= 4, images  # app-deps, app-compile, app-release, the process's
    expected = hashlib.sha256(canary.encode()).hexdigest()
    release = next(i for i in images if i.labels.get("wake.kind") == "release")
    token_sha = run_output(client, str(release.id), ["cat", "/opt/app/token.sha"])
    assert token_sha.decode().strip() == expected  # the build step had the value
    checked = 0
    for image in images:
        attrs = json.dumps(image.attrs)
        history = json.dumps(image.history())
        assert canary not in attrs, f"{image.tags}: in its config or labels"
        assert canary not in history, f"{image.tags}: in its history"
        assert _layer_hits(client, str(image.id), canary.encode()) == [], image.tags
        checked += 1
    # The cluster's logs: the deploy's own lines and the instance's.
    time.sleep(2)
    logs = ok(site.wake("logs", APP, "--since", "1h", workspace=workspace))
    assert "vault up" in logs and canary not in logs
    figures(f"canary given through build_secrets reached the build step (its hash in the "
            f"image) and is in none of {checked} images (history, config, labels, every "
            f"layer file), nor in build output or errors (masked), nor in `wake logs`")
