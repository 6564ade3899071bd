"""Bad input never crashes (issue 10): every odd clusters.json, hosts.json, config.toml,
wake.toml, manifest, WAKE_HOME and output path is refused with exit 2 and a message that
names the file, before any connection is made, and the file is left exactly as it was."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wake import cli
from wake.cluster import clusters, hosts, lifecycle, netns
from wake.errors import FileError

REPO = Path(__file__).resolve().parents[2]
BOM = b"\xef\xbb\xbf"
GOOD_CLUSTERS = {"version": 1, "current": "a", "clusters": {"a": {
    "consul": "127.0.0.1:1", "token": None, "servers": ["127.0.0.1:1"], "registry": None,
    "hosts": ["h1"]}}}
GOOD_HOSTS = {"version": 1, "hosts": {"h1": {
    "docker": "unix:///nonexistent/h1.sock", "address": "127.0.0.1", "driver": "existing",
    "tls": None, "insecure": False}}}

# What each bad state file holds: bytes, or "folder" / "fifo" / "unreadable".
Content = bytes | str


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def _with(top: dict[str, Any], key: str, spec: dict[str, Any]) -> bytes:
    """`top` with its one entry under `key` changed by `spec`."""
    (name, value), = top[key].items()
    return _json({**top, key: {name: {**value, **spec}}})


ODD_JSON: dict[str, Content] = {
    "deep-nesting": b'{"version": 1, "clusters": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "huge-number": b'{"version": 1' + b"0" * 5000 + b', "clusters": {}, "hosts": {}}',
    "invalid-utf8": b'{"version": 1, "clusters": {"\xff": {}}, "hosts": {}}',
    "bom": BOM + b'{"version": 1, "clusters": {}, "hosts": {}}',
    "folder": "folder",
    "fifo": "fifo",
    "unreadable": "unreadable",
    "not-json": b'{"version": 1, "clusters": {',
    "a-list": b"[]",
}
ODD_CLUSTERS: dict[str, Content] = {
    **ODD_JSON,
    "current-is-a-list": b'{"version": 1, "current": [], "clusters": {}}',
    "current-is-an-object": b'{"version": 1, "current": {}, "clusters": {}}',
    "version-true": b'{"version": true, "clusters": {}}',
    "consul-without-port": _with(GOOD_CLUSTERS, "clusters", {"consul": "127.0.0.1"}),
    "consul-unicode-port": _with(GOOD_CLUSTERS, "clusters", {"consul": "127.0.0.1:\u00b2"}),
    "consul-port-0": _with(GOOD_CLUSTERS, "clusters", {"consul": "127.0.0.1:0"}),
    "consul-port-too-big": _with(GOOD_CLUSTERS, "clusters", {"consul": "127.0.0.1:65536"}),
    "consul-empty-host": _with(GOOD_CLUSTERS, "clusters", {"consul": ":8500"}),
    "server-without-port": _with(GOOD_CLUSTERS, "clusters", {"servers": ["127.0.0.1"]}),
    "token-a-number": _with(GOOD_CLUSTERS, "clusters", {"token": 5}),
    "bad-name": _json({**GOOD_CLUSTERS, "current": None,
                       "clusters": {"A B": GOOD_CLUSTERS["clusters"]["a"]}}),
}
ODD_HOSTS: dict[str, Content] = {
    **ODD_JSON,
    "spec-a-string": b'{"version": 1, "hosts": {"h1": "unix:///x"}}',
    "address-a-list": _with(GOOD_HOSTS, "hosts", {"address": []}),
    "docker-a-number": _with(GOOD_HOSTS, "hosts", {"docker": 5}),
    "docker-not-a-url": _with(GOOD_HOSTS, "hosts", {"docker": "/var/run/docker.sock"}),
    "insecure-a-string": _with(GOOD_HOSTS, "hosts", {"insecure": "yes"}),
    "unknown-driver": _with(GOOD_HOSTS, "hosts", {"driver": "lxc"}),
    "unknown-field": _with(GOOD_HOSTS, "hosts", {"colour": "blue"}),
    "no-address": _json({"version": 1, "hosts": {"h1": {"docker": "unix:///x"}}}),
}

# Commands that read clusters.json; none may connect anywhere when the file is bad.
CLUSTERS_COMMANDS = [
    ["clusters", "list"], ["clusters", "show"], ["clusters", "show", "a"],
    ["clusters", "use", "a"], ["clusters", "add", "b", "--consul", "127.0.0.1:1"],
    ["clusters", "remove", "a"], ["cluster", "status"], ["cluster", "status", "a"],
    ["cluster", "join", "h1"], ["cluster", "leave", "h1"], ["cluster", "destroy", "a"],
    ["cluster", "create", "b", "--hosts", "h1"], ["hosts", "list"],
    ["hosts", "rm", "h1"],
]
HOSTS_COMMANDS = [
    ["hosts", "list"], ["hosts", "rm", "h1"], ["hosts", "stop", "h1"], ["hosts", "start", "h1"],
    ["hosts", "add", "h2", "--docker", "unix:///nonexistent/h2.sock"],
    ["hosts", "create", "h2", "--driver", "netns"], ["cluster", "join", "h1"],
    ["cluster", "create", "b", "--hosts", "h1"], ["cluster", "destroy", "a"],
]
CONFIG_COMMANDS = [["config"], ["plan"], ["plan", "--json"], ["graph", "-f", "dot"],
                   ["build"], ["base", "bootstrap"]]
WORKSPACE_COMMANDS = [["plan"], ["plan", "--json"], ["graph", "-f", "dot"], ["explain", "x"],
                      ["build"]]


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a connection (or a netns change) was attempted")


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad file must be reported before wake talks to Consul, Docker or the kernel."""
    monkeypatch.setattr("wake.consul.Agent.__init__", _refuse)  # every Consul client
    monkeypatch.setattr(hosts.Host, "engine", _refuse)
    monkeypatch.setattr("wake.engine.connect", _refuse)  # every Docker engine
    for name in ("create", "destroy", "start", "stop"):
        monkeypatch.setattr(netns, name, _refuse)
    monkeypatch.setattr(lifecycle, "_engines", _refuse)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder: a workspace with no apps."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out + err


def snapshot(path: Path) -> Any:
    """What is at `path`, to compare before and after."""
    if not os.path.lexists(path):
        return None
    mode = os.lstat(path).st_mode
    if stat.S_ISREG(mode):
        return path.read_bytes()
    if stat.S_ISDIR(mode):
        return ("folder", sorted(p.name for p in path.iterdir()))
    return ("special", stat.S_IFMT(mode))


def home_snapshot(home: Path) -> dict[str, Any]:
    """Every file in WAKE_HOME except lock files (taking a lock writes nothing in a state
    file; `clusters use` and `remove` lock before they read)."""
    if not home.is_dir():
        return {"": snapshot(home)}
    return {p.name: snapshot(p) for p in home.iterdir() if not p.name.endswith(".lock")}


def unreadable(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """Tests run as root, who reads anything: make opening `target` fail as for others."""
    real_open = os.open

    def fake_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == os.fspath(target):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)


def place(path: Path, content: Content, monkeypatch: pytest.MonkeyPatch) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if content == "folder":
        path.mkdir()
    elif content == "fifo":
        os.mkfifo(path)
    elif content == "unreadable":
        path.write_bytes(_json(GOOD_CLUSTERS if path.name == clusters.FILE else GOOD_HOSTS))
        unreadable(monkeypatch, path)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)


def assert_refused(code: int, output: str, *names: Path | str, exit_code: int = 2) -> None:
    assert code == exit_code, output
    assert "Traceback" not in output
    assert output.count("wake: ") == 1, output  # one message, not a crash after it
    for name in names:
        assert str(name) in output, output


# -- clusters.json and hosts.json ---------------------------------------------------------

@pytest.mark.parametrize("argv", CLUSTERS_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", ODD_CLUSTERS)
def test_odd_clusters_json(case: str, argv: list[str], wake_home: Path, workdir: Path,
                           monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    place(wake_home / hosts.FILE, _json(GOOD_HOSTS), monkeypatch)
    place(wake_home / clusters.FILE, ODD_CLUSTERS[case], monkeypatch)
    before = home_snapshot(wake_home)
    code, output = run(capsys, argv)
    assert_refused(code, output, wake_home / clusters.FILE)
    assert home_snapshot(wake_home) == before


@pytest.mark.parametrize("argv", HOSTS_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", ODD_HOSTS)
def test_odd_hosts_json(case: str, argv: list[str], wake_home: Path, workdir: Path,
                        monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    place(wake_home / clusters.FILE, _json(GOOD_CLUSTERS), monkeypatch)
    place(wake_home / hosts.FILE, ODD_HOSTS[case], monkeypatch)
    before = home_snapshot(wake_home)
    code, output = run(capsys, argv)
    assert_refused(code, output, wake_home / hosts.FILE)
    assert home_snapshot(wake_home) == before


@pytest.mark.parametrize("case", ["fifo", "unreadable"])
def test_odd_state_files_in_process(case: str, wake_home: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    place(wake_home / clusters.FILE, case, monkeypatch)
    with pytest.raises(FileError) as info:
        clusters.load()
    assert info.value.path == str(wake_home / clusters.FILE)
    assert info.value.exit_code == 2


def test_good_state_files_still_load(wake_home: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    place(wake_home / clusters.FILE, _json(GOOD_CLUSTERS), monkeypatch)
    place(wake_home / hosts.FILE, _json(GOOD_HOSTS), monkeypatch)
    assert clusters.load().clusters["a"].servers == ("127.0.0.1:1",)
    assert hosts.load()["h1"].address == "127.0.0.1"
    assert run(capsys, ["clusters", "list"]) == (0, "* a                    consul 127.0.0.1:1\n")


# -- addresses given to `wake clusters add` ------------------------------------------------

@pytest.mark.parametrize("address", [
    "127.0.0.1:\u00b2", "127.0.0.1:\u0663", "127.0.0.1:\uff18\uff15\uff10\uff10",
    "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:", ":8500", "[]:8500",
    "[::1]:99999", "[::1:8500", "a b:1", "\u00e9x:1", "h/x:1",
])
def test_clusters_add_refuses_bad_addresses(address: str, wake_home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch = pytest.MonkeyPatch()
    with monkeypatch.context() as patch:
        patch.setattr(clusters, "check_consul", _refuse)
        code, output = run(capsys, ["clusters", "add", "x", "--consul", address])
    assert_refused(code, output, "--consul")
    assert not (wake_home / clusters.FILE).exists()


# -- WAKE_HOME -----------------------------------------------------------------------------

HOME_COMMANDS = [["config"], ["clusters", "list"], ["clusters", "show", "a"],
                 ["clusters", "use", "a"], ["clusters", "add", "a", "--consul", "127.0.0.1:1"],
                 ["hosts", "list"], ["hosts", "add", "h2", "--docker", "unix:///x.sock"],
                 ["cluster", "status"], ["plan"], ["graph", "-f", "dot"]]


@pytest.mark.parametrize("argv", HOME_COMMANDS, ids=" ".join)
def test_wake_home_that_is_a_file(argv: list[str], wake_home: Path, workdir: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    wake_home.write_bytes(b"not a folder\n")
    code, output = run(capsys, argv)
    assert_refused(code, output, f"WAKE_HOME={wake_home}")
    assert wake_home.read_bytes() == b"not a folder\n"


@pytest.fixture
def read_only_home(wake_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """WAKE_HOME with good state files that nothing can change: root ignores modes, so the
    folder is made immutable (chattr +i), which refuses root too."""
    place(wake_home / clusters.FILE, _json(GOOD_CLUSTERS), monkeypatch)
    place(wake_home / hosts.FILE, _json(GOOD_HOSTS), monkeypatch)
    if shutil.which("chattr") is None:
        pytest.skip("no chattr to make a folder read-only for root")
    done = subprocess.run(["chattr", "+i", str(wake_home)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {done.stderr.decode().strip()}")
    try:
        yield wake_home
    finally:
        subprocess.run(["chattr", "-i", str(wake_home)], check=True)


@pytest.mark.parametrize("argv", [
    ["clusters", "add", "b", "--consul", "127.0.0.1:1"], ["clusters", "use", "a"],
    ["clusters", "remove", "a"], ["plan"],
], ids=" ".join)
def test_read_only_wake_home(argv: list[str], read_only_home: Path, workdir: Path,
                             monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(clusters, "check_consul", lambda *_: "127.0.0.1:8300")
    before = home_snapshot(read_only_home)
    code, output = run(capsys, argv)
    assert_refused(code, output, read_only_home)
    assert "permissions" in output
    assert home_snapshot(read_only_home) == before


def test_read_only_wake_home_still_reads(read_only_home: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys, ["clusters", "list"])
    assert code == 0 and "a" in output


# -- config.toml ---------------------------------------------------------------------------

def _ca_cases(tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "ca.fifo"
    os.mkfifo(fifo)
    (tmp_path / "ca-folder").mkdir()
    return {"fifo": str(fifo), "dev-zero": "/dev/zero", "no-such-user": "~nosuchuser/ca.pem",
            "folder": str(tmp_path / "ca-folder"), "missing": str(tmp_path / "nope.pem"),
            "nul": "ca\\u0000.pem", "not-pem": "/etc/hostname"}


@pytest.mark.parametrize("argv", CONFIG_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", ["fifo", "dev-zero", "no-such-user", "folder", "missing",
                                  "nul", "not-pem", "unreadable"])
def test_odd_ca_bundle(case: str, argv: list[str], tmp_path: Path, wake_home: Path,
                       workdir: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    cases = _ca_cases(tmp_path)
    if case == "unreadable":
        ca = tmp_path / "ca.pem"
        ca.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
        unreadable(monkeypatch, ca)
        cases[case] = str(ca)
    config = wake_home / "config.toml"
    place(config, f'ca_bundle = "{cases[case]}"\n'.encode(), monkeypatch)
    before = home_snapshot(wake_home)
    code, output = run(capsys, argv)
    assert_refused(code, output, config, "CA bundle")
    assert home_snapshot(wake_home) == before


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "folder"])
def test_odd_ca_bundle_from_the_environment_and_flag(
        case: str, tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    value = _ca_cases(tmp_path)[case]
    monkeypatch.setenv("WAKE_CA_BUNDLE", value)
    assert_refused(*run(capsys, ["config"]), "$WAKE_CA_BUNDLE", value)
    monkeypatch.delenv("WAKE_CA_BUNDLE")
    assert_refused(*run(capsys, ["plan", "--ca-bundle", value]), "command line", value)


ODD_CONFIG: dict[str, Content] = {
    "invalid-toml": b"registry = \n", "wrong-type": b"registry = 5\n",
    "a-table": b"[registry]\nhost = 'x'\n", "unknown-key": b'colour = "blue"\n',
    "deep-nesting": b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "huge-number": b"x = " + b"1" * 5000 + b"\n", "invalid-utf8": b'registry = "\xff"\n',
    "bom": BOM + b'registry = "reg.local:5000"\n', "folder": "folder", "fifo": "fifo",
    "unreadable": "unreadable",
}


@pytest.mark.parametrize("argv", CONFIG_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", ODD_CONFIG)
def test_odd_config_toml(case: str, argv: list[str], wake_home: Path, workdir: Path,
                         monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    config = wake_home / "config.toml"
    place(config, ODD_CONFIG[case], monkeypatch)
    before = home_snapshot(wake_home)
    code, output = run(capsys, argv)
    assert_refused(code, output, config)
    assert home_snapshot(wake_home) == before


# -- wake.toml, app folders and manifests --------------------------------------------------

ODD_WORKSPACE: dict[str, tuple[bytes, str]] = {  # content, a word the message must hold
    "nul-in-path": (b'[[apps]]\npath = "a\\u0000b"\n', "path must be"),
    "nul-in-subdir": (b'[[apps]]\npath = "."\nsubdir = "a\\u0000"\n', "subdir must be"),
    "ref-a-number": (b'[[apps]]\ngit = "/nonexistent/x.git"\nref = 5\n', "ref must be"),
    "ref-a-table": (b'[[apps]]\ngit = "/nonexistent/x.git"\nref = {a = 1}\n', "ref must be"),
    "path-a-list": (b'[[apps]]\npath = ["a"]\n', "path must be"),
    "empty-path": (b'[[apps]]\npath = ""\n', "path must be"),
    "subdir-climbs": (b'[[apps]]\npath = "."\nsubdir = "../.."\n', "subdir"),
    "subdir-climbs-inside": (b'[[apps]]\npath = "."\nsubdir = "a/../../b"\n', "subdir"),
    "subdir-absolute": (b'[[apps]]\npath = "."\nsubdir = "/etc"\n', "subdir"),
    "git-an-option": (b'[[apps]]\ngit = "--upload-pack=touch /tmp/x"\n', "starts with '-'"),
    "ref-an-option": (b'[[apps]]\ngit = "/nonexistent/x.git"\nref = "-x"\n', "starts with"),
    "deep-nesting": (b"apps = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested"),
    "huge-number": (b"[[apps]]\npath = " + b"1" * 5000 + b"\n", "too long"),
    "invalid-utf8": (b'[[apps]]\npath = "\xff"\n', "UTF-8"),
    "bom": (BOM + b'[[apps]]\npath = "."\n', "byte order mark"),
    "invalid-toml": (b"[[apps]\n", "cannot read workspace"),
    "missing-app": (b'[[apps]]\npath = "nonexistent"\n', "no such file"),
}


@pytest.mark.parametrize("argv", WORKSPACE_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", ODD_WORKSPACE)
def test_odd_wake_toml(case: str, argv: list[str], workdir: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    content, word = ODD_WORKSPACE[case]
    source = workdir / "wake.toml"
    source.write_bytes(content)
    code, output = run(capsys, argv)
    assert_refused(code, output, source if case != "missing-app" else workdir / "nonexistent")
    assert word in output
    assert source.read_bytes() == content
    assert sorted(p.name for p in workdir.iterdir()) == ["wake.toml"]


@pytest.mark.parametrize("case", ["folder", "fifo"])
@pytest.mark.parametrize("via", ["WAKE_WORKSPACE", "found"])
def test_wake_toml_that_is_not_a_file(case: str, via: str, workdir: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    source = workdir / "wake.toml"
    place(source, case, monkeypatch)
    if via == "WAKE_WORKSPACE":
        monkeypatch.setenv("WAKE_WORKSPACE", str(source))
    assert_refused(*run(capsys, ["plan"]), source, "not a regular file")


def test_subdir_symlink_that_leads_out(workdir: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    (workdir / "app").mkdir()
    (workdir / "app" / "out").symlink_to("/etc")
    (workdir / "wake.toml").write_text('[[apps]]\npath = "app"\nsubdir = "out"\n')
    assert_refused(*run(capsys, ["plan"]), workdir / "wake.toml", "leads out of")


ODD_MANIFESTS = ["folder", "fifo", "unreadable", "missing-app"]


def _odd_manifest(case: str, app: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    manifest = app / "manifest.json"
    if case != "missing-app":
        app.mkdir()
        place(manifest, case if case != "unreadable" else b"{}", monkeypatch)
    if case == "unreadable":
        unreadable(monkeypatch, manifest)
    return manifest


@pytest.mark.parametrize("argv", [["manifest", "check", "app"], ["plan"], ["explain", "x"],
                                  ["build"], ["graph", "-f", "dot"]], ids=" ".join)
@pytest.mark.parametrize("case", ODD_MANIFESTS)
def test_odd_manifest(case: str, argv: list[str], workdir: Path,
                      monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "wake.toml").write_text('[[apps]]\npath = "app"\n')
    app = workdir / "app"
    manifest = _odd_manifest(case, app, monkeypatch)
    before = snapshot(manifest)
    code, output = run(capsys, argv)
    assert_refused(code, output, "manifest.json" if case != "missing-app" else "app")
    assert snapshot(manifest) == before


def test_unreadable_app_folder(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "app").mkdir()
    manifest = workdir / "app" / "manifest.json"
    real_lstat = os.lstat

    def fake_lstat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if os.path.abspath(os.fspath(path)) == str(manifest):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", fake_lstat)
    code, output = run(capsys, ["manifest", "check", "app"])
    assert_refused(code, output, "app/manifest.json", "Permission denied")


# -- wake graph -o ---------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/no/such/dir/x.svg", "{tmp}", "{tmp}/file/x.svg"])
def test_graph_output_that_cannot_be_written(target: str, tmp_path: Path, workdir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("a file\n")
    target = target.format(tmp=tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, output = run(capsys, ["graph", "-o", target])
    assert_refused(code, output, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_graph_output_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    from wake.build.drawing import write_output

    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "graph.dot"
    write_output(target, "digraph old {}\n")
    assert target.read_text() == "digraph old {}\n"
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("chattr +i does not work here")
    try:
        with pytest.raises(FileError) as info:
            write_output(target, "digraph new {}\n")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert info.value.path == str(target) and info.value.exit_code == 2
    assert target.read_text() == "digraph old {}\n"
    assert sorted(p.name for p in folder.iterdir()) == ["graph.dot"]


# -- through a real process: no traceback reaches stderr -----------------------------------

SetUp = Callable[[Path, Path], list[str]]


def _deep_clusters(home: Path, _work: Path) -> list[str]:
    home.mkdir()
    (home / clusters.FILE).write_bytes(ODD_JSON["deep-nesting"])  # type: ignore[arg-type]
    return ["clusters", "list"]


def _fifo_ca(home: Path, work: Path) -> list[str]:
    home.mkdir()
    os.mkfifo(work / "ca.fifo")
    (home / "config.toml").write_text(f'ca_bundle = "{work / "ca.fifo"}"\n')
    return ["config"]


def _home_a_file(home: Path, _work: Path) -> list[str]:
    home.write_text("x")
    return ["clusters", "add", "a", "--consul", "127.0.0.1:1"]


def _unicode_port(home: Path, _work: Path) -> list[str]:
    return ["clusters", "add", "a", "--consul", "127.0.0.1:\u00b2"]


def _graph_nowhere(_home: Path, _work: Path) -> list[str]:
    return ["graph", "-o", "/no/such/dir/x.svg"]


def _fifo_manifest(_home: Path, work: Path) -> list[str]:
    (work / "app").mkdir()
    os.mkfifo(work / "app" / "manifest.json")
    return ["manifest", "check", "app"]


def _subdir_out(_home: Path, work: Path) -> list[str]:
    (work / "wake.toml").write_text('[[apps]]\npath = "."\nsubdir = "../.."\n')
    return ["plan"]


@pytest.mark.parametrize("set_up", [_deep_clusters, _fifo_ca, _home_a_file, _unicode_port,
                                    _graph_nowhere, _fifo_manifest, _subdir_out],
                         ids=lambda f: f.__name__.strip("_"))
def test_no_traceback_from_a_real_process(set_up: SetUp, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    argv = set_up(home, work)
    env = {**os.environ, "WAKE_HOME": str(home), "PYTHONPATH": str(REPO),
           "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    done = subprocess.run([sys.executable, "-m", "wake.cli", *argv], cwd=work, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("wake: ") and done.stderr.count("\n") <= 4, done.stderr


# -- files apps and platforms bring: Aptfile, platform.toml --------------------------------

@pytest.mark.parametrize("case", ["folder", "fifo", "unreadable", "invalid-utf8"])
def test_odd_aptfile(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wake.build import aptfile

    path = tmp_path / "app" / "Aptfile"
    place(path, b"libpq5 \xff\n" if case == "invalid-utf8" else
          case if case != "unreadable" else b"libpq5\n", monkeypatch)
    if case == "unreadable":
        unreadable(monkeypatch, path)
    with pytest.raises(FileError) as info:
        aptfile.read(path.parent)
    assert info.value.path == str(path) and info.value.exit_code == 2


@pytest.mark.parametrize("case", ["folder", "fifo", "deep-nesting"])
def test_odd_platform_toml(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "extra" / "odd" / "platform.toml"
    place(source, b"x = " + b"[" * 100_000 + b"]" * 100_000 if case == "deep-nesting"
          else case, monkeypatch)
    monkeypatch.setenv("WAKE_PLATFORMS_PATH", str(tmp_path / "extra"))
    assert_refused(*run(capsys, ["platforms"]), source)
