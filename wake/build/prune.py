"""`wake prune`: remove stage images nothing needs any more.

`decide` is the whole policy, a pure function of the engine's image list, the keys the
workspace's stages have now and what must stay (images a cluster's releases or a
container use). An image stays when any of these holds:

- its key is a stage key of the workspace (a build would reuse it);
- it is among the `keep` newest images of its stage (label wake.id), in use or not,
  so a step back (a revert, a rollback) finds its images;
- a release of the cluster or a container on this engine uses it.

`plan` gathers those inputs; `apply` removes what `decide` chose, never forcing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..engine import Engine
from ..errors import DockerError
from . import stages
from .session import Session

KEY_LABEL = "wake.key"
NO_TAG = "<none>:<none>"
# Images built on another go first, so the parent's layers are freed in the same run.
REMOVAL_ORDER = (stages.RELEASE, stages.APP_RELEASE, stages.APP_COMPILE, stages.APP_DEPS,
                 stages.PLATFORM_RELEASE, stages.PLATFORM_COMPILE)


@dataclass(frozen=True)
class Image:
    """One wake stage image as the engine lists it."""

    id: str
    tags: tuple[str, ...]
    key: str
    stage: str  # wake.id, e.g. build:bestsiteever:app-compile
    kind: str  # wake.kind
    app: str | None  # wake.app (None for platform stages)
    created: int  # unix time
    size: int  # bytes, as docker lists it (layers shared with others included)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Image | None:
        """An image-list row as an Image; None when it is not a wake stage image."""
        labels = row.get("Labels") or {}
        if not labels.get(KEY_LABEL):
            return None
        tags = tuple(t for t in row.get("RepoTags") or () if t != NO_TAG)
        return cls(id=str(row["Id"]), tags=tags, key=str(labels[KEY_LABEL]),
                   stage=str(labels.get("wake.id", "")), kind=str(labels.get("wake.kind", "")),
                   app=labels.get("wake.app"), created=int(row.get("Created", 0)),
                   size=int(row.get("Size", 0)))

    @property
    def name(self) -> str:
        """How people see it: its first tag, else its short id."""
        return self.tags[0] if self.tags else self.id.removeprefix("sha256:")[:12]

    @property
    def refs(self) -> tuple[str, ...]:
        """What to remove: each tag (the last one takes the image), or the id if untagged."""
        return self.tags or (self.id,)


@dataclass(frozen=True)
class Verdict:
    image: Image
    remove: bool
    why: str


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        number % 10, "th")
    return f"{number}{suffix}"


def decide(images: Iterable[Image], used_keys: set[str], protected: dict[str, str],
           keep: int, apps: Iterable[str] = ()) -> list[Verdict]:
    """A verdict for every image: removed or kept, and why.

    `protected` maps image ids and tags to why they must stay (a release, a container);
    `apps`, when given, limits pruning to those apps' images: no verdict for the others
    (platform images stay). Images of a stage are ranked newest first (ties by key, so
    the result is stable).
    """
    scope = set(apps)
    by_stage: dict[str, list[Image]] = {}
    for image in images:
        if not scope or image.app in scope:
            by_stage.setdefault(image.stage, []).append(image)
    verdicts = []
    for stage_id in sorted(by_stage):
        ranked = sorted(by_stage[stage_id], key=lambda i: (-i.created, i.key, i.id))
        for rank, image in enumerate(ranked, 1):
            guard = next((protected[r] for r in (image.id, *image.tags) if r in protected),
                         None)
            if image.key in used_keys:
                verdicts.append(Verdict(image, False, "a stage of the workspace uses it"))
            elif guard is not None:
                verdicts.append(Verdict(image, False, guard))
            elif rank <= keep:
                verdicts.append(Verdict(image, False, f"{ordinal(rank)} newest of its stage "
                                                      f"(keeping {keep})"))
            else:
                verdicts.append(Verdict(image, True, f"no stage of the workspace uses it; "
                                                     f"{ordinal(rank)} newest of its stage "
                                                     f"(keeping {keep})"))
    return verdicts


def removal_order(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """The images to remove, children before parents (release images first)."""
    rank = {kind: n for n, kind in enumerate(REMOVAL_ORDER)}
    chosen = [v for v in verdicts if v.remove]
    return sorted(chosen, key=lambda v: (rank.get(v.image.kind, len(rank)), v.image.stage,
                                         -v.image.created))


def workspace_keys(session: Session) -> set[str]:
    """The key of every stage of the session's workspace (hashes trees; builds nothing)."""
    return {session.materializer.get(node).key for node in session.graph}


def container_guards(client: Engine) -> dict[str, str]:
    """Every image a container of this engine (running or not) was made from."""
    guards: dict[str, str] = {}
    for container in client.containers({}, all=True):
        why = f"container {container.name} uses it"
        guards.setdefault(container.image_id, why)
        guards.setdefault(container.image, why)
    return guards


def plan(session: Session, protected: dict[str, str], keep: int,
         apps: Iterable[str] = ()) -> list[Verdict]:
    """Decide for every wake image of the session's engine."""
    client = session.materializer.client
    rows = client.images(label=KEY_LABEL)
    images = [i for i in (Image.from_row(row) for row in rows) if i is not None]
    guards = {**container_guards(client), **protected}
    return decide(images, workspace_keys(session), guards, keep, apps)


@dataclass(frozen=True)
class Removed:
    image: Image
    freed: bool  # False: only its tags went (an image built on it still holds its layers)
    error: str = ""


def apply(client: Engine, verdicts: Iterable[Verdict],
          say: Callable[[str], None]) -> list[Removed]:
    """Remove the images `decide` chose, children first; never forced. An image that
    cannot go (a container appeared since, the engine refused) is reported, not fatal."""
    done = []
    for verdict in removal_order(verdicts):
        image, freed, error = verdict.image, False, ""
        try:
            for ref in image.refs:
                freed = client.remove_image(ref) or freed
        except DockerError as exc:
            error = str(exc)
        done.append(Removed(image, freed, error))
        say(f"could not remove {image.name}: {error}" if error
            else f"removed {image.name}" + ("" if freed else
                                           " (tag only: an image built on it remains)"))
    return done


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"
