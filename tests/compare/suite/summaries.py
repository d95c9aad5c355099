"""A suite summary's parts with made-up numbers, for the tests that read a summary: its
arms' lines and workloads, where only the verdict fields matter."""

from __future__ import annotations

from hpsearch.compare.model import Cost, Summary
from hpsearch.compare.suite.model import ArmLine, SuiteInfo, WorkloadSummary

INFO = SuiteInfo("cards", "/x/suite.toml", "journal:////x/suite.log", 3, 1, "trials", 4.0)
COST = Cost("M-FAC", 3, 0.1, None, None, None, None, None, "not measured", None, None, 0, ())


def line(arm: str, p: float | None = None, *, baseline: bool = False, why: str | None = None):
    """An arm's line with made-up numbers: only its p and verdict matter here."""
    return ArmLine(
        arm=arm,
        baseline=baseline,
        summary=Summary(n=3, mean=0.8, std=0.01, best=0.81, worst=0.79),
        delta=None if p is None else 0.01,
        ci_low=None,
        ci_high=None,
        p=p,
        p_holm=None,
        no_verdict=why,
        cost=COST,
        tuning_seconds=None,
        rerun_seconds=None,
        compute_seconds=None,
    )


def workload(name: str, *arms: ArmLine) -> WorkloadSummary:
    return WorkloadSummary(name, "f1", "maximize", "AdamW", 3, 4, 0.7, "x", "", arms)
