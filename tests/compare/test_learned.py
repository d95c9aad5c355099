"""A one-class trial never guides the comparison as a success (issue 30, part 6): Optuna's
best trial, the leaderboard's first row and the config compare judges are the same
learning trial; an arm that never learned within its space gets no verdict (no Δ, CI or
p-value), in the terminal, compare.md, compare.csv, compare.json and report, and is pointed
to ``hpsearch calibrate``; an arm that learned on some seeds keeps its Δ."""

from __future__ import annotations

import csv

import optuna
import pytest

from hpsearch.compare.comparison import build_comparison
from hpsearch.search.leaderboard import leaderboard_rows
from hpsearch.spec.load import load_spec
from tests.trials import CHANCE_F1, comparison_of, plan_of, tuned

ALL = {0: CHANCE_F1, 1: CHANCE_F1, 2: CHANCE_F1}  # every trial answered one class


@pytest.fixture
def studies(quora_study):
    """``studies(adam=..., mfac=...)``: AdamW and M-FAC study files, 3 trials each (F1
    0.6, 0.7, 0.5 and 0.62, 0.71, 0.66), tuned with the keyword arguments of
    :func:`tests.trials.tuned` (``values``, ``at_chance``); M-FAC's baseline is AdamW's
    file, for ``report``."""

    def make(adam: dict | None = None, mfac: dict | None = None):
        a = quora_study("adam", set=["optimizer.kind=adamw"])
        m = quora_study(
            "mfac",
            set=["optimizer.kind=mfac", "optimizer.num_grads=4", "study.baseline=adam.toml"],
        )
        tuned(a, **{"values": [0.6, 0.7, 0.5], **(adam or {})})
        tuned(m, **{"values": [0.62, 0.71, 0.66], **(mfac or {})})
        return a, m

    return make


def test_optuna_the_leaderboard_and_compare_agree_on_the_best(studies, stand_in):
    """M-FAC's trial 2 answered "duplicate" everywhere: the highest F1 measured (0.75), at
    chance (0.46) for Optuna. Its trial 1 (0.71), which learned, is the best everywhere."""
    adam, mfac = studies(mfac={"values": [0.62, 0.71, 0.75], "at_chance": {2: CHANCE_F1}})
    study = optuna.load_study(study_name="mfac", storage=load_spec(mfac).study.storage)
    assert study.best_trial.number == 1
    first = leaderboard_rows(study, "f1")[0]
    assert (first.trial, first.value, first.one_class) == (1, 0.71, False)
    comp = build_comparison(plan_of(adam, mfac), seeds=2)
    assert comp.arm("M-FAC").best_trial == 1
    assert [c.trial for c in comp.configs if c.arm == "M-FAC"] == [1]


@pytest.mark.parametrize(
    ("judged", "seeds", "never"),
    [
        (True, True, ("every judged trial", "every seed re-run")),
        (True, False, ("every judged trial",)),
        (False, True, ("every seed re-run",)),
    ],
)
def test_an_arm_that_never_learned_gets_no_verdict(studies, stand_in, cli, judged, seeds, never):
    """On a task nobody tuned on, every M-FAC trial and re-run answered one class: compare
    says that M-FAC never learned within its space, and where, instead of a Δ."""
    adam, mfac = studies(mfac={"at_chance": ALL} if judged else None)
    stand_in.collapsed = {"mfac"} if seeds else set()
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "3")
    assert code == 0, err
    folder = adam.parent / "results" / "adam-vs-mfac"
    comp = comparison_of(folder)
    assert comp.arm("M-FAC").never_learned == never and comp.arm("AdamW").never_learned == ()
    assert comp.paired == () and comp.paired_test("M-FAC", "f1") is None
    calibrate = f"hpsearch calibrate {mfac}"
    (line,) = [n for n in comp.notes if n.startswith("M-FAC never learned within its space")]
    assert ("every judged trial (3)" in line) is judged
    best = 0 if judged else 1  # every trial at chance: the first; else the best, 0.71
    assert (f"its best config (trial {best}) re-run on every seed (3 seeds)" in line) is seeds
    assert "No verdict" in line and line.endswith(calibrate)
    text = " ".join(out.split())
    assert "never learned: no verdict" in text and calibrate in text
    md = (folder / "compare.md").read_text()
    row = next(r for r in md.splitlines() if r.startswith(f"| M-FAC (mfac, trial {best})"))
    assert "| never learned: no verdict |  |  |  |" in row
    assert "## Paired seeds" not in md and calibrate in md
    rows = {r["arm"]: r for r in csv.DictReader((folder / "compare.csv").open())}
    assert rows["M-FAC"]["never_learned"] == "; ".join(never)
    assert rows["M-FAC"]["diff_mean"] == rows["M-FAC"]["paired_t_p"] == ""
    # report shares compare's model: the same verdict, or none
    code, out, err = cli("report", str(mfac), "--seeds", "3")
    assert code == 0, err
    report = (mfac.parent / "results" / "mfac" / "report.md").read_text()
    assert "never learned: no verdict" in report and calibrate in report
    assert "## Paired seeds" not in report


def test_no_arm_gets_a_verdict_against_a_baseline_that_never_learned(studies, stand_in):
    adam, mfac = studies(adam={"at_chance": ALL})
    stand_in.collapsed = {"adamw"}
    comp = build_comparison(plan_of(adam, mfac), seeds=2)
    assert comp.arm("AdamW").never_learned == ("every judged trial", "every seed re-run")
    assert comp.paired == () and comp.no_verdict("M-FAC") == comp.arm("AdamW")
    (line,) = [n for n in comp.notes if "never learned within its space" in n]
    assert line.startswith("AdamW never learned") and "no arm gets them against it" in line
    from hpsearch.compare.tables import cards_rows

    _, (adam_row, mfac_row) = cards_rows(comp)
    assert "baseline, never learned: no verdict" in adam_row
    assert "no verdict: AdamW never learned" in mfac_row


def test_an_arm_that_learned_on_some_seeds_and_trials_keeps_its_verdict(studies, stand_in):
    """One judged trial and seed 0 of every arm answered one class: each arm learned
    elsewhere, so M-FAC gets its Δ and tests as before."""
    adam, mfac = studies(mfac={"at_chance": {0: CHANCE_F1}})
    stand_in.collapsed = {0}
    comp = build_comparison(plan_of(adam, mfac), seeds=3)
    assert [a.never_learned for a in comp.arms] == [(), ()]
    paired = comp.paired_test("M-FAC", "f1")
    assert paired is not None and paired.differences == pytest.approx((0.0, 0.02, 0.02))
    assert not any("never learned" in n for n in comp.notes)


def test_re_runs_of_a_regression_head_that_predicted_one_value_learned_nothing():
    """On STS, a head that scores every pair alike has Pearson 0 (its correlation is
    undefined): as a classifier at one class, it learned nothing."""
    from hpsearch.compare.learned import learned_nothing
    from hpsearch.search.record import SeedRun

    def run(seed: int, pearson: float) -> SeedRun:
        return SeedRun(seed, seed, pearson, {"pearson": pearson, "loss": 2.0})

    assert learned_nothing([run(0, 0.0), run(1, 0.0)])
    assert not learned_nothing([run(0, 0.0), run(1, 0.41)])
