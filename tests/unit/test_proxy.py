"""The dependency proxy's pieces: HAProxy's configuration (checked by the real haproxy)
and the routes record in Consul's KV store (check-and-set, on a fake agent)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from wake.consul import KV
from wake.errors import WakeError
from wake.proxy import haproxy, routes


def _check(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # The admin socket's folder is the container's; here a temporary one.
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text.replace("/run/wake-proxy/", f"{tmp_path}/"))
    return subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                    reason="Debian's haproxy is not installed (scripts/ensure-env.sh does)")
@pytest.mark.parametrize("apps", [(), ("api",), ("api", "search-2", "x")])
def test_haproxy_accepts_the_configuration(apps: tuple[str, ...], tmp_path: Path) -> None:
    text = haproxy.render("172.18.0.1", 8000, "10.0.0.2:8600", apps, "h1")
    done = _check(text, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for app in apps:
        assert f"server-template {app} 1-{haproxy.SLOTS} _{app}._http.service.consul" in text
        assert f"-m str {app} }}" in text
    assert "bind 172.18.0.1:8000" in text and "nameserver consul 10.0.0.2:8600" in text


def test_retries_are_bounded_and_never_resend_a_post() -> None:
    text = haproxy.render("172.18.0.1", 8000, "10.0.0.2:8600", ["api"])
    assert "retries 3" in text and "option redispatch 1" in text
    assert "retry-on conn-failure empty-response" in text
    assert "disable-l7-retry if METH_POST" in text
    assert "hold obsolete 0s" in text  # a removed instance goes at the next answer


class FakeKV:
    """Consul's KV semantics that matter here: modify indexes and check-and-set."""

    def __init__(self) -> None:
        self.data: dict[str, KV] = {}
        self.index = 10
        self.interfere = 0  # writes by "another deploy" just before ours

    def kv_get(self, key: str) -> KV | None:
        return self.data.get(key)

    def kv_list(self, prefix: str) -> list[KV]:
        return [v for k, v in sorted(self.data.items()) if k.startswith(prefix)]

    def kv_put(self, key: str, value: bytes | str, cas: int | None = None) -> bool:
        if self.interfere:
            self.interfere -= 1
            self._write(routes.ROUTES_KEY, b'{"other": ["db"]}')
        current = self.data.get(key)
        if cas is not None and (current.modify_index if current else 0) != cas:
            return False
        self._write(key, value.encode() if isinstance(value, str) else value)
        return True

    def _write(self, key: str, value: bytes) -> None:
        self.index += 1
        self.data[key] = KV(key, value, self.index)


def test_routes_are_set_per_app_and_served_as_one_set() -> None:
    agent = FakeKV()
    index, changed = routes.set_app(agent, "front", ["api", "api"])  # type: ignore[arg-type]
    assert changed and index == agent.index
    assert routes.read(agent)[0] == {"front": ("api",)}  # type: ignore[arg-type]
    # Another app depending on api too: the set served does not change, no reload.
    assert routes.set_app(agent, "admin", ["api"])[1] is False  # type: ignore[arg-type]
    # The same again: nothing written.
    before = agent.index
    assert routes.set_app(agent, "admin", ["api"]) == (before, False)  # type: ignore[arg-type]
    assert routes.set_app(agent, "front", [])[1] is False  # type: ignore[arg-type]
    assert routes.set_app(agent, "admin", [])[1] is True  # type: ignore[arg-type]
    assert routes.served(routes.read(agent)[0]) == ()  # type: ignore[arg-type]


def test_a_concurrent_write_is_not_lost() -> None:
    agent = FakeKV()
    agent.interfere = 1  # another deploy writes between our read and our write
    routes.set_app(agent, "front", ["api"])  # type: ignore[arg-type]
    assert routes.read(agent)[0] == {"other": ("db",), "front": ("api",)}  # type: ignore[arg-type]


def test_a_foreign_routes_value_is_a_clear_error() -> None:
    with pytest.raises(WakeError, match="delete it and deploy again"):
        routes.parse(b"[1, 2")


def test_wait_loaded_waits_for_each_proxy_and_reports_a_silent_one() -> None:
    agent = FakeKV()
    routes.report(agent, "h1", 15, ["api"])  # type: ignore[arg-type]
    routes.report(agent, "h2", 14, ["api"])  # type: ignore[arg-type]  (an older load)
    said: list[str] = []
    routes.wait_loaded(agent, 15, ["h1"], said.append, timeout=0.5)  # type: ignore[arg-type]
    assert said == []
    routes.wait_loaded(agent, 15, ["h1", "h2"], said.append, timeout=0.5)  # type: ignore[arg-type]
    assert said and "h2 did not load" in said[0]
    assert routes.loaded(agent)["h1"].apps == ("api",)  # type: ignore[arg-type]
