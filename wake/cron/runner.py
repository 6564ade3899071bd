"""Starting a claimed cron run as a container on a host with room, and finishing it.

A run is a container of the job's release image (from the release that was current when
its slot was claimed), on a passing host whose cpu and memory left over by instances and
other runs fit the job's, with those limits, logged to the cluster's rsyslog master.
`watch` records how each run ended: its exit code, a timeout (the container is stopped),
or lost (its container or host went away). A run whose claimer died before recording its
start is adopted if its container is found, else lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

from .. import registry as registry_mod
from ..cluster.layout import (
    LABEL_CLUSTER,
    REGISTRY_SERVICE,
    RSYSLOG_SERVICE,
    network_name,
)
from ..consul import Agent
from ..deploy import instances as instances_mod
from ..deploy.instances import LABEL_APP, HostInfo
from ..deploy.release import CronRelease, Release
from ..engine import Engine
from ..errors import WakeError
from . import runs as runs_mod
from .runs import Ledger, Run

LABEL_JOB, LABEL_SLOT = "wake.cron.job", "wake.cron.slot"
ENGINE_TIMEOUT = 20.0
STOP_GRACE = 10  # seconds from SIGTERM to SIGKILL when a run outlives its timeout
CLAIM_STALE = 120.0  # a claim whose claimer never started it (it died) is lost after this
HOST_GONE = 120.0  # a run whose host stays unreachable this long is recorded as lost

Say = Callable[[str], None]


def container_name(run: Run) -> str:
    return f"wake-{run.app}-cron-{run.job}-{run.slot}"


class Runner:
    """Starts and watches runs on a cluster's hosts, for one scheduler pass (or one
    `wake cron run`): host engines are connected once and reused."""

    def __init__(self, agent: Agent, cluster: str, say: Say = print) -> None:
        self.agent, self.cluster, self.say = agent, cluster, say
        self._engines: dict[str, Engine] = {}

    def close(self) -> None:
        from ..engine import close_all

        close_all(self._engines.values())
        self._engines.clear()

    def drop(self, name: str) -> None:
        engine = self._engines.pop(name, None)
        if engine is not None:
            from ..engine import close_all

            close_all([engine])

    def engine(self, host: HostInfo) -> Engine:
        if host.name not in self._engines:
            self._engines[host.name] = host.host({}).engine(timeout=ENGINE_TIMEOUT)
        return self._engines[host.name]

    # --- starting ---------------------------------------------------------------------

    def start(self, ledger: Ledger, run: Run, job: CronRelease, release: Release) -> Run:
        """Start a claimed run unless the job is still running (then it is recorded as
        skipped). Returns the run as recorded."""
        if ledger.take_running(run) is None:
            holder = ledger.running()
            what = f"the run of slot {holder[0]} is still going" if holder else \
                "another run of the job is still going"
            self.say(f"cron {run.app}/{run.job} {run.slot}: skipped: {what}")
            return ledger.update(run, result=runs_mod.SKIPPED, detail=what, ended=time.time())
        try:
            host, engine = self._place(job)
            image = self._image(engine, host, job)  # a pull can take long
            # Meanwhile a scheduler may have found the claim stale (no container after
            # CLAIM_STALE) and recorded it lost, freeing the job for its next slot:
            # starting now could overlap that one.
            current = ledger.get(run.slot)
            if current is None or current[0].result != runs_mod.CLAIMED:
                what = current[0].result if current else "gone"
                self.say(f"cron {run.app}/{run.job} {run.slot}: not started: its claim was "
                         f"recorded {what} while the run was being prepared")
                return current[0] if current else run
            log = None
            syslog = self.agent.service_address(RSYSLOG_SERVICE)
            if syslog:
                log = ("syslog", {"syslog-address": f"udp://{syslog}",
                                  "tag": f"{run.app}.{run.job}.{run.slot}"})
            # On the cluster's network, the app's dependencies at the host's proxy
            # (docs/proxy.md), as its instances have them.
            gateway = engine.ensure_network(network_name(self.cluster),
                                            {LABEL_CLUSTER: self.cluster})
            container = engine.run(
                image, container_name(run),
                {LABEL_CLUSTER: self.cluster, LABEL_APP: run.app, LABEL_JOB: run.job,
                 LABEL_SLOT: run.slot},
                env={"WAKE_CRON_SLOT": run.slot, "WAKE_RELEASE": release.short},
                restart=False, cpu=job.cpu, memory_mb=job.memory, log=log,
                hostname=f"{run.job}-cron"[:63], network=network_name(self.cluster),
                extra_hosts={dep: gateway for dep in job.dependencies})
        except WakeError as exc:
            self.say(f"cron {run.app}/{run.job} {run.slot}: could not start: {exc}")
            done = ledger.update(run, result=runs_mod.FAILED, detail=str(exc)[:1000],
                                 ended=time.time())
            ledger.clear_running(run.slot)
            return done
        self.say(f"cron {run.app}/{run.job} {run.slot}: started on {host.name}"
                 + (" (late: its slot was missed)" if run.late else ""))
        return ledger.update(run, result=runs_mod.RUNNING, host=host.name,
                             container=container.name, started=time.time())

    def _place(self, job: CronRelease) -> tuple[HostInfo, Engine]:
        """The passing host with the most cpu left that fits the job (then memory)."""
        hosts = [h for h in instances_mod.hosts(self.agent) if h.passing]
        used: dict[str, list[float]] = {h.name: [0.0, 0.0] for h in hosts}
        for i in instances_mod.instances(self.agent):
            if i.host in used:
                used[i.host][0] += i.cpu
                used[i.host][1] += i.memory
        for app, name in runs_mod.jobs_with_records(self.agent):
            found = Ledger(self.agent, app, name).running()
            record = Ledger(self.agent, app, name).get(found[0]) if found else None
            if record and record[0].host in used and record[0].result == runs_mod.RUNNING:
                used[record[0].host][0] += record[0].cpu
                used[record[0].host][1] += record[0].memory
        fits = [h for h in hosts if h.cpus - used[h.name][0] >= job.cpu
                and h.memory - used[h.name][1] >= job.memory]
        engines: dict[str, Engine] = {}
        for host in fits:
            try:
                engines[host.name] = self.engine(host)
            except WakeError as exc:
                self.drop(host.name)
                self.say(f"cron: host {host.name} does not answer ({exc}); not placing there")

        def has_image(name: str) -> bool:
            with suppress(WakeError):
                return engines[name].inspect(job.image_id or job.image) is not None
            return False

        # A host that has the image first (no pull: the registry may be on a host that is
        # down), then the most cpu and memory left.
        ranked = sorted((h for h in fits if h.name in engines),
                        key=lambda h: (not has_image(h.name), -(h.cpus - used[h.name][0]),
                                       -(h.memory - used[h.name][1]), h.name))
        if ranked:
            return ranked[0], engines[ranked[0].name]
        raise WakeError(f"no passing host has {job.cpu:g} cpu and {job.memory} MB free for "
                        f"cron job {job.name} (hosts: {', '.join(h.name for h in hosts)})")

    def _image(self, engine: Engine, host: HostInfo, job: CronRelease) -> str:
        """The job's image on the host: there already, or pulled by digest from the
        cluster's registry."""
        for ref in (job.image_id, job.image):
            if ref and engine.inspect(ref) is not None:
                return ref
        registry = self.agent.service_address(REGISTRY_SERVICE)
        if not (registry and job.digest):
            raise WakeError(f"host {host.name} lacks {job.image} and the release has no "
                            "registry digest to pull it by")
        repository = job.image.rsplit(":", 1)[0]
        engine.pull(f"{registry_mod.host(registry)}/{repository}@{job.digest}")
        return job.image_id or f"{registry_mod.host(registry)}/{repository}@{job.digest}"

    # --- watching ---------------------------------------------------------------------

    def watch(self, now: float | None = None) -> list[Run]:
        """Record every running run that ended (or timed out, or was lost); returns them."""
        now = time.time() if now is None else now
        finished = []
        hosts = {h.name: h for h in instances_mod.hosts(self.agent)}
        for app, job in runs_mod.jobs_with_records(self.agent):
            try:
                done = self._watch_one(Ledger(self.agent, app, job), hosts, now)
            except WakeError as exc:  # one job's trouble must not stop the others' records
                self.say(f"cron {app}/{job}: could not check its run: {exc}")
                continue
            if done is not None:
                finished.append(done)
                self.say(f"cron {app}/{job} {done.slot}: {done.result}"
                         + (f" ({done.detail})" if done.detail else ""))
        return finished

    def _watch_one(self, ledger: Ledger, hosts: dict[str, HostInfo],
                   now: float) -> Run | None:
        mark = ledger.running()
        found = ledger.get(mark[0]) if mark else None
        if mark and found is None:  # a mark without a record: nothing to wait for
            ledger.clear_running(mark[0])
            return None
        if found is None:
            return None
        run = found[0]
        if run.result == runs_mod.CLAIMED:  # its claimer died before recording a start
            if now - run.claimed <= CLAIM_STALE:
                return None
            adopted = self._adopt(ledger, run, hosts, now)
            if adopted is None:
                return None
            run = adopted
        done = self._check(ledger, run, hosts.get(run.host), now)
        if done is not None:
            ledger.clear_running(run.slot)
            self.forget(ledger.trim())
        return done

    def _adopt(self, ledger: Ledger, run: Run, hosts: dict[str, HostInfo],
               now: float) -> Run | None:
        """A stale claim: its claimer died (or was stopped) after claiming - maybe after
        starting the run's container, before recording that. A container found (by its
        name, on any passing host) is the run still going, and the job must not overlap
        it: the record takes its host and start and is watched as any run. Found nowhere,
        the run is lost; while a host does not answer, it may be there (lost after
        HOST_GONE more). None when there is nothing to record yet."""
        name, unanswered = container_name(run), []
        for host in sorted(hosts.values(), key=lambda h: h.name):
            if not host.passing:
                continue
            try:
                engine = self.engine(host)
                container = engine.container(name)
            except WakeError:
                self.drop(host.name)
                unanswered.append(host.name)
                continue
            if container is None:
                continue
            if container.status == "created":  # never started: it will not run now
                with suppress(WakeError):
                    engine.remove(name)
                continue
            self.say(f"cron {run.app}/{run.job} {run.slot}: its claimer died after "
                     f"starting it on {host.name}; watching it")
            return ledger.update(run, result=runs_mod.RUNNING, host=host.name,
                                 container=container.name,
                                 started=container.started or run.claimed)
        if unanswered and now - run.claimed <= CLAIM_STALE + HOST_GONE:
            return None
        return ledger.update(run, result=runs_mod.LOST, ended=now,
                             detail="claimed, never started (its scheduler died)"
                             + (f"; hosts {', '.join(unanswered)} did not answer"
                                if unanswered else ""))

    def _check(self, ledger: Ledger, run: Run, host: HostInfo | None,
               now: float) -> Run | None:
        if run.result in runs_mod.FINISHED:
            return run
        if host is None or not host.passing:
            if now - run.started > HOST_GONE:
                return ledger.update(run, result=runs_mod.LOST, ended=now,
                                     detail=f"host {run.host} is down")
            return None
        try:
            engine = self.engine(host)
            container = engine.container(run.container)
        except WakeError as exc:
            # Connect again next time (an engine that restarted needs a new connection);
            # a host that keeps failing is lost after HOST_GONE.
            self.drop(host.name)
            if now - run.started > HOST_GONE:
                return ledger.update(run, result=runs_mod.LOST, ended=now,
                                     detail=f"host {run.host}'s engine does not answer: "
                                     f"{exc}"[:500])
            return None
        if container is None:
            return ledger.update(run, result=runs_mod.LOST, ended=now,
                                 detail="its container is gone")
        # Finished containers stay (stopped) until their record is trimmed: `docker ps -a`
        # shows the last runs of a job on each host.
        if container.status in ("exited", "dead"):
            code = container.exit_code
            return ledger.update(run, result=runs_mod.SUCCEEDED if code == 0
                                 else runs_mod.FAILED, exit_code=code,
                                 ended=max(now, run.started))
        if now - run.started > run.timeout:
            with suppress(WakeError):
                engine.stop(run.container, STOP_GRACE)
            return ledger.update(run, result=runs_mod.TIMED_OUT, ended=time.time(),
                                 detail=f"ran longer than its timeout of {run.timeout} s; "
                                 "stopped")
        return None

    def forget(self, old: list[Run]) -> None:
        """Remove the containers of runs whose records were trimmed."""
        hosts = {h.name: h for h in instances_mod.hosts(self.agent)}
        for run in old:
            host = hosts.get(run.host)
            if host is not None and host.passing and run.container:
                with suppress(WakeError):
                    self.engine(host).remove(run.container)


def new_run(app: str, release: Release, job: CronRelease, slot: str, who: str,
            late: bool = False) -> Run:
    return Run(app=app, job=job.name, slot=slot, release=release.id, image=job.image,
               claimed_by=who, claimed=time.time(), late=late, timeout=job.timeout,
               cpu=job.cpu, memory=job.memory)

