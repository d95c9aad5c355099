"""The report data: report.json's and compare.json's keys and shape, and reading them back."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from hpsearch.compare.files import to_json
from hpsearch.compare.model import (
    COMPARE_VERSION,
    ArmResult,
    BestOdds,
    CompareReport,
    Comparison,
    ConfigResult,
    Cost,
    CurvePoint,
    EvalPoint,
    Paired,
    Role,
    RunCost,
    SeedRun,
    SpaceCell,
    SpaceRow,
    StatTest,
    Summary,
    TimeToTarget,
    TuningCurve,
    compare_version,
)
from hpsearch.report.model import (
    FinetuneSettings,
    MultitaskRow,
    MultitaskTable,
    Report,
    ScheduleSettings,
    Scheme,
    SchemeRow,
    Seeded,
    StudyTrials,
    TrialPoint,
)
from tests.report.helpers import make_comparison, make_report

# report.json's keys in its order: version 5 moved the configs into "comparison".
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
    "comparison",
    "schemes",
    "multitask",
    "studies",
    "notes",
]
COMPARISON_KEYS = [
    "metric",
    "direction",
    "metrics",
    "baseline",
    "seeds",
    "top",
    "budget",
    "budget_requested",
    "arms",
    "space",
    "warnings",
    "curves",
    "curve_resamples",
    "curve_band",
    "resamples",
    "ci_level",
    "paired",
    "target",
    "target_source",
    "costs",
    "configs",
    "notes",
    "ci_method",
    "calibrated",
    "sensitivity",
]
CONFIG_KEYS = [
    "arm",
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
    "drift",
]
RUN_KEYS = ["seed", "trial", "value", "metrics", "evals", "cost"]


def config(role: Role, optimizer: str, f1s: list[float]) -> ConfigResult:
    cost = RunCost(20, 4.0, 0.2, 160.0, 6.0, 800, 10**9, "CUDA max allocated", "cuda", "bf16")
    runs = tuple(
        SeedRun(
            seed=i,
            trial=i,
            value=f1,
            metrics={"f1": f1, "loss": 1 - f1},
            evals=(EvalPoint(10, 2.0, f1 - 0.1), EvalPoint(20, 4.0, f1)),
            cost=cost,
        )
        for i, f1 in enumerate(f1s)
    )
    return ConfigResult(
        arm={"adamw": "AdamW", "mfac": "M-FAC"}[optimizer],
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


def arm(c: ConfigResult, finished: int) -> ArmResult:
    return ArmResult(
        name=c.arm,
        study=c.study,
        study_file=f"{c.study}.toml",
        optimizer=c.optimizer,
        baseline=c.role == "baseline",
        finished=finished,
        judged=(0, 1),
        cut=tuple(range(2, finished)),
        best_trial=c.trial,
        summary=c.summary,
        best_run=c.best_run,
    )


@pytest.fixture
def comparison() -> Comparison:
    """A comparison with every part filled in, as `build_comparison` makes one."""
    base, study = config("baseline", "adamw", [0.5, 0.4]), config("study", "mfac", [0.6, 0.7])
    cells = {
        "AdamW": SpaceCell("searched", "1e-05 – 0.001 (log)"),
        "M-FAC": SpaceCell("fixed", "0.001"),
    }
    test = StatTest(statistic=2.0, p=0.04, p_holm=None)
    return make_comparison(
        seeds=(0, 1),
        budget=2,
        arms=(arm(base, 3), arm(study, 2)),
        space=(SpaceRow(field="train.lr", shared=True, cells=cells),),
        warnings=("train.lr: searched by AdamW (…) but fixed by M-FAC (0.001)",),
        curves=(
            TuningCurve(
                arm="AdamW",
                values=(0.4, 0.5),
                points=(CurvePoint(1, 0.45, 0.4, 0.5, 0.4), CurvePoint(2, 0.475, 0.4, 0.5, 0.5)),
            ),
        ),
        paired=(
            Paired(
                arm="M-FAC",
                metric="f1",
                seeds=(0, 1),
                differences=(0.1, 0.3),
                mean=0.2,
                std=0.14,
                ci_low=0.1,
                ci_high=0.3,
                effect_size=1.4,
                t_test=test,
                wilcoxon=StatTest(None, None),
                wilcoxon_floor=0.5,
                welch=test,
            ),
        ),
        target=0.45,
        costs=(
            Cost(
                arm="AdamW",
                runs=2,
                seconds_per_step=0.2,
                samples_per_s=160.0,
                train_seconds=4.0,
                wall_time=6.0,
                optimizer_state_bytes=800,
                peak_memory_bytes=None,
                peak_memory="not measured",
                target_seconds=None,
                target_steps=None,
                reached=0,
                to_target=(TimeToTarget(0, None, None), TimeToTarget(1, 4.0, 20)),
                ran_on=("cuda, bf16",),
            ),
        ),
        configs=(base, study),
    )


@pytest.fixture
def report(comparison) -> Report:
    """A report with every part filled in, as `build_report` makes one."""
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
        seeded=Seeded(
            seeds=(0, 1),
            values={"accuracy": (0.8, 0.7)},
            summary={"accuracy": Summary(2, 0.75, 0.05, 0.8, 0.7)},
        ),
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
    return make_report(
        metric="f1",
        metrics=("f1", "loss"),
        comparison=comparison,
        schemes=(scheme,),
        multitask=table,
        studies=(trials,),
        notes=("a note",),
    )


def test_report_json_keys_and_shape(report):
    data = json.loads(to_json(report))
    assert list(data) == REPORT_KEYS and data["version"] == 6
    comp = data["comparison"]
    assert list(comp) == COMPARISON_KEYS
    assert [list(c) for c in comp["configs"]] == [CONFIG_KEYS, CONFIG_KEYS]
    assert comp["configs"][1]["runs"][1] == {
        "seed": 1,
        "trial": 1,
        "value": 0.7,
        "metrics": {"f1": 0.7, "loss": pytest.approx(0.3)},
        "evals": [
            {"step": 10, "train_seconds": 2.0, "value": pytest.approx(0.6), "one_class": False},
            {"step": 20, "train_seconds": 4.0, "value": 0.7, "one_class": False},
        ],
        "cost": {
            "steps": 20,
            "train_seconds": 4.0,
            "seconds_per_step": 0.2,
            "samples_per_s": 160.0,
            "wall_time": 6.0,
            "optimizer_state_bytes": 800,
            "peak_memory_bytes": 10**9,
            "peak_memory": "CUDA max allocated",
            "device": "cuda",
            "precision": "bf16",
            "threads": None,
        },
        "joint_metrics": None,
        "one_class": None,
        "diverged": None,
    }
    assert comp["configs"][0]["summary"]["f1"] == {
        "n": 2,
        "mean": 0.5,
        "std": None,
        "best": 0.5,
        "worst": 0.4,
    }
    assert comp["arms"][1]["cut"] == [] and comp["arms"][0]["cut"] == [2]
    assert comp["space"][0]["cells"]["M-FAC"] == {"state": "fixed", "text": "0.001"}
    assert comp["curves"][0]["points"][1] == {
        "k": 2,
        "expected": 0.475,
        "low": 0.4,
        "high": 0.5,
        "observed": 0.5,
    }
    paired = comp["paired"][0]
    assert paired["t_test"] == {"statistic": 2.0, "p": 0.04, "p_holm": None}
    assert paired["wilcoxon"] == {"statistic": None, "p": None, "p_holm": None}
    cost = comp["costs"][0]
    assert cost["target_seconds"] is None and cost["reached"] == 0  # never reached: null
    assert cost["to_target"][1] == {"seed": 1, "seconds": 4.0, "steps": 20}
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
    assert data["schemes"][0]["seeded"] == {
        "seeds": [0, 1],
        "values": {"accuracy": [0.8, 0.7]},
        "summary": {"accuracy": {"n": 2, "mean": 0.75, "std": 0.05, "best": 0.8, "worst": 0.7}},
    }
    assert data["multitask"]["rows"][1] == {
        "row": "pcgrad",
        "trial": None,
        "n_trials": 0,
        "combine": None,
        "params": {},
        "metrics": {},
        "seeded": None,
    }
    assert data["studies"][0]["trials"][0]["intermediate"] == [[0, 0.5], [1, 0.7]]
    assert data["notes"] == ["a note"]


def test_report_json_reads_back_as_the_same_report(report):
    assert Report.from_dict(json.loads(to_json(report))) == report
    bare = make_report()  # one arm, no multitask table, nothing in the tuples
    assert Report.from_dict(json.loads(to_json(bare))) == bare


def test_compare_json_reads_back_as_the_same_comparison(comparison):
    doc = CompareReport(COMPARE_VERSION, "now", "a-vs-b", ("a.toml", "b.toml"), comparison)
    data = json.loads(to_json(doc))
    assert list(data) == ["version", "created", "name", "study_files", "comparison"]
    assert CompareReport.from_dict(data) == doc
    data["version"] = 3
    with pytest.raises(ValueError, match=r"compare.json `version` must be one of \(1, 2\)"):
        CompareReport.from_dict(data)


def test_a_comparison_on_a_compute_axis_is_version_2_and_reads_back(comparison):
    """The fields added for budgets in compute and P(best) are written only where they are
    not their default: a comparison on the trials axis is written as version 1 wrote it."""
    assert compare_version(comparison) == 1
    plain = json.loads(to_json(comparison))
    assert not {"budget_by", "axis_budget", "best_odds", "curve_draws"} & set(plain)
    assert "budget" not in plain["curves"][0]["points"][0] and "costs" not in plain["curves"][0]
    assert "judged_compute" not in plain["arms"][0]

    (curve,) = comparison.curves
    by_seconds = replace(
        comparison,
        budget_by="seconds",
        axis_budget=12.0,
        curves=(replace(curve, costs=(5.0, 7.0), points=(replace(curve.points[0], budget=6.0),)),),
        arms=tuple(replace(a, judged_compute=12.0, finished_compute=20.0) for a in comparison.arms),
        best_odds=(BestOdds(6.0, {"AdamW": 0.25, "M-FAC": 0.75}),),
        best_odds_draws=100,
    )
    assert compare_version(by_seconds) == 2
    doc = CompareReport(2, "now", "a-vs-b", ("a.toml", "b.toml"), by_seconds)
    data = json.loads(to_json(doc))
    assert data["comparison"]["budget_by"] == "seconds"
    assert data["comparison"]["best_odds"] == [
        {"budget": 6.0, "p_best": {"AdamW": 0.25, "M-FAC": 0.75}}
    ]
    assert CompareReport.from_dict(data) == doc


def test_a_run_written_without_evals_or_cost_reads_with_neither(comparison):
    """A re-run stored before hpsearch kept its evaluations and cost: both empty."""
    run = comparison.configs[0].runs[0].to_dict()
    del run["evals"], run["cost"]
    from hpsearch.compare.model import from_dict

    back = from_dict(SeedRun, run)
    assert back.evals == () and back.cost.seconds_per_step is None


def test_nan_is_written_as_null_and_read_back_as_nan(report):
    run = SeedRun(seed=0, trial=0, value=math.nan, metrics={"f1": math.nan})
    diverged = replace(config("study", "adamw", [0.5]), runs=(run,), best_run=run)
    comparison = replace(report.comparison, configs=(diverged,))
    data = json.loads(to_json(make_report(comparison=comparison)))
    (written,) = data["comparison"]["configs"][0]["runs"]
    assert (written["value"], written["metrics"]) == (None, {"f1": None})
    (back,) = Report.from_dict(data).comparison.configs
    assert math.isnan(back.runs[0].value) and math.isnan(back.best_run.metrics["f1"])
    assert back.search_value == 0.5  # an optional float stays as it is


@pytest.mark.parametrize("version", [3, 4, 7, None])
def test_from_dict_reads_only_versions_5_and_6(report, version):
    data = json.loads(to_json(report))
    data["version"] = version
    with pytest.raises(ValueError, match=rf"`version` must be one of \(5, 6\), but got {version}"):
        Report.from_dict(data)


def test_a_version_5_report_reads_with_rows_not_re_run(report):
    """Version 5 had no seed re-runs of the schemes' and multitask rows: they read as None."""
    data = json.loads(to_json(report))
    data["version"] = 5
    for row in [*data["schemes"], *data["multitask"]["rows"]]:
        del row["seeded"]
    back = Report.from_dict(data)
    assert back.schemes[0].seeded is None
    assert all(r.seeded is None for r in back.multitask.rows)


def test_params_keep_the_type_of_each_value(report):
    """A param value is None, bool, int, float or str (Optuna's choices): each reads back as
    it was written, a bool not as 1 nor an int as 1.0."""
    params = {"none": None, "flag": True, "layers": 3, "lr": 0.5, "whole": 2.0, "kind": "x"}
    config = replace(report.comparison.configs[0], params=params)
    data = json.loads(
        to_json(replace(report, comparison=replace(report.comparison, configs=(config,))))
    )
    (back,) = Report.from_dict(data).comparison.configs
    assert back.params == params
    assert [type(v) for v in back.params.values()] == [type(v) for v in params.values()]


def test_a_value_that_does_not_fit_its_field_is_one_line_naming_the_key(report):
    data = json.loads(to_json(report))
    data["comparison"]["arms"][0]["finished"] = "many"
    with pytest.raises(ValueError, match=r"^report.json `comparison.arms.0.finished`: ") as e:
        Report.from_dict(data)
    assert "'many'" in str(e.value) and "\n" not in str(e.value)
    del data["comparison"]["arms"][0]["finished"], data["study"]
    with pytest.raises(
        ValueError, match=r"^report.json `study` is missing \(and 1 more problem\)$"
    ):
        Report.from_dict(data)
    with pytest.raises(
        ValueError, match=r"^compare.json must hold a JSON object, but holds a list$"
    ):
        CompareReport.from_dict([])


def test_data_that_is_not_an_object_is_one_line():
    from hpsearch.compare.model import from_dict

    with pytest.raises(ValueError, match=r"^the data: Input should be .*, but got \[1, 2\]$"):
        from_dict(SeedRun, [1, 2])
