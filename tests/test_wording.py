"""Counts read with the noun in the singular for one and in the plural otherwise."""

from __future__ import annotations

import pytest

from hpsearch.wording import plural


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0 pairs"), (1, "1 pair"), (2, "2 pairs"), (21, "21 pairs")]
)
def test_the_noun_follows_the_count(n, expected):
    assert plural(n, "pair") == expected


def test_an_irregular_plural_is_given():
    assert plural(1, "study", "studies") == "1 study"
    assert plural(3, "study", "studies") == "3 studies"
