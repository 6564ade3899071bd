"""The manifest fields deploys use: instances, health, stop_timeout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wake import manifest

from .test_manifest import assert_one, problems, web, write


def _web(tmp_path: Path, **fields: Any) -> manifest.Process:
    return manifest.load(write(tmp_path, web(**fields))).process("web")


def test_defaults(tmp_path: Path) -> None:
    process = _web(tmp_path)
    assert (process.instances, process.health_path, process.grace, process.deadline,
            process.stop_timeout) == (1, "/_health", 0.0, 60.0, 10)


def test_given(tmp_path: Path) -> None:
    process = _web(tmp_path, instances=3, stop_timeout=30,
                   health={"path": "/up", "grace": 5, "deadline": 90.5})
    assert (process.instances, process.health_path, process.grace, process.deadline,
            process.stop_timeout) == (3, "/up", 5.0, 90.5, 30)
    assert _web(tmp_path, instances=0).instances == 0  # a process switched off


def test_health_false_means_no_http_check(tmp_path: Path) -> None:
    process = _web(tmp_path, health=False)
    assert process.health_path is None


def test_deploy_fields_are_not_in_the_image(tmp_path: Path) -> None:
    plain, scaled = _web(tmp_path), _web(tmp_path / "b", instances=5, health=False,
                                         stop_timeout=1, cpu=3, memory=64)
    assert plain.image_fields() == scaled.image_fields()


@pytest.mark.parametrize(("fields", "path", "words"), [
    ({"instances": -1}, "processes.web.instances", ["0 to 100"]),
    ({"instances": 101}, "processes.web.instances", ["0 to 100"]),
    ({"instances": 1.5}, "processes.web.instances", ["whole number"]),
    ({"instances": True}, "processes.web.instances", ["whole number"]),
    ({"instances": "2"}, "processes.web.instances", ["whole number"]),
    ({"stop_timeout": -1}, "processes.web.stop_timeout", ["0 to 3600"]),
    ({"stop_timeout": 2.5}, "processes.web.stop_timeout", ["whole number"]),
    ({"health": True}, "processes.web.health", ["object or false"]),
    ({"health": "/_health"}, "processes.web.health", ["object or false"]),
    ({"health": {"path": "_health"}}, "processes.web.health.path", ["starting with '/'"]),
    ({"health": {"path": "/a b"}}, "processes.web.health.path", ["starting with '/'"]),
    ({"health": {"path": "/\u00e9"}}, "processes.web.health.path", ["starting with '/'"]),
    ({"health": {"path": "/x\n"}}, "processes.web.health.path", ["starting with '/'"]),
    ({"health": {"deadline": 0}}, "processes.web.health.deadline", ["1 to 3600"]),
    ({"health": {"deadline": 1e308}}, "processes.web.health.deadline", ["1 to 3600"]),
    ({"health": {"grace": -1}}, "processes.web.health.grace", ["0 to 3600"]),
    ({"health": {"grace": float("nan")}}, "processes.web.health.grace", ["seconds"]),
    ({"health": {"interval": 3}}, "processes.web.health.interval", ["unknown"]),
])
def test_bad_values_name_the_field(tmp_path: Path, fields: dict[str, Any], path: str,
                                   words: list[str]) -> None:
    assert_one(problems(tmp_path, web(**fields)), path, *words)
