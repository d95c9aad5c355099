"""The learning-schemes table: one row per scheme's best config, in the survey's columns.

The study here is written with Optuna directly (no training): trials with the params and
user attrs the objective would have stored.
"""

from __future__ import annotations

import csv
import io

import optuna
import pytest

from hpsearch.compare.markdown import markdown_table
from hpsearch.report.files import schemes_csv
from hpsearch.report.markdown import to_markdown
from hpsearch.report.model import ScheduleSettings, Scheme
from hpsearch.report.schemes import scheme_table
from hpsearch.report.tables import scheme_rows
from hpsearch.spec.suggest import suggest
from hpsearch.spec.validate import parse_spec
from tests.report.helpers import make_report

SPACE = {
    "train": {
        "lr": {"low": 1e-5, "high": 1e-1, "log": True},
        "schedule": {"choices": ["linear", "slanted_triangular", "cosine"]},
        "warmup_ratio": {"choices": [0.0, 0.1]},
        "cut_frac": {"low": 0.05, "high": 0.3},
    },
    "finetune": {
        "mode": {"choices": ["full", "frozen", "adapter", "lora"]},
        "adapter_size": {"choices": [16, 64]},
        "lora_r": {"choices": [4, 8]},
        "layer_lr_decay": {"choices": [1.0, 0.385]},
        "unfreeze_every": {"choices": [0, 10]},
    },
    "optimizer": {"kind": {"choices": ["adamw", "mfac", "sgd"]}},
}

# (params, accuracy, loss): two trials of the plain full-finetuning AdamW scheme, the second
# better; one of each other scheme.
TRIALS = [
    ({"finetune.mode": "full", "train.schedule": "linear", "train.warmup_ratio": 0.0}, 0.80, 0.45),
    ({"finetune.mode": "full", "train.schedule": "cosine", "train.warmup_ratio": 0.1}, 0.83, 0.41),
    (
        {"finetune.mode": "frozen", "train.schedule": "linear", "train.warmup_ratio": 0.0},
        0.70,
        0.58,
    ),
    (
        {
            "finetune.mode": "full",
            "finetune.layer_lr_decay": 0.385,
            "finetune.unfreeze_every": 10,
            "train.schedule": "slanted_triangular",
            "train.cut_frac": 0.1,
        },
        0.85,
        0.38,
    ),
    (
        {"finetune.mode": "adapter", "finetune.adapter_size": 64, "optimizer.kind": "mfac"},
        0.78,
        0.47,
    ),
    ({"finetune.mode": "lora", "finetune.lora_r": 8, "optimizer.kind": "sgd"}, 0.75, 0.52),
]


@pytest.fixture
def study_and_spec():
    spec = parse_spec(
        {"study": {"name": "testbed", "metric": "accuracy"}, "space": SPACE}, source="t.toml"
    )
    study = optuna.create_study(direction="maximize")
    defaults = {"finetune.layer_lr_decay": 1.0, "finetune.unfreeze_every": 0}
    defaults |= {"optimizer.kind": "adamw", "train.lr": 1e-3, "train.schedule": "linear"}
    defaults |= {"train.warmup_ratio": 0.0}
    for given, accuracy, loss in TRIALS:
        study.enqueue_trial({**defaults, **given})
        trial = study.ask()
        suggest(trial, spec)
        trial.set_user_attr("metrics", {"accuracy": accuracy, "loss": loss, "f1": accuracy})
        trial.set_user_attr("trainable_params", 1000)
        trial.set_user_attr("seconds_per_step", 0.25)
        study.tell(trial, accuracy)
    study.enqueue_trial({**defaults, "finetune.mode": "frozen"})
    study.tell(study.ask(), state=optuna.trial.TrialState.PRUNED)  # not a complete trial
    return study, spec


def test_one_row_per_scheme_with_its_best_trial(study_and_spec):
    study, spec = study_and_spec
    rows = scheme_table(spec, study)
    assert [r.trial for r in rows] == [3, 1, 4, 5, 2]  # best first; trial 0 lost to 1
    assert [r.n_trials for r in rows] == [1, 2, 1, 1, 1]
    ulmfit = rows[0]
    assert ulmfit.scheme == Scheme(
        mode="full",
        discriminative=True,
        gradual_unfreezing=True,
        optimizer="adamw",
        nesterov=None,
    )
    assert ulmfit.schedule == ScheduleSettings(
        schedule="slanted_triangular", warmup_ratio=None, cut_frac=0.1, ratio=32.0
    )
    assert ulmfit.metrics["loss"] == 0.38 and ulmfit.trainable_params == 1000
    assert (rows[2].finetune.mode, rows[2].finetune.adapter_size) == ("adapter", 64)
    assert rows[2].finetune.lora_r is None  # applies to LoRA only


def test_survey_table_columns_and_labels(study_and_spec):
    study, spec = study_and_spec
    header, rows = scheme_rows(scheme_table(spec, study), "accuracy")
    assert header == [
        "learning scheme",
        "adapter",
        "scheduler",
        "validation loss",
        "validation accuracy",
    ]
    assert rows == [
        [
            "full finetuning + discriminative lr + gradual unfreezing, AdamW",
            "no",
            "slanted triangular (cut_frac 0.1, ratio 32)",
            "0.3800",
            "0.8500",
        ],
        ["full finetuning, AdamW", "no", "cosine (warmup 0.1)", "0.4100", "0.8300"],
        ["adapters, M-FAC", "yes (64)", "linear", "0.4700", "0.7800"],
        ["LoRA, SGD (Nesterov)", "LoRA (r=8)", "linear", "0.5200", "0.7500"],
        ["frozen encoder, AdamW", "no", "linear", "0.5800", "0.7000"],
    ]
    assert markdown_table((header, rows)).splitlines()[0] == (
        "| learning scheme | adapter | scheduler | validation loss | validation accuracy |"
    )


def test_another_objective_gets_its_own_column(study_and_spec):
    study, spec = study_and_spec
    header, rows = scheme_rows(scheme_table(spec, study), "f1")
    assert header[-1] == "validation f1" and rows[0][-1] == "0.8500"


def test_schemes_csv_has_a_row_per_scheme(study_and_spec):
    study, spec = study_and_spec
    rows = list(csv.DictReader(io.StringIO(schemes_csv(scheme_table(spec, study)))))
    assert [r["trial"] for r in rows] == ["3", "1", "4", "5", "2"]
    assert rows[2]["adapter"] == "yes (64)" and rows[2]["optimizer"] == "mfac"
    assert float(rows[0]["validation_loss"]) == 0.38
    assert rows[0]["gradual_unfreezing"] == "True"


def test_markdown_report_has_the_schemes_section(study_and_spec):
    study, spec = study_and_spec
    report = make_report(
        study="testbed", study_file="t.toml", metric="accuracy", schemes=scheme_table(spec, study)
    )
    text = to_markdown(report)
    assert "## Learning schemes: the best config of each, by accuracy" in text
    assert (
        "- adapters, M-FAC: trial 4 (best of 1), 1,000 trainable parameters, 0.250 s/step" in text
    )
