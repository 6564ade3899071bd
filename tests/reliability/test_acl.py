"""Consul with ACLs. The session's cluster (`site`) is made with `wake cluster create
--acl`: default deny, the token in clusters.json. So every deploy, rollout, rollback, cron
and proxy test of the integration and reliability suites already runs under ACLs with
that token. This test checks what they cannot: Consul really denies what the token does
not allow; every command without the token, or with a wrong one, fails with a clear
error; a host joins and leaves under ACLs; and the token is nowhere it should not be -
the output of wake's commands, its errors, the cluster's log lines, and the services'
containers (their configuration and their logs)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.integration.sites import APP, Site, ok
from wake.cluster import netns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")

# What a user runs against a cluster, each of which must refuse clearly without the token.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("status", APP), ("cluster", "status"), ("releases", APP), ("cron", APP),
    ("logs", APP, "-n", "5"), ("lock", "show", APP), ("rollback", APP),
    ("prune", "--dry-run"), ("deploy", APP))


def _code(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"X-Consul-Token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _home_with(site: Site, where: Path, token: str | None) -> Path:
    """A copy of the site's WAKE_HOME whose clusters.json has another token (or none)."""
    shutil.copytree(site.home, where, ignore=shutil.ignore_patterns("doit.db*", "*.lock"))
    path = where / "clusters.json"
    data = json.loads(path.read_text())
    data["clusters"][site.cluster]["token"] = token
    path.write_text(json.dumps(data))
    return where


def _refusals(site: Site, home: Path, needle: str) -> list[str]:
    """Run every command with `home`; the output of each, checked to refuse clearly."""
    seen = []
    for args in COMMANDS:
        done = site.wake(*args, home=home, timeout=120)
        text = done.stdout + done.stderr
        assert done.returncode != 0, f"wake {' '.join(args)} worked: {text}"
        assert needle in text and "Traceback" not in text, f"wake {' '.join(args)}: {text}"
        seen.append(text)
    deploy = site.doit(f"deploy:{APP}", home=home)
    text = deploy.stdout + deploy.stderr
    assert deploy.returncode != 0 and needle in text and "Traceback" not in text, text
    return [*seen, text]


def _service_containers(site: Site, hosts: list[str]) -> list[tuple[str, str, str]]:
    """(host, container, its configuration and logs as text) of the cluster's services."""
    found = []
    for host in hosts:
        for c in site.sdk(host).containers.list(
                all=True, filters={"label": f"wake.cluster={site.cluster}"}):
            config = json.dumps({"env": c.attrs["Config"].get("Env"),
                                 "cmd": c.attrs["Config"].get("Cmd"),
                                 "entrypoint": c.attrs["Config"].get("Entrypoint"),
                                 "args": c.attrs.get("Args"),
                                 "labels": c.attrs["Config"].get("Labels")})
            logs = c.logs(stdout=True, stderr=True).decode(errors="replace")
            found.append((host, c.name, f"{config}\n{logs}"))
    return found


def test_acls_deny_without_the_token_and_the_token_stays_out(  # type: ignore[no-untyped-def]
        site: Site, tmp_path: Path, figures) -> None:
    token = site.token()
    uuid.UUID(token)  # a token of its own, made by `cluster create --acl`
    consul = f"http://{site.host(site.hosts[0]).address}:8500/v1"

    # Consul denies by default: KV and the agent's API need the token; nodes and services
    # are readable without one, as Consul's DNS (the proxies' HAProxy) needs that.
    assert _code(f"{consul}/kv/wake/registry/ca.crt") == 403
    assert _code(f"{consul}/agent/self") == 403
    assert _code(f"{consul}/kv/wake/registry/ca.crt", token) == 200
    assert _code(f"{consul}/health/service/wake-host") == 200
    assert _code(f"{consul}/kv/wake/registry/ca.crt", str(uuid.uuid4())) == 403

    # With the token, everything works: the app is deployed (or already up to date), and
    # what a user reads of the cluster answers.
    said = [ok(site.doit(f"deploy:{APP}"))]
    for args in [c for c in COMMANDS if c[0] not in ("rollback", "deploy")]:
        said.append(ok(site.wake(*args)))
    said += [ok(site.wake("config")), ok(site.wake("clusters", "show", site.cluster)),
             ok(site.wake("status", APP, "--json"))]
    assert "token    (set)" in said[-2]

    # Without the token, and with a wrong one, every command fails and says why.
    started = time.monotonic()
    said += _refusals(site, _home_with(site, tmp_path / "none", None),
                      "the cluster uses ACLs and wake has no token for it")
    wrong = str(uuid.uuid4())
    said += _refusals(site, _home_with(site, tmp_path / "wrong", wrong),
                      "a wrong or revoked token?")
    refused = len(COMMANDS) * 2 + 2
    refusing = time.monotonic() - started
    assert not [s for s in said if wrong in s]

    # A host joins the cluster under ACLs (its agent, scheduler and proxy get the token
    # as files) and leaves it again.
    extra = f"{site.cluster}-x{secrets.token_hex(1)}"
    ok(site.wake("hosts", "create", extra, "--driver", "netns"))
    try:
        said.append(ok(site.wake("cluster", "join", extra, timeout=600)))
        status = json.loads(ok(site.wake("cluster", "status", "--json")))
        host = next(h for h in status["hosts"] if h["name"] == extra)
        assert host["health"] == "passing" and status["down"] == [], status
        assert host["placed"] == [f"wake-{site.cluster}-{s}"
                                  for s in ("consul", "proxy", "scheduler")], host
        assert any(s["name"] == "wake-proxy" and s["host"] == extra and
                   s["health"] == "passing" for s in status["services"]), status
        containers = _service_containers(site, [*site.hosts, extra])
        said.append(ok(site.wake("cluster", "leave", extra, timeout=300)))
    finally:
        if site.wake("hosts", "rm", extra, "--force").returncode != 0:
            netns.destroy(extra, say=lambda _line: None)

    # The token is in none of it: not in what wake printed (its errors included), not in
    # the app's log lines, not in any service container's configuration or logs.
    said.append(ok(site.wake("logs", APP, "-n", "1000")))
    leaks = [s[:200] for s in said if token in s]
    leaks += [f"{host}/{name}" for host, name, text in containers if token in text]
    assert not leaks, f"the token appears in: {leaks}"
    figures(f"ACLs default deny; {refused} commands refused without or with a wrong token "
            f"in {refusing:.0f} s, each with a clear error; a host joined and left; the "
            f"token in 0 of {len(said)} outputs and {len(containers)} service containers")
