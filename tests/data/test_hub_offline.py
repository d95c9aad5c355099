"""A hub model where the hub cannot be reached: one line and the local cache at once, not
half a minute of retries per file with doubled warnings."""

from __future__ import annotations

import logging
import os

import pytest
from huggingface_hub import constants

from hpsearch.data import pretrained
from hpsearch.data.pretrained import ModelLoadError, load_tokenizer, resolve_model

NOT_CACHED = "hpsearch-tests/no-such-model"  # a hub id no cache holds


@pytest.fixture
def unreachable(monkeypatch):
    """The hub cannot be reached, and offline mode is not set yet (both restored after)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # what the test sets is undone after it
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(pretrained, "hub_reachable", lambda: False)


def test_an_unreachable_hub_turns_offline_mode_on_once(unreachable, caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_model(NOT_CACHED) == NOT_CACHED
        resolve_model(NOT_CACHED)  # the tokenizer, then the model: said once
    assert constants.HF_HUB_OFFLINE
    said = [r.getMessage() for r in caplog.records if r.name == "hpsearch.data.pretrained"]
    assert len(said) == 1 and "cannot be reached" in said[0] and "HF_HUB_OFFLINE=1" in said[0]
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # the workers this run starts inherit it


def test_a_model_not_in_the_cache_fails_at_once_without_retries(unreachable, caplog):
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelLoadError, match=NOT_CACHED):
        load_tokenizer(NOT_CACHED)
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]


def test_a_local_model_or_set_offline_mode_is_never_checked(monkeypatch, tmp_path):
    def checked():
        raise AssertionError("the hub was checked")

    monkeypatch.setattr(pretrained, "hub_reachable", checked)
    resolve_model(str(tmp_path))  # a folder: nothing to fetch
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    resolve_model(NOT_CACHED)  # offline mode already: no check
