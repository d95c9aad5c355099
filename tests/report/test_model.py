"""The report's data model: report.json's keys and shape, and reading it back."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from hpsearch.report.files import report_json
from hpsearch.report.model import (
    Comparison,
    ComparisonSide,
    ConfigResult,
    Difference,
    FinetuneSettings,
    MultitaskRow,
    MultitaskTable,
    Report,
    Role,
    ScheduleSettings,
    Scheme,
    SchemeRow,
    StudyTrials,
    Summary,
    TrialPoint,
    Welch,
)
from hpsearch.search.reseed import SeedRun
from tests.report.helpers import make_report

# report.json's keys as version 3 wrote them, in its order; version 4 keeps them.
REPORT_KEYS = [
    "version",
    "created",
    "study",
    "study_file",
    "baseline",
    "baseline_file",
    "metric",
    "direction",
    "seeds",
    "top",
    "metrics",
    "configs",
    "comparison",
    "schemes",
    "multitask",
    "studies",
    "notes",
]
CONFIG_KEYS = [
    "role",
    "study",
    "metric",
    "optimizer",
    "trial",
    "params",
    "search_value",
    "reseed_study",
    "seeds",
    "runs",
    "summary",
    "best_run",
]


def config(role: Role, optimizer: str, f1s: list[float]) -> ConfigResult:
    runs = tuple(
        SeedRun(seed=i, trial=i, value=f1, metrics={"f1": f1, "loss": 1 - f1})
        for i, f1 in enumerate(f1s)
    )
    return ConfigResult(
        role=role,
        study=role,
        metric="f1",
        optimizer=optimizer,
        trial=0,
        params={"train.lr": 1e-3, "optimizer.kind": optimizer, "train.epochs": 2},
        search_value=max(f1s),
        reseed_study=f"{role}-reseed",
        seeds=tuple(range(len(f1s))),
        runs=runs,
        summary={"f1": Summary(n=len(f1s), mean=0.5, std=None, best=max(f1s), worst=min(f1s))},
        best_run=runs[0],
    )


def side(c: ConfigResult) -> ComparisonSide:
    return ComparisonSide(
        role=c.role,
        study=c.study,
        optimizer=c.optimizer,
        trial=c.trial,
        params=c.params,
        seeds=c.seeds,
        best_run=c.best_run,
        summary=c.summary,
    )


@pytest.fixture
def report() -> Report:
    """A report with every part filled in, as `build_report` makes one."""
    study, base = config("study", "mfac", [0.6, 0.7]), config("baseline", "adamw", [0.5, 0.4])
    scheme = SchemeRow(
        scheme=Scheme("lora", False, False, "sgd", True),
        finetune=FinetuneSettings("lora", None, 8, 16.0, 1.0, 0, "epochs"),
        schedule=ScheduleSettings("slanted_triangular", None, 0.1, 32.0),
        metrics={"accuracy": 0.8},
        value=0.8,
        trial=3,
        params={"finetune.mode": "lora"},
        trainable_params=1000,
        seconds_per_step=None,
        n_trials=2,
    )
    table = MultitaskTable(
        metric="mean",
        columns=("sst/accuracy", "mean"),
        rows=(
            MultitaskRow("sum", 0, 1, "sum", {"multitask.ensemble": False}, {"mean": 0.5}),
            MultitaskRow("pcgrad", None, 0, None, {}, {}),
        ),
    )
    trials = StudyTrials(
        name="study",
        role="study",
        metric="f1",
        direction="maximize",
        trials=(TrialPoint(0, "complete", 0.7, ((0, 0.5), (1, 0.7))),),
        importance={"train.lr": 1.0},
        importance_note=None,
    )
    comparison = Comparison(
        metric="f1",
        metrics=("f1",),
        baseline=side(base),
        study=side(study),
        difference={"f1": Difference(mean=0.2, best_run=0.1)},
        welch={"f1": Welch(t=None, p=None)},
    )
    return make_report(
        metric="f1",
        metrics=("f1", "loss"),
        configs=(study, base),
        comparison=comparison,
        schemes=(scheme,),
        multitask=table,
        studies=(trials,),
        notes=("a note",),
    )


def test_report_json_keeps_the_keys_and_shape_of_version_3(report):
    data = json.loads(report_json(report))
    assert list(data) == REPORT_KEYS and data["version"] == 4
    assert [list(c) for c in data["configs"]] == [CONFIG_KEYS, CONFIG_KEYS]
    assert data["configs"][0]["runs"][1] == {
        "seed": 1,
        "trial": 1,
        "value": 0.7,
        "metrics": {"f1": 0.7, "loss": pytest.approx(0.3)},
    }
    assert data["configs"][0]["summary"]["f1"] == {
        "n": 2,
        "mean": 0.5,
        "std": None,
        "best": 0.7,
        "worst": 0.6,
    }
    comp = data["comparison"]
    assert list(comp) == ["metric", "metrics", "baseline", "study", "difference", "welch"]
    assert list(comp["study"]) == [
        "role",
        "study",
        "optimizer",
        "trial",
        "params",
        "seeds",
        "best_run",
        "summary",
    ]
    assert comp["difference"] == {"f1": {"mean": 0.2, "best_run": 0.1}}
    assert comp["welch"] == {"f1": {"t": None, "p": None}}
    assert data["schemes"][0]["scheme"] == {
        "mode": "lora",
        "discriminative": False,
        "gradual_unfreezing": False,
        "optimizer": "sgd",
        "nesterov": True,
    }
    assert data["schemes"][0]["schedule"] == {
        "schedule": "slanted_triangular",
        "warmup_ratio": None,
        "cut_frac": 0.1,
        "ratio": 32.0,
    }
    assert data["multitask"]["rows"][1] == {
        "row": "pcgrad",
        "trial": None,
        "n_trials": 0,
        "combine": None,
        "params": {},
        "metrics": {},
    }
    assert data["studies"][0]["trials"][0]["intermediate"] == [[0, 0.5], [1, 0.7]]
    assert data["notes"] == ["a note"]


def test_report_json_reads_back_as_the_same_report(report):
    assert Report.from_dict(json.loads(report_json(report))) == report
    bare = make_report()  # no comparison, no multitask table, nothing in the tuples
    assert Report.from_dict(json.loads(report_json(bare))) == bare


def test_nan_is_written_as_null_and_read_back_as_nan(report):
    run = SeedRun(seed=0, trial=0, value=math.nan, metrics={"f1": math.nan})
    diverged = replace(config("study", "adamw", [0.5]), runs=(run,), best_run=run)
    data = json.loads(report_json(make_report(configs=(diverged,))))
    assert data["configs"][0]["runs"] == [
        {"seed": 0, "trial": 0, "value": None, "metrics": {"f1": None}}
    ]
    (back,) = Report.from_dict(data).configs
    assert math.isnan(back.runs[0].value) and math.isnan(back.best_run.metrics["f1"])
    assert back.search_value == 0.5  # an optional float stays as it is


@pytest.mark.parametrize("version", [2, 5, None])
def test_from_dict_reads_only_versions_3_and_4(report, version):
    data = json.loads(report_json(report))
    data["version"] = version
    with pytest.raises(ValueError, match=rf"`version` must be one of \(3, 4\), but got {version}"):
        Report.from_dict(data)
    data["version"] = 3  # the same shape as 4
    assert Report.from_dict(data).configs == report.configs
