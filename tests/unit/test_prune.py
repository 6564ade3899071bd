"""wake.build.prune's decision, from fake image-list rows (no engine)."""

from __future__ import annotations

from typing import Any

import pytest

from wake.build.prune import Image, decide, ordinal, removal_order

APP_COMPILE = "build:shop:app-compile"


def row(stage: str, key: str, created: int, kind: str = "app-compile", app: str | None = "shop",
        tags: list[str] | None = None, size: int = 100) -> dict[str, Any]:
    labels = {"wake.key": key * 8, "wake.id": stage, "wake.kind": kind}
    if app:
        labels["wake.app"] = app
    repository = f"wake/{app}/{kind}" if app else f"wake-platform/{stage.split(':')[1]}"
    return {"Id": f"sha256:{key * 16}", "RepoTags": [f"{repository}:{key * 8}"]
            if tags is None else tags, "Labels": labels, "Created": created, "Size": size}


def images(*rows: dict[str, Any]) -> list[Image]:
    found = [Image.from_row(r) for r in rows]
    return [i for i in found if i is not None]


def removed(verdicts: list[Any]) -> list[str]:
    return [v.image.key[:4] for v in verdicts if v.remove]


def test_old_images_beyond_keep_go_the_newest_stay() -> None:
    found = images(*(row(APP_COMPILE, k, t) for k, t in
                     (("aaaa", 1), ("bbbb", 2), ("cccc", 3), ("dddd", 4))))
    verdicts = decide(found, {"dddd" * 8}, {}, keep=2)
    assert removed(verdicts) == ["bbbb", "aaaa"]
    why = {v.image.key[:4]: v.why for v in verdicts}
    assert why["dddd"] == "a stage of the workspace uses it"
    assert why["cccc"] == "2nd newest of its stage (keeping 2)"
    assert why["bbbb"] == "no stage of the workspace uses it; 3rd newest of its stage (keeping 2)"


def test_the_images_the_workspace_uses_stay_however_old() -> None:
    found = images(row(APP_COMPILE, "aaaa", 1), row(APP_COMPILE, "bbbb", 2),
                   row(APP_COMPILE, "cccc", 3))
    assert removed(decide(found, {"aaaa" * 8}, {}, keep=1)) == ["bbbb"]


def test_keep_zero_removes_all_the_workspace_does_not_use() -> None:
    found = images(row(APP_COMPILE, "aaaa", 1), row(APP_COMPILE, "bbbb", 2))
    assert removed(decide(found, {"aaaa" * 8}, {}, keep=0)) == ["bbbb"]
    assert removed(decide(found, set(), {}, keep=0)) == ["bbbb", "aaaa"]


def test_keep_counts_per_stage_id() -> None:
    web = "build:shop:release-web"
    found = images(row(APP_COMPILE, "aaaa", 1), row(APP_COMPILE, "bbbb", 2),
                   row(web, "cccc", 1, "release"), row(web, "dddd", 2, "release"),
                   row("platform:ruby-3.1-compile", "eeee", 1, "platform-compile", app=None))
    assert sorted(removed(decide(found, set(), {}, keep=1))) == ["aaaa", "cccc"]


def test_protected_images_stay_by_id_or_tag() -> None:
    found = images(row(APP_COMPILE, "aaaa", 1), row(APP_COMPILE, "bbbb", 2),
                   row(APP_COMPILE, "cccc", 3))
    protected = {"sha256:" + "a" * 64: "a previous release of shop (aaaa) on the cluster uses it",
                 "wake/shop/app-compile:" + "b" * 32: "container shop-web-1 uses it"}
    verdicts = decide(found, set(), protected, keep=0)
    assert removed(verdicts) == ["cccc"]
    why = {v.image.key[:4]: v.why for v in verdicts}
    assert why["aaaa"].startswith("a previous release of shop")
    assert why["bbbb"] == "container shop-web-1 uses it"


def test_naming_apps_limits_pruning_to_them() -> None:
    found = images(row(APP_COMPILE, "aaaa", 1), row(APP_COMPILE, "bbbb", 2),
                   row("build:blog:app-compile", "cccc", 1, app="blog"),
                   row("build:blog:app-compile", "dddd", 2, app="blog"),
                   row("platform:ruby-3.1-compile", "eeee", 1, "platform-compile", app=None),
                   row("platform:ruby-3.1-compile", "ffff", 2, "platform-compile", app=None))
    verdicts = decide(found, set(), {}, keep=1, apps=["shop"])
    assert removed(verdicts) == ["aaaa"]
    assert {v.image.app for v in verdicts} == {"shop"}


def test_ties_in_age_are_broken_by_key_so_runs_agree() -> None:
    found = images(row(APP_COMPILE, "bbbb", 5), row(APP_COMPILE, "aaaa", 5))
    assert removed(decide(found, set(), {}, keep=1)) == ["bbbb"]
    assert removed(decide(list(reversed(found)), set(), {}, keep=1)) == ["bbbb"]


def test_rows_without_a_key_label_are_not_wake_images() -> None:
    assert Image.from_row({"Id": "sha256:x", "RepoTags": ["debian:bookworm-slim"],
                           "Labels": {"wake.base": "debootstrap"}}) is None
    assert Image.from_row({"Id": "sha256:x", "Labels": None}) is None


def test_untagged_images_are_removed_by_id() -> None:
    image = images(row(APP_COMPILE, "aaaa", 1, tags=["<none>:<none>"]))[0]
    assert image.tags == () and image.refs == ("sha256:" + "a" * 64,)
    assert image.name == "a" * 12
    tagged = images(row(APP_COMPILE, "bbbb", 1, tags=["wake/shop/app-compile:b", "r:5000/x:b"]))
    assert tagged[0].refs == ("wake/shop/app-compile:b", "r:5000/x:b")


def test_removal_order_puts_images_before_the_images_they_are_built_on() -> None:
    found = images(row("platform:ruby-3.1-release", "aaaa", 1, "platform-release", app=None),
                   row("build:shop:app-release", "bbbb", 1, "app-release"),
                   row("build:shop:release-web", "cccc", 1, "release"),
                   row("platform:ruby-3.1-compile", "dddd", 1, "platform-compile", app=None),
                   row(APP_COMPILE, "eeee", 1))
    order = [v.image.kind for v in removal_order(decide(found, set(), {}, keep=0))]
    assert order == ["release", "app-release", "app-compile", "platform-release",
                     "platform-compile"]


@pytest.mark.parametrize("number, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"),
                                          (11, "11th"), (12, "12th"), (13, "13th"),
                                          (21, "21st"), (22, "22nd"), (111, "111th")])
def test_ordinal(number: int, text: str) -> None:
    assert ordinal(number) == text


# --- the images a cluster's releases use, and the command around it ------------------


class FakeKV:
    def __init__(self, data: dict[str, bytes]) -> None:
        self.data = data

    def get(self, key: str, recurse: bool = False) -> tuple[int, Any]:
        entry = lambda k: {"Key": k, "Value": self.data[k], "ModifyIndex": 1}  # noqa: E731
        if recurse:
            return 1, [entry(k) for k in sorted(self.data) if k.startswith(key)] or None
        return 1, entry(key) if key in self.data else None


def test_release_images_are_every_kept_release_of_every_app() -> None:
    from types import SimpleNamespace

    from wake.deploy import store
    from wake.deploy.release import ProcessRelease, Release

    from .fakes import agent_over

    def release(app: str, key: str, at: float) -> Release:
        web = ProcessRelease("web", key * 64, f"wake/{app}/release-web:{key * 32}", 1, 0.5,
                             256, "/_health", 0.0, 60.0, 10, image_id=f"sha256:{key * 64}")
        return Release(app, (web,), at=at)

    old, now, blog = release("shop", "a", 1.0), release("shop", "b", 2.0), release("blog", "c", 1.0)
    data = {f"wake/apps/{r.app}/releases/{r.id}": r.to_json().encode() for r in (old, now, blog)}
    data["wake/apps/shop/current"] = now.id.encode()
    data["wake/apps/shop/history/000000000001000"] = b"{}"
    data["wake/apps/notes/lock"] = b""  # an app with no releases
    agent = agent_over(SimpleNamespace(kv=FakeKV(data)))
    assert store.apps(agent) == ["blog", "shop"]
    found = store.release_images(agent)
    assert found["sha256:" + "b" * 64] == (f"the current release of shop ({now.short}) on the "
                                           "cluster uses it")
    assert found["wake/shop/release-web:" + "a" * 32].startswith("a previous release of shop")
    assert "sha256:" + "c" * 64 in found and len(found) == 6


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from wake import cli

    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_negative_keep_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["prune", "--keep", "-1"], capsys)
    assert code == 2 and "--keep -1" in err


def test_a_cluster_that_does_not_answer_stops_prune_unless_no_cluster(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from wake.build import prune
    from wake.cli import build as cli_build
    from wake.cluster import clusters
    from wake.errors import WakeError

    def silent(self: clusters.Cluster, wait: float = 20.0) -> Any:
        raise WakeError("no answer from 127.0.0.9:8500")

    state = clusters.Clusters("prod", {"prod": clusters.Cluster("prod", "127.0.0.9:8500")})
    monkeypatch.setattr(clusters, "load", lambda: state)
    monkeypatch.setattr(clusters.Cluster, "answering", silent)
    monkeypatch.setattr(cli_build, "_session", lambda args: None)
    seen: list[dict[str, str]] = []
    monkeypatch.setattr(prune, "plan", lambda session, protected, keep, apps: seen.append(
        protected) or [])

    code, out, err = _cli(["prune", "--dry-run"], capsys)
    assert code == 1 and seen == []
    assert "cluster prod could not be read" in err and "--no-cluster" in err
    code, out, err = _cli(["prune", "--dry-run", "--no-cluster"], capsys)
    assert code == 0, err
    assert "prod not asked (--no-cluster)" in out and "would remove 0 images" in out
    assert seen == [{}]
