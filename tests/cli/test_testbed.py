"""studies/sst2-testbed.toml end to end, shrunk with --set: its first enqueued schemes run
through the command line, then the report's learning-schemes table is built from them."""

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

# Every test reads the module's study: five trials trained through the command line (~15 s).
pytestmark = pytest.mark.slow

STUDY = Path(__file__).resolve().parents[2] / "studies" / "sst2-testbed.toml"
# The first five enqueued trials: full finetuning, frozen encoder, adapters, LoRA, ULMFiT.
N_TRIALS = 5
SHRINK = [
    # The lr in a range of its own: what is under test is the study, not calibrating.
    *uncalibrated(STUDY, 1e-3, 1e-5, 1e-1),
    "model.num_hidden_layers=2",
    "task.max_train_samples=64",
    "task.max_eval_samples=64",
    "task.max_length=32",
    "train.epochs=1",
    "train.batch_size=16",
    "train.eval_batch_size=64",
]


@pytest.fixture(scope="module")
def testbed(tmp_path_factory) -> tuple[list[str], optuna.Study]:
    return run_study_file(STUDY, tmp_path_factory.mktemp("testbed"), SHRINK, N_TRIALS)


def test_each_trial_records_its_trainable_params_and_time_per_step(testbed):
    _, study = testbed
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == N_TRIALS
    full, frozen, adapter, lora, ulmfit = (t.user_attrs["trainable_params"] for t in trials)
    assert frozen < lora < adapter < full == trials[0].user_attrs["num_params"]
    # ULMFiT unfreezes a layer every 5 steps; in these 4 steps only the head trained.
    assert ulmfit == frozen
    for t in trials:
        assert t.user_attrs["seconds_per_step"] > 0
        evals = t.user_attrs["evals"]
        assert evals[-1]["trainable_params"] == t.user_attrs["trainable_params"]
        assert {"loss", "accuracy"} <= set(t.user_attrs["metrics"])


def test_report_has_a_row_per_scheme(testbed, tmp_path):
    overrides, _ = testbed
    spec = load_spec(STUDY, overrides)
    report = report_study(spec, seeds=1)
    names = {
        (r.scheme.mode, r.scheme.discriminative, r.scheme.gradual_unfreezing)
        for r in report.schemes
    }
    assert names == {
        ("full", False, False),
        ("frozen", False, False),
        ("adapter", False, False),
        ("lora", False, False),
        ("full", True, True),
    }
    written, _ = write_report(report, tmp_path)
    assert {p.name for p in written} >= {"report.md", "schemes.csv", "report.json"}
    text = (tmp_path / "report.md").read_text()
    assert (
        "| learning scheme | adapter | scheduler | validation loss, 1 seed "
        "| validation accuracy, 1 seed | accuracy in the search |"
    ) in text
    assert "slanted triangular (cut_frac 0.1, ratio 32)" in text
    rows = list(csv.DictReader((tmp_path / "schemes.csv").open()))
    assert len(rows) == 5 and all(0 <= float(r["validation_accuracy"]) <= 1 for r in rows)
    assert all(r["n_accuracy"] == "1" and 0 <= float(r["mean_accuracy"]) <= 1 for r in rows)


def test_report_re_runs_each_scheme_s_best_config_once_per_seed(testbed):
    """Every scheme's trial is re-run with the report's seeds, in the companion study the
    comparison's re-runs share; a second report runs nothing new. The seed list starts at
    the study's train.seed, so the first re-run repeats the search's run exactly."""
    overrides, _ = testbed
    spec = load_spec(STUDY, overrides)
    report = report_study(spec, seeds=1)
    companion = optuna.load_study(study_name="sst2-testbed-reseed", storage=spec.study.storage)
    done = companion.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert sorted(t.user_attrs["source_trial"] for t in done) == sorted(
        r.trial for r in report.schemes
    )
    for row in report.schemes:
        assert row.seeded is not None and row.seeded.seeds == (0,)
        assert row.seeded.summary["accuracy"].mean == pytest.approx(
            row.metrics["accuracy"], abs=1e-6
        )
    again = report_study(spec, seeds=1)
    assert len(companion.get_trials()) == len(done)
    assert [r.seeded for r in again.schemes] == [r.seeded for r in report.schemes]
