"""``hpsearch compare`` and what it shares with ``report``: equal budgets (also for a study
that searches optimizer.kind), the space warnings, tuning curves, the paired statistics,
time-to-target, bad input that writes nothing, and re-runs that survive a killed process.

The studies are small Quora study files (``quora_study``) whose trials are added directly,
and the re-runs go through a stand-in objective that trains nothing: the seed and the
config decide every number, so what ran, with which seed, is visible. The one test that
trains is the last: two arms of two trials on tiny Quora settings, through the CLI.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial
from scipy import stats as scipy_stats

from hpsearch.compare import comparison as compare_module
from hpsearch.compare.arms import CompareError, plan_comparison, source
from hpsearch.compare.cost import arm_cost, time_to_target
from hpsearch.compare.curves import expected_best, table_ks, tuning_curve
from hpsearch.compare.model import CompareReport, EvalPoint, RunCost, SeedRun
from hpsearch.compare.spaces import space_rows, space_warnings
from hpsearch.compare.stats import (
    bootstrap_ci,
    effect_size,
    holm,
    paired_t,
    welch,
    wilcoxon,
    wilcoxon_floor,
)
from hpsearch.compare.tables import hardware_note
from hpsearch.data.encode import DataCache
from hpsearch.search import reseed as reseed_module
from hpsearch.search.leaderboard import leaderboard_rows
from hpsearch.search.liveness import BEAT_ATTR
from hpsearch.search.progress import Wait
from hpsearch.search.reseed import reseed, reseed_name
from hpsearch.spec.load import load_spec
from hpsearch.spec.suggest import suggest
from hpsearch.train.vocab import used_tokens

LR = FloatDistribution(5e-5, 5e-3, log=True)
KINDS = CategoricalDistribution(["adamw", "mfac"])


# ---- studies with made-up trials -------------------------------------------------------------


def add_trials(path: Path, trials: list[tuple[str, float, dict]]) -> optuna.Study:
    """Give the study of ``path`` finished trials without training: (state, value, params);
    a pruned trial reports ``value`` at its one evaluation, a failed one nothing."""
    spec = load_spec(path)
    study = optuna.create_study(
        study_name=spec.study.name,
        storage=spec.study.storage,
        direction=spec.direction,
        load_if_exists=True,
    )
    for state, value, params in trials:
        dists = {k: KINDS if k == "optimizer.kind" else LR for k in params}
        if state == "complete":
            trial = create_trial(params=params, distributions=dists, value=value)
        else:
            trial = create_trial(
                params=params,
                distributions=dists,
                state=TrialState.PRUNED if state == "pruned" else TrialState.FAIL,
                intermediate_values={0: value} if state == "pruned" else {},
                user_attrs={"evals": [{"index": 0, "metrics": {spec.metric: value}}]}
                if state == "pruned"
                else {},
            )
        study.add_trial(trial)
    return study


def lr_trials(*values: float, pruned: tuple[int, ...] = ()) -> list[tuple[str, float, dict]]:
    """Trials whose lr is 1e-4 × (i + 1), complete unless their index is in ``pruned``."""
    return [
        ("pruned" if i in pruned else "complete", v, {"train.lr": 1e-4 * (i + 1)})
        for i, v in enumerate(values)
    ]


@pytest.fixture
def arms(quora_study):
    """``arms(name, kind, values, set=...)``: a study file with made-up finished trials."""

    def make(name, kind, values, pruned=(), set=()):
        extra = [f"optimizer.kind={kind}", *set]
        if kind == "mfac":
            extra.append("optimizer.num_grads=4")
        path = quora_study(name, set=extra)
        add_trials(path, lr_trials(*values, pruned=pruned))
        return path

    return make


def plan_of(*paths: Path, **kwargs):
    return plan_comparison([source(load_spec(p)) for p in paths], **kwargs)


# ---- the stand-in objective of the re-runs -------------------------------------------------


class FakeObjective:
    """Stands in for hpsearch.search.objective.Objective in the re-runs: suggests as it does,
    trains nothing. F1 = 0.5 + 100 × lr + seed / 100 (+ 0.02 for M-FAC) at the second of
    two evaluations (0.015 less at the first); M-FAC takes twice the time per step and keeps
    more state."""

    calls: ClassVar[list[tuple[str, float, int]]] = []  # (kind, lr, seed) of each run

    def __init__(self, spec, cache, progress=None):
        self.spec = spec

    def __call__(self, trial: optuna.Trial) -> float:
        (seed,) = suggest(trial, self.spec).values()
        kind, lr = self.spec.optimizer.kind, self.spec.train.lr
        FakeObjective.calls.append((kind, lr, seed))
        mfac = kind == "mfac"
        f1 = 0.5 + 100 * lr + seed / 100 + (0.02 if mfac else 0.0)
        per_step = 0.2 if mfac else 0.1
        evals = [
            {"step": step, "train_seconds": step * per_step, "metrics": {"f1": v}}
            for step, v in ((10, f1 - 0.015), (20, f1))
        ]
        attrs = {
            "metrics": {"f1": f1, "accuracy": f1 + 0.1, "loss": 1 - f1},
            "evals": evals,
            "steps": 20,
            "train_seconds": 20 * per_step,
            "seconds_per_step": per_step,
            "samples_per_s": 32 / per_step,
            "wall_time": 30 * per_step,
            "optimizer_state_bytes": 4000 if mfac else 800,
            "peak_memory_bytes": 10**9,
            "peak_memory": "process peak RSS (CPU; the whole process so far)",
        }
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return f1


class NoData:
    def encoded_tasks(self, spec):  # the stand-in trains nothing: no data to load
        return None


@pytest.fixture
def fake_objective(monkeypatch):
    monkeypatch.setattr(reseed_module, "Objective", FakeObjective)
    monkeypatch.setattr(compare_module, "DataCache", NoData)
    FakeObjective.calls = []
    return FakeObjective


# ---- equal budgets ----------------------------------------------------------------------------


def test_every_arm_is_judged_on_the_smallest_arms_first_trials(arms):
    adam = arms("adam", "adamw", [0.6, 0.7, 0.5, 0.9, 0.8], pruned=(2,))
    mfac = arms("mfac", "mfac", [0.65, 0.75, 0.6])
    add_trials(adam, [("failed", 0.0, {"train.lr": 1e-3})])  # failed: not finished

    plan = plan_of(adam, mfac)
    assert [a.name for a in plan.arms] == ["AdamW", "M-FAC"] and plan.budget == 3
    adam_arm, mfac_arm = plan.arms
    assert [t.number for t in adam_arm.judged] == [0, 1, 2]  # the first 3 by number
    assert [t.number for t in adam_arm.cut] == [3, 4] and mfac_arm.cut == ()
    assert "AdamW: judged on its first 3 of 5 finished trials; the budget cut 2 trials (3, 4)" in (
        plan.notes
    )

    fewer = plan_of(adam, mfac, budget=2)
    assert fewer.budget == 2 and [len(a.cut) for a in fewer.arms] == [3, 1]
    more = plan_of(adam, mfac, budget=10)
    assert more.budget == 3 and any("--budget 10 is more than" in n for n in more.notes)
    assert plan_of(adam, mfac, baseline="M-FAC").baseline.name == "M-FAC"


def test_a_study_that_searches_optimizer_kind_gives_an_arm_per_kind(quora_study):
    path = quora_study("mixed", set=["space.optimizer.kind={ choices = ['adamw', 'mfac'] }"])
    trials = [
        ("complete", 0.5 + i / 100, {"optimizer.kind": "adamw", "train.lr": 1e-4}) for i in range(5)
    ]
    trials[1] = ("complete", 0.7, {"optimizer.kind": "mfac", "train.lr": 1e-3})
    trials += [("pruned", 0.4, {"optimizer.kind": "mfac", "train.lr": 2e-3})]
    trials += [("complete", 0.6, {"optimizer.kind": "mfac", "train.lr": 3e-3})]
    add_trials(path, trials)  # AdamW: trials 0, 2, 3, 4; M-FAC: 1, 5 (pruned), 6

    plan = plan_of(path)
    assert [(a.name, a.kind) for a in plan.arms] == [("AdamW", "adamw"), ("M-FAC", "mfac")]
    assert plan.budget == 3
    assert [t.number for t in plan.arms[0].judged] == [0, 2, 3]
    assert [t.number for t in plan.arms[1].judged] == [1, 5, 6]
    assert "AdamW: judged on its first 3 of 4 finished trials; the budget cut 1 trial (4)" in (
        plan.notes
    )
    assert any("'mixed' searches optimizer.kind" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("mfac", "why"),
    [
        ([("pruned", 0.4), ("pruned", 0.3)], "trials of study 'mixed' have no complete trial"),
        ([("complete", 0.7)], "have 1 finished trial"),
        ([("pruned", 0.4), ("pruned", 0.3), ("complete", 0.7)], "M-FAC: its first 2 finished"),
    ],
)
def test_a_kind_of_a_study_that_cannot_be_judged_is_left_out_with_a_note(quora_study, mfac, why):
    """The sampler decides how often a kind is tried: a kind without a config to re-run is
    left out, said in the notes, and the other kinds are judged (the multitask case study's
    M-FAC trials were all pruned, and its report refused to run)."""
    path = quora_study("mixed", set=["space.optimizer.kind={ choices = ['adamw', 'mfac'] }"])
    adam = [
        ("complete", 0.5 + i / 100, {"optimizer.kind": "adamw", "train.lr": 1e-4}) for i in (0, 1)
    ]
    add_trials(path, adam + [(s, v, {"optimizer.kind": "mfac", "train.lr": 1e-3}) for s, v in mfac])
    plan = plan_of(path)
    assert [a.name for a in plan.arms] == ["AdamW"] and plan.budget == 2
    (note,) = [n for n in plan.notes if n.startswith("left out")]
    assert why in note
    with pytest.raises(CompareError, match="--baseline 'M-FAC' cannot be judged"):
        plan_of(path, baseline="M-FAC")


def test_a_study_file_of_its_own_that_cannot_be_judged_is_an_error(arms):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms("mfac", "mfac", [0.5, 0.4], pruned=(0, 1))
    with pytest.raises(CompareError, match="study 'mfac' has no complete trial"):
        plan_of(adam, mfac)


def test_trials_and_re_runs_that_answered_one_class_are_noted(arms):
    from hpsearch.compare.comparison import one_class_notes

    adam = arms("adam", "adamw", [0.5, 0.6])
    study = optuna.load_study(study_name="adam", storage=load_spec(adam).study.storage)
    flat = "one class: the classifier predicted the same class for every validation example"
    study.add_trial(
        create_trial(
            params={"train.lr": 3e-4},
            distributions={"train.lr": LR},
            value=0.61,
            user_attrs={"one_class": flat},
        )
    )
    plan = plan_of(adam)
    runs = (
        SeedRun(0, 0, 0.5, {"f1": 0.5}),
        SeedRun(1, 1, 0.0, {"f1": 0.0}, one_class=flat),
    )
    config = SimpleNamespace(arm="AdamW", trial=2, runs=runs)
    assert one_class_notes(plan.arms, [config]) == [
        "AdamW: 1 of 3 judged trials predicted one class for every validation example "
        "(trials 2): see each trial's one_class attr",
        f"AdamW trial 2: 1 of 2 seed re-runs: {flat}",
    ]


def test_two_arms_of_one_optimizer_are_named_by_their_studies(arms):
    a = arms("adam-short", "adamw", [0.5, 0.6])
    b = arms("adam-long", "adamw", [0.55, 0.65])
    assert [arm.name for arm in plan_of(a, b).arms] == ["adam-short", "adam-long"]


# ---- search spaces -----------------------------------------------------------------------------


def test_spaces_side_by_side_warn_where_arms_differ(arms):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms(
        "mfac",
        "mfac",
        [0.5, 0.6],
        set=[
            "space.train.lr={ low = 1e-4, high = 1e-2, log = true }",
            "space.train.batch_size={ choices = [16, 32] }",
            "space.optimizer.damp={ low = 1e-8, high = 1e-2, log = true }",
            "train.epochs=2",
        ],
    )
    plan = plan_of(adam, mfac)
    rows = {r.field: r for r in space_rows(plan.arms)}
    assert rows["train.lr"].cells["AdamW"].text == "5e-05 – 0.0005 (log)"
    assert rows["train.lr"].cells["M-FAC"].text == "0.0001 – 0.01 (log)"
    assert (
        rows["train.batch_size"].cells["AdamW"].state,
        rows["train.batch_size"].cells["AdamW"].text,
    ) == ("fixed", "32")
    assert rows["optimizer.damp"].cells["AdamW"].state == "n/a"  # AdamW takes no damp
    warnings = space_warnings(list(rows.values()), plan.arms)
    assert warnings == (
        "train.lr: the arms search different ranges: AdamW 5e-05 – 0.0005 (log), "
        "M-FAC 0.0001 – 0.01 (log)",
        "train.batch_size: searched by M-FAC (16, 32) but fixed by AdamW (32)",
        "train.epochs: fixed at different values: AdamW 1, M-FAC 2",
    )
    same = space_warnings(space_rows(plan_of(adam, arms("adam2", "adamw", [0.5, 0.6])).arms), ())
    assert same == ()


# ---- tuning curves -----------------------------------------------------------------------------


def test_a_pruned_trial_counts_with_its_best_evaluated_metric_not_what_the_pruner_saw():
    """With ``study.pruner.signal = "loss"`` the intermediate values are negated losses; the
    tuning curve takes a pruned trial's best F1 from its evals."""
    evals = [{"index": i, "metrics": {"f1": f1, "loss": 0.7}} for i, f1 in enumerate([0.3, 0.4])]
    pruned = create_trial(
        state=TrialState.PRUNED, intermediate_values={0: -0.7, 1: -0.6}, user_attrs={"evals": evals}
    )
    assert compare_module.trial_value(pruned, "f1", maximize=True) == 0.4
    assert compare_module.trial_value(pruned, "loss", maximize=False) == 0.7
    assert compare_module.trial_value(create_trial(state=TrialState.PRUNED), "f1", True) is None


def test_a_pruned_trial_counts_with_an_evaluation_that_learned_when_it_has_one():
    """The trainer's rule: answering "duplicate" everywhere (MCC 0, F1 0.63) is the best of a
    trial only if every evaluation was so, in the tuning curve and the leaderboard alike."""
    evals = [
        {"index": 0, "metrics": {"f1": 0.63, "mcc": 0.0}},
        {"index": 1, "metrics": {"f1": 0.55, "mcc": 0.2}},
    ]
    pruned = create_trial(
        state=TrialState.PRUNED, intermediate_values={0: 0.63, 1: 0.55}, user_attrs={"evals": evals}
    )
    assert compare_module.trial_value(pruned, "f1", maximize=True) == 0.55
    study = optuna.create_study(direction="maximize")
    study.add_trial(pruned)
    (row,) = leaderboard_rows(study, "f1")
    assert (row.value, row.one_class) == (0.55, False)
    flat = create_trial(
        state=TrialState.PRUNED, intermediate_values={0: 0.63}, user_attrs={"evals": evals[:1]}
    )
    assert compare_module.trial_value(flat, "f1", maximize=True) == 0.63


def test_expected_best_against_a_hand_computed_example():
    values = [0.5, 0.2, 0.9]  # sorted: 0.2, 0.5, 0.9; weights at k = 2: 1/9, 3/9, 5/9
    assert expected_best(values, [1, 2, 3]) == pytest.approx(
        [1.6 / 3, (0.2 + 1.5 + 4.5) / 9, (0.2 * 1 + 0.5 * 7 + 0.9 * 19) / 27]
    )
    # minimized: the mirror formula, values sorted descending (0.9, 0.5, 0.2)
    assert expected_best(values, [2], maximize=False) == pytest.approx([(0.9 + 1.5 + 1.0) / 9])
    assert expected_best(values, [200])[0] == pytest.approx(0.9)  # tends to the maximum

    points = tuning_curve(values, resamples=500, seed=3)
    assert [p.k for p in points] == [1, 2, 3]
    assert [p.observed for p in points] == [0.5, 0.5, 0.9]  # best of the first k, in order
    assert [p.expected for p in points] == pytest.approx(expected_best(values, [1, 2, 3]))
    assert all(p.low <= p.expected <= p.high for p in points)
    assert tuning_curve(values, resamples=500, seed=3) == points  # seeded
    assert table_ks(9) == [1, 2, 4, 8, 9] and table_ks(1) == [1]


# ---- paired statistics -------------------------------------------------------------------------


def test_paired_tests_match_scipy():
    a = [0.81, 0.83, 0.80, 0.84, 0.82, 0.85]
    b = [0.79, 0.80, 0.80, 0.81, 0.78, 0.82]
    t = paired_t(a, b)
    expected = scipy_stats.ttest_rel(a, b)
    assert (t.statistic, t.p) == pytest.approx((expected.statistic, expected.pvalue))
    w = wilcoxon(a, b)
    expected = scipy_stats.wilcoxon(a, b)
    assert (w.statistic, w.p) == pytest.approx((expected.statistic, expected.pvalue))
    assert welch(a, b).p == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    # Five pairs all one way: the exact test's smallest p, 2 / 2**5, above 0.05.
    assert wilcoxon_floor(5) == 0.0625 and wilcoxon_floor(6) == 0.03125
    assert wilcoxon([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]).p == pytest.approx(0.0625)
    with warnings.catch_warnings():  # scipy divides by a zero spread here
        warnings.simplefilter("ignore", RuntimeWarning)
        no_difference = scipy_stats.wilcoxon([0.5] * 3, [0.5] * 3).pvalue
    assert wilcoxon([0.5] * 3, [0.5] * 3).p == no_difference  # as scipy has it
    assert paired_t([0.5], [0.4]).p is None  # one pair


def test_differences_equal_up_to_rounding_have_no_spread():
    """Two accuracies on one validation set that differ by the same 15 examples on every
    seed: the differences are equal but for float rounding (the SST-2 case study's SGD row
    against BERT's recipe got p = 4.6e-30 from that noise). No test is defined there."""
    recipe = [720 / 872, 706 / 872, 707 / 872]  # the case study's accuracies, seeds 0, 1, 2
    sgd = [705 / 872, 691 / 872, 692 / 872]
    diffs = [x - y for x, y in zip(sgd, recipe, strict=True)]
    assert len(set(diffs)) > 1  # not equal as floats
    assert paired_t(sgd, recipe).p is None
    assert effect_size(diffs) is None
    assert welch([0.3 + 0.1] * 3, [0.4] * 3).p is None
    assert paired_t([0.81, 0.83, 0.80], [0.79, 0.80, 0.80]).p is not None  # a real spread


def test_bootstrap_ci_is_reproducible_with_its_seed():
    d = [0.02, -0.01, 0.03, 0.015, 0.0]
    ci = bootstrap_ci(d, seed=7)
    assert ci == bootstrap_ci(d, seed=7)
    assert ci != bootstrap_ci(d, seed=8)
    assert ci is not None and ci[0] < np.mean(d) < ci[1]
    rng = np.random.default_rng(7)  # the percentile bootstrap, written out
    means = np.asarray(d)[rng.integers(0, 5, size=(10_000, 5))].mean(axis=1)
    assert ci == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    assert bootstrap_ci([0.1]) is None


def test_holm_adjusts_sorted_p_values_and_keeps_them_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, None, 0.9]) == [1.0, None, 1.0]  # None is left out of m


# ---- time-to-target ------------------------------------------------------------------------------


def run_with(seed: int, values: list[float]) -> SeedRun:
    evals = tuple(
        EvalPoint(step=10 * (i + 1), train_seconds=2.5 * (i + 1), value=v)
        for i, v in enumerate(values)
    )
    cost = RunCost(20, 5.0, 0.25, 128.0, 9.0, 800, 10**9, "CUDA max allocated", "cuda", "bf16")
    return SeedRun(seed, seed, max(values), {"f1": max(values)}, evals, cost)


def test_time_to_target_from_a_known_series():
    evals = run_with(0, [0.3, 0.6, 0.8, 0.7]).evals
    reached = time_to_target(0, evals, 0.6)
    assert (reached.seconds, reached.steps) == (5.0, 20)  # the first evaluation at 0.6
    never = time_to_target(0, evals, 0.9)
    assert (never.seconds, never.steps) == (None, None)
    assert time_to_target(0, evals, 0.3, maximize=False).steps == 10  # a loss: at or below

    # The median over seeds counts a run that never reached it as infinitely slow.
    runs = [run_with(0, [0.7, 0.9]), run_with(1, [0.5, 0.6]), run_with(2, [0.9, 0.9])]
    cost = arm_cost("AdamW", runs, 0.85)
    assert [t.steps for t in cost.to_target] == [20, None, 10]
    assert (cost.target_steps, cost.target_seconds, cost.reached) == (20, 5.0, 2)
    slow = arm_cost("AdamW", runs[:2], 0.85)  # one of two never: the median is infinite
    assert (slow.target_steps, slow.target_seconds, slow.reached) == (None, None, 1)
    assert cost.seconds_per_step == 0.25 and cost.optimizer_state_bytes == 800


def test_the_cost_says_where_the_runs_trained_and_the_page_warns_when_arms_differ():
    fp32 = RunCost(20, 5.0, 0.25, 128.0, 9.0, 800, None, "peak RSS", "cpu", "fp32")
    old = RunCost(20, 5.0, 0.25, 128.0, 9.0, 800, None, "peak RSS", None)  # kept neither

    def arm(name: str, *costs: RunCost):
        runs = [replace(run_with(i, [0.5]), cost=c) for i, c in enumerate(costs)]
        return arm_cost(name, runs, 0.85)

    gpu = arm("M-FAC", *[run_with(i, [0.5]).cost for i in range(2)])
    cpu = arm("AdamW", fp32, fp32)
    mixed = arm("AdamW", fp32, replace(fp32, precision="bf16"), old)
    assert (gpu.ran_on, cpu.ran_on) == (("cuda, bf16",), ("cpu, fp32",))
    assert mixed.ran_on == ("cpu, bf16", "cpu, fp32", "not recorded")
    assert hardware_note(SimpleNamespace(costs=(cpu, cpu))) is None
    assert hardware_note(SimpleNamespace(costs=(cpu, arm("old", old)))) is None  # unknown
    for costs in ((gpu, cpu), (mixed,)):
        assert "different devices or precisions" in hardware_note(SimpleNamespace(costs=costs))


# ---- bad input: one line, nothing written ---------------------------------------------------


def assert_nothing_written(folder: Path) -> None:
    assert not (folder / "results").exists()
    for db in folder.glob("*.db"):
        names = optuna.get_all_study_names(f"sqlite:///{db}")
        assert not any(n.endswith("-reseed") for n in names), names


def one_line(err: str) -> str:
    assert err.startswith("error: ") and "Traceback" not in err
    return " ".join(err.split())


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ("task.max_eval_samples=100", "task.max_eval_samples (200 against 100)"),
        ("study.metric=accuracy", "study.metric ('f1' against 'accuracy')"),
        ("study.direction=minimize", "study.direction ('maximize' against 'minimize')"),
    ],
)
def test_arms_of_different_tasks_metrics_or_directions(arms, tmp_path, cli, change, differs):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms("mfac", "mfac", [0.5, 0.6], set=[change])
    code, _, err = cli("compare", str(adam), str(mfac))
    assert code == 1
    line = one_line(err)
    assert f"{adam} and {mfac} cannot be compared: they differ in {differs}" in line
    assert_nothing_written(tmp_path)


def test_an_arm_never_run_or_with_one_finished_trial(arms, quora_study, tmp_path, cli):
    adam = arms("adam", "adamw", [0.5, 0.6])
    never = quora_study("never", set=["optimizer.kind=mfac"])
    code, _, err = cli("compare", str(adam), str(never), "--set", "train.epochs=1")
    assert code == 1
    line = one_line(err)
    assert "study 'never'" in line and "no study 'never' in" in line
    assert f"run it first: `hpsearch run {never} --set train.epochs=1`" in line

    one = arms("one", "mfac", [0.5])
    code, _, err = cli("compare", str(adam), str(one))
    assert code == 1
    assert "study 'one' has 1 finished trial; comparing needs at least 2 per arm: run more: " in (
        one_line(err)
    )
    assert f"`hpsearch run {one} --n-trials 3`" in one_line(err)
    assert_nothing_written(tmp_path)


def test_an_arm_whose_judged_trials_were_all_pruned(arms, tmp_path, cli):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms("mfac", "mfac", [0.5, 0.6, 0.7], pruned=(0, 1))
    code, _, err = cli("compare", str(adam), str(mfac))
    assert code == 1 and "M-FAC: its first 2 finished trials (0, 1) were all pruned" in one_line(
        err
    )
    assert_nothing_written(tmp_path)


def test_one_arm_is_not_a_comparison(arms, tmp_path, cli):
    adam = arms("adam", "adamw", [0.5, 0.6])
    code, _, err = cli("compare", str(adam))
    assert code == 1 and "compare needs two" in one_line(err)
    assert_nothing_written(tmp_path)


# ---- the whole comparison, with the stand-in objective ------------------------------------


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


# ---- re-runs that a killed process left behind ----------------------------------------------


def stale_rerun(path: Path, beat: float) -> optuna.Study:
    """The companion of ``path``'s study with the re-run of trial 0, seed 0, RUNNING as a
    killed process leaves it, its last heartbeat at ``beat``."""
    spec = load_spec(path)
    companion = optuna.create_study(
        study_name=reseed_name(spec.study.name),
        storage=spec.study.storage,
        direction=spec.direction,
    )
    companion.set_user_attr("source_study", spec.study.name)
    companion.enqueue_trial(
        {"train.seed": 0},
        user_attrs={"source_study": spec.study.name, "source_trial": 0, "seed": 0},
    )
    trial = companion.ask()  # RUNNING, and nobody left to finish it
    companion._storage.set_trial_system_attr(trial._trial_id, BEAT_ATTR, beat)
    return companion


class Waits:
    """A progress display that only records what the run said it waited for."""

    def __init__(self):
        self.waits: list[Wait] = []

    def waiting(self, wait: Wait) -> None:
        self.waits.append(wait)

    def __getattr__(self, name):  # every other event: ignored
        return lambda *args, **kwargs: None


def test_a_rerun_left_running_by_a_killed_process_is_failed_and_redone(arms, fake_objective):
    path = arms("src", "adamw", [0.6, 0.7])
    companion = stale_rerun(path, beat=0.0)  # silent since 1970: long past any grace
    spec = load_spec(path)
    study = optuna.load_study(study_name="src", storage=spec.study.storage)
    progress = Waits()
    runs = reseed(spec, study, study.get_trials()[:1], [0, 1], cache=NoData(), progress=progress)
    assert [(r.seed, r.value) for r in runs[0]] == [
        (0, pytest.approx(0.51)),
        (1, pytest.approx(0.52)),
    ]
    states = [t.state for t in companion.get_trials()]
    assert states.count(TrialState.FAIL) == 1 and states.count(TrialState.COMPLETE) == 2
    (stale,) = [t for t in companion.get_trials() if t.state == TrialState.FAIL]
    assert "no heartbeat" in stale.user_attrs["fail_reason"]
    assert sorted(s for _, _, s in fake_objective.calls) == [0, 1]  # seed 0 once, not twice
    assert progress.waits == []  # nothing to wait for


def test_a_rerun_running_elsewhere_is_waited_for_and_said_so(arms, fake_objective):
    """A fresh heartbeat: the run waits, says for what and until when, and redoes the re-run
    once it stays silent for the grace (2 s here, set in the spec)."""
    path = arms(
        "src", "adamw", [0.6, 0.7], set=["study.heartbeat_interval=1", "study.heartbeat_grace=2"]
    )
    companion = stale_rerun(path, beat=time.time())
    spec = load_spec(path)
    study = optuna.load_study(study_name="src", storage=spec.study.storage)
    progress = Waits()
    runs = reseed(
        spec,
        study,
        study.get_trials()[:1],
        [0],
        cache=NoData(),
        progress=progress,
        poll_interval=0.1,
    )
    assert [r.seed for r in runs[0]] == [0]
    assert progress.waits and "re-run(s) #0 (trial 0, seed 0)" in progress.waits[0].what
    assert "src-reseed" in progress.waits[0].what
    assert progress.waits[0].until is not None and progress.waits[0].running == 1
    states = [t.state for t in companion.get_trials()]
    assert states == [TrialState.FAIL, TrialState.COMPLETE]


# ---- end to end, training for real ----------------------------------------------------------


@pytest.mark.slow
def test_compare_end_to_end_on_tiny_quora(quora_study, tmp_path, cli):
    """Two arms, two trials each, two seeds; then the same command again runs nothing."""
    tiny = ["model.num_hidden_layers=1", "task.max_length=32", "train.batch_size=16"]
    adam = quora_study("adam", n_trials=2, train=64, eval=64, set=tiny)
    mfac = quora_study(
        "mfac",
        n_trials=2,
        train=64,
        eval=64,
        set=[*tiny, "optimizer.kind=mfac", "optimizer.num_grads=4"],
    )
    for path in (adam, mfac):
        code, _, err = cli("run", str(path))
        assert code == 0, err
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    assert "M-FAC against AdamW" in out and "paired" in out
    folder = tmp_path / "results" / "adam-vs-mfac"
    for name in (
        "compare.md",
        "compare.csv",
        "compare.json",
        "tuning.png",
        "seconds.png",
        "steps.png",
        "seeds.png",
    ):
        assert (folder / name).stat().st_size > 0, name
    data = json.loads((folder / "compare.json").read_text())
    comp = data["comparison"]
    assert comp["seeds"] == [0, 1] and comp["budget"] == 2
    for cost in comp["costs"]:
        assert cost["seconds_per_step"] > 0 and cost["optimizer_state_bytes"] > 0
        assert cost["peak_memory"].startswith("process peak RSS")
    # AdamW keeps two float32 moments per trained number (and a step count per tensor), but
    # for the word embedding's rows the data does not use (hpsearch.train.vocab).
    adam_rerun = optuna.load_study(
        study_name="adam-reseed", storage=f"sqlite:///{tmp_path / 'adam.db'}"
    )
    kept = len(used_tokens([DataCache().encoded(load_spec(adam))], 30_522))
    trained = adam_rerun.trials[0].user_attrs["trainable_params"] - (30_522 - kept) * 384
    adam_state = comp["costs"][0]["optimizer_state_bytes"]
    assert 8 * trained <= adam_state < 8 * trained + 10_000
    for config in comp["configs"]:
        for run in config["runs"]:
            assert [e["step"] for e in run["evals"]] == [2, 4]  # 64 pairs, batch 16, 2 evals
            assert all(e["train_seconds"] > 0 for e in run["evals"])
    before = {
        name: [
            (t.number, t.state)
            for t in optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / db}").trials
        ]
        for name, db in (("adam-reseed", "adam.db"), ("mfac-reseed", "mfac.db"))
    }
    assert all(len(v) == 2 for v in before.values())
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err and "trial" not in err
    after = {
        name: [
            (t.number, t.state)
            for t in optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / db}").trials
        ]
        for name, db in (("adam-reseed", "adam.db"), ("mfac-reseed", "mfac.db"))
    }
    assert after == before
    assert (
        json.loads((folder / "compare.json").read_text())["comparison"]["configs"]
        == comp["configs"]
    )
    assert not math.isnan(comp["target"])
