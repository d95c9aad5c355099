"""The whole comparison with the stand-in objective of the re-runs (``fake_objective``,
``tests/fakes.py``), which trains nothing: the seed and the config decide every number, so
what ran, with which seed, is visible. The files and their numbers, a second call that
runs nothing, more seeds later, and Holm's adjustment over more than two arms.
"""

from __future__ import annotations

import json

import pytest

from hpsearch.compare import comparison as compare_module
from hpsearch.compare.model import CompareReport
from hpsearch.compare.stats import holm
from tests.trials import plan_of


def test_compare_writes_its_files_and_a_second_call_runs_nothing(
    arms, tmp_path, fake_objective, cli
):
    adam = arms("adam", "adamw", [0.6, 0.7, 0.5, 0.65])  # best: trial 1, lr 2e-4
    mfac = arms("mfac", "mfac", [0.62, 0.71, 0.66])  # best: trial 1, lr 2e-4
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "3")
    assert code == 0, err
    # Before any re-run: the spaces, and the budget cut.
    assert out.index("search spaces") < out.index("M-FAC against AdamW")
    assert "AdamW: judged on its first 3 of 4 finished trials" in out
    # One shared seed list, from the baseline's train.seed: the same in every arm.
    assert sorted(fake_objective.calls) == [
        (kind, pytest.approx(2e-4), s) for kind in ("adamw", "mfac") for s in (0, 1, 2)
    ]
    folder = tmp_path / "results" / "adam-vs-mfac"
    names = {p.name for p in folder.iterdir()}
    assert {"compare.md", "compare.csv", "compare.json", "tuning.png", "seeds.png"} <= names
    assert {"seconds.png", "steps.png"} <= names
    data = json.loads((folder / "compare.json").read_text())
    comp = CompareReport.from_dict(data).comparison
    assert comp.budget == 3 and comp.seeds == (0, 1, 2) and comp.baseline == "AdamW"
    (f1,) = [p for p in comp.paired if p.metric == "f1"]
    assert f1.differences == pytest.approx((0.02, 0.02, 0.02))  # M-FAC's +0.02, seed by seed
    assert f1.wilcoxon_floor == 0.25
    assert comp.target == pytest.approx(0.5 + 0.02 + 0.01)  # AdamW's median best
    adam_cost, mfac_cost = comp.costs
    # AdamW's seed 0 never reaches 0.53, seeds 1 and 2 at their second evaluation; M-FAC's
    # seeds 1 and 2 at their first: half the steps, each twice as long.
    assert [t.steps for t in adam_cost.to_target] == [None, 20, 20]
    assert [t.steps for t in mfac_cost.to_target] == [20, 10, 10]
    assert (adam_cost.target_steps, mfac_cost.target_steps) == (20, 10)
    assert (adam_cost.target_seconds, mfac_cost.target_seconds) == pytest.approx((2.0, 2.0))
    assert (adam_cost.reached, mfac_cost.reached) == (2, 3)
    assert (adam_cost.optimizer_state_bytes, mfac_cost.optimizer_state_bytes) == (800, 4000)
    text = (folder / "compare.md").read_text()
    assert "| AdamW (adam, trial 1) | 53.00 ± 1.00 |" in text
    assert "+2.00 [+2.00, +2.00]" in text  # Δ F1 ×100 with its CI
    assert "cannot reach p < 0.05 below 6 pairs" in text
    assert "TPE" in text and "not independent draws" in text
    csv = (folder / "compare.csv").read_text().splitlines()
    assert csv[0].startswith("arm,study,optimizer,baseline") and len(csv) == 3
    # A second call runs nothing new and writes the same numbers.
    fake_objective.calls = []
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "3")
    assert code == 0, err and fake_objective.calls == []
    assert fake_objective.calls == []
    again = json.loads((folder / "compare.json").read_text())
    assert again["comparison"] == data["comparison"]
    # More seeds later: only the new ones run.
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "4")
    assert code == 0, err
    assert sorted(fake_objective.calls) == [
        ("adamw", pytest.approx(2e-4), 3),
        ("mfac", pytest.approx(2e-4), 3),
    ]


def test_holm_with_more_than_two_arms(arms, tmp_path, fake_objective):
    adam = arms("adam", "adamw", [0.6, 0.7])
    mfac = arms("mfac", "mfac", [0.62, 0.71])
    other = arms("mfac-b", "mfac", [0.7, 0.6])
    plan = plan_of(adam, mfac, other)
    assert [a.name for a in plan.arms] == ["AdamW", "mfac", "mfac-b"]
    comp = compare_module.build_comparison(plan, seeds=3)
    f1 = [p for p in comp.paired if p.metric == "f1"]
    assert [p.arm for p in f1] == ["mfac", "mfac-b"]
    expected = holm([p.t_test.p for p in f1])
    assert [p.t_test.p_holm for p in f1] == expected
