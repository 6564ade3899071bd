"""Turn a stage of the graph into what decides its content: the rendered
Dockerfile, the files of its build context, its named inputs, and its key.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import IO, Any

from ..engine import Engine
from ..errors import WakeError
from ..settings import Settings
from . import aptfile, repos, secrets
from .keys import INPUTS_FILE_PREFIX, LABEL_MAX, TAG_LENGTH, combine, encode_inputs, sha256
from .platforms import SOURCE_DATE_EPOCH, Platform, builtin_dir, docker_quote
from .stages import (
    APP_COMPILE,
    APP_DEPS,
    APP_RELEASE,
    PLATFORM_COMPILE,
    PLATFORM_RELEASE,
    RELEASE,
    StageDef,
    StageGraph,
)
from .tree import HashCache, TreeFile, hash_tree

CA_FILE = "wake-ca-bundle.pem"

TEMPLATES = {
    PLATFORM_COMPILE: ("platform-compile.Dockerfile.j2", "build.sh", "platform.toml"),
    PLATFORM_RELEASE: ("platform-release.Dockerfile.j2", "platform.toml"),
    APP_DEPS: ("app-deps.Dockerfile.j2",),
    APP_COMPILE: ("app-compile.Dockerfile.j2",),
    APP_RELEASE: ("app-release.Dockerfile.j2",),
    RELEASE: ("release.Dockerfile.j2", "run.sh.j2"),
}
# The app's manifest is not copied into app-compile: its fields reach only the
# stages that use them, so editing one process's `run` rebuilds one image.
EXCLUDED_APP_FILES = frozenset({"manifest.json"})


@dataclass(frozen=True)
class Materialized:
    stage: StageDef
    dockerfile: str
    inputs: dict[str, str]
    key: str
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # context path -> data
    tree: tuple[TreeFile, ...] = ()  # app files, copied under app/
    # An app-compile with nothing to build: the app's files, which its process images
    # copy from their own context (the stage itself holds the dependencies alone).
    source: tuple[TreeFile, ...] = ()
    # Files read only when the stage is built (an app-release's extra repos, exported).
    late_files: Callable[[], dict[str, tuple[bytes, int]]] | None = None
    # The Dockerfile's last RUN, which wake runs itself: with build secrets
    # (wake.build.secrets) or with the platform's build caches mounted; Docker builds
    # the rest.
    own_step: str | None = None
    caches: tuple[str, ...] = ()  # folders mounted from the platform's cache volumes

    @property
    def tag(self) -> str:
        return f"{self.stage.repository}:{self.key[:TAG_LENGTH]}"

    @property
    def inputs_path(self) -> str:
        """Where the inputs go inside the image when they are too big for a label."""
        return f"/opt/wake/inputs/{self.key[:TAG_LENGTH]}.json"

    @cached_property
    def inputs_label(self) -> str:
        encoded = encode_inputs(self.inputs)
        return encoded if len(encoded) <= LABEL_MAX else INPUTS_FILE_PREFIX + self.inputs_path

    def labels(self) -> dict[str, str]:
        s = self.stage
        labels = {"wake.key": self.key, "wake.id": s.id, "wake.kind": s.kind,
                  "wake.platform": s.platform.name, "wake.inputs": self.inputs_label}
        if s.app:
            labels["wake.app"] = s.app.name
        return labels

    def write_context(self, out: IO[bytes]) -> None:
        """The build context as a tar: fixed owners and mtimes, app files streamed from disk."""
        files = dict(self.files)
        if self.late_files:
            files.update(self.late_files())
        # Labels carry the key, so they join the Dockerfile only after it is hashed,
        # as one LABEL instruction (docker's --label adds a build step per label).
        suffix = label_instruction(self.labels())
        if self.inputs_label.startswith(INPUTS_FILE_PREFIX):
            files["wake-inputs.json"] = (json.dumps(self.inputs, sort_keys=True).encode(), 0o644)
            suffix = f"COPY wake-inputs.json {self.inputs_path}\n" + suffix
        # A template may end without a newline (trim_blocks eats the one after a
        # final {% endif %}); the appended instructions must start a line.
        body = self.dockerfile if self.dockerfile.endswith("\n") else self.dockerfile + "\n"
        if self.own_step:
            split = secrets.split_last_run(body)
            assert split is not None
            body = split[0]
        files["Dockerfile"] = ((body + suffix).encode(), 0o644)
        with tarfile.open(fileobj=out, mode="w") as tar:
            for name in sorted(files):
                data, mode = files[name]
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), mode, SOURCE_DATE_EPOCH
                tar.addfile(info, io.BytesIO(data))
            for item in self.tree:
                info = tarfile.TarInfo(f"app/{item.path}")
                info.size = os.path.getsize(item.absolute)
                info.mode, info.mtime = (0o755 if item.executable else 0o644), SOURCE_DATE_EPOCH
                with open(item.absolute, "rb") as handle:
                    tar.addfile(info, handle)


def _template_inputs(s: StageDef) -> dict[str, str]:
    """template:<platform>/<file> -> digest, for every template file the stage uses."""
    root = builtin_dir()
    inputs = {}
    for name in TEMPLATES[s.kind]:
        path = s.platform.template_sources(name)
        try:
            label = path.relative_to(root).as_posix()
        except ValueError:  # a platform from WAKE_PLATFORMS_PATH
            label = f"{s.platform.name}/{path.name}"
        inputs[f"template:{label}"] = _file_digest(path)
    return inputs


@cache
def _file_digest(path: Path) -> str:
    """Template files are read once per run, not once per stage."""
    return sha256(path.read_bytes())


class Materializer:
    """Materializes stages on demand, each at most once per run."""

    def __init__(self, graph: StageGraph, settings: Settings,
                 client_factory: Callable[[], Engine],
                 cache: HashCache | None = None) -> None:
        self.graph = graph
        self.settings = settings
        self._client_factory = client_factory
        self._client: Engine | None = None
        self._cache = cache
        self._done: dict[str, Materialized] = {}
        self._base_ids: dict[str, str] = {}
        self._assumed_base_id: str | None = None
        # Where else the base image's id may be read when the engine lacks the image
        # (a deploy: the cluster's registry), so keys never need a pull.
        self.base_id_fallback: Callable[[str], str | None] | None = None
        self._commits: dict[tuple[str, str | None], str] = {}
        self._apt: dict[Path, tuple[str, ...]] = {}

    @property
    def client(self) -> Engine:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    @property
    def cache(self) -> HashCache:
        if self._cache is None:
            self._cache = HashCache()
        return self._cache

    def base_image(self, platform: Platform) -> str:
        """The image a platform version's stages start FROM."""
        version = platform.version
        if version is not None and version.image:
            return version.image
        return self.settings.base_image_for(platform.suite)

    def assume_base_id(self, image_id: str) -> None:
        """Take `image_id` as every base image's id without asking the engine (keys
        computed away from any engine: tests, fuzzing)."""
        self._assumed_base_id = image_id

    def base_image_id(self, image: str | None = None) -> str:
        image = image or self.settings.base_image
        if self._assumed_base_id is not None:
            return self._assumed_base_id
        if image not in self._base_ids:
            attrs = self.client.inspect(image)
            if attrs is None and self.base_id_fallback is not None:
                found = self.base_id_fallback(image)
                if found:
                    self._base_ids[image] = found
                    return found
            if attrs is None:
                from .versions import suite_for

                suite = suite_for(image)
                how = ("`wake base bootstrap`" if image == self.settings.base_image
                       else f"`wake base bootstrap --suite {suite}`")
                raise WakeError(f"base image {image} is not in the engine; run {how} (or "
                                "docker pull it where you can)")
            self._base_ids[image] = str(attrs["Id"])
        return self._base_ids[image]

    def _aptfile(self, app_root: Path) -> tuple[str, ...]:
        """An app's Aptfile, read once for both stages that install it."""
        if app_root not in self._apt:
            self._apt[app_root] = aptfile.read(app_root)
        return self._apt[app_root]

    def get(self, node: str) -> Materialized:
        if node not in self._done:
            self._done[node] = self._materialize(self.graph.stage(node))
        return self._done[node]

    def _finish(self, s: StageDef, template: str, context: dict[str, Any],
                inputs: dict[str, str], **extra: Any) -> Materialized:
        dockerfile = s.platform.render(template, {**s.platform.context(), **context})
        inputs = {**inputs, **_template_inputs(s), "dockerfile": sha256(dockerfile)}
        for name, (data, mode) in extra.get("files", {}).items():
            inputs[f"file:{name}"] = sha256(data) + (":x" if mode & 0o111 else "")
        return Materialized(stage=s, dockerfile=dockerfile, inputs=inputs, key=combine(inputs),
                            **extra)

    def _materialize(self, s: StageDef) -> Materialized:
        if s.kind in (PLATFORM_COMPILE, PLATFORM_RELEASE):
            return self._platform(s)
        parent = self.get(s.parent) if s.parent else None
        assert parent is not None and s.app is not None
        base = {"parent": parent.tag, "app": s.app.manifest}
        inputs = {"parent": parent.key}
        if s.kind in (APP_DEPS, APP_COMPILE):
            tree = hash_tree(s.app.root, self.cache, exclude=EXCLUDED_APP_FILES)
            if not tree:
                raise WakeError(f"app {s.app.name}: {s.app.root} has no files to build")
            manifest = s.app.manifest
            if s.kind == APP_DEPS:
                # Only the dependency files: their content alone decides this stage.
                tree = [f for f in tree if s.platform.is_dependency_file(f.path)]
                packages = self._aptfile(s.app.root)
                inputs["aptfile"] = sha256(json.dumps(packages))
                if manifest.build_env:
                    inputs["manifest:build_env"] = json.dumps(manifest.build_env)
                context = {**base, "apt_packages": packages, "dependency_files": bool(tree)}
                template = "app-deps.Dockerfile.j2"
            else:
                if manifest.build:
                    inputs["manifest:build"] = manifest.build
                if not self._builds(s, tree):
                    # Nothing to build: the stage is its dependencies, and the process
                    # images take the source from their own context, so a source edit
                    # rebuilds them alone (two steps, as a hand-written Dockerfile).
                    made = self._finish(s, "app-compile.Dockerfile.j2",
                                        {**base, "builds": False}, inputs)
                    return replace(made, source=tuple(tree))
                context = {**base, "builds": True}
                template = "app-compile.Dockerfile.j2"
            inputs.update({f"file:app/{f.path}": f.digest for f in tree})
            # Build caches speed the step up without changing what it makes: not inputs.
            # (app-deps ends with deps.sh's install when the platform has one.)
            if s.kind == APP_COMPILE:
                caches = s.platform.build_caches
            else:
                caches = s.platform.deps_caches if s.platform.has_deps else ()
            if manifest.build_secrets:
                # Their names, never their values: a new token does not rebuild.
                inputs["manifest:build_secrets"] = json.dumps(manifest.build_secrets)
            made = self._finish(s, template, context, inputs, tree=tuple(tree))
            if not manifest.build_secrets and not caches:
                return made
            split = secrets.split_last_run(made.dockerfile)
            return replace(made, own_step=split[1], caches=caches) if split else made
        if s.kind == APP_RELEASE:
            return self._app_release(s, base, inputs)
        assert s.kind == RELEASE and s.unit is not None and s.copies_from
        compiled = self.get(s.copies_from)
        inputs["app-compile"] = compiled.key
        unit = s.unit
        inputs[f"manifest:{'cron_jobs' if s.unit_kind == 'cron' else 'processes'}."
               f"{unit.name}"] = json.dumps(unit.image_fields(), sort_keys=True)
        inputs["manifest:user"] = s.app.manifest.user
        # The release copies the built app straight out of the app-compile image (COPY
        # --from), so nothing of it crosses the engine's socket; with nothing built,
        # the dependencies from there and the source from this context.
        inputs.update({f"file:app/{f.path}": f.digest for f in compiled.source})
        context = {**base, "unit": unit, "kind": s.unit_kind, "compiled": compiled.tag,
                   "source_in_context": bool(compiled.source)}
        run = s.platform.render("run.sh.j2", context).encode()
        return self._finish(s, "release.Dockerfile.j2", context, inputs,
                            files={"run": (run, 0o755)}, tree=compiled.source)

    def _builds(self, s: StageDef, tree: list[TreeFile]) -> bool:
        """Whether app-compile runs build.sh (and the manifest's build): unless the
        platform's [build] says it has nothing to do for this app. A dependency folder
        in the source needs build.sh's copy, which leaves it out of the release's."""
        assert s.app is not None
        if s.app.manifest.build or s.platform.builds(s.app.root):
            return True
        in_deps = tuple(f"{d}/" for d in s.platform.dependency_dirs)
        return any(f.path.startswith(in_deps) for f in tree)

    def _platform(self, s: StageDef) -> Materialized:
        base_image = self.base_image(s.platform)
        inputs = {"base-image": self.base_image_id(base_image)}
        version = s.platform.version
        if version is not None:
            inputs["platform-version"] = f"{s.platform.label} {version.full} {version.suite}"
        context: dict[str, Any] = {"base_image": base_image, "ca_bundle": False}
        files: dict[str, tuple[bytes, int]] = {}
        if s.kind == PLATFORM_COMPILE:
            files = {name: (data, 0o755) for name, data in s.platform.files().items()}
            ca = self.settings.ca_bundle_bytes()
            if ca is not None:
                files[CA_FILE] = (ca, 0o644)
                context["ca_bundle"] = True
        template = f"{s.kind}.Dockerfile.j2"
        return self._finish(s, template, context, inputs, files=files)

    def _app_release(self, s: StageDef, base: dict[str, Any],
                     inputs: dict[str, str]) -> Materialized:
        assert s.app is not None
        manifest = s.app.manifest
        packages = self._aptfile(s.app.root)
        inputs["aptfile"] = sha256(json.dumps(packages))
        inputs["manifest:env"] = json.dumps(manifest.env)
        repo_context = []
        commits = {}
        for index, repo in enumerate(manifest.repos):
            cache_key = (repo.url, repo.ref)
            if cache_key not in self._commits:
                self._commits[cache_key] = repos.resolve(repo.url, repo.ref)
            commit = self._commits[cache_key]
            commits[repo.target] = (repo.url, commit)
            inputs[f"repo:{repo.target}"] = f"{repo.url}@{commit}"
            repo_context.append({"target": repo.target, "context_dir": f"repos/{index}"})

        def repo_files() -> dict[str, tuple[bytes, int]]:
            out = {}
            for index, repo in enumerate(manifest.repos):
                url, commit = commits[repo.target]
                for path, data in repos.export(url, commit).items():
                    out[f"repos/{index}/{path}"] = data
            return out

        return self._finish(s, "app-release.Dockerfile.j2",
                            {**base, "apt_packages": packages, "repos": repo_context}, inputs,
                            late_files=repo_files if manifest.repos else None)



def label_instruction(labels: dict[str, str]) -> str:
    return ("LABEL " + " ".join(f"{k}={docker_quote(v)}" for k, v in sorted(labels.items()))
            + "\n")
