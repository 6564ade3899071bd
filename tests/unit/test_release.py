"""Releases: content-addressed by what decides them, and their record."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wake.deploy.release import ProcessRelease, Release, changes
from wake.errors import WakeError


def _web(**kwargs: object) -> ProcessRelease:
    fields: dict[str, object] = dict(
        name="web", stage_key="k" * 64, image="wake/shop/release-web:kkkk", instances=2,
        cpu=0.5, memory=256, health_path="/_health", grace=0.0, deadline=60.0,
        stop_timeout=10)
    fields.update(kwargs)
    return ProcessRelease(**fields)  # type: ignore[arg-type]


def _release(*processes: ProcessRelease, env: tuple[tuple[str, str], ...] = ()) -> Release:
    return Release("shop", processes or (_web(),), env)


def test_the_id_is_known_before_anything_is_built() -> None:
    before = _release()
    built = before.with_process(replace(_web(), image_id="sha256:abc", digest="sha256:def"))
    recorded = replace(built, deployed_by="ci", at=123.0, result="succeeded")
    assert before.id == built.id == recorded.id
    assert len(before.id) == 64 and before.short == before.id[:12]


@pytest.mark.parametrize("change", [
    {"stage_key": "j" * 64}, {"instances": 3}, {"cpu": 1.0}, {"memory": 512},
    {"health_path": None}, {"deadline": 30.0}, {"stop_timeout": 5}])
def test_what_decides_a_release_changes_its_id(change: dict[str, object]) -> None:
    assert _release(_web(**change)).id != _release().id


def test_env_decides_too() -> None:
    assert _release(env=(("A", "1"),)).id != _release(env=(("A", "2"),)).id


def test_an_instance_runs_on_when_only_the_count_changes() -> None:
    assert _web(instances=5).spec == _web().spec
    assert _web(stage_key="j" * 64).spec != _web().spec
    assert _web(memory=512).spec != _web().spec


def test_the_record_round_trips() -> None:
    record = replace(_release(env=(("A", "it's <a&b>"),)), deployed_by="me", commit="c0ffee",
                     at=1.5, result="failed", error="boom", changes=("web: new image",))
    again = Release.from_json(record.to_json(), "test")
    assert again == record and again.id == record.id


def test_a_record_wake_cannot_read_says_so() -> None:
    with pytest.raises(WakeError, match="key x: not a release record"):
        Release.from_json(b'{"app": 1}', "key x")


def test_changes_in_words() -> None:
    old = _release(_web(), _web(name="worker", health_path=None, instances=1))
    new = _release(_web(stage_key="j" * 64, instances=3), env=(("A", "1"),))
    assert changes(None, new) == ("first release",)
    assert changes(old, new) == ("web: new image", "web: instances 2 -> 3", "worker: removed",
                                 "env changed")
    assert changes(new, new) == ("same as before",)


def test_dependencies_decide_the_release_and_the_instance_only_when_there_are_some() -> None:
    plain = _release()
    # An app without dependencies keeps the id it had before releases could have any.
    assert "dependencies" not in _web().decided()
    with_deps = _release(_web(dependencies=("api",)))
    assert with_deps.id != plain.id and with_deps.dependencies == ("api",)
    assert _web(dependencies=("api",)).spec != _web().spec  # /etc/hosts changes
    assert "web: dependencies () -> ('api',)" in changes(plain, with_deps)
    again = Release.from_json(with_deps.to_json(), "test")
    assert again == with_deps and again.id == with_deps.id


def test_cron_jobs_carry_the_apps_dependencies_too() -> None:
    from wake.deploy.release import CronRelease

    job = CronRelease("bust", "k" * 64, "img", "*/10 * * * *", 0.5, 256, 3600)
    assert "dependencies" not in job.decided()
    cron_only = Release("shop", (), (), (replace(job, dependencies=("api",)),))
    assert cron_only.dependencies == ("api",)
    again = Release.from_json(cron_only.to_json(), "test")
    assert again == cron_only and again.id == cron_only.id


def test_instances_beyond_the_wanted_ones_are_surplus() -> None:
    from wake.deploy.deployer import surplus
    from wake.deploy.instances import Instance

    want = _release(_web())  # web x2
    spec = want.processes[0].spec

    def web(name: str, of: str = spec, health: str = "passing") -> Instance:
        return Instance("shop", "web", name, "h1", want.id, 0.5, 256, "10.0.0.1", 8000,
                        health, f"wake-shop-{name}", of)

    assert surplus(want, [web("web-a"), web("web-b")]) == {}
    assert surplus(want, [web("web-a")]) == {}  # short: missing, not surplus
    # A host that came back with an instance a deploy had replaced elsewhere.
    assert surplus(want, [web("web-a"), web("web-b"), web("web-c")]) == {"web": 1}
    assert surplus(want, [web("web-a"), web("web-b", of="old")]) == {"web": 1}
    assert surplus(want, [web("web-a", health="critical"), web("web-b"),
                          web("web-c")]) == {"web": 1}
