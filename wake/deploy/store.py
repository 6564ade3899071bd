"""Releases in Consul's KV store, per app:

    wake/apps/<app>/releases/<id>     the record (JSON, release.py)
    wake/apps/<app>/current           the id of the release that runs
    wake/apps/<app>/history/<stamp>   what happened: deploys, rollbacks, lock breaks
    wake/apps/<app>/lock              the deploy lock (lock.py)

The current pointer moves only in one transaction that checks the deploy still holds the
app's lock and that the pointer still has the index the deploy read: a deploy that lost
its lock, or raced another, cannot move it. The newest KEEP records are kept (and the
current one, however old), and the newest KEEP_EVENTS events.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, replace

from ..consul import Agent
from ..errors import WakeError
from ..logs.ship import Shipper, master_address
from . import lock
from .release import Release

PREFIX = "wake/apps"
KEEP = 20
KEEP_EVENTS = 50


@dataclass(frozen=True)
class Event:
    """One line of an app's history (`wake releases`)."""

    at: float
    action: str  # deploy | rollback | lock break
    release: str  # the release deployed or rolled back to ("" for a lock break)
    result: str  # deploying | succeeded | failed | rolled back | done
    who: str = ""
    machine: str = ""
    commit: str = ""
    changes: tuple[str, ...] = ()
    detail: str = ""  # an error, or whose lock was broken

    @property
    def stamp(self) -> str:
        return f"{int(self.at * 1000):015d}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: bytes, where: str) -> Event:
        try:
            data = json.loads(text)
            data["changes"] = tuple(data.get("changes", ()))
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise WakeError(f"{where}: not a history entry wake can read ({exc})") from None


class PointerMoved(WakeError):
    """Another deploy moved the current release while this one worked."""


class ReleaseStore:
    def __init__(self, agent: Agent, app: str, ship: Shipper | None = None) -> None:
        """`ship`: where events go to the log master (a deploy passes its own, already
        connected); without it each event looks the master up and connects once."""
        self.agent = agent
        self.app = app
        self.ship = ship

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

    def point_to(self, release_id: str, index: int, session: str | None = None) -> None:
        """Make `release_id` current, only if the pointer still has `index` and (given a
        lock session) this deploy still holds the app's lock - in one transaction."""
        checks = [{"Verb": "check-session", "Key": lock.key(self.app), "Session": session}
                  ] if session else []
        value = base64.b64encode(release_id.encode()).decode()
        if not self.agent.kv_txn([*checks, {"Verb": "cas", "Key": f"{self.folder}/current",
                                             "Value": value, "Index": index}],
                                 f"make release {release_id[:12]} current"):
            raise PointerMoved(f"{self.app}: the current release moved, or this deploy lost "
                               "its lock, while it ran; nothing of it is current. Run the "
                               "deploy again")

    def record(self, event: Event) -> Event:
        """Add an event to the app's history (or update it: the same `at`), and send it
        to the cluster's log master (`wake logs APP deploy`)."""
        self.agent.kv_put(f"{self.folder}/history/{event.stamp}", event.to_json())
        entries = self.agent.kv_list(f"{self.folder}/history/")
        for old in sorted(entries, key=lambda e: e.key, reverse=True)[KEEP_EVENTS:]:
            self.agent.kv_delete(old.key)
        self._ship(event)
        return event

    def _ship(self, event: Event) -> None:
        text = (f"event: {event.action} {event.release[:12] or '-'} {event.result}"
                f" (by {event.who or '?'}@{event.machine or '?'}"
                f"{', commit ' + event.commit[:12] if event.commit else ''})"
                f"{': ' + event.detail if event.detail else ''}")
        if self.ship is not None:
            self.ship.send(text)
            return
        ship = Shipper(master_address(self.agent), self.app, "deploy",
                       f"{event.who}@{event.machine}")
        ship.send(text)
        ship.close()

    def finish(self, event: Event, result: str, detail: str = "") -> Event:
        return self.record(replace(event, result=result, detail=detail[:2000]))

    def events(self) -> list[Event]:
        """The app's history, newest first."""
        entries = self.agent.kv_list(f"{self.folder}/history/")
        return [Event.from_json(e.value, f"Consul key {e.key}")
                for e in sorted(entries, key=lambda e: e.key, reverse=True)]

    def mark_rolled_back(self, release_id: str) -> None:
        """The newest successful deploy of `release_id` was rolled back."""
        for event in self.events():
            if event.release == release_id and event.result == "succeeded":
                self.record(replace(event, result="rolled back"))
                return



def apps(agent: Agent) -> list[str]:
    """The apps with release records in the cluster's KV store."""
    names = set()
    for entry in agent.kv_list(f"{PREFIX}/"):
        parts = entry.key[len(PREFIX) + 1:].split("/")
        if len(parts) >= 3 and parts[1] == "releases" and parts[0]:
            names.add(parts[0])
    return sorted(names)


def release_images(agent: Agent) -> dict[str, str]:
    """Every image (id and tag) a kept release of any app names, current or previous
    (a rollback may need any of them) -> which release it is (for `wake prune`)."""
    found: dict[str, str] = {}
    for app in apps(agent):
        store = ReleaseStore(agent, app)
        current, _ = store.current()
        for release in store.history():
            which = "the current" if release.id == current else "a previous"
            why = f"{which} release of {app} ({release.short}) on the cluster uses it"
            for process in release.processes:
                for ref in (process.image_id, process.image):
                    if ref:
                        found.setdefault(ref, why)
    return found
