"""Make stage images exist: reuse what the engine has, pull from the registry
cache, or build. Up to date means "an image tagged with the key exists", so a
fresh clone with a warm engine builds nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .. import registry
from ..engine import Engine, epoch
from ..errors import BuildError
from . import secrets
from .keys import INPUTS_FILE_PREFIX, decode_inputs
from .materialize import Materialized, Materializer
from .progress import Printer, StepProgress
from .stages import RELEASE

REUSED, PULLED, BUILT = "reused", "pulled", "built"


class StageState(Enum):
    """What a stage needs: nothing (an image with its key exists), a pull from the
    registry cache, or a build. The values are what `wake plan --json` prints."""

    CURRENT = "up-to-date"
    PULL = "pull"
    BUILD = "build"


CURRENT, PULL, BUILD = StageState.CURRENT, StageState.PULL, StageState.BUILD


@dataclass(frozen=True)
class Outcome:
    node: str
    action: str
    seconds: float
    size: int
    tag: str

    def line(self) -> str:
        size = f"{self.size / 1e6:,.0f} MB" if self.size else "-"
        return f"{self.action:<7} {self.node:<44} {self.seconds:7.1f}s {size:>9}  {self.tag}"


class EngineIndex:
    """Every wake image in the engine, listed with one API call and kept up to date."""

    def __init__(self, rows: list[dict[str, Any]], complete: bool = True) -> None:
        self.complete = complete  # False: only the images asked about one by one
        self.tags: dict[str, dict[str, Any]] = {}
        self.by_stage: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            self.add(row)

    def add(self, row: dict[str, Any]) -> None:
        for tag in row.get("RepoTags") or ():
            self.tags[tag] = row
        stage_id = (row.get("Labels") or {}).get("wake.id")
        if stage_id:
            self.by_stage.setdefault(stage_id, []).append(row)

    def newest(self, stage_id: str) -> dict[str, Any] | None:
        rows = self.by_stage.get(stage_id) or []
        return max(rows, key=lambda r: int(r.get("Created", 0)), default=None)

    def recorded_inputs(self, stage_id: str,
                        client: Engine | None = None) -> dict[str, str] | None:
        """The inputs the newest image of a stage was built from. Big ones are in a
        file inside the image (named by the label), read only when asked for."""
        row = self.newest(stage_id)
        label = (row.get("Labels") or {}).get("wake.inputs") if row else None
        if not label or row is None:
            return None
        if label.startswith(INPUTS_FILE_PREFIX):
            if client is None:
                return None
            data = client.read_file(str(row["Id"]), label[len(INPUTS_FILE_PREFIX):])
            return {str(k): str(v) for k, v in json.loads(data).items()}
        return decode_inputs(label)


_say_default = Printer()
stderr_say = Printer(stderr=True)


def env_flag(name: str) -> bool:
    """An on/off environment variable: on when set to anything but empty or 0."""
    return os.environ.get(name, "") not in ("", "0")


# Listing images costs the engine about 0.45 ms per image it holds; inspecting one
# costs about 1.1 ms. A graph of up to this many stages is asked stage by stage
# (at most ~0.7 s whatever the engine holds); a bigger one gets one list
# (bench/RESULTS.md has the measurements).
SMALL_GRAPH = 600


class Builder:
    def __init__(self, materializer: Materializer, say: Callable[[str], None] = _say_default,
                 verbose: bool | None = None, batch: bool | None = None,
                 nocache: bool | None = None) -> None:
        self.materializer = materializer
        self.say = say
        # Every line of the build's output, not only its steps (`wake build --verbose`).
        self.verbose = env_flag("WAKE_VERBOSE") if verbose is None else verbose
        # Build without Docker's layer cache (a truly cold build; benchmarks use it).
        self.nocache = env_flag("WAKE_NO_CACHE") if nocache is None else nocache
        self._index: EngineIndex | None = None
        self._batch = batch  # None: decide on first use
        self._missing: set[str] = set()  # tags inspected and not found
        self._registry_has: dict[str, bool] = {}
        self.api_calls = 0

    @property
    def index(self) -> EngineIndex:
        """Every wake image of the engine (one list call; explain and plan use it)."""
        if self._index is None or not self._index.complete:
            rows = self.materializer.client.images(label="wake.key")
            self.api_calls += 1
            self._index = EngineIndex(rows)
        return self._index

    def _use_batch(self) -> bool:
        if self._batch is None:
            self._batch = len(self.materializer.graph) > SMALL_GRAPH
        return self._batch

    def has_tag(self, tag: str) -> bool:
        if self._index is not None and tag in self._index.tags:
            return True
        if self._index is not None and self._index.complete:
            return False
        if self._use_batch():
            return tag in self.index.tags
        if tag in self._missing:
            return False
        found = self._refresh(tag) is not None
        if not found:
            self._missing.add(tag)
        return found

    def state(self, node: str) -> StageState:
        """What ensure() would do for this stage, without doing it."""
        mat = self.materializer.get(node)
        if self.has_tag(mat.tag):
            return CURRENT
        return PULL if self._in_registry(mat) else BUILD

    def _in_registry(self, mat: Materialized) -> bool:
        """Asked once per tag: doit's uptodate check and the action both want it."""
        reg = self.materializer.settings.registry
        if not reg:
            return False
        if mat.tag not in self._registry_has:
            repository, tag = mat.tag.rsplit(":", 1)
            self._registry_has[mat.tag] = registry.has(reg, repository, tag)
        return self._registry_has[mat.tag]

    def ensure(self, node: str) -> Outcome:
        mat = self.materializer.get(node)
        started = time.monotonic()
        state = self.state(node)
        if state == CURRENT:
            action = REUSED
        elif state == PULL:
            self.say(f"pulling {node} from {self.materializer.settings.registry}")
            assert self.materializer.settings.registry
            registry.pull(self.materializer.client, self.materializer.settings.registry, mat.tag)
            action = PULLED
        else:
            self._build(mat)
            action = BUILT
        self._missing.discard(mat.tag)
        row = self._refresh(mat.tag)
        outcome = Outcome(node, action, time.monotonic() - started,
                          int(row.get("Size", 0)) if row else 0, mat.tag)
        self.say(outcome.line())
        return outcome

    def _refresh(self, tag: str) -> dict[str, Any] | None:
        """The index row of one image, by inspecting it: listing images costs the engine
        time per image it holds, so after a build we ask about that image alone."""
        if self._index is None:
            self._index = EngineIndex([], complete=False)
        if tag not in self._index.tags:
            attrs = self.materializer.client.inspect(tag)
            self.api_calls += 1
            if attrs is not None:
                self._index.add({"Id": attrs["Id"], "RepoTags": attrs.get("RepoTags") or [tag],
                                "Labels": (attrs.get("Config") or {}).get("Labels") or {},
                                "Size": attrs.get("Size", 0),
                                "Created": int(epoch(attrs.get("Created", "")))})
        return self._index.tags.get(tag)

    def _build(self, mat: Materialized) -> None:
        node = mat.stage.id
        self.say(f"building {node} -> {mat.tag}")

        # A long step says it is alive, on the stream `say` prints to (a status line on a
        # terminal, a line every 10 s elsewhere); a `say` of unknown destination gets lines.
        stream = self.say.stream if isinstance(self.say, Printer) else None
        # With build secrets, their values are masked in every line shown.
        given = _secrets_of(mat) if mat.own_step else {}
        mask = secrets.masker(given.values())
        client = self.materializer.client
        # Spool the context to disk: app trees can be large.
        with tempfile.TemporaryFile() as context, StepProgress(self.say, stream) as progress:

            def on_line(line: str) -> None:
                line = mask(line)
                progress.feed(line)
                # Step lines are the progress; LABEL steps are wake's own bookkeeping.
                if self.verbose or (line.startswith("Step ") and " : LABEL " not in line):
                    progress.say(f"  | {line}")

            mat.write_context(context)
            context.seek(0)
            cache = self._layer_cache(mat)
            try:
                if not mat.own_step:
                    client.build(context, mat.tag, node, on_line, nocache=self.nocache,
                                 cache_from=[cache] if cache else None)
                else:
                    # Docker builds up to the last RUN; wake runs that with the secrets
                    # and the build caches (--no-cache: without the caches).
                    before = f"{mat.tag}-before-step"
                    client.build(context, before, node, on_line, nocache=self.nocache)
                    caches = {} if self.nocache else {
                        cache_volume(mat.stage.platform.ident, folder): folder
                        for folder in mat.caches}
                    progress.say(f"  | last step, run by wake{_with(given, caches)}: "
                                 f"RUN {mat.own_step}")
                    try:
                        client.run_step(before, mat.own_step,
                                        {k: v.encode() for k, v in given.items()},
                                        secrets.MOUNT, mat.tag, node, on_line, caches=caches)
                    finally:
                        client.untag(before)
            except BuildError as exc:
                raise BuildError(mask(str(exc))) from None
            finally:
                if cache:
                    client.untag(cache)  # its layers stay, in the new image
        reg = self.materializer.settings.registry
        if reg:
            self.say(f"  pushing {mat.tag} to {reg}")
            registry.push(self.materializer.client, reg, mat.tag,
                          as_last=mat.stage.kind == RELEASE)

    def _layer_cache(self, mat: Materialized) -> str | None:
        """A release image's layer cache on an engine that has no image of its stage
        (a fresh CI machine): the one last pushed to the registry. Its dependency layers
        are then reused rather than copied anew, and the push that follows need not
        compress them to learn that the registry has them. An engine with an image of the
        stage has its own cache (the classic builder looks only at cache_from images when
        given any). None: build without."""
        reg = self.materializer.settings.registry
        if not reg or self.nocache or mat.stage.kind != RELEASE or mat.own_step:
            return None
        client = self.materializer.client
        repository = mat.tag.rsplit(":", 1)[0]
        if client.images(name=repository):
            return None
        cache = registry.pull_last(client, reg, repository)
        if cache:
            self.say(f"  layer cache: {repository}:{registry.LAST} from {reg}")
        return cache


def _secrets_of(mat: Materialized) -> dict[str, str]:
    app = mat.stage.app
    assert app is not None
    manifest = app.manifest
    return secrets.values(app.name, manifest.build_secrets, str(manifest.source))


def cache_volume(platform: str, folder: str) -> str:
    """The engine volume that keeps a platform's build cache folder between builds:
    wake-cache-go-1.19-tmp-go-cache. Shared by the platform's apps (a compiler's
    cache is keyed by content, and safe to share)."""
    return f"wake-cache-{platform}{folder.replace('/', '-')}"


def _with(given: dict[str, str], caches: dict[str, str]) -> str:
    """' with the build secrets A in /run/secrets and the build cache /x (volume v)'."""
    parts = []
    if given:
        parts.append(f"the build secrets {', '.join(given)} in {secrets.MOUNT}")
    if caches:
        parts.append("the build cache " + ", ".join(f"{folder} (volume {name})"
                                                     for name, folder in caches.items()))
    return " with " + " and ".join(parts) if parts else ""
