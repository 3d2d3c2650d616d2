"""The scheduling parts of a build request: counts, names, forced hosts, hints."""

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import request_spec


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, (1, 1)),
        ({"min_count": 2}, (2, 2)),
        ({"max_count": 4}, (1, 4)),
        ({"min_count": 2, "max_count": 5}, (2, 5)),
        # Extra vars given as key=value arrive as strings.
        ({"min_count": "2", "max_count": "3"}, (2, 3)),
    ],
)
def test_counts(raw, expected):
    assert request_spec.normalise_counts(raw) == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"min_count": 0}, "min_count"),
        ({"min_count": True}, "min_count"),
        ({"max_count": "abc"}, "max_count"),
        ({"max_count": "3.0"}, "max_count"),
        ({"max_count": "-3"}, "max_count"),
        ({"max_count": 1001}, "max_count"),
        ({"min_count": 3, "max_count": 2}, "max_count"),
    ],
)
def test_bad_counts_name_the_field(raw, field):
    with pytest.raises(InvalidInput) as raised:
        request_spec.normalise_counts(raw)
    assert raised.value.field == field


def test_names_count_from_one_only_for_several():
    assert request_spec.instance_names("web", 1) == ["web"]
    assert request_spec.instance_names("web", 3) == ["web-1", "web-2", "web-3"]
    with pytest.raises(InvalidInput, match="exceed 63"):
        request_spec.instance_names("x" * 62, 10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, (None, None)), ("az1", ("az1", None)), ("az1:c2", ("az1", "c2")), (":c2", (None, "c2"))],
)
def test_availability_zone_forcing(value, expected):
    assert request_spec.parse_availability_zone(value) == expected


@pytest.mark.parametrize("value", ["", "az1:", "a:b:c", 5])
def test_bad_availability_zone(value):
    with pytest.raises(InvalidInput, match="availability_zone"):
        request_spec.parse_availability_zone(value)


def test_hints_normalise_single_names_to_lists():
    hints = request_spec.normalise_hints({"group": "db", "same_host": "web1", "different_host": ["a", "b", "a"]})
    assert hints == {"group": "db", "same_host": ["web1"], "different_host": ["a", "b"]}
    assert request_spec.normalise_hints(None) == {"group": None, "same_host": [], "different_host": []}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([], "scheduler_hints"),
        ({"query": "x"}, "scheduler_hints.query"),
        ({"group": 3}, "scheduler_hints.group"),
        ({"same_host": []}, "scheduler_hints.same_host"),
        ({"different_host": [""]}, "scheduler_hints.different_host"),
    ],
)
def test_bad_hints_name_the_hint(value, field):
    with pytest.raises(InvalidInput) as raised:
        request_spec.normalise_hints(value)
    assert raised.value.field == field
