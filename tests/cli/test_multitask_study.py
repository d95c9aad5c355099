"""studies/multitask.toml end to end, shrunk with --set: its first three enqueued trials
(summed loss, PCGrad, summed loss then the per-task ensemble) run through the command line
on the shared SST, Quora and STS files, then the report's per-task table is built."""

from __future__ import annotations

import csv
from pathlib import Path

import optuna
import pytest

from hpsearch.report.build import report_study
from hpsearch.report.files import write_report
from hpsearch.spec.load import load_spec
from tests.commands import run_study_file
from tests.studies import uncalibrated

# Every test reads the module's study: three trials trained through the command line (~13 s).
pytestmark = pytest.mark.slow

STUDY = Path(__file__).resolve().parents[2] / "studies" / "multitask.toml"
N_TRIALS = 3
SHRINK = [
    # Its lr is "calibrated": searched in a set range instead, lest real probes train.
    *uncalibrated(STUDY, 3e-4, 3e-5, 3e-3),
    *(
        f"tasks.{task}.{field}"
        for task in ("sst", "quora", "sts")
        for field in ("max_train_samples=32", "max_eval_samples=32", "max_length=32")
    ),
    "model.num_hidden_layers=1",
    "train.epochs=1",
    "train.batch_size=16",
    "train.eval_batch_size=64",
]


@pytest.fixture(scope="module")
def multitask(tmp_path_factory) -> tuple[list[str], optuna.Study]:
    return run_study_file(STUDY, tmp_path_factory.mktemp("multitask"), SHRINK, N_TRIALS)


def test_every_trial_records_each_tasks_metrics(multitask):
    _, study = multitask
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert [(t.params["multitask.combine"], t.params["multitask.ensemble"]) for t in trials] == [
        ("sum", False),
        ("pcgrad", False),
        ("sum", True),
    ]
    for t in trials:
        joint = t.user_attrs["joint_metrics"]
        assert {"sst/accuracy", "quora/accuracy", "quora/f1", "sts/pearson", "mean"} <= set(joint)
        # Pruning sees the objective: each evaluation's mean, where a classifier answered
        # one class with its task at chance (value_at_chance), as the value is.
        assert t.intermediate_values == {
            e["index"]: e.get("value_at_chance", e["metrics"]["mean"])
            for e in t.user_attrs["evals"]
        }
    summed, _, ensemble = trials
    joint_mean = summed.user_attrs["joint_metrics"]["mean"]
    assert summed.value == summed.user_attrs.get("value_at_chance", joint_mean)
    ensemble_mean = ensemble.user_attrs["ensemble_metrics"]["mean"]
    assert ensemble.value == ensemble.user_attrs.get("value_at_chance", ensemble_mean)
    # The same seed and setting: the ensemble trial's joint model is the summed-loss trial's.
    assert ensemble.user_attrs["joint_metrics"] == summed.user_attrs["joint_metrics"]


def test_report_has_the_three_rows(multitask, tmp_path):
    overrides, _ = multitask
    spec = load_spec(STUDY, overrides)
    report = report_study(spec, seeds=1)
    written, _ = write_report(report, tmp_path)
    assert {p.name for p in written} >= {"report.md", "multitask.csv", "report.json"}
    text = (tmp_path / "report.md").read_text()
    header = (
        "|  | sst accuracy, 1 seed | quora accuracy, 1 seed | quora F1, 1 seed "
        "| sts Pearson, 1 seed | mean, 1 seed | trial | mean in the search |"
    )
    assert header in text
    rows_md = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line[:2] == "| "}
    for label, trial in (
        ("summed loss", 0),
        ("PCGrad", 1),
        ("per-task ensemble (after summed loss)", 2),
    ):
        assert f" | {trial} (best of " in rows_md[label]
    rows = list(csv.DictReader((tmp_path / "multitask.csv").open()))
    assert [r["row"] for r in rows] == ["sum", "pcgrad", "ensemble"]
    for r in rows:
        assert 0 <= float(r["sst/accuracy"]) <= 1 and -1 <= float(r["sts/pearson"]) <= 1
        assert r["n_mean"] == "1"
    # Re-run with the study's own seed, each row repeats its search run: the summed-loss and
    # PCGrad rows on the jointly trained model, the ensemble row on its per-task copies.
    for row in report.multitask.rows:
        assert row.seeded is not None
        for m in report.multitask.columns:
            assert row.seeded.summary[m].mean == pytest.approx(row.metrics[m], abs=1e-6), (
                row.row,
                m,
            )
