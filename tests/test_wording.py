"""Counts read with the noun in the singular for one and in the plural otherwise; paths
under the working directory read relative to it."""

from __future__ import annotations

import pytest

from hpsearch.wording import plural, shown_path


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0 pairs"), (1, "1 pair"), (2, "2 pairs"), (21, "21 pairs")]
)
def test_the_noun_follows_the_count(n, expected):
    assert plural(n, "pair") == expected


def test_an_irregular_plural_is_given():
    assert plural(1, "study", "studies") == "1 study"
    assert plural(3, "study", "studies") == "3 studies"


def test_a_path_under_the_working_directory_reads_relative_to_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "docs" / "a.toml") == "docs/a.toml"
    assert shown_path("docs/a.toml") == "docs/a.toml"
    assert shown_path("/elsewhere/a.toml") == "/elsewhere/a.toml"
