"""The suite's summary from its workloads' comparisons: Holm's correction across the
workloads, no verdict where compare gives none, and the profiles read from each comparison's
cost and metric."""

from __future__ import annotations

import pytest

from hpsearch.compare.comparison import build_comparison
from hpsearch.compare.suite.summary import WorkloadResult, build_summary, with_holm
from tests.compare.suite.summaries import INFO, line, workload
from tests.trials import plan_of, tuned


def test_holm_corrects_every_verdict_of_the_suite_together():
    """Four verdicts with a p (M-FAC on w1, w2, w4; SGD on w1), one without (w3: M-FAC
    never learned). Holm by hand over m = 4, sorted ascending, the i-th (from 0) × (4 − i),
    kept non-decreasing:
        0.01 (w1 M-FAC) × 4 = 0.04
        0.02 (w1 SGD)   × 3 = 0.06
        0.03 (w4 M-FAC) × 2 = 0.06
        0.04 (w2 M-FAC) × 1 = 0.04 → 0.06 (never below the one before)
    The baselines and w3 get none."""
    rows = [
        workload("w1", line("AdamW", baseline=True), line("M-FAC", 0.01), line("SGD", 0.02)),
        workload("w2", line("AdamW", baseline=True), line("M-FAC", 0.04)),
        workload("w3", line("AdamW", baseline=True), line("M-FAC", why="never learned")),
        workload("w4", line("AdamW", baseline=True), line("M-FAC", 0.03)),
    ]
    out, family = with_holm(rows)
    assert family == 4
    holm = {(w.name, a.arm): a.p_holm for w in out for a in w.arms}
    assert holm == pytest.approx(
        {
            ("w1", "AdamW"): None,
            ("w1", "M-FAC"): 0.04,
            ("w1", "SGD"): 0.06,
            ("w2", "AdamW"): None,
            ("w2", "M-FAC"): 0.06,
            ("w3", "AdamW"): None,
            ("w3", "M-FAC"): None,
            ("w4", "AdamW"): None,
            ("w4", "M-FAC"): 0.06,
        }
    )
    # The raw p stays beside it.
    assert [a.p for a in out[0].arms] == [None, 0.01, 0.02]


def test_the_summary_reads_verdicts_cost_and_profiles_from_each_comparison(
    pair, quora_study, stand_in
):
    """Two workloads: on "learned" both arms learn; on "flat" every re-run of M-FAC's best
    config answered one class, so compare gives it no verdict, and neither does the
    summary; its final metric counts as ∞ in the metric's profile."""
    adam, mfac = pair()
    learned = build_comparison(plan_of(adam, mfac), seeds=2)
    flat_adam = quora_study("flat-adam", set=["optimizer.kind=adamw"])
    flat_mfac = quora_study("flat-mfac", set=["optimizer.kind=mfac", "optimizer.num_grads=4"])
    tuned(flat_adam, [0.6, 0.7, 0.5])
    tuned(flat_mfac, [0.62, 0.71, 0.66])
    stand_in.collapsed = {"mfac"}
    flat = build_comparison(plan_of(flat_adam, flat_mfac), seeds=2)
    results = [
        WorkloadResult("learned", learned, "learned/compare.md", {"AdamW": 30.0, "M-FAC": 45.0}),
        WorkloadResult("flat", flat, "flat/compare.md", {"AdamW": 30.0, "M-FAC": None}),
    ]
    summary = build_summary(INFO, results, "2026-01-01T00:00:00+00:00")
    first, second = summary.workloads
    base, arm = first.arms
    assert base.baseline and base.delta is None and base.no_verdict is None
    paired = learned.paired_test("M-FAC", "f1")
    assert (arm.delta, arm.ci_low, arm.p) == (paired.mean, paired.ci_low, paired.t_test.p)
    flat_arm = second.arms[1]
    assert flat_arm.no_verdict == "never learned: no verdict"
    assert (flat_arm.delta, flat_arm.ci_low, flat_arm.p, flat_arm.p_holm) == (None,) * 4
    # Compute: the judged trials' seconds given; the stand-in's re-runs time nothing.
    assert (arm.tuning_seconds, arm.rerun_seconds, arm.compute_seconds) == (45.0, None, 45.0)
    assert second.arms[1].compute_seconds is None
    assert [p.basis for p in summary.profiles] == ["seconds", "steps", "metric"]
    seconds, _, metric = summary.profiles
    assert seconds.workloads == ("learned", "flat")
    costs = [c.cost("M-FAC").target_seconds for c in (learned, flat)]
    assert seconds.arms[1].costs == tuple(costs)
    distances = [1 - learned.arm(a).summary["f1"].mean for a in ("AdamW", "M-FAC")]
    assert metric.arms[0].costs[0] == pytest.approx(distances[0])
    assert metric.arms[1].costs[0] == pytest.approx(distances[1])
    assert metric.arms[1].costs[1] is None and metric.arms[1].ratios[1] is None  # ∞
    assert summary.notes == ()
