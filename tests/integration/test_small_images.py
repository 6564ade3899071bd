"""No apt caches or lists in any image wake builds: the base, the platform stages and
the release images of the python example."""

from __future__ import annotations

from pathlib import Path

import docker

from wake import engine
from wake.build import base, stages
from wake.build.session import Session

from .conftest import TEST_LABEL, make_workspace

# Anything apt leaves behind: package caches, downloaded packages, package lists.
LEFTOVERS = ("find /var/cache/apt -maxdepth 1 -name '*.bin'; "
             "find /var/cache/apt/archives -name '*.deb'; "
             "find /var/lib/apt/lists -mindepth 1 -not -name lock -not -name partial")


def leftovers(image: str) -> str:
    # As root: release images run as an unprivileged user, who may not read apt's folders.
    code, output = engine.connect().run_once(image, ["sh", "-c", LEFTOVERS],
                                             labels={TEST_LABEL: "1"}, user="root")
    assert code == 0, output
    return output.strip()


def test_images_carry_no_apt_caches_or_lists(tmp_path: Path, wake_env: Path, base_image: str,
                                             fresh_platforms: Path,
                                             client: docker.DockerClient) -> None:
    session = Session(workspace_file=make_workspace(tmp_path / "ws", ["python-hello"]))
    tags = {node: session.builder.ensure(node).tag for node in stages.ordered(session.graph)}

    attrs = engine.connect().inspect(base_image)
    assert attrs is not None and base.outdated(attrs) is None
    code, config = engine.connect().run_once(
        base_image, ["cat", "/etc/apt/apt.conf.d/docker-clean"], labels={TEST_LABEL: "1"})
    assert code == 0 and 'Dir::Cache::pkgcache "";' in config

    checked = {"base image": base_image,
               **{node: tag for node, tag in tags.items()
                  if node.startswith("platform:") or ":release-" in node}}
    assert len(checked) == 4  # the base, two platform stages, the web process
    found = {node: leftovers(tag) for node, tag in checked.items()}
    assert found == dict.fromkeys(checked, "")

    # apt in a container of a release image (as root: it runs as an unprivileged user
    # by default) still works (lists come back on update)
    # and leaves nothing once it is done, thanks to the base's docker-clean.
    release = tags["build:python-hello:release-web"]
    code, output = engine.connect().run_once(release, ["sh", "-c", (
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends file "
        ">/dev/null 2>&1 && apt-get clean && rm -rf /var/lib/apt/lists/* && " + LEFTOVERS)],
        labels={TEST_LABEL: "1"}, user="root")
    assert code == 0 and output.strip() == "", output
