"""Build secrets without an engine: the manifest field, the split of a stage's last RUN,
keys that count names but not values, missing values and masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wake import manifest
from wake.build import secrets
from wake.build.materialize import Materializer
from wake.errors import ManifestError, UsageError

from .test_stage_keys import context_dockerfile, planner_for

APP = {"name": "shop", "platform": "node", "processes": {"web": {"run": "node app.js"}}}


def _check(folder: Path, data: dict[str, object]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(data))
    try:
        manifest.load(folder / "manifest.json")
    except ManifestError as exc:
        return [f"{p.path}: {p.message} {p.fix}" for p in exc.problems]
    return []


def test_the_manifest_takes_names_and_refuses_values_in_env(tmp_path: Path) -> None:
    assert _check(tmp_path, {**APP, "build_secrets": ["NPM_TOKEN", "PIP_INDEX_URL"]}) == []
    loaded = manifest.load(tmp_path / "manifest.json")
    assert loaded.build_secrets == ("NPM_TOKEN", "PIP_INDEX_URL")
    (bad,) = _check(tmp_path, {**APP, "build_secrets": "NPM_TOKEN"})
    assert bad.startswith("build_secrets:") and "list" in bad
    (bad,) = _check(tmp_path, {**APP, "build_secrets": ["npm-token"]})
    assert bad.startswith("build_secrets[0]") and "not an environment variable name" in bad
    (bad,) = _check(tmp_path, {**APP, "build_secrets": ["A", "A"]})
    assert "listed twice" in bad
    (bad,) = _check(tmp_path, {**APP, "build_secrets": ["TOKEN"], "build_env": {"TOKEN": "x"}})
    assert "TOKEN is also in" in bad and "stored in images" in bad


def test_the_last_run_splits_off() -> None:
    dockerfile = ("FROM x\n# a comment\nENV A=1\nRUN /opt/wake/build \\\n"
                  "# inside\n && echo done \\\n && tar -czf a.tgz .\n\n")
    before, command = secrets.split_last_run(dockerfile) or ("", "")
    assert before == "FROM x\n# a comment\nENV A=1\n"
    assert command == "/opt/wake/build   && echo done   && tar -czf a.tgz ."
    assert secrets.split_last_run("FROM x\nRUN a\nCOPY b c\n") is None
    assert secrets.split_last_run('FROM x\nRUN ["a", "b"]\n') is None


def test_values_come_from_the_environment_and_are_masked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPM_TOKEN", "s3cr3t-value")
    monkeypatch.delenv("OTHER", raising=False)
    assert secrets.values("shop", ["NPM_TOKEN"], "m.json") == {"NPM_TOKEN": "s3cr3t-value"}
    with pytest.raises(UsageError) as caught:
        secrets.values("shop", ["NPM_TOKEN", "OTHER"], "shop/manifest.json")
    text = str(caught.value)
    assert "OTHER" in text and "shop/manifest.json" in text and "export OTHER=" in text
    assert "s3cr3t" not in text
    mask = secrets.masker(["s3cr3t-value", "ab"])
    assert mask("token s3cr3t-value, ab") == "token ***, ab"  # too short to mask: kept


def _materializer(folder: Path, build_secrets: list[str]) -> Materializer:
    app = folder / "shop"
    app.mkdir(parents=True, exist_ok=True)
    (app / "manifest.json").write_text(json.dumps({**APP, "build_secrets": build_secrets}))
    # A build script: app-compile runs build.sh (with nothing to build it would not).
    (app / "package.json").write_text('{"name": "shop", "scripts": {"build": "true"}}')
    (app / "package-lock.json").write_text('{"lockfileVersion": 3}')
    (app / "app.js").write_text("console.log(1)\n")
    (folder / "wake.toml").write_text('[[apps]]\npath = "shop"\n')
    return planner_for(folder / "wake.toml")


def test_secret_stages_run_their_last_step_and_keys_count_names_only(
        tmp_path: Path) -> None:
    plain = _materializer(tmp_path / "a", [])
    with_secret = _materializer(tmp_path / "b", ["NPM_TOKEN"])
    deps, compile_ = "build:shop:app-deps", "build:shop:app-compile"
    # Node's app-deps is wake's own step anyway (npm's cache volume); app-compile not.
    assert plain.get(deps).own_step == "/opt/wake/deps"
    assert plain.get(deps).caches == with_secret.get(deps).caches == ("/root/.npm",)
    assert plain.get(compile_).own_step is None
    for node in (deps, compile_):
        mat = with_secret.get(node)
        assert mat.own_step and mat.own_step.startswith("/opt/wake/")
        assert mat.key != plain.get(node).key  # the names are inputs
        dockerfile = context_dockerfile(mat)
        assert mat.own_step not in dockerfile.replace("\\\n", " ") and "LABEL" in dockerfile
    # A release stage has no secret step (its images never see the secrets).
    assert with_secret.get("build:shop:release-web").own_step is None


def test_a_platform_with_build_caches_has_its_build_step_run_by_wake(tmp_path: Path) -> None:
    """Go's app-compile: the RUN of build.sh is wake's own step (with the cache volume
    mounted), not Docker's; the key is the same as without caches (they change nothing
    the build makes), so it is the Dockerfile's own."""
    app = tmp_path / "svc"
    app.mkdir()
    (app / "manifest.json").write_text(json.dumps(
        {"name": "svc", "processes": {"web": {"run": "bin/svc"}}}))
    (app / "go.mod").write_text("module example.com/svc\n\ngo 1.19\n")
    (app / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "wake.toml").write_text('[[apps]]\npath = "svc"\n')
    planner = planner_for(tmp_path / "wake.toml")
    compiled = planner.get("build:svc:app-compile")
    assert (compiled.own_step, compiled.caches) == ("/opt/wake/build", ("/tmp/go-cache",))
    dockerfile = context_dockerfile(compiled)
    assert "RUN /opt/wake/build" not in dockerfile and "LABEL" in dockerfile
    assert "RUN /opt/wake/build" in compiled.dockerfile  # hashed as written
    deps = planner.get("build:svc:app-deps")  # go mod download: Docker's, no cache
    assert (deps.own_step, deps.caches) == (None, ())
