"""`wake hosts add NAME --docker ssh://...` against a real sshd: a netns host runs one,
and the system's ssh client runs `docker system dial-stdio` there, as with a remote
machine. The ssh on PATH adds only `-F` (this test's key and known_hosts), so nothing
touches the user's ~/.ssh."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from wake import engine
from wake.cluster import netns
from wake.cluster.hosts import Host

from .conftest import TEST_LABEL, wait_for
from .test_cluster_netns import ok, wake

SSHD = Path("/usr/sbin/sshd")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns hosts need root")


class SshHost:
    def __init__(self, home: Path, name: str, address: str, path: str) -> None:
        self.home, self.name, self.address, self.path = home, name, address, path


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True)


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHost]:
    if not SSHD.is_file() or not shutil.which("ssh"):
        pytest.fail("sshd and ssh are needed (apt-get install openssh-server)")
    work = tmp_path_factory.mktemp("ssh")
    home = work / "wake-home"
    name = f"s{secrets.token_hex(2)}"
    ok(wake(home, "hosts", "create", name, "--driver", "netns"))
    made_privsep = not Path("/run/sshd").exists()
    sshd = None
    try:
        host = netns.NetnsHost(name)
        address = host.address()
        assert address
        _keygen(work / "host_key")
        _keygen(work / "id")
        (work / "authorized_keys").write_text((work / "id.pub").read_text())
        # The remote side's `docker` must reach this host's engine, not the machine's.
        (work / "sshd_config").write_text(f"""\
ListenAddress {address}
Port 22
HostKey {work / "host_key"}
PidFile {work / "sshd.pid"}
AuthorizedKeysFile {work / "authorized_keys"}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv DOCKER_HOST={host.docker_url}
""")
        (work / "ssh_config").write_text(f"""\
Host *
  IdentityFile {work / "id"}
  IdentitiesOnly yes
  UserKnownHostsFile {work / "known_hosts"}
  StrictHostKeyChecking accept-new
  BatchMode yes
""")
        real_ssh = shutil.which("ssh")
        bin_dir = work / "bin"
        bin_dir.mkdir()
        (bin_dir / "ssh").write_text(f'#!/bin/sh\nexec {real_ssh} -F {work / "ssh_config"} "$@"\n')
        (bin_dir / "ssh").chmod(0o755)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
        with open(work / "sshd.log", "wb") as log:
            sshd = subprocess.Popen(
                ["nsenter", f"--net={netns.NETNS_DIR / host.namespace}", str(SSHD), "-D",
                 "-e", "-f", str(work / "sshd_config")],
                stdout=subprocess.DEVNULL, stderr=log)
        path = f"{bin_dir}:{os.environ['PATH']}"
        wait_for(lambda: subprocess.run(
            ["ssh", f"root@{address}", "true"], env={**os.environ, "PATH": path},
            capture_output=True, timeout=10).returncode == 0, timeout=20, what="sshd")
        yield SshHost(home, name, address, path)
    finally:
        if sshd is not None:
            sshd.terminate()
            sshd.wait(timeout=10)
        if made_privsep:
            shutil.rmtree("/run/sshd", ignore_errors=True)
        if wake(home, "hosts", "rm", name, "--force").returncode != 0:
            netns.destroy(name, say=lambda _line: None)


def test_an_engine_over_ssh(ssh_host: SshHost, monkeypatch: pytest.MonkeyPatch,
                            base_image: str) -> None:
    home, url = ssh_host.home, f"ssh://root@{ssh_host.address}"
    added = ok(wake(home, "hosts", "add", "remote", "--docker", url, PATH=ssh_host.path))
    assert f"added host remote: {url} (address {ssh_host.address}, " in added
    listed = ok(wake(home, "hosts", "list", PATH=ssh_host.path))
    assert any(row.startswith("remote ") and " up (" in row for row in listed.splitlines())

    # It is that host's engine: what runs through ssh shows on its own socket.
    monkeypatch.setenv("PATH", ssh_host.path)
    over_ssh = Host("remote", url, ssh_host.address).engine()
    marker = secrets.token_hex(6)
    direct = docker.DockerClient(base_url=netns.NetnsHost(ssh_host.name).docker_url)
    try:
        engine.connect().copy_images_to(over_ssh, [base_image], lambda _line: None)
        container = over_ssh.run(base_image, f"wake-ssh-{marker}", {TEST_LABEL: "1"},
                                 command=["sleep", "30"], restart=False)
        try:
            assert direct.containers.get(f"wake-ssh-{marker}").id == container.id
        finally:
            over_ssh.remove(container.name)
    finally:
        over_ssh.close()
        direct.close()


def test_an_unreachable_ssh_engine_is_a_clear_error(ssh_host: SshHost) -> None:
    # A user without an authorized key: ssh refuses, wake says so and records nothing.
    started = time.monotonic()
    done = wake(ssh_host.home, "hosts", "add", "locked", "--docker",
                f"ssh://nobody@{ssh_host.address}", PATH=ssh_host.path)
    assert done.returncode == 1 and "does not answer" in done.stderr, done.stderr
    assert "Permission denied" in done.stderr and "BatchMode" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 60
    assert "locked" not in ok(wake(ssh_host.home, "hosts", "list"))
