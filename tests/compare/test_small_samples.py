"""A comparison of few seeds says what it can: the Wilcoxon floor counts the pairs the test
ranks (ties dropped), the CI columns name their method, and counts read "1 seed", not
"1 seeds"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from scipy import stats as scipy_stats

from hpsearch.compare import comparison as compare_module
from hpsearch.compare.markdown import cards_section, compare_markdown
from hpsearch.compare.model import (
    ArmResult,
    CompareReport,
    Comparison,
    ConfigResult,
    Cost,
    SeedRun,
    Summary,
)
from hpsearch.compare.stats import wilcoxon_floor, wilcoxon_pairs
from hpsearch.compare.tables import (
    cards_rows,
    cards_title,
    config_title,
    cost_title,
    paired_rows,
    wilcoxon_note,
)


def config(arm: str, f1s: list[float]) -> ConfigResult:
    runs = tuple(SeedRun(seed=i, trial=i, value=v, metrics={"f1": v}) for i, v in enumerate(f1s))
    return ConfigResult(
        arm=arm,
        role="baseline" if arm == "AdamW" else "study",
        study=arm.lower(),
        metric="f1",
        optimizer="adamw" if arm == "AdamW" else "mfac",
        trial=0,
        params={},
        search_value=None,
        reseed_study=f"{arm.lower()}-reseed",
        seeds=tuple(range(len(f1s))),
        runs=runs,
        summary={"f1": Summary(len(f1s), sum(f1s) / len(f1s), None, max(f1s), min(f1s))},
        best_run=runs[0],
    )


def arm(c: ConfigResult) -> ArmResult:
    return ArmResult(
        name=c.arm,
        study=c.study,
        study_file=f"{c.study}.toml",
        optimizer=c.optimizer,
        baseline=c.role == "baseline",
        finished=1,
        judged=(0,),
        cut=(),
        best_trial=0,
        summary=c.summary,
        best_run=c.best_run,
    )


def cost(name: str, runs: int) -> Cost:
    return Cost(name, runs, None, None, None, None, None, None, "", None, None, 0, ())


def comparison(base: list[float], other: list[float], **fields: Any) -> Comparison:
    """AdamW (the baseline) and M-FAC over ``len(base)`` seeds, tuned with one trial each."""
    configs = (config("AdamW", base), config("M-FAC", other))
    paired = compare_module._pair("M-FAC", "f1", configs[1], configs[0])
    values: dict[str, Any] = {
        "metric": "f1",
        "direction": "maximize",
        "metrics": ("f1",),
        "baseline": "AdamW",
        "seeds": tuple(range(len(base))),
        "top": 1,
        "budget": 1,
        "budget_requested": None,
        "arms": tuple(arm(c) for c in configs),
        "space": (),
        "warnings": (),
        "curves": (),
        "curve_resamples": 1_000,
        "curve_band": (0.05, 0.95),
        "resamples": 0,
        "ci_level": 0.95,
        "paired": (paired,),
        "target": 0.5,
        "target_source": "--target",
        "costs": (cost("AdamW", len(base)), cost("M-FAC", len(base))),
        "configs": configs,
        "notes": (),
        "ci_method": "paired t",
    }
    return Comparison(**{**values, **fields})


# ---- the Wilcoxon floor ------------------------------------------------------------------


def test_the_wilcoxon_floor_counts_the_pairs_left_once_ties_are_dropped():
    """5 seeds of which 2 tie: scipy ranks 3 pairs, so its smallest p is 2 / 2**3, not
    2 / 2**5 (which would promise a p it cannot give)."""
    base = [0.50, 0.60, 0.55, 0.70, 0.65]
    other = [0.52, 0.61, 0.57, 0.70, 0.65]  # the last two seeds tie
    paired = compare_module._pair("M-FAC", "f1", config("M-FAC", other), config("AdamW", base))
    assert wilcoxon_pairs(paired.differences) == 3
    assert paired.wilcoxon_floor == wilcoxon_floor(3) == 0.25
    # Every ranked difference of one sign: the smallest p scipy gives these pairs.
    assert scipy_stats.wilcoxon(other, base).pvalue == pytest.approx(paired.wilcoxon_floor)
    assert paired.wilcoxon.p == pytest.approx(0.25)


def test_the_wilcoxon_note_names_the_pairs_that_differ():
    comp = comparison([0.50, 0.60, 0.55, 0.70, 0.65], [0.52, 0.61, 0.57, 0.70, 0.65])
    note = wilcoxon_note(comp)
    assert note is not None
    assert note.startswith(
        "With 3 pairs (M-FAC − AdamW, F1: 5 seeds, 2 ties dropped) the exact "
        "Wilcoxon signed-rank test cannot give a two-sided p below 0.25 (2 / 2^3,"
    )
    # Six seeds that all differ: the test can reach p < 0.05, nothing to say.
    assert wilcoxon_note(comparison([0.5] * 6, [0.51, 0.52, 0.53, 0.54, 0.55, 0.56])) is None


def test_one_pair_reads_as_one_pair():
    comp = comparison([0.50, 0.60], [0.52, 0.60])  # 2 seeds, 1 tie
    note = wilcoxon_note(comp)
    assert note is not None
    assert note.startswith("With 1 pair (M-FAC − AdamW, F1: 2 seeds, 1 tie dropped) the exact")


# ---- the CI's method -----------------------------------------------------------------------


def test_the_ci_columns_and_the_note_name_the_paired_t_interval():
    comp = comparison([0.50, 0.60, 0.55], [0.52, 0.61, 0.50])
    assert "Δ F1 [95% CI (paired t)]" in cards_rows(comp).header
    assert "mean diff [95% CI (paired t)]" in paired_rows(comp).header
    text = "\n".join(cards_section(comp))
    assert "with its 95% paired t-interval (mean ± t · sd / √n of the differences" in text
    assert "resamples" not in text
    p = comp.paired[0]
    assert p.ci_low is not None and p.ci_high is not None
    assert p.ci_low < 0 < p.ci_high  # -1.33 ± 4.30 · 3.79 / √3, in points


def test_a_comparison_read_from_an_older_file_keeps_its_bootstrap_label():
    """compare.json written before ci_method: its CIs were percentile bootstraps."""
    comp = comparison([0.50, 0.60, 0.55], [0.52, 0.61, 0.50], resamples=10_000)
    data = CompareReport(1, "now", "old", (), comp).to_dict()
    del data["comparison"]["ci_method"]
    old = CompareReport.from_dict(data).comparison
    assert old.ci_method == "bootstrap"
    assert "Δ F1 [95% CI (bootstrap)]" in cards_rows(old).header
    assert "its 95% bootstrap CI (10,000 resamples, seeded)" in "\n".join(cards_section(old))


# ---- counts ------------------------------------------------------------------------------


def test_counts_of_one_read_in_the_singular():
    comp = comparison([0.5], [0.52])
    assert cards_title(comp).endswith("over 1 paired seed, each arm tuned with 1 trial")
    assert cards_title(replace(comp, arms=comp.arms[:1])).endswith(
        "over 1 seed, tuned with 1 trial"
    )
    assert config_title(comp) == "top 1 config of each arm over 1 seed"
    assert cost_title(comp).startswith("cost per run (medians over 1 seed)")
    text = compare_markdown(CompareReport(1, "now", "one", (), comp))
    assert "Top 1 config of each arm re-run with 1 shared seed." in text
    assert "## Cost per run: medians over 1 seed\n" in text
    assert "1 seeds" not in text and "config(s)" not in text


def test_counts_of_several_read_in_the_plural():
    comp = comparison([0.5, 0.6, 0.55], [0.52, 0.61, 0.5], top=2, budget=4)
    assert cards_title(comp).endswith("over 3 paired seeds, each arm tuned with 4 trials")
    assert config_title(comp) == "top 2 configs of each arm over 3 seeds"
