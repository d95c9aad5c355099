"""Fixtures of the comparison's tests: two arms tuned as ``run`` leaves them (``pair``) and
the stand-in objective that follows its settings (``stand_in``)."""

from __future__ import annotations

import pytest

from hpsearch.compare import comparison as compare_module
from hpsearch.report import build as report_build
from hpsearch.search import reseed as reseed_module
from tests.fakes import NoData, StandIn
from tests.trials import tuned


@pytest.fixture
def pair(quora_study):
    """Two tuned arms, ``adam`` (AdamW) and ``mfac`` (M-FAC), 3 trials each, at 1 epoch;
    their best trial is trial 1 (lr 2e-4). ``pair(**kwargs)``: their study files."""

    def make(adam: dict | None = None, mfac: dict | None = None, set: tuple[str, ...] = ()):
        a = quora_study("adam", set=["optimizer.kind=adamw", *set])
        m = quora_study("mfac", set=["optimizer.kind=mfac", "optimizer.num_grads=4", *set])
        tuned(a, [0.6, 0.7, 0.5], **(adam or {}))
        tuned(m, [0.62, 0.71, 0.66], **(mfac or {}))
        return a, m

    return make


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(reseed_module, "Objective", StandIn)
    monkeypatch.setattr(compare_module, "DataCache", NoData)
    monkeypatch.setattr(report_build, "DataCache", NoData)
    StandIn.calls = []
    StandIn.one_class_first = set()
    StandIn.collapsed = set()
    StandIn.diverged = set()
    StandIn.precision = {}
    StandIn.stop_at = None
    return StandIn
