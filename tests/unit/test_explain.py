"""Unit tests for wake.build.explain: the reasons a stage rebuilds, as a person reads them."""

from __future__ import annotations

from wake.build.explain import MANY_FILES, diff_inputs
from wake.build.plan import Step, render_text


def test_each_changed_input_is_one_reason() -> None:
    old = {"file:app/a.rb": "1", "file:app/b.rb": "2", "manifest:env": "x", "parent": "p"}
    new = {"file:app/a.rb": "9", "file:app/c.rb": "3", "manifest:env": "x", "parent": "q"}
    assert diff_inputs(old, new) == ["changed app file a.rb", "removed app file b.rb",
                                     "added app file c.rb", "changed parent stage (it was rebuilt)"]


def test_up_to_ten_changed_files_are_each_named() -> None:
    new = {f"file:app/f{i:02}.js": "1" for i in range(MANY_FILES)}
    assert diff_inputs({}, new) == [f"added app file f{i:02}.js" for i in range(MANY_FILES)]


def test_many_changed_files_are_counted_with_the_first_few_named() -> None:
    old = {"file:app/config.ru": "1", "dockerfile": "d"}
    new = {"file:app/config.ru": "2", "dockerfile": "e",
           **{f"file:app/node_modules/pkg{i:05}/index.js": "1" for i in range(12_000)},
           **{f"file:app/src/m{i}.js": "1" for i in range(3)}}
    reasons = diff_inputs(old, new)
    assert reasons == [
        "changed rendered Dockerfile",
        "changed app file config.ru",
        "added 12,003 app files: node_modules/pkg00000/index.js, "
        "node_modules/pkg00001/index.js, node_modules/pkg00002/index.js, "
        "node_modules/pkg00003/index.js, node_modules/pkg00004/index.js and 11,998 more "
        "(12,000 of them under node_modules/)"]


def test_a_plan_line_stays_short_however_many_files_changed() -> None:
    new = {f"file:app/node_modules/p{i}/x.js": "1" for i in range(50_000)}
    step = Step("build:site:app-compile", "build", tuple(diff_inputs({}, new)), "t")
    assert len(render_text([step]).splitlines()[0]) < 400
