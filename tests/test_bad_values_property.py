"""Property: for every experiment and any of its leaf keys, an override with a value of the wrong type (one neither the
experiment's value nor the signature of the class the key configures allows), or a negative number where the
experiment has one >= 0, ends in one `error:` line naming the key, exit status 2, no traceback and no record, through
scripts/train.py's main().

Hypothesis draws the key and the value. The default sample (EXAMPLES per experiment) keeps `make test` under a
minute; `PROPERTY_EXAMPLES=50 pytest tests/test_bad_values_property.py` searches harder."""

from __future__ import annotations

import functools
import json
import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, ListConfig, OmegaConf

from repro.cli import _compose
from repro.compose import experiment_names
from repro.values import accepts, annotation_of
from tests.conftest import FIXTURES
from tests.train_cli import train_cli

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", 1))
HARNESS_KEYS = {"paths.results_dir", "paths.runs_root", "paths.output_dir"}  # train_cli points these at tmp_path
# Words Hydra's grammar reads as something other than a string
NOT_WORDS = {"true", "false", "null", "none", "yes", "no", "on", "off", "inf", "nan"}


def smoke_config(name: str) -> DictConfig:
    """The config the pre-check compares the override with (its composition is cached: composed once)."""
    return _compose("train", (), (f"experiment={name}", "debug=smoke"), False)


@functools.lru_cache(maxsize=None)
def leaves(name: str) -> list[tuple[str, object]]:
    """(key, value) of every leaf the experiment gives a value (lists count as leaves), as debug=smoke composes it."""
    cfg = smoke_config(name)
    found = []

    def walk(node, key):
        if isinstance(node, DictConfig):
            for child in node:
                if not str(child).startswith("_"):
                    walk(node._get_node(child), f"{key}.{child}" if key else str(child))
            return
        try:
            value = OmegaConf.select(cfg, key)
        except Exception:
            return  # resolves only inside a Hydra run (${hydra:...})
        if value is not None and key not in HARNESS_KEYS:
            found.append((key, OmegaConf.to_container(value) if isinstance(value, ListConfig) else value))

    walk(cfg, "")
    return found


WORDS = st.from_regex(r"\A[a-z]{3,8}\Z").filter(lambda w: w not in NOT_WORDS)
FRACTIONS = st.floats(min_value=0.01, max_value=1000, allow_nan=False).map(lambda x: round(x, 3) + 0.001).filter(
    lambda x: not float(x).is_integer())
LISTS = st.lists(st.integers(0, 9), min_size=1, max_size=3)
NEGATIVE = st.one_of(st.integers(-10**6, -1), st.floats(-1e6, -1e-3).map(lambda x: round(x, 3) - 0.001))


def wrong(value) -> st.SearchStrategy:
    """Values of another type than `value`'s, and negative numbers where `value` is a number >= 0."""
    if isinstance(value, bool):
        return st.one_of(FRACTIONS, LISTS)
    if isinstance(value, (int, float)):
        return st.one_of(WORDS, LISTS, *([NEGATIVE] if value >= 0 else []))
    if isinstance(value, str):
        return st.one_of(FRACTIONS, LISTS)
    return st.one_of(FRACTIONS, WORDS)  # a list


def written(value) -> str:
    return json.dumps(value).replace(" ", "") if isinstance(value, list) else str(value)


@pytest.mark.parametrize("name", experiment_names())
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_wrong_value_for_any_key_ends_in_one_line(name, data, tmp_path_factory):
    key, value = data.draw(st.sampled_from(leaves(name)), label="key")
    bad = data.draw(wrong(value), label="value")
    annotation, _ = annotation_of(smoke_config(name), key)
    assume(not accepts(annotation, bad))  # another type than the experiment's that the key's signature allows
    result = train_cli(tmp_path_factory.mktemp("bad"), f"experiment={name}", "debug=smoke", f"{key}={written(bad)}",
                       env={"DATA_DIR": str(FIXTURES)})
    assert result.status == 2, result.stderr[-2000:]
    assert key in result.one_error_line()
    assert not result.records
