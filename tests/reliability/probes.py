"""Probes that watch a cluster while a test breaks it: how many instances of each process
pass their checks, sampled every second (Consul's stale reads, so a server election does
not blind the probe), and whether web answers real HTTP all along."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter

from tests.integration.sites import Site, health


class Passing(threading.Thread):
    """Samples, every second until stopped, the passing instances of each process of
    `app` as the Consul agent at `address` sees them, and whether one of the passing web
    instances answers /_health with 200."""

    def __init__(self, site: Site, app: str, wanted: dict[str, int],
                 address: str | None = None) -> None:
        super().__init__(daemon=True)
        self.app, self.wanted = app, dict(wanted)
        self.address = address or f"{site.host(site.hosts[0]).address}:8500"
        self.lowest = {process: count for process, count in wanted.items()}
        self.samples = self.unanswered = self.web_down = 0
        self.urls: list[str] = []  # the passing web instances at the last sample
        self.below: list[str] = []  # samples with a process under N-1
        self.stopped = threading.Event()

    def passing(self) -> Counter[str] | None:
        url = (f"http://{self.address}/v1/health/service/{self.app}?passing=1&stale")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                entries = json.load(answer)
        except OSError:
            return None
        self.urls = [f"http://{e['Service']['Address']}:{e['Service']['Port']}/"
                     for e in entries if e["Service"]["Meta"].get("process") == "web"]
        return Counter(e["Service"]["Meta"].get("process") for e in entries)

    def run(self) -> None:
        while not self.stopped.is_set():
            began = time.monotonic()
            counts = self.passing()
            if counts is None:
                self.unanswered += 1
            else:
                self.samples += 1
                for process, wanted in self.wanted.items():
                    self.lowest[process] = min(self.lowest[process], counts[process])
                    if counts[process] < wanted - 1:
                        self.below.append(f"{time.strftime('%H:%M:%S')} {process}: "
                                          f"{counts[process]} of {wanted}")
                if "web" in self.wanted and not any(health(u) == 200 for u in self.urls):
                    self.web_down += 1
            self.stopped.wait(max(0.0, 1.0 - (time.monotonic() - began)))

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)

    def summary(self) -> str:
        lowest = ", ".join(f"{p} {self.lowest[p]}/{n}" for p, n in self.wanted.items())
        return (f"{self.samples} samples ({self.unanswered} unanswered), lowest passing: "
                f"{lowest}, web down in {self.web_down}")


def instances_on_hosts(site: Site, app: str) -> dict[str, tuple[str, str, str]]:
    """Every instance container of `app` on the cluster's hosts (cron runs are not
    instances): instance id -> (host, process, container status)."""
    return {c.labels["wake.instance"]: (host, c.labels["wake.process"], c.status)
            for host, c in site.instance_containers(app)}


def converged(site: Site, app: str, wanted: dict[str, int], **run: object) -> None:
    """The cluster holds exactly what the workspace wants of `app`: `wake status` says so
    (exit 0 only then), Consul has one registration per wanted instance and each passes,
    every registration has its running container and no container is left without one
    (no orphans, no stale registrations)."""
    done = site.wake("status", app, "--json", **run)
    assert done.stdout.strip(), done.stderr
    (status,) = json.loads(done.stdout)
    assert done.returncode == 0 and status["matches"] and not status["leftovers"], status
    entries = site.agent().health_service(app)
    registered = {e["Service"]["Meta"]["instance"]: e["Service"]["Meta"]["process"]
                  for e in entries}
    assert Counter(registered.values()) == Counter(wanted), (registered, wanted)
    failing = [e["Service"]["ID"] for e in entries
               if any(c["Status"] != "passing" for c in e["Checks"])]
    assert not failing, f"registered but not passing: {failing}"
    containers = instances_on_hosts(site, app)
    assert set(containers) == set(registered), \
        f"containers {sorted(containers)} vs registrations {sorted(registered)}"
    assert all(status == "running" for _host, _p, status in containers.values()), containers


def host_passing(site: Site, name: str) -> bool:
    """Whether Consul sees the host's agent and engine up (its wake-host checks pass)."""
    return any(e["Node"]["Node"] == name and all(c["Status"] == "passing" for c in e["Checks"])
               for e in site.agent().health_service("wake-host"))
