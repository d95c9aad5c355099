"""``compare`` and ``report`` tell the truth (issue 29): re-runs under the settings each
config was tuned with (or a refusal naming the field), no stray work, a time-to-target that
learning nothing never reaches, one clear line where input is bad, and runs of mixed
precision said.

The studies are small Quora study files whose stored spec and trials are made as ``run``
makes them (:func:`prepare_study`: the spec, the settings each trial ran under), without
training; the re-runs go through :class:`StandIn`, an objective that trains nothing: the
settings it is given (epochs, optimizer, lr) and the seed decide every number it records.
"""

from __future__ import annotations

import json
import math
import re
import signal
from pathlib import Path
from typing import ClassVar

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from hpsearch.compare import comparison as compare_module
from hpsearch.compare.arms import CompareError, plan_comparison, source
from hpsearch.compare.comparison import MAX_SEEDS, build_comparison, check_seeds
from hpsearch.compare.cost import time_to_target
from hpsearch.compare.model import CompareReport, EvalPoint, RunCost, SeedRun
from hpsearch.compare.settings import checked
from hpsearch.compare.target import check_target, default_target
from hpsearch.report import build as report_build
from hpsearch.search import reseed as reseed_module
from hpsearch.search.drift import (
    SpecDriftError,
    record_settings,
    settings_attr,
    spec_of_trial,
    trial_settings,
)
from hpsearch.search.interrupts import Interrupted
from hpsearch.search.reseed import reseed_name
from hpsearch.search.storage import open_storage
from hpsearch.search.study import prepare_study
from hpsearch.spec.load import load_spec
from hpsearch.spec.suggest import suggest
from tests.studies import QuoraStudies

LR = FloatDistribution(5e-5, 5e-4, log=True)  # the test studies' space (TEST_STUDY)
SEED = IntDistribution(0, 2**31 - 1)
ONE_CLASS_F1 = 0.63  # F1 of answering "duplicate" for every Quora pair (MCC 0)


# ---- studies as `run` leaves them, without training ----------------------------------------


def tuned(
    path: Path,
    values: list[float],
    *,
    overrides: tuple[str, ...] = (),
    attrs: dict | None = None,
    one_class: tuple[int, ...] = (),
) -> optuna.Study:
    """The study of ``path`` created as ``run`` creates it (its spec and settings stored),
    with complete trials of lr 1e-4 × (i + 1) and ``values``, each recording the settings it
    ran under; ``attrs``: more user attrs of every trial; the trials in ``one_class`` have an
    evaluation that answered one class."""
    spec = load_spec(path, list(overrides))
    prepared = prepare_study(spec, open_storage(spec.study.storage))
    for i, value in enumerate(values):
        evals = [{"index": 0, "step": 8, "metrics": {"f1": value, "mcc": 0.2}}]
        if i in one_class:
            evals.insert(0, {"index": 0, "step": 4, "metrics": {"f1": ONE_CLASS_F1, "mcc": 0.0}})
        user_attrs = {"spec_id": prepared.spec_id, "evals": evals, **(attrs or {})}
        prepared.study.add_trial(
            create_trial(
                params={"train.lr": 1e-4 * (i + 1)},
                distributions={"train.lr": LR},
                value=value,
                user_attrs=user_attrs,
            )
        )
    return prepared.study


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


# ---- the stand-in objective of the re-runs ---------------------------------------------------


class StandIn:
    """Trains nothing. Evaluates twice an epoch, 8 steps an epoch: F1 = 0.5 + 100 × lr +
    seed / 100 (+ 0.02 for M-FAC) at the last evaluation, 0.01 less at each earlier one.
    ``one_class_first``: optimizer kinds whose first evaluation answers one class (F1 0.63,
    MCC 0); ``diverged``: seeds whose run is flagged so; ``precision``: seed → the precision
    "auto" resolved to (fp32 otherwise); ``stop_at``: the call that is interrupted."""

    calls: ClassVar[list[dict]] = []
    one_class_first: ClassVar[set[str]] = set()
    diverged: ClassVar[set[int]] = set()
    precision: ClassVar[dict[int, str]] = {}
    stop_at: ClassVar[int | None] = None

    def __init__(self, spec, cache, progress=None):
        self.spec = spec

    def __call__(self, trial: optuna.Trial) -> float:
        if StandIn.stop_at is not None and len(StandIn.calls) == StandIn.stop_at:
            raise Interrupted(signal.SIGINT)  # as the guard raises it on Ctrl-C
        (seed,) = suggest(trial, self.spec).values()
        kind, lr, epochs = self.spec.optimizer.kind, self.spec.train.lr, self.spec.train.epochs
        StandIn.calls.append({"kind": kind, "lr": lr, "seed": seed, "epochs": epochs})
        f1 = 0.5 + 100 * lr + seed / 100 + (0.02 if kind == "mfac" else 0.0)
        n = 2 * epochs
        evals = [
            {
                "index": i,
                "step": 4 * (i + 1),
                "train_seconds": 0.1 * 4 * (i + 1),
                "metrics": {"f1": f1 - 0.01 * (n - 1 - i), "mcc": 0.3},
            }
            for i in range(n)
        ]
        if kind in StandIn.one_class_first:
            evals[0]["metrics"] = {"f1": ONE_CLASS_F1, "mcc": 0.0}
        attrs = {
            "metrics": {"f1": f1, "mcc": 0.3, "loss": 1 - f1},
            "evals": evals,
            "steps": 4 * n,
            "train_seconds": 0.4 * n,
            "seconds_per_step": 0.1,
            "device": "cpu",
            "precision": StandIn.precision.get(seed, "fp32"),
            "threads": 2,
        }
        if seed in StandIn.diverged:
            attrs["diverged"] = "diverged: validation loss 70.1 at the last evaluation"
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return f1


class NoData:
    def encoded_tasks(self, spec):  # the stand-in trains nothing: no data to load
        return None


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(reseed_module, "Objective", StandIn)
    monkeypatch.setattr(compare_module, "DataCache", NoData)
    monkeypatch.setattr(report_build, "DataCache", NoData)
    StandIn.calls = []
    StandIn.one_class_first = set()
    StandIn.diverged = set()
    StandIn.precision = {}
    StandIn.stop_at = None
    return StandIn


def one_line(err: str) -> str:
    assert err.startswith("error: ") and "Traceback" not in err, err
    assert err.strip().count("\n") == 0, err
    return err.strip()


def comparison_of(folder: Path):
    return CompareReport.from_dict(json.loads((folder / "compare.json").read_text())).comparison


def reruns(path: Path) -> list[optuna.trial.FrozenTrial]:
    spec = load_spec(path)
    name = reseed_name(spec.study.name)
    return optuna.load_study(study_name=name, storage=spec.study.storage).trials


# ---- 1. re-runs under the settings each config was tuned with --------------------------------


def test_an_edited_study_file_or_set_is_refused_naming_each_field(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    folder = tmp_path / "results" / "adam-vs-mfac"
    before = (folder / "compare.json").read_text()
    stand_in.calls = []

    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2", "--set", "train.epochs=2")
    assert code == 1
    line = one_line(err)
    assert f"{adam}: study 'adam': the study file's fixed settings differ from those its 3 " in line
    assert "judged trials ran with (train.epochs was 1, now 2)" in line
    assert f"{mfac}: study 'mfac'" in line and "--allow-drift" in line
    # The file itself edited: the same rule.
    text = adam.read_text().replace("epochs = 1", "epochs = 2")
    assert text != adam.read_text()
    adam.write_text(text)
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 1 and "train.epochs was 1, now 2" in one_line(err)
    assert f"{mfac}" not in err  # only the edited arm is named
    assert stand_in.calls == []  # nothing re-ran
    assert (folder / "compare.json").read_text() == before  # nothing written


def test_allow_drift_reruns_each_config_at_the_settings_it_was_tuned_with(
    pair, stand_in, cli, tmp_path
):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    assert {c["epochs"] for c in stand_in.calls} == {1}
    stand_in.calls = []
    args = ("compare", str(adam), str(mfac), "--seeds", "3", "--set", "train.epochs=2")
    code, out, err = cli(*args, "--allow-drift")
    assert code == 0, err
    # Only the new seed ran, at the epochs its config was tuned with.
    assert sorted((c["kind"], c["seed"], c["epochs"]) for c in stand_in.calls) == [
        ("adamw", 2, 1),
        ("mfac", 2, 1),
    ]
    comp = comparison_of(tmp_path / "results" / "adam-vs-mfac")
    for config in comp.configs:
        assert [r.cost.steps for r in config.runs] == [8, 8, 8]  # every seed: one step count
        assert config.drift == ("train.epochs 1 (study file: 2)",)
    assert any(
        "AdamW: --allow-drift: its 3 judged trials ran under settings" in n for n in comp.notes
    )
    text = (tmp_path / "results" / "adam-vs-mfac" / "compare.md").read_text()
    assert "settings (where not the study file's)" in text
    assert "train.epochs 1 (study file: 2)" in text
    assert "--allow-drift" in out
    # Every re-run records the settings it ran under, as a search's trials do.
    spec = load_spec(adam, ["train.epochs=2"])
    companion = optuna.load_study(study_name="adam-reseed", storage=spec.study.storage)
    for rerun in companion.trials:
        assert spec_of_trial(spec, companion, rerun).train.epochs == 1


def test_earlier_reruns_under_other_settings_are_left_out_and_run_again(pair, stand_in):
    """Re-runs that an earlier version made under the study file's newer settings (epochs 2)
    for a config tuned at 1 epoch: not mixed in, said, and their seeds run again."""
    adam, mfac = pair()
    spec = load_spec(adam)
    companion = optuna.create_study(
        study_name=reseed_name("adam"), storage=spec.study.storage, direction="maximize"
    )
    other = record_settings(companion, load_spec(adam, ["train.epochs=2"]))
    companion.add_trial(
        create_trial(
            params={"train.seed": 0},
            distributions={"train.seed": SEED},
            value=0.99,
            user_attrs={
                "source_study": "adam",
                "source_trial": 1,
                "seed": 0,
                "spec_id": other,
                "metrics": {"f1": 0.99},
            },
        )
    )
    plan = plan_comparison([source(load_spec(p)) for p in (adam, mfac)])
    comp = build_comparison(plan, seeds=2)
    adam_runs = next(c for c in comp.configs if c.arm == "AdamW").runs
    assert [r.value for r in adam_runs] == [pytest.approx(0.52), pytest.approx(0.53)]
    assert ("adamw", 0) in {(c["kind"], c["seed"]) for c in stand_in.calls}
    assert any(
        "study 'adam' trial 1: left out 1 earlier re-run (seed 0) made under other settings "
        "than the trial was tuned with (train.epochs 2, not 1)" in n
        for n in comp.notes
    ), comp.notes


# ---- 2. no stray work ----------------------------------------------------------------------


def test_a_smaller_seeds_does_not_run_what_an_interrupted_larger_one_queued(pair, stand_in, cli):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    for path, name in ((adam, "adam"), (mfac, "mfac")):  # what --seeds 5, stopped, leaves
        companion = optuna.load_study(
            study_name=reseed_name(name), storage=load_spec(path).study.storage
        )
        for seed in (2, 3, 4):
            companion.enqueue_trial(
                {"train.seed": seed},
                user_attrs={"source_study": name, "source_trial": 1, "seed": seed},
            )
    stand_in.calls = []
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "3")
    assert code == 0, err
    assert sorted((c["kind"], c["seed"]) for c in stand_in.calls) == [("adamw", 2), ("mfac", 2)]
    assert (
        "2 re-runs queued by an earlier call with more seeds (trial 1 seed 3, trial 1 seed 4)"
        in (" ".join(out.split()))
    )
    dequeued = [t for t in reruns(adam) if t.state == TrialState.FAIL]
    assert sorted(t.user_attrs["seed"] for t in dequeued) == [3, 4]
    assert all(t.user_attrs["fail_reason"].startswith("dequeued") for t in dequeued)
    # Asked for later, they run.
    stand_in.calls = []
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "5")
    assert code == 0, err
    assert sorted(c["seed"] for c in stand_in.calls) == [3, 3, 4, 4]


def test_seeds_has_a_stated_bound(pair, stand_in, cli, tmp_path):
    check_seeds(1)
    check_seeds(MAX_SEEDS)
    for bad in (0, MAX_SEEDS + 1):
        with pytest.raises(CompareError, match=f"between 1 and 100, but got {bad}"):
            check_seeds(bad)
    adam, mfac = pair()
    for command in (("compare", str(adam), str(mfac)), ("report", str(mfac))):
        code, _, err = cli(*command, "--seeds", "1000000")
        assert code == 1
        assert one_line(err) == "error: --seeds must be between 1 and 100, but got 1000000"
    assert stand_in.calls == [] and not (tmp_path / "results").exists()
    assert reseed_name("adam") not in optuna.get_all_study_names(load_spec(adam).study.storage)


# ---- 3. time-to-target never counts an evaluation that answered one class -------------------


def test_an_evaluation_that_answered_one_class_never_reaches_the_target():
    evals = (
        EvalPoint(step=4, train_seconds=0.4, value=ONE_CLASS_F1, one_class=True),
        EvalPoint(step=8, train_seconds=0.8, value=0.6),
        EvalPoint(step=12, train_seconds=1.2, value=0.7),
    )
    reached = time_to_target(0, evals, 0.6)
    assert (reached.steps, reached.seconds) == (8, 0.8)  # not 4: that one learned nothing
    assert time_to_target(0, evals[:1], 0.5).steps is None


def test_an_arm_that_learned_nothing_first_does_not_look_faster(pair, stand_in):
    """M-FAC's first evaluation answers "duplicate" everywhere (F1 0.63, above the target):
    it reaches the target at its second evaluation, like AdamW, not at step 4."""
    adam, mfac = pair()
    stand_in.one_class_first = {"mfac"}
    plan = plan_comparison([source(load_spec(p)) for p in (adam, mfac)])
    comp = build_comparison(plan, seeds=3)
    assert comp.target == pytest.approx(0.53)  # AdamW's median best: 0.52, 0.53, 0.54
    adam_cost, mfac_cost = comp.costs
    assert [t.steps for t in mfac_cost.to_target] == [8, 8, 8]  # not 4, 4, 4
    assert [t.steps for t in adam_cost.to_target] == [None, 8, 4]
    assert (mfac_cost.target_steps, adam_cost.target_steps) == (8, 8)
    first = comp.configs[-1].runs[0].evals[0]
    assert first.one_class and not comp.configs[-1].runs[0].evals[1].one_class


def test_a_target_equal_to_the_one_class_score_is_refused(pair, stand_in, cli):
    adam, mfac = pair()
    stand_in.one_class_first = {"mfac"}
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2", "--target", "0.63")
    assert code == 1
    line = err.strip().splitlines()[-1]  # after the re-runs' progress: the one-class score
    assert line.startswith("error: ") and "Traceback" not in err
    assert "--target 0.63 is the f1 of answering one class for every validation example" in line
    assert (
        "(M-FAC trial 1, seed 0 scored it so, MCC 0)" in line and "give a target above it" in line
    )
    # Seen in a judged trial: refused before anything re-runs.
    stand_in.calls = []
    flat = adam.with_name("flat.toml")
    flat.write_text(adam.read_text().replace('name = "adam"', 'name = "flat"'))
    tuned(flat, [0.6, 0.7, 0.5], one_class=(2,))
    code, _, err = cli("compare", str(flat), str(mfac), "--target", "0.63")
    assert code == 1 and "(AdamW trial 2 scored it so" in one_line(err)
    assert stand_in.calls == []


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("nan", "--target must be a finite number, but got nan"),
        ("inf", "--target must be a finite number, but got inf"),
        ("-inf", "--target must be a finite number, but got -inf"),
        ("1.5", "--target must lie within the values f1 can take, [0, 1], but got 1.5"),
        ("-0.01", "--target must lie within the values f1 can take, [0, 1], but got -0.01"),
    ],
)
def test_target_is_a_value_the_metric_takes(pair, stand_in, cli, tmp_path, target, why):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--target", target)
    assert code == 1 and one_line(err) == f"error: {why}"
    assert stand_in.calls == [] and not (tmp_path / "results").exists()


def test_target_edges():
    for ok in (0.0, 1.0):
        check_target(ok, "f1")
    check_target(-1.0, "sst/mcc")
    check_target(123.0, "loss")
    with pytest.raises(CompareError, match=r"\[-1, 1\]"):
        check_target(-1.01, "mean")
    with pytest.raises(CompareError, match=r"\[0, inf\]"):
        check_target(-0.5, "mse")


def test_the_default_target_leaves_out_seeds_that_answered_one_class():
    flat = "one class: the classifier predicted the same class"
    runs = [
        SeedRun(0, 0, ONE_CLASS_F1, {"f1": ONE_CLASS_F1}, one_class=flat),
        SeedRun(1, 1, 0.5, {"f1": 0.5}),
        SeedRun(2, 2, 0.55, {"f1": 0.55}),
    ]
    target, where = default_target("AdamW", runs)
    assert target == pytest.approx(0.525)
    assert where.endswith("(2 seeds that learned; 1 seed that answered one class left out)")
    target, where = default_target("AdamW", runs[:1])
    assert math.isnan(target) and where.startswith("none: every re-run of the baseline arm")


def test_diverged_reaches_compare_md(pair, stand_in, cli, tmp_path):
    adam, mfac = pair(mfac={"attrs": {"diverged": "diverged: validation loss 90.2"}})
    stand_in.diverged = {1}
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    text = (tmp_path / "results" / "adam-vs-mfac" / "compare.md").read_text()
    assert "- M-FAC: 3 of 3 judged trials diverged (trials 0, 1, 2): diverged: validation" in text
    assert (
        "- AdamW trial 1: 1 of 2 seed re-runs diverged (seed 1): diverged: validation loss 70"
        in (text)
    )
    assert "seed re-runs diverged" in out


# ---- 5. clear lines instead of tracebacks or silence ------------------------------------------


@pytest.mark.parametrize("position", [0, 1])
def test_an_arm_with_no_finished_trial_is_named_for_itself(quora_study, cli, position):
    adam = quora_study("adam", set=["optimizer.kind=adamw"])
    tuned(adam, [0.6, 0.7])
    empty = quora_study("empty", set=["optimizer.kind=mfac", "optimizer.num_grads=4"])
    study = tuned(empty, [])
    study.add_trial(create_trial(state=TrialState.FAIL))
    files = [str(adam), str(empty)] if position else [str(empty), str(adam)]
    code, _, err = cli("compare", *files)
    assert code == 1
    line = one_line(err)
    assert "study 'empty' has no complete trial to report on yet" in line
    assert "AdamW" not in line


@pytest.fixture
def read_only():
    """``read_only(folder)``: a context in which the folder cannot be written, root or not
    (chattr +i for root, whom modes do not stop)."""
    import contextlib
    import os
    import shutil
    import subprocess

    @contextlib.contextmanager
    def make(folder: Path):
        if os.geteuid() != 0:
            folder.chmod(0o555)
            try:
                yield
            finally:
                folder.chmod(0o755)
            return
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(folder)]).returncode != 0:
            pytest.skip("cannot make a folder read-only for root here (chattr +i)")
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(folder)], check=True)

    return make


def test_an_unwritable_results_folder_is_found_before_any_rerun(
    pair, stand_in, cli, tmp_path, read_only
):
    adam, mfac = pair()
    results = tmp_path / "results"
    results.mkdir()
    with read_only(results):
        code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 1
    assert f"results folder {results / 'adam-vs-mfac'} cannot be written: {results} is " in (
        one_line(err)
    )
    assert stand_in.calls == []


def test_a_compare_json_that_is_a_folder_is_one_line(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    folder = tmp_path / "results" / "adam-vs-mfac"
    (folder / "compare.json").mkdir(parents=True)
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 1
    assert "compare.json is a folder, where the file compare.json is to be written" in (
        one_line(err)
    )
    assert stand_in.calls == [] and (folder / "compare.json").is_dir()


def test_report_reads_a_read_only_storage_when_nothing_needs_running(
    quora_study, stand_in, cli, tmp_path, read_only
):
    store = tmp_path / "archive"
    store.mkdir()
    path = quora_study("solo", set=[f"study.storage=journal:///{store / 'solo.log'}"])
    tuned(path, [0.6, 0.7, 0.5])
    code, _, err = cli("report", str(path), "--seeds", "2")
    assert code == 0, err
    stand_in.calls = []
    with read_only(store):
        code, out, err = cli("report", str(path), "--seeds", "2")
    assert code == 0, err
    assert stand_in.calls == [] and "wrote" in out
    with read_only(store):  # one seed more needs a write: one line naming the storage
        code, _, err = cli("report", str(path), "--seeds", "3")
    assert code == 1 and f"storage journal:///{store / 'solo.log'}" in one_line(err)


def test_ctrl_c_of_compare_says_what_stopped_and_how_to_resume(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    stand_in.stop_at = 1
    again = ("compare", str(adam), str(mfac), "--seeds", "2", "--set", "train.eval_batch_size=128")
    code, out, err = cli(*again)
    assert code == 130, err
    said = " ".join(out.split())
    assert (
        "interrupted by SIGINT: compare stopped while re-running the configs of AdamW, M-FAC"
        in said
    )
    assert "kept in adam-reseed, mfac-reseed" in said and "queued to run again" in said
    assert (
        f"Resume with: hpsearch compare {adam} {mfac} --seeds 2 --top 1 --set "
        "train.eval_batch_size=128" in said
    )
    assert "Traceback" not in err and not (tmp_path / "results").exists()
    stand_in.stop_at = None
    code, _, err = cli(*again)
    assert code == 0, err


def test_arms_with_one_study_name_in_two_folders_are_told_apart(tmp_path, cs224n, stand_in, cli):
    a = QuoraStudies(tmp_path / "a")
    b = QuoraStudies(tmp_path / "b")
    for studies in (a, b):
        studies.folder.mkdir()
    first, second = a("adam"), b("adam")
    tuned(first, [0.6, 0.7])
    tuned(second, [0.65, 0.75])
    plan = plan_comparison([source(load_spec(p)) for p in (first, second)])
    assert [arm.name for arm in plan.arms] == [
        "adam AdamW (a/adam.toml)",
        "adam AdamW (b/adam.toml)",
    ]
    code, _, err = cli("compare", str(first), str(second), "--seeds", "2")
    assert code == 0, err
    comp = comparison_of(tmp_path / "a" / "results" / "a-adam-vs-b-adam")
    assert [arm.name for arm in comp.arms] == [arm.name for arm in plan.arms]
    assert len(comp.paired) >= 1 and len(comp.configs) == 2


def test_a_different_max_length_is_refused_like_other_task_differences(pair, cli, tmp_path):
    adam, _ = pair()
    short = adam.with_name("short.toml")
    text = adam.read_text().replace('name = "adam"', 'name = "short"')
    short.write_text(text.replace("max_length = 64", "max_length = 32"))
    assert load_spec(short).task.max_length == 32
    code, _, err = cli("compare", str(adam), str(short))
    assert code == 1
    assert "they differ in task.max_length (64 against 32)" in one_line(err)
    assert not (tmp_path / "results").exists()


# ---- 6. precision and threads ---------------------------------------------------------------


@pytest.mark.parametrize(("ran_as", "refused"), [("fp32", False), ("bf16", True)])
def test_an_explicit_precision_that_auto_ran_as_is_not_drift(pair, ran_as, refused):
    adam, mfac = pair(adam={"attrs": {"precision": ran_as}}, mfac={"attrs": {"precision": "fp32"}})
    sources = [source(load_spec(p, ['train.precision="fp32"'])) for p in (adam, mfac)]
    plan = plan_comparison(sources)
    if refused:
        drift = re.escape('train.precision was "auto", now "fp32"')
        with pytest.raises(SpecDriftError, match=drift):
            checked(plan)
    else:
        assert checked(plan) is plan
    # `run` follows the same rule.
    spec = load_spec(adam, ['train.precision="fp32"'])
    if refused:
        with pytest.raises(SpecDriftError):
            prepare_study(spec, open_storage(spec.study.storage))
    else:
        prepare_study(spec, open_storage(spec.study.storage))


def test_seeds_of_mixed_precision_are_flagged(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    stand_in.precision = {2: "bf16"}  # "auto" resolved otherwise on resume
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "3")
    assert code == 0, err
    comp = comparison_of(tmp_path / "results" / "adam-vs-mfac")
    assert [r.cost.precision for r in comp.configs[0].runs] == ["fp32", "fp32", "bf16"]
    assert [r.cost.threads for r in comp.configs[0].runs] == [2, 2, 2]
    text = (tmp_path / "results" / "adam-vs-mfac" / "compare.md").read_text()
    assert (
        "AdamW (adam, trial 1): its seeds ran on different devices, precisions or threads "
        "(seeds 0, 1: cpu, fp32, 2 threads; seed 2: cpu, bf16, 2 threads;" in text
    )
    assert "cpu, bf16, 2 threads (mixed)" in text and "its mean ± std mixes them" in out


def test_the_objective_records_the_thread_count_beside_the_seconds(quora_study, monkeypatch):
    import torch

    from hpsearch.search.interrupts import SignalGuard
    from hpsearch.search.objective import Objective
    from hpsearch.search.runner import run_trials
    from hpsearch.train.trainer import EvalRecord, PeakMemory, TrainResult

    best = EvalRecord(
        index=0,
        epoch=1.0,
        step=8,
        metrics={"f1": 0.5, "loss": 0.6},
        train_loss=0.6,
        samples_per_s=1.0,
        elapsed=1.0,
        train_seconds=1.0,
        trainable_params=1,
    )

    def train(spec, data, *, on_eval=None, on_step=None):
        on_eval(best)
        return TrainResult(
            best=best,
            evals=[best],
            num_params=10,
            trainable_params=10,
            unfrozen_at={},
            steps=8,
            samples_per_s=1.0,
            seconds_per_step=0.1,
            train_seconds=0.8,
            wall_time=1.0,
            device="cpu",
            precision="fp32",
            optimizer_state_bytes=0,
            peak_memory=PeakMemory(None, "not measured"),
        )

    monkeypatch.setattr("hpsearch.search.objective.train", train)
    monkeypatch.setattr("hpsearch.search.objective.divergence", lambda evals, data: None)
    spec = quora_study.spec(name="threads")
    study = optuna.create_study(direction="maximize")
    run_trials(study, Objective(spec, NoData()), budget=1, guard=SignalGuard())
    (trial,) = study.trials
    assert trial.user_attrs["threads"] == torch.get_num_threads()
    from hpsearch.search.record import seed_run

    assert seed_run(trial, 0, "f1").cost.threads == torch.get_num_threads()
    assert RunCost(8, 0.8, 0.1, 1.0, 1.0, 0, None, "x", "cpu", "fp32", 2).threads == 2


def test_settings_attr_is_what_the_rerun_records(pair, stand_in):
    """The fingerprint a re-run records names settings stored in its companion."""
    adam, mfac = pair()
    plan = plan_comparison([source(load_spec(p)) for p in (adam, mfac)])
    build_comparison(plan, seeds=1)
    companion = optuna.load_study(study_name="adam-reseed", storage=load_spec(adam).study.storage)
    (rerun,) = companion.trials
    stored = companion.user_attrs[settings_attr(rerun.user_attrs["spec_id"])]
    assert stored == trial_settings(load_spec(adam))
