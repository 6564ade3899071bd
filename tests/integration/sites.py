"""A real three-host netns cluster and a workspace to deploy from, shared by the deploy
and proxy tests (the `site` fixture in conftest.py: made once per test session, as
making one takes minutes).

The workspace holds bestsiteever; `Site.run(..., workspace=...)` deploys another
workspace to the same cluster.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from wake.cluster import netns
from wake.cluster.hosts import Host
from wake.consul import Agent
from wake.cron.runner import LABEL_JOB

from .conftest import HOST_CA, ROOT, make_workspace

APPS = ROOT / "tests" / "apps"
RATE = 50  # requests a second, from inside a front container to api through the proxy
STOP = "/tmp/wake-load-stop"

APP = "bestsiteever"
# The web process answers /_health with the status HEALTH_STATUS says (a release whose
# health never passes sets it to 500).
CONFIG_RU = """app = lambda do |env|
  case env["PATH_INFO"]
  when "/_health" then [Integer(ENV.fetch("HEALTH_STATUS", "200")), {}, ["health\\n"]]
  else [200, { "content-type" => "text/plain" }, ["Welcome to the best site ever!\\n"]]
  end
end
run app
"""


@dataclass
class Site:
    home: Path
    workspace: Path
    hosts: list[str]
    builder: str  # a host whose empty engine serves as a fresh build machine
    cluster: str
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 900, home: Path | None = None,
            workspace: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        ws = workspace or self.workspace
        env = {**os.environ, **self.env, "WAKE_HOME": str(home or self.home),
               "WAKE_WORKSPACE": str(ws), **extra}
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                              env=env, cwd=ws.parent)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """`wake ARGS` in the background, its stdout and stderr together."""
        env = {**os.environ, **self.env, "WAKE_HOME": str(self.home),
               "WAKE_WORKSPACE": str(self.workspace)}
        return subprocess.Popen([sys.executable, "-m", "wake.cli", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env)

    def wake(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "wake.cli", *args, **kwargs)

    def doit(self, *tasks: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        home = kwargs.get("home") or self.home
        return self.run(sys.executable, "-m", "doit", "run", "-f", str(ROOT / "dodo.py"),
                        "--db-file", str(home / "doit.db"), *tasks, **kwargs)

    def host(self, name: str) -> Host:
        data = json.loads((self.home / "hosts.json").read_text())["hosts"][name]
        return Host(name, **data)

    def sdk(self, name: str) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host(name).docker)

    def token(self) -> str:
        """The cluster's ACL token: the site is made with ACLs on (`--acl`), so every
        test that deploys to it runs under them."""
        return str(json.loads((self.home / "clusters.json").read_text())["clusters"][
            self.cluster]["token"])

    def agent(self, host: str | None = None) -> Agent:
        return Agent(f"{self.host(host or self.hosts[0]).address}:8500", self.token())

    def instance_containers(self, app: str = APP) -> Iterator[tuple[str, Any]]:
        """(host, container) of every instance container of `app` on every host. The
        scheduler's cron runs (bestsiteever's job runs every ten minutes) are not
        instances: a deploy neither makes nor removes them."""
        for name in self.hosts:
            for c in self.sdk(name).containers.list(all=True,
                                                    filters={"label": f"wake.app={app}"}):
                if LABEL_JOB not in c.labels:
                    yield name, c

    def containers(self) -> dict[str, tuple[str, str, str]]:
        """The app's instance containers: id -> (host, process, status)."""
        return {c.id: (host, c.labels["wake.process"], c.status)
                for host, c in self.instance_containers()}

    def images(self) -> dict[str, set[str]]:
        return {name: {i.id for i in self.sdk(name).images.list()} for name in self.hosts}

    def status(self) -> dict[str, Any]:
        done = self.wake("status", APP, "--json")
        assert done.stdout.strip(), done.stderr
        (app,) = json.loads(done.stdout)
        return dict(app)

    def manifest(self) -> Path:
        return self.workspace.parent / APP / "manifest.json"

    def edit_manifest(self, change: Any) -> None:
        data = json.loads(self.manifest().read_text())
        change(data)
        self.manifest().write_text(json.dumps(data, indent=2))


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout + done.stderr


def health(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}_health", timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def make_site(root: Path, base_image: str, git_server: str) -> Iterator[Site]:
    """Three netns hosts (and a fourth, outside the cluster, as an empty build machine)
    and cluster d<tag> on them, with Consul ACLs on; everything removed afterwards."""
    tag = secrets.token_hex(2)
    names = [f"d{tag}-h{i}" for i in (1, 2, 3)]
    builder = f"d{tag}-b"
    workspace = make_workspace(root / "ws", [APP], git_server)
    (workspace.parent / APP / "config.ru").write_text(CONFIG_RU)
    env = {"WAKE_BASE_IMAGE": base_image, "WAKE_CLUSTER": f"d{tag}"}
    if HOST_CA.is_file():
        env["WAKE_CA_BUNDLE"] = str(HOST_CA)
    for var in ("WAKE_REGISTRY", "DOCKER_HOST", "WAKE_PLATFORMS_PATH"):
        os.environ.pop(var, None)
    made = Site(root / "home", workspace, names, builder, f"d{tag}", env)
    created: list[str] = []
    try:
        for name in [*names, builder]:
            ok(made.wake("hosts", "create", name, "--driver", "netns"))
            created.append(name)
        ok(made.wake("cluster", "create", made.cluster, "--hosts", ",".join(names), "--acl"))
        yield made
    finally:
        made.wake("cluster", "destroy", made.cluster, timeout=300)
        for name in created:
            if made.wake("hosts", "rm", name, "--force").returncode != 0:
                netns.destroy(name, say=lambda _line: None)


# --- a second workspace on the same cluster: front depends on api (through the proxy) ----

def deps_workspace(site: Site) -> Path:
    """The workspace of api and front (tests/apps), made once beside the site's."""
    folder = site.workspace.parent.parent / "ws-deps"
    if not folder.exists():
        for name in ("api", "front"):
            shutil.copytree(APPS / name, folder / name)
        (folder / "wake.toml").write_text(
            '[[apps]]\npath = "api"\n\n[[apps]]\npath = "front"\n')
    return folder / "wake.toml"


def app_status(site: Site, deps: Path, app: str) -> dict[str, Any]:
    done = site.wake("status", app, "--json", workspace=deps)
    (found,) = json.loads(done.stdout)
    return dict(found)


def front_containers(site: Site, deps: Path) -> dict[str, Any]:
    """host -> one of front's containers there."""
    found = {}
    for i in app_status(site, deps, "front")["instances"]:
        for c in site.sdk(i["host"]).containers.list(
                filters={"label": ["wake.app=front", f"wake.instance={i['instance']}"]}):
            found[i["host"]] = c
    return found


class Load(threading.Thread):
    """tests/apps/front/load.py in a front container: RATE requests a second to api
    through the host's proxy, until told to stop (or 300 s)."""

    def __init__(self, container: Any) -> None:
        super().__init__(daemon=True)
        self.container = container
        self.result: dict[str, Any] = {}

    def run(self) -> None:
        self.container.exec_run(["rm", "-f", STOP])
        code, out = self.container.exec_run(["python3", "/opt/app/load.py", str(RATE), "300",
                                             STOP])
        assert code == 0, out.decode()
        self.result = json.loads(out.decode().strip().splitlines()[-1])

    def finish(self) -> dict[str, Any]:
        self.container.exec_run(["touch", STOP])
        self.join(timeout=60)
        print(f"load: {self.result}")
        return self.result


def bump_api(deps: Path, version: int) -> None:
    manifest = deps.parent / "api" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["env"]["API_VERSION"] = str(version)
    manifest.write_text(json.dumps(data, indent=2))
