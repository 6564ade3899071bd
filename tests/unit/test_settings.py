"""Unit tests for wake.settings: defaults < config.toml < environment < overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from wake import settings
from wake.errors import UsageError

PEM = (b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n")


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text(text, encoding="utf-8")
    return config


def pem(tmp_path: Path, name: str = "ca.pem", content: bytes = PEM) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def words(line: str) -> str:
    return " ".join(line.split())


def test_wake_home_comes_from_the_environment(wake_home: Path) -> None:
    assert settings.wake_home() == wake_home


def test_wake_home_defaults_to_dot_wake_in_home(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAKE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    assert settings.wake_home() == tmp_path / "someone" / ".wake"


def test_defaults(wake_home: Path) -> None:
    assert not (wake_home / "config.toml").exists()
    loaded = settings.load()
    assert loaded.base_image == "debian:bookworm-slim" == settings.DEFAULT_BASE_IMAGE
    assert loaded.ca_bundle is None and loaded.ca_bundle_bytes() is None
    assert loaded.registry is None
    assert loaded.origins == {}


def test_config_file_beats_defaults(tmp_path: Path, wake_home: Path) -> None:
    ca = pem(tmp_path)
    config = write_config(wake_home, f'base_image = "mirror.local/debian:bookworm"\n'
                                     f'ca_bundle = "{ca}"\nregistry = "reg.local:5000"\n')
    loaded = settings.load()
    assert loaded.base_image == "mirror.local/debian:bookworm"
    assert loaded.ca_bundle == ca.resolve()
    assert loaded.ca_bundle_bytes() == PEM
    assert loaded.registry == "reg.local:5000"
    assert loaded.origins == {key: str(config) for key in ("base_image", "ca_bundle", "registry")}


def test_environment_beats_config_file(tmp_path: Path, wake_home: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config_ca = pem(tmp_path, "config.pem")
    env_ca = pem(tmp_path, "env.pem", PEM + b"# env\n")
    config = write_config(wake_home, f'base_image = "from-config"\nca_bundle = "{config_ca}"\n'
                                     'registry = "config:5000"\n')
    monkeypatch.setenv("WAKE_BASE_IMAGE", "from-env")
    monkeypatch.setenv("WAKE_CA_BUNDLE", str(env_ca))
    monkeypatch.setenv("WAKE_REGISTRY", "")  # empty means unset
    loaded = settings.load()
    assert loaded.base_image == "from-env"
    assert loaded.ca_bundle == env_ca.resolve()
    assert loaded.ca_bundle_bytes() == PEM + b"# env\n"
    assert loaded.registry == "config:5000"
    assert loaded.origins == {"base_image": "$WAKE_BASE_IMAGE", "ca_bundle": "$WAKE_CA_BUNDLE",
                              "registry": str(config)}


def test_overrides_beat_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAKE_BASE_IMAGE", "from-env")
    monkeypatch.setenv("WAKE_REGISTRY", "env:5000")
    flag_ca = pem(tmp_path, "flag.pem")
    loaded = settings.load({"base_image": "from-flag", "registry": None,
                            "ca_bundle": str(flag_ca)})
    assert loaded.base_image == "from-flag"
    assert loaded.registry == "env:5000"  # a None override keeps what was there
    assert loaded.ca_bundle == flag_ca.resolve()
    assert loaded.origins == {"base_image": "command line", "registry": "$WAKE_REGISTRY",
                              "ca_bundle": "command line"}


def test_unknown_key_in_config_names_the_file(wake_home: Path) -> None:
    config = write_config(wake_home, 'base_image = "x"\nregistri = "typo:5000"\n')
    with pytest.raises(UsageError) as info:
        settings.load()
    message = str(info.value)
    assert message.startswith(f"{config}: ")
    assert "'registri'" in message
    assert "registry" in message  # lists the known keys


def test_non_string_value_in_config(wake_home: Path) -> None:
    config = write_config(wake_home, "registry = 5000\n")
    with pytest.raises(UsageError, match="registry must be a string") as info:
        settings.load()
    assert str(config) in str(info.value)


def test_invalid_toml_in_config(wake_home: Path) -> None:
    config = write_config(wake_home, "base_image = \n")
    with pytest.raises(UsageError, match="not valid TOML") as info:
        settings.load()
    assert str(config) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not a certificate\n",
                                     b"-----BEGIN PRIVATE KEY-----\nxx\n"])
def test_non_pem_ca_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           content: bytes) -> None:
    bad = pem(tmp_path, "bad.pem", content)
    monkeypatch.setenv("WAKE_CA_BUNDLE", str(bad))
    with pytest.raises(UsageError) as info:
        settings.load()
    message = str(info.value)
    assert message.startswith("$WAKE_CA_BUNDLE: ")
    assert str(bad) in message
    assert "PEM" in message


def test_missing_ca_bundle(tmp_path: Path, wake_home: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    config = write_config(wake_home, f'ca_bundle = "{missing}"\n')
    with pytest.raises(UsageError) as info:
        settings.load()
    message = str(info.value)
    assert message.startswith(f"{config}: ")
    assert f"cannot read CA bundle {missing}" in message


def test_ca_bundle_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read CA bundle"):
        settings.load({"ca_bundle": str(tmp_path)})


def test_ca_bundle_path_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    ca = pem(tmp_path, "home.pem")
    assert settings.load({"ca_bundle": "~/home.pem"}).ca_bundle == ca.resolve()


def test_describe_shows_values_and_origins(tmp_path: Path, wake_home: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(wake_home, 'registry = "reg.local:5000"\n')
    monkeypatch.setenv("WAKE_BASE_IMAGE", "my/debian:bookworm")
    lines = settings.load().describe().splitlines()
    assert len(lines) == 3
    base, ca, registry = lines
    assert words(base) == "base_image my/debian:bookworm [$WAKE_BASE_IMAGE]"
    assert words(ca) == "ca_bundle (not set) [default]"
    assert words(registry) == f"registry reg.local:5000 [{config}]"


def test_describe_of_defaults(wake_home: Path) -> None:
    text = settings.load().describe()
    assert words(text.splitlines()[0]) == "base_image debian:bookworm-slim [default]"
    assert text.count("[default]") == 3
