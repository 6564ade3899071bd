"""Unit tests for wake.platforms: the registry, detection, custom platforms and templates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wake import manifest
from wake.build import platforms
from wake.build.platforms import Platform
from wake.errors import UsageError, WakeError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BUILTIN_ORDER = ["ruby", "python", "go", "node", "plain"]
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS",
                "npm_config_cafile", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE")


@pytest.fixture
def registry() -> dict[str, Platform]:
    return platforms.load_all()


def make_app(root: Path, *files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in files:
        (root / name).write_text("# placeholder\n", encoding="utf-8")
    return root


def make_platform(folder: Path, name: str, toml: str, build_sh: bool = True) -> Path:
    directory = folder / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "platform.toml").write_text(toml, encoding="utf-8")
    if build_sh:
        (directory / "build.sh").write_text("#!/bin/sh\necho build\n", encoding="utf-8")
    return directory


def use_path(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> None:
    monkeypatch.setenv("WAKE_PLATFORMS_PATH", os.pathsep.join(str(f) for f in folders))


def render(platform: Platform, stage: str, ca_bundle: bool) -> str:
    context = {**platform.context(), "base_image": "debian:bookworm-slim", "ca_bundle": ca_bundle}
    return platform.render(f"{stage}.Dockerfile.j2", context)


# -- the built-in registry ----------------------------------------------------------

def test_every_builtin_platform_loads(registry: dict[str, Platform]) -> None:
    assert sorted(registry) == sorted(BUILTIN_ORDER)
    for name, platform in registry.items():
        assert platform.name == name
        assert platform.directory == platforms.builtin_dir() / name
        assert platform.description
        # plain is picked only by "platform": "plain" (wake's own cluster services).
        assert bool(platform.detect_files) == (name != "plain"), name
        assert platform.compile_packages and platform.release_packages, name
        assert "ca-certificates" in platform.release_packages, name
        assert platform.version_command, name
        assert platform.version_stage in ("platform-compile", "platform-release"), name
        assert platform.files()["build.sh"] == (platform.directory / "build.sh").read_bytes()
        for stage in platforms.STAGES:
            assert platform.template_sources(f"{stage}.Dockerfile.j2").is_file()


def test_builtin_detection_order(registry: dict[str, Platform]) -> None:
    ordered = platforms.detection_order(registry)
    assert [p.name for p in ordered] == BUILTIN_ORDER
    assert [p.order for p in ordered] == [10, 20, 30, 40, 90]


def test_missing_template_is_a_wake_error(registry: dict[str, Platform]) -> None:
    with pytest.raises(WakeError, match="no template nope.j2"):
        registry["go"].template_sources("nope.j2")


# -- detection from files -----------------------------------------------------------

@pytest.mark.parametrize("files, expected, reason", [
    (["Gemfile"], "ruby", "Gemfile"),
    (["config.ru"], "ruby", "config.ru"),
    (["shop.gemspec"], "ruby", "shop.gemspec"),
    (["requirements.txt"], "python", "requirements.txt"),
    (["pyproject.toml"], "python", "pyproject.toml"),
    (["setup.py"], "python", "setup.py"),
    (["Pipfile"], "python", "Pipfile"),
    (["package.json"], "node", "package.json"),
    (["go.mod"], "go", "go.mod"),
    # Precedence between platforms: node is last, so front-end package.json loses.
    (["Gemfile", "package.json"], "ruby", "Gemfile"),
    (["requirements.txt", "package.json"], "python", "requirements.txt"),
    (["go.mod", "package.json"], "go", "go.mod"),
    (["go.mod", "requirements.txt"], "python", "requirements.txt"),
    # Within a platform, the order of its detect list decides the reason.
    (["config.ru", "Gemfile"], "ruby", "Gemfile"),
    (["Pipfile", "setup.py"], "python", "setup.py"),
])
def test_detect_from_files(tmp_path: Path, registry: dict[str, Platform], files: list[str],
                           expected: str, reason: str) -> None:
    found = platforms.detect(make_app(tmp_path / "app", *files), None, registry)
    assert (found.platform.name, found.reason) == (expected, reason)


def test_detect_loads_the_registry_itself(tmp_path: Path) -> None:
    found = platforms.detect(make_app(tmp_path / "app", "go.mod"))
    assert found.platform.name == "go"


def test_a_folder_named_like_a_detection_file_does_not_count(
        tmp_path: Path, registry: dict[str, Platform]) -> None:
    app = make_app(tmp_path / "app", "package.json")
    (app / "Gemfile").mkdir()
    assert platforms.detect(app, None, registry).platform.name == "node"


def test_detection_files_only_count_at_the_app_root(
        tmp_path: Path, registry: dict[str, Platform]) -> None:
    app = make_app(tmp_path / "app", "package.json")
    make_app(app / "tools", "Gemfile")
    assert platforms.detect(app, None, registry).platform.name == "node"


def test_manifest_platform_overrides_files(tmp_path: Path, registry: dict[str, Platform]) -> None:
    app = make_app(tmp_path / "app", "Gemfile", "requirements.txt")
    found = platforms.detect(app, "node", registry)
    assert found.platform.name == "node"
    assert found.reason == 'manifest.json sets "platform"'


def test_manifest_platform_works_without_any_detection_file(
        tmp_path: Path, registry: dict[str, Platform]) -> None:
    found = platforms.detect(make_app(tmp_path / "app"), "go", registry)
    assert found.platform.name == "go"


def test_unknown_manifest_platform(tmp_path: Path, registry: dict[str, Platform]) -> None:
    app = make_app(tmp_path / "app", "Gemfile")
    with pytest.raises(UsageError) as info:
        platforms.detect(app, "elixir", registry)
    message = str(info.value)
    assert str(app / "manifest.json") in message
    assert "'elixir'" in message
    for name in BUILTIN_ORDER:
        assert name in message


def test_nothing_matches_lists_every_file_looked_for(
        tmp_path: Path, registry: dict[str, Platform]) -> None:
    app = make_app(tmp_path / "app", "README.md", "main.c")
    with pytest.raises(UsageError) as info:
        platforms.detect(app, None, registry)
    message = str(info.value)
    assert message.startswith(f"{app}: ")
    for platform in registry.values():
        assert platform.name in message
        for pattern in platform.detect_files:
            assert pattern in message, pattern
    assert '"platform"' in message  # says how to fix it


def test_missing_app_folder_matches_nothing(tmp_path: Path, registry: dict[str, Platform]) -> None:
    with pytest.raises(UsageError, match="cannot tell the platform"):
        platforms.detect(tmp_path / "nowhere", None, registry)


@pytest.mark.parametrize("example, expected", [
    ("bestsiteever", "ruby"),
    ("python-hello", "python"),
    ("node-hello", "node"),
    ("go-hello", "go"),
])
def test_examples_detect(registry: dict[str, Platform], example: str, expected: str) -> None:
    root = EXAMPLES / example
    if not root.is_dir():
        pytest.skip(f"{root} is missing")
    # From the files alone ...
    assert platforms.detect(root, None, registry).platform.name == expected
    # ... and the way `wake` does it, with the manifest's own "platform" if it has one.
    if (root / manifest.MANIFEST_NAME).is_file():
        declared = manifest.load(root, known_platforms=registry).platform
        assert platforms.detect(root, declared, registry).platform.name == expected


# -- platforms from WAKE_PLATFORMS_PATH ------------------------------------------------

def test_custom_platform_is_found_and_ordered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    extra = tmp_path / "extra"
    directory = make_platform(extra, "elixir", 'description = "Elixir"\norder = 5\n'
                              'detect = ["mix.exs"]\n[packages]\ncompile = ["elixir"]\n'
                              'release = ["erlang-base"]\n[env.compile]\nMIX_ENV = "prod"\n')
    use_path(monkeypatch, extra)
    registry = platforms.load_all()
    assert sorted(registry) == sorted([*BUILTIN_ORDER, "elixir"])
    elixir = registry["elixir"]
    assert elixir.directory == directory
    assert (elixir.compile_packages, elixir.release_packages) == (("elixir",), ("erlang-base",))
    assert elixir.compile_env == (("MIX_ENV", "prod"),)
    assert elixir.files()["build.sh"] == b"#!/bin/sh\necho build\n"
    assert [p.name for p in platforms.detection_order(registry)] == ["elixir", *BUILTIN_ORDER]
    # order 5 beats ruby's 10 when both match.
    app = make_app(tmp_path / "app", "Gemfile", "mix.exs")
    assert platforms.detect(app, None, registry).platform.name == "elixir"


def test_custom_platform_overrides_a_builtin_name(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra"
    directory = make_platform(extra, "ruby", 'description = "our ruby"\norder = 10\n'
                              'detect = ["Ourfile"]\n')
    use_path(monkeypatch, extra)
    registry = platforms.load_all()
    assert sorted(registry) == sorted(BUILTIN_ORDER)
    assert registry["ruby"].directory == directory
    assert registry["ruby"].description == "our ruby"
    # The built-in's detection files no longer apply ...
    gemfile_app = make_app(tmp_path / "gem", "Gemfile", "package.json")
    assert platforms.detect(gemfile_app, None, registry).platform.name == "node"
    # ... the override's do.
    found = platforms.detect(make_app(tmp_path / "ours", "Ourfile"), None, registry)
    assert (found.platform.name, found.reason) == ("ruby", "Ourfile")


def test_earlier_folders_on_the_path_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_platform(tmp_path / "one", "elixir", 'description = "first"\n')
    make_platform(tmp_path / "two", "elixir", 'description = "second"\n')
    use_path(monkeypatch, tmp_path / "missing", tmp_path / "one", tmp_path / "two")
    registry = platforms.load_all()
    assert registry["elixir"].directory == first
    assert registry["elixir"].description == "first"


def test_folders_starting_with_underscore_or_dot_are_not_platforms(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra"
    make_platform(extra, "_shared", "order = 1\n")
    make_platform(extra, ".hidden", "order = 1\n")
    use_path(monkeypatch, extra)
    assert sorted(platforms.load_all()) == sorted(BUILTIN_ORDER)


def test_equal_orders_are_tied_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra"
    make_platform(extra, "zig", 'order = 30\ndetect = ["build.zig"]\n')
    make_platform(extra, "dart", 'order = 30\ndetect = ["pubspec.yaml"]\n')
    use_path(monkeypatch, extra)
    names = [p.name for p in platforms.detection_order(platforms.load_all())]
    assert names == ["ruby", "python", "dart", "go", "zig", "node", "plain"]


def test_custom_platform_uses_common_templates_unless_it_overrides_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra"
    make_platform(extra, "elixir", '[packages]\nrelease = ["erlang-base"]\n')
    own_dir = make_platform(extra, "crystal", "")
    (own_dir / "platform-release.Dockerfile.j2").write_text(
        "FROM {{ base_image }}\n# own template of {{ platform.name }}\n", encoding="utf-8")
    use_path(monkeypatch, extra)
    registry = platforms.load_all()
    common = render(registry["elixir"], "platform-release", ca_bundle=False)
    assert "platform-release (elixir)" in common
    assert "erlang-base" in common
    crystal = registry["crystal"]
    assert crystal.template_sources("platform-release.Dockerfile.j2") == (
        own_dir / "platform-release.Dockerfile.j2")
    own = render(crystal, "platform-release", ca_bundle=False)
    assert own == "FROM debian:bookworm-slim\n# own template of crystal\n"
    # Templates it does not override still come from _common.
    assert "platform-compile (crystal)" in render(crystal, "platform-compile", ca_bundle=False)


# -- invalid platform.toml ----------------------------------------------------------------

@pytest.mark.parametrize("toml, build_sh, words", [
    ('order = 5\nflavour = "mild"\n', True, ["unknown key 'flavour'"]),
    ("order = 5\n", False, ["build.sh is missing"]),
    ("order = = 5\n", True, ["cannot read"]),
    ('order = "first"\n', True, ["order must be an integer"]),
    ('detect = "Gemfile"\n', True, ["detect must be a list of strings"]),
    ('detect = [1, 2]\n', True, ["detect must be a list of strings"]),
    # Every problem is reported, not only the first.
    ('colour = 1\norder = "x"\n', False, ["unknown key 'colour'", "order must be an integer",
                                          "build.sh is missing"]),
])
def test_invalid_platform_toml_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              toml: str, build_sh: bool,
                                              words: list[str]) -> None:
    extra = tmp_path / "extra"
    directory = make_platform(extra, "broken", toml, build_sh=build_sh)
    use_path(monkeypatch, extra)
    with pytest.raises(UsageError) as info:
        platforms.load_all()
    message = str(info.value)
    assert message.startswith(f"{directory / 'platform.toml'}: ")
    for word in words:
        assert word in message


def test_platform_toml_that_is_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = make_platform(tmp_path / "extra", "broken", "")
    (directory / "platform.toml").write_bytes(b"description = \"\xff\"\n")
    use_path(monkeypatch, tmp_path / "extra")
    with pytest.raises(UsageError, match="cannot read platform definition"):
        platforms.load_all()


# Known bug: the [packages], [env] and [version] tables are checked only after the
# "raise if problems" step (inside the Platform(...) call), so their problems are
# collected and then dropped; a wrongly typed field silently becomes empty.
@pytest.mark.parametrize("toml", [
    '[packages]\ncompile = "ruby"\n',                  # a string, not a list
    '[packages]\ncompil = ["ruby"]\n',                 # unknown key in [packages]
    '[env.compile]\nJOBS = 4\n',                       # a number, not a string
    '[version]\ncommand = "ruby --version"\n',         # a string, not a list
    '[version]\nstage = "nope"\n',                     # not a stage
    '[build]\nif_files = "yarn.lock"\n',                # a string, not a list
    '[build]\nif_files = ["sub/yarn.lock"]\n',          # not at the app's root
    '[build]\nif_json = ["package.json"]\n',            # no key
    '[build]\nif_script = ["x"]\n',                     # unknown key in [build]
    '[build]\ncaches = ["tmp/go-cache"]\n',             # not an absolute path
    '[deps]\ncaches = ["/root/../npm"]\n',              # not a plain absolute path
    '[deps]\nkeep = ["/root/.npm"]\n',                  # unknown key in [deps]
])
def test_invalid_subtables_are_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        toml: str) -> None:
    make_platform(tmp_path / "extra", "broken", toml)
    use_path(monkeypatch, tmp_path / "extra")
    with pytest.raises(UsageError, match="platform.toml"):
        platforms.load_all()


def test_packages_must_be_a_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_platform(tmp_path / "extra", "broken", 'packages = ["ruby"]\n')
    use_path(monkeypatch, tmp_path / "extra")
    with pytest.raises(UsageError, match="platform.toml"):
        platforms.load_all()


# -- templates and the CA bundle -------------------------------------------------------------

@pytest.mark.parametrize("name", BUILTIN_ORDER)
def test_platform_compile_with_ca_bundle(registry: dict[str, Platform], name: str) -> None:
    platform = registry[name]
    text = render(platform, "platform-compile", ca_bundle=True)
    assert "FROM debian:bookworm-slim\n" in text
    assert "COPY wake-ca-bundle.pem /etc/wake/ca-bundle.pem\n" in text
    assert 'Acquire::https::CAInfo "/etc/wake/ca-bundle.pem"' in text
    for variable in CA_VARIABLES:
        assert f"{variable}=/etc/wake/ca-bundle.pem" in text, variable
    # apt must already trust the bundle when it installs the toolchain.
    assert text.index("COPY wake-ca-bundle.pem") < text.index("apt-get install")
    for package in platform.compile_packages:
        assert package in text
    for key, value in platform.compile_env:
        assert f"ENV {key}={json.dumps(value)}\n" in text
    assert "COPY build.sh /opt/wake/build\n" in text


@pytest.mark.parametrize("name", BUILTIN_ORDER)
def test_platform_compile_without_ca_bundle(registry: dict[str, Platform], name: str) -> None:
    platform = registry[name]
    text = render(platform, "platform-compile", ca_bundle=False)
    assert "ca-bundle" not in text
    assert "CAInfo" not in text
    for variable in CA_VARIABLES:
        assert variable not in text, variable
    assert "apt-get install" in text
    for package in platform.compile_packages:
        assert package in text


@pytest.mark.parametrize("name", BUILTIN_ORDER)
def test_platform_release_never_mentions_the_ca_bundle(registry: dict[str, Platform],
                                                       name: str) -> None:
    platform = registry[name]
    with_ca = render(platform, "platform-release", ca_bundle=True)
    without = render(platform, "platform-release", ca_bundle=False)
    assert with_ca == without
    for variable in ("ca-bundle", "wake-ca-bundle.pem", "CAInfo", *CA_VARIABLES):
        assert variable not in with_ca, variable
    # ... and it is a runtime image: release packages and env, no toolchain.
    assert "FROM debian:bookworm-slim\n" in with_ca
    for package in platform.release_packages:
        assert package in with_ca
    for key, value in platform.release_env:
        assert f"ENV {key}={json.dumps(value)}\n" in with_ca
    assert "build.sh" not in with_ca


def test_render_with_missing_context_is_a_wake_error(registry: dict[str, Platform]) -> None:
    with pytest.raises(WakeError) as info:
        registry["ruby"].render("platform-compile.Dockerfile.j2", {})
    assert "platform ruby" in str(info.value)
    assert "platform-compile.Dockerfile.j2" in str(info.value)


# -- dockerquote: values Docker reads back unchanged ----------------------------------------

@pytest.mark.parametrize("value, quoted", [
    ("plain", '"plain"'),
    ("it's <a&b>", '"it\'s <a&b>"'),  # not tojson's \u0027 \u003c \u0026
    ("$HOME ${X:-y}", '"\\$HOME \\${X:-y}"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("C:\\temp\\", '"C:\\\\temp\\\\"'),
    ("ünï ☃\t\u2028", '"ünï ☃\t\u2028"'),
    ("", '""'),
])
def test_docker_quote(value: str, quoted: str) -> None:
    assert platforms.docker_quote(value) == quoted


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "\n"])
def test_docker_quote_refuses_what_a_dockerfile_cannot_hold(value: str) -> None:
    with pytest.raises(WakeError, match="line break or NUL"):
        platforms.docker_quote(value)


def test_templates_quote_env_for_docker(registry: dict[str, Platform], tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"name": "app", "processes": {"web": {"run": "x"}},
                                "env": {"URL": "https://h/?a=1&b=2", "Q": "it's $HOME"}}))
    app = manifest.load(path)
    text = registry["python"].render("app-release.Dockerfile.j2", {
        **registry["python"].context(), "parent": "p", "app": app, "apt_packages": (),
        "repos": []})
    assert 'ENV Q="it\'s \\$HOME"\n' in text
    assert 'ENV URL="https://h/?a=1&b=2"\n' in text
    assert "tojson" not in "".join(
        (platforms.builtin_dir() / "_common" / name).read_text()
        for name in os.listdir(platforms.builtin_dir() / "_common"))


# -- build tools on demand (packages.native) ------------------------------------------

@pytest.mark.parametrize("name", ["python", "node", "ruby"])
def test_build_tools_are_not_in_the_compile_image(registry: dict[str, Platform],
                                                  name: str) -> None:
    platform = registry[name]
    assert "build-essential" in platform.native_packages
    assert "git" in platform.native_packages
    text = render(platform, "platform-compile", ca_bundle=False)
    install = next(line for line in text.splitlines() if "apt-get install" in line)
    for package in platform.native_packages:
        assert package not in install, package
    words = " ".join(platform.native_packages)
    assert f'ENV WAKE_NATIVE_PACKAGES="{words}"\n' in text
    assert "COPY native.sh /opt/wake/native\n" in text
    assert platform.files()["native.sh"].startswith(b"#!/bin/sh\n")


def test_a_platform_without_build_tools_still_gets_the_script(
        registry: dict[str, Platform]) -> None:
    text = render(registry["plain"], "platform-compile", ca_bundle=False)
    assert "WAKE_NATIVE_PACKAGES" not in text  # native.sh then does nothing
    assert "COPY native.sh /opt/wake/native\n" in text


def test_native_packages_parse_and_a_version_may_replace_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra"
    make_platform(extra, "elixir", 'detect = ["mix.exs"]\n[packages]\ncompile = ["elixir"]\n'
                  'native = ["erlang-dev", "build-essential"]\n'
                  '[[versions]]\nname = "1.14"\nfull = "1.14.0"\nsuite = "bookworm"\n'
                  'default = true\n'
                  '[[versions]]\nname = "1.18"\nfull = "1.18.3"\nsuite = "trixie"\n'
                  'packages = {native = []}\n')
    use_path(monkeypatch, extra)
    elixir = platforms.load_all()["elixir"]
    assert elixir.native_packages == ("erlang-dev", "build-essential")
    by_name = {v.name: v for v in elixir.versions}
    assert elixir.with_version(by_name["1.14"]).native_packages == elixir.native_packages
    assert elixir.with_version(by_name["1.18"]).native_packages == ()


def test_native_packages_must_be_a_list(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    make_platform(tmp_path / "extra", "broken", '[packages]\nnative = "gcc"\n')
    use_path(monkeypatch, tmp_path / "extra")
    with pytest.raises(UsageError, match="packages.native"):
        platforms.load_all()


@pytest.mark.parametrize(("build_env", "installs"), [({"WAKE_BUILD_TOOLS": "1"}, True),
                                                     ({"WAKE_BUILD_TOOLS": "0"}, False),
                                                     ({}, False)])
def test_build_env_asks_for_the_build_tools_in_app_deps(
        registry: dict[str, Platform], tmp_path: Path, build_env: dict[str, str],
        installs: bool) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"name": "app", "processes": {"web": {"run": "x"}},
                                "build_env": build_env}))
    app = manifest.load(path)
    text = registry["python"].render("app-deps.Dockerfile.j2", {
        **registry["python"].context(), "parent": "p", "app": app, "apt_packages": (),
        "dependency_files": ["requirements.txt"]})
    assert ('RUN /opt/wake/native "build_env WAKE_BUILD_TOOLS=1"\n' in text) is installs
    if installs:  # before the dependencies install, so deps.sh finds them in
        assert text.index("/opt/wake/native") < text.index("RUN /opt/wake/deps")


# -- when build.sh runs ([build]) ------------------------------------------------------

@pytest.mark.parametrize("files, builds", [
    ({"package.json": '{"name": "a"}'}, False),
    ({"package.json": '{"name": "a", "scripts": {"start": "node ."}}'}, False),
    ({"package.json": '{"name": "a", "scripts": {"build": ""}}'}, False),  # empty: none
    ({"package.json": '{"name": "a", "scripts": {"build": "vite build"}}'}, True),
    ({"package.json": '{"name": "a"}', "yarn.lock": ""}, True),  # Yarn prunes in build.sh
    ({"package.json": '{"name": "a"}', "pnpm-lock.yaml": ""}, True),
    ({"package.json": "{not json"}, True),  # build.sh says what is wrong, as before
])
def test_node_runs_build_sh_only_when_it_has_work(registry: dict[str, Platform],
                                                   tmp_path: Path, files: dict[str, str],
                                                   builds: bool) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert registry["node"].builds(tmp_path) is builds


def test_a_platform_without_build_always_runs_build_sh(registry: dict[str, Platform],
                                                       tmp_path: Path) -> None:
    for name in ("python", "ruby", "go", "plain"):  # go's [build] has caches alone
        assert registry[name].build_if_files is None
        assert registry[name].builds(tmp_path)
    assert registry["go"].build_caches == ("/tmp/go-cache",)
    assert registry["node"].deps_caches == ("/root/.npm",)
    assert registry["python"].deps_caches == ("/root/.cache/pip", "/root/.cache/uv")
