"""Releases in Consul's KV store, per app:

    wake/apps/<app>/releases/<id>   the record (JSON, release.py)
    wake/apps/<app>/current         the id of the release that runs

The current pointer moves only by check-and-set against the index it had when the deploy
read it, so two deploys that raced cannot both move it; the last KEEP records are kept.
"""

from __future__ import annotations

from ..consul import Agent
from ..errors import WakeError
from .release import Release

PREFIX = "wake/apps"
KEEP = 20


class PointerMoved(WakeError):
    """Another deploy moved the current release while this one worked."""


class ReleaseStore:
    def __init__(self, agent: Agent, app: str) -> None:
        self.agent = agent
        self.app = app

    @property
    def folder(self) -> str:
        return f"{PREFIX}/{self.app}"

    def _key(self, release_id: str) -> str:
        return f"{self.folder}/releases/{release_id}"

    def current(self) -> tuple[str | None, int]:
        """(the current release id or None, the pointer's index for check-and-set; 0 when
        there is none yet)."""
        entry = self.agent.kv_get(f"{self.folder}/current")
        if entry is None:
            return None, 0
        return entry.value.decode("ascii", "replace").strip() or None, entry.modify_index

    def get(self, release_id: str) -> Release | None:
        entry = self.agent.kv_get(self._key(release_id))
        if entry is None:
            return None
        return Release.from_json(entry.value, f"Consul key {entry.key}")

    def save(self, release: Release) -> None:
        """Write (or update) a release's record, then drop all but the newest KEEP."""
        self.agent.kv_put(self._key(release.id), release.to_json())
        records = self.history()
        current, _ = self.current()
        for old in records[KEEP:]:
            if old.id != current:
                self.agent.kv_delete(self._key(old.id))

    def history(self) -> list[Release]:
        """Every kept release, newest first."""
        found = []
        for entry in self.agent.kv_list(f"{self.folder}/releases/"):
            found.append(Release.from_json(entry.value, f"Consul key {entry.key}"))
        return sorted(found, key=lambda r: r.at, reverse=True)

    def point_to(self, release_id: str, index: int) -> None:
        """Make `release_id` current, only if the pointer still has `index`."""
        if not self.agent.kv_put(f"{self.folder}/current", release_id, cas=index):
            raise PointerMoved(f"{self.app}: another deploy moved the current release while "
                               "this one ran; nothing of it is current. Run the deploy again")
