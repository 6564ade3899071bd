"""Unit and property tests for wake.keys: stage keys and the inputs label."""

from __future__ import annotations

import hashlib
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from wake.build.keys import LABEL_PLAIN_LIMIT, combine, decode_inputs, encode_inputs, sha256

texts = st.text(max_size=24)
inputs = st.dictionaries(texts, texts, max_size=12)
nonempty_inputs = st.dictionaries(texts, texts, min_size=1, max_size=12)


def big_inputs(extra: dict[str, str], files: int, salt: str) -> dict[str, str]:
    """Inputs shaped like an app-compile stage's: one entry per file of a large tree."""
    data = {f"file:app/{salt}/{index:05d}.rb": sha256(f"{salt}{index}") for index in range(files)}
    return {**extra, **data}


# -- combine ---------------------------------------------------------------------

def test_combine_known_answer() -> None:
    # The format is part of every image tag: changing it rebuilds every image everywhere.
    expected = hashlib.sha256(b'[["a","1"],["b","2"]]').hexdigest()
    assert combine({"b": "2", "a": "1"}) == expected


def test_combine_does_not_confuse_key_and_value_boundaries() -> None:
    assert combine({"a": "bc"}) != combine({"ab": "c"})
    assert combine({"a": "b", "c": "d"}) != combine({"a": "b,c:d"})
    assert combine({}) != combine({"": ""})


@given(inputs, st.data())
def test_combine_ignores_insertion_order(values: dict[str, str], data: st.DataObject) -> None:
    shuffled = dict(data.draw(st.permutations(list(values.items()))))
    key = combine(shuffled)
    assert key == combine(values)
    assert re.fullmatch(r"[0-9a-f]{64}", key)


@given(nonempty_inputs, st.data())
def test_changing_a_value_changes_the_key(values: dict[str, str], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(values)))
    new = data.draw(texts.filter(lambda v: v != values[name]))
    assert combine({**values, name: new}) != combine(values)


@given(nonempty_inputs, st.data())
def test_renaming_a_key_changes_the_key(values: dict[str, str], data: st.DataObject) -> None:
    old = data.draw(st.sampled_from(sorted(values)))
    new = data.draw(texts.filter(lambda k: k not in values))
    renamed = {(new if k == old else k): v for k, v in values.items()}
    assert combine(renamed) != combine(values)


@given(inputs, texts, texts)
def test_adding_or_removing_an_input_changes_the_key(values: dict[str, str], name: str,
                                                     value: str) -> None:
    if name in values:
        smaller = {k: v for k, v in values.items() if k != name}
        assert combine(smaller) != combine(values)
    else:
        assert combine({**values, name: value}) != combine(values)


# -- the inputs label ------------------------------------------------------------

@given(inputs)
def test_small_inputs_round_trip_as_plain_json(values: dict[str, str]) -> None:
    label = encode_inputs(values)
    assert not label.startswith("z:")
    assert json.loads(label) == values
    assert decode_inputs(label) == values


@settings(max_examples=25, deadline=None)
@given(inputs, st.integers(min_value=400, max_value=1200), st.text(max_size=8))
def test_large_inputs_round_trip_compressed(extra: dict[str, str], files: int,
                                            salt: str) -> None:
    values = big_inputs(extra, files, salt)
    plain = json.dumps(dict(sorted(values.items())), separators=(",", ":"))
    assert len(plain) > LABEL_PLAIN_LIMIT  # the case under test
    label = encode_inputs(values)
    assert label.startswith("z:")
    assert len(label) < len(plain)
    assert decode_inputs(label) == values


def test_label_limit_boundary() -> None:
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))
    at_limit = {"k": "x" * (LABEL_PLAIN_LIMIT - overhead)}
    over_limit = {"k": "x" * (LABEL_PLAIN_LIMIT - overhead + 1)}
    assert len(encode_inputs(at_limit)) == LABEL_PLAIN_LIMIT
    assert not encode_inputs(at_limit).startswith("z:")
    assert encode_inputs(over_limit).startswith("z:")
    assert decode_inputs(encode_inputs(at_limit)) == at_limit
    assert decode_inputs(encode_inputs(over_limit)) == over_limit


def test_encoding_is_independent_of_insertion_order() -> None:
    forward = {f"k{i}": str(i) for i in range(5)}
    backward = dict(reversed(list(forward.items())))
    assert encode_inputs(forward) == encode_inputs(backward)
    big = big_inputs({}, 600, "s")
    assert encode_inputs(big) == encode_inputs(dict(reversed(list(big.items()))))


def test_sha256_of_str_and_bytes_agree() -> None:
    assert sha256("héllo") == sha256("héllo".encode()) == hashlib.sha256(
        "héllo".encode()).hexdigest()
