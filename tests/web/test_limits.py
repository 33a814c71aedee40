"""What the web lab accepts from a request: the depth of a JSON body counted without parsing it,
and the numbers a run it starts may have (every shipped preset within them, as shipped)."""

from __future__ import annotations

import json

import pytest

from gankit.config import build_config, preset_names
from gankit.errors import UserError
from gankit.web.limits import RUN_LIMITS, check_run_limits, json_depth


@pytest.mark.parametrize("text, depth", [
    ("{}", 1), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('"[[[{{{"', 0), ('{"a": "\\\\"}', 1),
    ('{"a": "\\"[[["}', 1), ("[" * 500 + "]" * 500, 500), ("1", 0),
])
def test_json_depth_counts_nesting_outside_strings(text, depth):
    assert json_depth(text.encode()) == depth
    if depth < 100:
        json.loads(text)  # every case is valid JSON


@pytest.mark.parametrize("preset", preset_names())
def test_every_shipped_preset_may_be_started_from_the_page(preset):
    check_run_limits(build_config(preset, []), "the request")


def test_a_number_beyond_the_servers_range_is_named():
    for key, largest in RUN_LIMITS.items():  # the largest value itself is allowed
        check_run_limits(build_config("digits", [f"{key}={largest}"]), "the request")
    with pytest.raises(UserError, match=r"train.steps=1000001: the web lab starts runs with train.steps up to 1,000,000"):
        check_run_limits(build_config("digits", ["train.steps=1000001"]), "the request")
