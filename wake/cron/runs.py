"""The record of every cron run, in Consul KV - and the claims that make each slot run once.

    wake/apps/<app>/cron/<job>/since          when the job was first scheduled (unix time)
    wake/apps/<app>/cron/<job>/runs/<slot>    one record per slot: 20261126T0910Z, or
                                              manual-<stamp>-<hex> for `wake cron run`
    wake/apps/<app>/cron/<job>/running        the slot whose run is going (at most one)

A slot is claimed by creating its record with check-and-set index 0: of any number of
schedulers (or `wake cron run`s) only one can. A run then starts only if it can create
`running` the same way, so a job never overlaps itself; a slot that finds it held is
recorded as skipped. Every change of a record is a check-and-set on its index.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, replace

from ..consul import Agent
from ..errors import WakeError

KEEP = 50  # records kept per job (the newest)

# results
CLAIMED, RUNNING = "claimed", "running"
SUCCEEDED, FAILED, TIMED_OUT, SKIPPED, LOST = (
    "succeeded", "failed", "timed out", "skipped", "lost")
FINISHED = (SUCCEEDED, FAILED, TIMED_OUT, SKIPPED, LOST)


def job_prefix(app: str, job: str) -> str:
    return f"wake/apps/{app}/cron/{job}"


@dataclass(frozen=True)
class Run:
    app: str
    job: str
    slot: str  # the key part: a slot stamp or manual-...
    release: str = ""  # the release whose image it ran
    image: str = ""
    host: str = ""
    container: str = ""
    claimed_by: str = ""  # which scheduler (or person) claimed it
    claimed: float = 0.0
    started: float = 0.0
    ended: float = 0.0
    exit_code: int | None = None
    result: str = CLAIMED
    detail: str = ""
    late: bool = False  # a missed slot run by a scheduler that took over
    timeout: int = 3600  # seconds it may run (the job's, when it was claimed)
    cpu: float = 0.0
    memory: int = 0  # MB

    @property
    def key(self) -> str:
        return f"{job_prefix(self.app, self.job)}/runs/{self.slot}"

    @property
    def manual(self) -> bool:
        return self.slot.startswith("manual-")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: bytes, where: str) -> Run:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError) as exc:
            raise WakeError(f"{where}: not a cron run record wake can read ({exc})") from None


def manual_slot() -> str:
    return f"manual-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(2)}"


class Ledger:
    """The runs of one job."""

    def __init__(self, agent: Agent, app: str, job: str) -> None:
        self.agent, self.app, self.job = agent, app, job
        self.prefix = job_prefix(app, job)

    def since(self, first: float) -> float:
        """When the job was first deployed (`first`, written once by whoever sees the job
        first): slots before it never run, so a new daily job waits for its next slot."""
        found = self.agent.kv_get(f"{self.prefix}/since")
        if found is None:
            self.agent.kv_put(f"{self.prefix}/since", repr(first), cas=0)
            found = self.agent.kv_get(f"{self.prefix}/since")
        assert found is not None
        return float(found.value)

    def claim(self, run: Run) -> Run | None:
        """Create the slot's record; None when it exists (someone claimed it first)."""
        return run if self.agent.kv_put(run.key, run.to_json(), cas=0) else None

    def get(self, slot: str) -> tuple[Run, int] | None:
        found = self.agent.kv_get(f"{self.prefix}/runs/{slot}")
        if found is None:
            return None
        return Run.from_json(found.value, found.key), found.modify_index

    def update(self, run: Run, **changes: object) -> Run:
        """Change a record with check-and-set, re-reading on a race (the last writer
        must have seen what it overwrites)."""
        for _ in range(10):
            found = self.get(run.slot)
            if found is None:
                raise WakeError(f"cron run {run.key} vanished from Consul")
            current, index = found
            updated = replace(current, **changes)  # type: ignore[arg-type]
            if self.agent.kv_put(run.key, updated.to_json(), cas=index):
                return updated
        raise WakeError(f"cron run {run.key}: too many concurrent changes")

    def take_running(self, run: Run) -> Run | None:
        """Mark `run` as the job's running one; None (and nothing written) when another
        run holds the mark: the job must not overlap itself."""
        if self.agent.kv_put(f"{self.prefix}/running", run.slot, cas=0):
            return run
        return None

    def running(self) -> tuple[str, int] | None:
        found = self.agent.kv_get(f"{self.prefix}/running")
        return (found.value.decode(), found.modify_index) if found else None

    def clear_running(self, slot: str) -> None:
        """Drop the running mark if it is still `slot`'s."""
        found = self.running()
        if found and found[0] == slot:
            self.agent.kv_delete(f"{self.prefix}/running", cas=found[1])

    def history(self) -> list[Run]:
        """Every recorded run, oldest first (slot stamps sort by time; manual runs by
        when they were claimed)."""
        runs = [Run.from_json(kv.value, kv.key)
                for kv in self.agent.kv_list(f"{self.prefix}/runs/")]
        return sorted(runs, key=lambda r: r.claimed)

    def trim(self, keep: int = KEEP) -> list[Run]:
        """Forget the oldest finished records beyond `keep`; returns them."""
        runs = self.history()
        gone = [r for r in (runs[:-keep] if len(runs) > keep else []) if r.result in FINISHED]
        for old in gone:
            self.agent.kv_delete(old.key)
        return gone


def jobs_with_records(agent: Agent) -> list[tuple[str, str]]:
    """(app, job) of every job with a `running` mark (what a scheduler must watch)."""
    found = []
    for kv in agent.kv_list("wake/apps/"):
        parts = kv.key.split("/")
        if len(parts) == 6 and parts[3] == "cron" and parts[5] == "running":
            found.append((parts[2], parts[4]))
    return found
