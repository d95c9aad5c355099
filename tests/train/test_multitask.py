"""Multitask studies: the [[tasks]] spec, the heads, joint training (round robin, summed loss,
PCGrad, mixed precision), the per-task ensemble, the objective's records and the report's
per-task table.

The training tests run minilm cut to 1 layer on a few dozen examples of the shared SST,
Quora and STS files; they check what happens, not how well.
"""

from __future__ import annotations

import copy
import csv
import io
import math
from pathlib import Path

import optuna
import pytest
import torch
from torch.nn import functional as F

import hpsearch.train.trainer as trainer_module
from hpsearch.data.encode import DataCache
from hpsearch.errors import SpecError
from hpsearch.metrics import default_direction, metrics_of_task, multitask_metrics
from hpsearch.report.files import multitask_csv
from hpsearch.report.markdown import to_markdown
from hpsearch.report.multitask import multitask_table
from hpsearch.report.tables import multitask_rows
from hpsearch.search.objective import Objective
from hpsearch.spec.load import apply_override
from hpsearch.spec.suggest import suggest
from hpsearch.spec.validate import parse_spec
from hpsearch.train.heads import HeadSpec, TaskHead
from hpsearch.train.trainer import train
from hpsearch.train.vocab import used_tokens
from tests.report.helpers import make_report
from tests.studies import quora_data

SST = {
    "key": "sst",
    "name": "local",
    "train_file": "sst-train.tsv",
    "validation_file": "sst-dev.tsv",
    "text_fields": ["sentence"],
    "label_field": "sentiment",
}
QUORA = {"key": "quora", "report_metrics": ["accuracy", "f1"]}  # and the shipped studies' data
STS = {
    "key": "sts",
    "name": "local",
    "train_file": "sts-train.tsv",
    "validation_file": "sts-dev.tsv",
    "text_fields": ["sentence1", "sentence2"],
    "label_field": "similarity",
    "label_kind": "regression",
}


def raw_study(**sections) -> dict:
    tasks = [dict(SST), {**QUORA, **quora_data()}, dict(STS)]
    return {"study": {"name": "mt"}, "tasks": tasks, **sections}


def tiny(cs224n: Path, sizes=(32, 48, 16), **sections) -> dict:
    """Three tasks of a few examples each; minilm with 1 layer; one evaluation an epoch."""
    raw = raw_study(
        model={"num_hidden_layers": 1},
        train={"epochs": 1, "batch_size": 16, "evals_per_epoch": 1, "lr": 1e-3},
        **sections,
    )
    for task, n in zip(raw["tasks"], sizes, strict=True):
        task.update(max_length=24, max_train_samples=n, max_eval_samples=16)
    return raw


@pytest.fixture(scope="module")
def cache() -> DataCache:
    return DataCache()


# --- spec ---------------------------------------------------------------------------------


def test_multitask_spec_defaults(cs224n):
    spec = parse_spec(raw_study(), base_dir=cs224n)
    assert spec.is_multitask
    assert spec.metric == "mean" and spec.direction == "maximize"
    assert [(t.key, t.metric) for t in spec.tasks] == [
        ("sst", "accuracy"),
        ("quora", "accuracy"),
        ("sts", "pearson"),
    ]
    assert spec.tasks[0].train_file == str((cs224n / "sst-train.tsv").resolve())
    assert spec.shown_metrics == [
        "sst/accuracy",
        "quora/accuracy",
        "quora/f1",
        "sts/pearson",
        "mean",
    ]
    assert (spec.multitask.combine, spec.multitask.ensemble) == ("sum", False)
    saved = spec.to_dict()
    assert "task" not in saved and [t["key"] for t in saved["tasks"]] == ["sst", "quora", "sts"]
    assert saved["multitask"]["combine"] == "sum"


def test_a_single_task_spec_is_saved_as_before(cs224n):
    raw = {"study": {"name": "one"}, "task": {**SST}}
    del raw["task"]["key"]
    spec = parse_spec(raw, base_dir=cs224n)
    assert not spec.is_multitask and spec.shown_metrics is None
    assert set(spec.to_dict()) == {
        "study",
        "task",
        "model",
        "train",
        "finetune",
        "optimizer",
        "space",
    }


def bad(raw: dict, path: str, value) -> dict:
    raw = copy.deepcopy(raw)
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[last] = value
    return raw


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (lambda r: {**r, "task": {"name": "sst2"}}, "task", "either [task] or [[tasks]]"),
        (lambda r: {**r, "tasks": r["tasks"][:1]}, "tasks", "two or more tasks, got 1"),
        (lambda r: bad(r, "tasks.1.key", "sst"), "tasks[1].key", "key of another task"),
        (lambda r: bad(r, "tasks.1.key", "Quora/x"), "tasks[1].key", "should match pattern"),
        (lambda r: bad(r, "tasks.2.label_field", None), "tasks[2].label_field", "required"),
        (lambda r: bad(r, "tasks.0.metric", "loss"), "tasks[0].metric", "metric to maximize"),
        (lambda r: bad(r, "tasks.2.metric", "accuracy"), "tasks[2].metric", "not 'accuracy'"),
        (
            lambda r: bad(r, "tasks.1.report_metrics", ["f1", "pearson"]),
            "tasks[1].report_metrics",
            "not 'pearson'",
        ),
        (lambda r: bad(r, "tasks.0.colour", 1), "tasks[0].colour", "unknown key"),
        (lambda r: bad(r, "study.metric", "quora/pearson"), "study.metric", "not 'quora/pearson'"),
        (
            lambda r: bad(r, "multitask.ensemble_epochs", 2),
            "multitask.ensemble_epochs",
            "only applies when multitask.ensemble is one of [True]",
        ),
        (lambda r: bad(r, "multitask.combine", "mean"), "multitask.combine", "'sum' or 'pcgrad'"),
    ],
)
def test_multitask_spec_errors_name_the_key(cs224n, change, key, message):
    with pytest.raises(SpecError) as info:
        parse_spec(change(raw_study()), source="mt.toml", base_dir=cs224n)
    assert info.value.source == "mt.toml" and info.value.key == key
    assert message in info.value.message


@pytest.mark.parametrize(
    ("section", "key"), [({"multitask": {"combine": "pcgrad"}}, "multitask"), ({}, "space")]
)
def test_multitask_sections_need_tasks(cs224n, section, key):
    raw = {"study": {"name": "one"}, "task": {"name": "sst2"}, **section}
    if not section:
        raw["space"] = {"multitask": {"combine": {"choices": ["sum", "pcgrad"]}}}
    with pytest.raises(SpecError, match="only applies to a multitask study") as info:
        parse_spec(raw, base_dir=cs224n)
    assert info.value.key == ("multitask" if section else "space.multitask")


def test_study_metric_may_be_one_tasks_metric(cs224n):
    spec = parse_spec(bad(raw_study(), "study.metric", "sts/mse"), base_dir=cs224n)
    assert spec.direction == "minimize"


def test_set_reaches_a_task_by_its_key():
    raw = raw_study(space={})
    apply_override(raw, "tasks.sts.max_train_samples=500")
    assert (
        raw["tasks"][2]["max_train_samples"] == 500 and "max_train_samples" not in raw["tasks"][0]
    )
    with pytest.raises(SpecError, match="no entry with key 'mrpc'"):
        apply_override(raw, "tasks.mrpc.max_length=64")
    with pytest.raises(SpecError, match="name an entry by its key"):
        apply_override(raw, "tasks.max_length=64")


def test_combine_and_the_ensemble_are_searched(cs224n):
    space = {
        "multitask": {
            "combine": {"choices": ["sum", "pcgrad"]},
            "ensemble": {"choices": [False, True]},
            "ensemble_epochs": {"low": 1, "high": 3},
        }
    }
    spec = parse_spec(raw_study(space=space), base_dir=cs224n)
    off = optuna.trial.FixedTrial({"multitask.combine": "pcgrad", "multitask.ensemble": False})
    assert suggest(off, spec) == {"multitask.combine": "pcgrad", "multitask.ensemble": False}
    on = optuna.trial.FixedTrial(
        {"multitask.combine": "sum", "multitask.ensemble": True, "multitask.ensemble_epochs": 2}
    )
    params = suggest(on, spec)
    assert params["multitask.ensemble_epochs"] == 2
    assert spec.with_params(params).multitask.ensemble_epochs == 2
    # Fixing the ensemble off drops the epochs it rules out from the space.
    raw = raw_study(space=copy.deepcopy(space))
    apply_override(raw, "multitask.ensemble=false")
    assert sorted(parse_spec(raw, base_dir=cs224n).space) == ["multitask.combine"]


# --- metrics and heads --------------------------------------------------------------------


def test_multitask_metrics_are_flat_with_the_mean_of_each_tasks_metric():
    per_task = {
        "sst": {"accuracy": 0.4, "f1": 0.3},
        "quora": {"accuracy": 0.7, "f1": 0.6},
        "sts": {"pearson": 0.5, "mse": 2.0},
    }
    flat = multitask_metrics(per_task, {"sst": "accuracy", "quora": "accuracy", "sts": "pearson"})
    assert flat["mean"] == pytest.approx((0.4 + 0.7 + 0.5) / 3)
    assert flat["quora/f1"] == 0.6 and flat["sts/mse"] == 2.0 and len(flat) == 7
    assert metrics_of_task(flat, "sts") == per_task["sts"]
    assert default_direction("sts/mse") == "minimize"
    assert default_direction("sts/pearson") == default_direction("mean") == "maximize"


def test_regression_head_gives_one_value_and_mse_on_the_float_label():
    torch.manual_seed(0)
    head = TaskHead(8, HeadSpec(num_labels=3, kind="regression", bias=2.5), 0.0, 0.02)
    pooled = torch.randn(5, 8)
    labels = torch.tensor([0.0, 1.2, 2.5, 3.8, 5.0])
    out = head(pooled, labels)
    assert out.logits.shape == (5, 1)  # one value, whatever num_labels says
    assert torch.equal(head.out.bias, torch.tensor([2.5]))
    values = out.logits.squeeze(-1)
    assert torch.allclose(out.loss, ((values - labels) ** 2).mean())
    assert not torch.equal(values, values.round())  # no integer cast
    assert len(set(values.tolist())) == 5  # no argmax or softmax: one value per pair
    out.loss.backward()
    assert head.out.weight.grad.abs().sum() > 0


def test_heads_stay_float32_under_mixed_precision():
    """Under bf16 autocast a regression output near 2.5 would move in steps of 1/64; the
    head runs in float32, so outputs 1e-3 apart stay apart."""
    head = TaskHead(2, HeadSpec(1, "regression", bias=2.5), 0.0, 0.02)
    with torch.no_grad():
        head.out.weight.copy_(torch.tensor([[1e-3, 0.0]]))
    pooled = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(pooled.bfloat16(), torch.tensor([1.0, 2.0, 3.0]))
    assert out.logits.dtype == torch.float32
    assert len(set(out.logits.squeeze(-1).tolist())) == 3


def test_classification_head_gives_a_logit_per_class():
    torch.manual_seed(0)
    head = TaskHead(8, HeadSpec(5, "classification"), 0.0, 0.02)
    labels = torch.tensor([0, 4, 2])
    out = head(torch.randn(3, 8), labels)
    assert out.logits.shape == (3, 5)
    assert torch.allclose(out.loss, F.cross_entropy(out.logits, labels))


# --- training -----------------------------------------------------------------------------


class CountForwards:
    """Wraps the trainer's multitask model builder; records the task of every training-mode
    forward pass of the model and of its per-task copies (deepcopy keeps the hook)."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[int, str]] = []  # (index of the model in `models`, task)
        self.models: list[torch.nn.Module] = []  # every model seen, in order of first forward
        real = trainer_module.build_multitask_model
        calls, models = self.calls, self.models

        # A closure, not a bound method: deepcopy would copy a method's object, and the
        # copies would record into a copy of this list. Models are told apart by identity
        # against strong references, never by id(): a freed copy's id is reused by the next.
        def hook(module, args, kwargs):
            if module.training:
                index = next((i for i, m in enumerate(models) if m is module), None)
                if index is None:
                    index = len(models)
                    models.append(module)
                calls.append((index, kwargs["task"]))

        def build_and_count(*args, **kwargs):
            model = real(*args, **kwargs)
            model.register_forward_pre_hook(hook, with_kwargs=True)
            return model

        monkeypatch.setattr(trainer_module, "build_multitask_model", build_and_count)


@pytest.mark.slow
def test_joint_training_pcgrad_bf16_then_a_per_task_ensemble(cs224n, cache, monkeypatch):
    """Through the Optuna objective: each step takes a batch of sst, quora and sts in turn,
    an epoch is as long as the largest task (48 Quora pairs = 3 batches of 16; 32 SST
    sentences and 16 STS pairs start another pass), PCGrad combines the three gradients of
    every step, bf16 autocast runs, then a copy per task trains on its task alone."""
    counter = CountForwards(monkeypatch)
    combined = []
    real_write = trainer_module.write_pcgrad

    def spy(params, task_grads, generator=None):
        combined.append(len(task_grads))
        real_write(params, task_grads, generator)

    monkeypatch.setattr(trainer_module, "write_pcgrad", spy)
    raw = tiny(cs224n, multitask={"combine": "pcgrad", "ensemble": True, "ensemble_epochs": 1})
    raw["train"]["precision"] = "bf16"
    spec = parse_spec(raw, base_dir=cs224n)
    study = optuna.create_study(direction="maximize")
    study.optimize(Objective(spec, cache), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE, trial.user_attrs
    assert (trial.user_attrs["device"], trial.user_attrs["precision"]) == ("cpu", "bf16")

    joint_model = counter.calls[0][0]
    joint = [task for model, task in counter.calls if model == joint_model]
    assert joint == ["sst", "quora", "sts"] * 3
    assert combined == [3, 3, 3]  # PCGrad in every joint step, over all three tasks
    copies = [(m, task) for m, task in counter.calls if m != joint_model]
    by_copy: dict[int, list[str]] = {}
    for model, task in copies:
        by_copy.setdefault(model, []).append(task)
    # One copy per task, each trained on its own task only, as many batches as that task has.
    assert sorted(by_copy.values()) == [["quora"] * 3, ["sst"] * 2, ["sts"]]

    attrs = trial.user_attrs
    joint_metrics, ensemble = attrs["joint_metrics"], attrs["ensemble_metrics"]
    for metrics in (joint_metrics, ensemble):
        assert {"sst/accuracy", "quora/accuracy", "quora/f1", "sts/pearson", "mean"} <= set(metrics)
        assert metrics["mean"] == pytest.approx(
            (metrics["sst/accuracy"] + metrics["quora/accuracy"] + metrics["sts/pearson"]) / 3
        )
    # The trial's value is its ensemble's mean; every evaluation of joint training was
    # reported with its own mean (what the pruner sees). At this size a classifier can
    # answer one class: its task then counts at chance in both (value_at_chance).
    assert trial.value == attrs.get("value_at_chance", ensemble["mean"])
    assert trial.value <= ensemble["mean"] and attrs["metrics"] == ensemble
    first = attrs["evals"][0]
    assert trial.intermediate_values == {0: first.get("value_at_chance", first["metrics"]["mean"])}
    assert joint_metrics == attrs["evals"][0]["metrics"]
    for key, evals in attrs["ensemble_evals"].items():
        assert {m.split("/")[0] for m in evals[0]["metrics"] if m != "mean"} == {key}
        assert (
            ensemble[f"{key}/loss"]
            == evals[attrs["ensemble_best_eval"][key]]["metrics"][f"{key}/loss"]
        )


@pytest.mark.slow
def test_pcgrad_and_summed_loss_see_the_same_batches(cs224n, cache):
    """Same seed: the same first batches and the same first loss; the combined gradients
    differ, so the second step's loss does too."""
    losses = {}
    for combine in ("sum", "pcgrad"):
        raw = tiny(cs224n, multitask={"combine": combine})
        raw["train"].update(evals_per_epoch=3, max_grad_norm=0.0)  # on_step after each step
        spec = parse_spec(raw, base_dir=cs224n)
        losses[combine] = seen = []
        train(
            spec,
            cache.encoded_tasks(spec),
            on_step=lambda _s, _n, loss, seen=seen: seen.append(loss),
        )
    assert losses["sum"][0] == losses["pcgrad"][0]
    assert losses["sum"][1] != losses["pcgrad"][1]


def test_frozen_encoder_with_mfac_and_pcgrad_trains_the_heads_only(cs224n, cache, monkeypatch):
    """M-FAC steps on PCGrad's combined gradient of what a frozen encoder leaves: BERT's
    pooler (shared by the tasks) and the three heads."""
    kept = {}
    real = trainer_module.build_multitask_model

    def build_and_keep(*args, **kwargs):
        kept["model"] = model = real(*args, **kwargs)
        kept["before"] = {n: p.detach().clone() for n, p in model.named_parameters()}
        return model

    monkeypatch.setattr(trainer_module, "build_multitask_model", build_and_keep)
    raw = tiny(cs224n, multitask={"combine": "pcgrad"}, finetune={"mode": "frozen"})
    raw["optimizer"] = {"kind": "mfac", "num_grads": 4}
    spec = parse_spec(raw, base_dir=cs224n)
    tasks = cache.encoded_tasks(spec)
    result = train(spec, tasks)
    before = kept["before"]
    after = dict(kept["model"].named_parameters())

    def changed_in_training(name: str) -> bool:
        old, new = before[name], after[name].detach()
        if old.shape != new.shape:  # the word embedding keeps the rows the data uses
            old = old[used_tokens(tasks.values(), len(old))]
        return not torch.equal(old, new)

    changed = {n for n in before if changed_in_training(n)}
    assert changed == {n for n in before if n.startswith(("heads.", "encoder.pooler."))}
    assert all(math.isfinite(v) for v in result.best.metrics.values())


def test_regression_head_learns(cs224n, cache, tmp_path):
    """The MinBERT report ended at STS Pearson −0.065 with a broken head. Here the head fits
    32 STS pairs: Pearson on those pairs well above 0 after 6 epochs (0.85 to 0.93 over
    seeds 0-8), and an MSE well below the labels' variance (what a constant prediction
    gets) at some evaluation (8 of seeds 0-8). At a constant lr the MSE of the last
    evaluations swings (0.4 to 4.1 at seed 0), so the lowest is asserted."""
    lines = (cs224n / "sts-train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    pairs = tmp_path / "sts32.tsv"
    pairs.write_text("".join(lines[:33]), encoding="utf-8")
    raw = tiny(cs224n, sizes=(16, 16, None))
    raw["tasks"] = [raw["tasks"][0], raw["tasks"][2]]
    raw["tasks"][1].update(
        train_file=str(pairs), validation_file=str(pairs), max_eval_samples=None, max_length=32
    )
    raw["train"].update(epochs=6, batch_size=8, schedule="constant")
    raw["study"]["metric"] = "sts/pearson"
    spec = parse_spec(raw, base_dir=cs224n)
    data = cache.encoded_tasks(spec)
    result = train(spec, data)
    last = result.evals[-1].metrics
    assert last["sts/pearson"] > 0.6, [r.metrics["sts/pearson"] for r in result.evals]
    lowest = min(r.metrics["sts/mse"] for r in result.evals)
    assert lowest < 0.75 * float(data["sts"].train.labels.var())


# --- report -------------------------------------------------------------------------------


def add(study, combine, ensemble, joint_mean, ensemble_mean=None, state="COMPLETE"):
    def metrics(mean):
        return {
            "sst/accuracy": mean - 0.1,
            "quora/accuracy": mean + 0.2,
            "quora/f1": mean,
            "sts/pearson": mean - 0.1,
            "mean": mean,
        }

    attrs = {"joint_metrics": metrics(joint_mean)}
    if ensemble:
        attrs["ensemble_metrics"] = metrics(ensemble_mean)
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState[state],
            value=(ensemble_mean if ensemble else joint_mean) if state == "COMPLETE" else None,
            params={"multitask.combine": combine, "multitask.ensemble": ensemble},
            distributions={
                "multitask.combine": optuna.distributions.CategoricalDistribution(
                    ["sum", "pcgrad"]
                ),
                "multitask.ensemble": optuna.distributions.CategoricalDistribution([False, True]),
            },
            user_attrs=attrs,
        )
    )


def test_report_table_has_the_best_of_sum_pcgrad_and_the_ensemble(cs224n):
    spec = parse_spec(raw_study(), base_dir=cs224n)
    study = optuna.create_study(direction="maximize")
    add(study, "sum", False, 0.50)
    add(study, "sum", True, 0.55, ensemble_mean=0.60)  # the best joint summed loss
    add(study, "pcgrad", False, 0.52)
    add(study, "pcgrad", True, 0.40, ensemble_mean=0.70)  # the best ensemble
    add(study, "pcgrad", False, 0.90, state="PRUNED")  # not complete: not a candidate
    table = multitask_table(spec, study)
    rows = {r.row: r for r in table.rows}
    assert [r.row for r in table.rows] == ["sum", "pcgrad", "ensemble"]
    assert (rows["sum"].trial, rows["sum"].n_trials) == (1, 2)
    assert rows["sum"].metrics["mean"] == 0.55  # its joint model, not its ensemble
    assert (rows["pcgrad"].trial, rows["pcgrad"].n_trials) == (2, 2)
    assert (rows["ensemble"].trial, rows["ensemble"].combine) == (3, "pcgrad")
    assert rows["ensemble"].metrics["quora/accuracy"] == pytest.approx(0.9)

    header, body = multitask_rows(table)
    assert header == [
        "",
        "sst accuracy",
        "quora accuracy",
        "quora F1",
        "sts Pearson",
        "mean",
        "trial",
    ]
    assert body[0] == [
        "summed loss",
        "0.4500",
        "0.7500",
        "0.5500",
        "0.4500",
        "0.5500",
        "1 (best of 2)",
    ]
    assert body[2][0] == "per-task ensemble (after PCGrad)"
    rows_csv = list(csv.DictReader(io.StringIO(multitask_csv(table))))
    assert [r["row"] for r in rows_csv] == ["sum", "pcgrad", "ensemble"]
    assert float(rows_csv[2]["mean"]) == 0.7


def test_report_table_shows_a_missing_kind_and_none_for_a_single_task(cs224n):
    spec = parse_spec(raw_study(), base_dir=cs224n)
    study = optuna.create_study(direction="maximize")
    add(study, "sum", False, 0.5)
    table = multitask_table(spec, study)
    assert [r.trial for r in table.rows] == [0, None, None]
    text = to_markdown(make_report(study="mt", metric="mean", multitask=table))
    assert "## Tasks: summed loss, PCGrad and the per-task ensemble, by mean" in text
    assert "| PCGrad | – | – | – | – | – | – |" in text
    assert "- per-task ensemble: no complete trial in the search" in text
    single = parse_spec({"study": {"name": "one"}, "task": {"name": "sst2"}})
    assert multitask_table(single, study) is None
