from __future__ import annotations

import math

import pytest
import torch

import hpsearch.train.trainer as trainer_module
from hpsearch.data.batches import max_tokens_per_batch
from hpsearch.data.encode import DataCache
from hpsearch.optim import mfac as mfac_module
from hpsearch.spec.validate import parse_spec
from hpsearch.train.trainer import NonFiniteLossError, precision_name, resolve_precision, train
from hpsearch.train.vocab import used_tokens
from tests.train.specs import same_training_spec, tiny_spec


@pytest.fixture(scope="module")
def cache() -> DataCache:
    return DataCache()


def test_evaluates_k_times_per_epoch_and_keeps_the_best(cache):
    spec = tiny_spec(lr=3e-4)
    seen = []
    result = train(spec, cache.encoded(spec), on_eval=seen.append)
    assert [r.index for r in seen] == list(range(6))
    assert [r.step for r in seen] == [2, 4, 6, 8, 10, 12]  # 6 steps an epoch, 3 evaluations
    assert seen[-1].epoch == pytest.approx(2.0)
    learned = [r for r in seen if r.metrics["mcc"] != 0.0] or seen  # see the next test
    assert result.best.metrics["f1"] == max(r.metrics["f1"] for r in learned)
    assert result.evals == seen and result.steps == 12
    assert {"accuracy", "f1", "mcc", "loss"} <= set(result.best.metrics)
    assert result.trainable_params == result.num_params > 1_000_000
    assert result.samples_per_s > 0 and result.seconds_per_step > 0
    assert all(math.isfinite(r.train_loss) for r in seen)


def test_on_model_swaps_in_the_model_that_trains(cache):
    """A benchmark's hook (bench_compile.py compiles the encoder): the model it returns is
    the one that trains and evaluates, with the parameters the optimizer steps."""
    spec = tiny_spec(epochs=1, precision="fp32")
    calls = []

    def on_model(model: torch.nn.Module) -> torch.nn.Module:
        model.register_forward_pre_hook(lambda *_: calls.append(1))
        calls.clear()
        return model

    plain = train(spec, cache.encoded(spec))
    hooked = train(spec, cache.encoded(spec), on_model=on_model)
    assert len(calls) > hooked.steps  # a forward pass a step, and the evaluations'
    assert hooked.metrics == plain.metrics


@pytest.mark.parametrize(
    ("scripted", "best"),
    [
        # (f1, mcc) per evaluation: all-positive answers score F1 0.63 with MCC 0
        ([(0.63, 0.0), (0.50, 0.2), (0.40, 0.1), (0.0, 0.0), (0.45, 0.3), (0.63, 0.0)], 1),
        ([(0.0, 0.0), (0.63, 0.0), (0.0, 0.0), (0.0, 0.0), (0.63, 0.0), (0.1, 0.0)], 1),
    ],
)
def test_an_evaluation_that_answered_one_class_is_the_best_only_if_all_did(
    cache, monkeypatch, scripted, best
):
    """Predicting one class for every example (MCC exactly 0) is no result, whatever its F1:
    it ranks below every evaluation whose answers vary; among such, the best F1 first."""
    answers = iter(scripted)

    def evaluate(*args, **kwargs):
        f1, mcc = next(answers)
        return {"accuracy": 0.5, "f1": f1, "mcc": mcc, "loss": 0.69}

    monkeypatch.setattr(trainer_module, "evaluate", evaluate)
    spec = tiny_spec()
    result = train(spec, cache.encoded(spec))
    assert result.best.index == best and result.metrics["f1"] == scripted[best][0]


def test_deterministic_on_cpu_for_a_seed(cache):
    spec = tiny_spec(epochs=1, device="cpu")  # CUDA kernels may add in any order
    a = train(spec, cache.encoded(spec))
    b = train(spec, cache.encoded(spec))
    c = train(spec.with_params({"train.seed": 1}), cache.encoded(spec))
    assert [r.train_loss for r in a.evals] == [r.train_loss for r in b.evals]
    assert [r.metrics for r in a.evals] == [r.metrics for r in b.evals]
    assert [r.train_loss for r in a.evals] != [r.train_loss for r in c.evals]


def test_minimized_metric_keeps_the_lowest(cache):
    spec = tiny_spec(epochs=1).model_copy()
    spec = spec.model_copy(
        update={"study": spec.study.model_copy(update={"metric": "loss", "direction": "minimize"})}
    )
    result = train(spec, cache.encoded(spec))
    assert result.best.metrics["loss"] == min(r.metrics["loss"] for r in result.evals)


def test_non_finite_loss_names_the_step(cache, monkeypatch):
    real = trainer_module.build_model
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        model = real(*args, **kwargs)

        def hook(module, inputs, output):
            if module.training:
                calls["n"] += 1
                if calls["n"] >= 3:
                    output.loss = output.loss * float("nan")
            return output

        model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(trainer_module, "build_model", poisoned)
    spec = tiny_spec(epochs=1)
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 3"):
        train(spec, cache.encoded(spec))


def test_an_eval_hook_can_stop_training(cache):
    class Stop(Exception):
        pass

    def on_eval(record):
        raise Stop

    spec = tiny_spec()
    with pytest.raises(Stop):
        train(spec, cache.encoded(spec), on_eval=on_eval)


@pytest.mark.parametrize("kind", ["adamw", "mfac", "sgd"])
def test_each_optimizer_trains(cache, kind):
    params = {"optimizer.kind": kind}
    if kind == "mfac":
        params["optimizer.num_grads"] = 4
    spec = tiny_spec(epochs=1).with_params(params)
    before = {
        n: p.clone()
        for n, p in trainer_module.build_model(
            "minilm", num_labels=2, kind="classification", num_hidden_layers=1
        ).named_parameters()
    }
    result = train(spec, cache.encoded(spec))
    assert all(math.isfinite(v) for v in result.best.metrics.values())
    assert len(before) > 0


def test_mfac_keeps_the_word_embedding_row_sparse(cache, monkeypatch):
    built: list[mfac_module.MFAC] = []

    class Recorded(mfac_module.MFAC):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(mfac_module, "MFAC", Recorded)
    losses = {}
    for layout in ("auto", "dense"):
        spec = same_training_spec("mfac", layout=layout)
        data = cache.encoded(spec)
        losses[layout] = train(spec, data).best.metrics["loss"]
    rows, dense = built
    d = dense.num_params
    bound = max_tokens_per_batch(data.train, 16)  # far below 16 x 32 rows
    assert bound < 16 * 32
    kept = len(used_tokens([data], 30_522))  # the rows the data uses (hpsearch.train.vocab)
    assert bound < kept < 30_522
    assert rows.buffer_nbytes == mfac_module.mfac_buffer_bytes(
        d, 4, row_sparse=[((kept, 384), bound)]
    )
    assert dense.buffer_nbytes == mfac_module.mfac_buffer_bytes(d, 4) > rows.buffer_nbytes
    # The same training (up to float32 rounding) either way.
    assert losses["auto"] == pytest.approx(losses["dense"], rel=1e-4)


def test_auto_precision_on_cpu_is_bf16_only_where_the_cpu_multiplies_bf16(monkeypatch):
    cpu = torch.device("cpu")
    assert isinstance(trainer_module.cpu_has_native_bf16(), bool)
    for native, auto in ((True, torch.bfloat16), (False, None)):
        monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda native=native: native)
        assert resolve_precision("auto", cpu) == auto
        # What a study file names is what it gets, on any CPU.
        assert resolve_precision("fp32", cpu) is None
        assert resolve_precision("bf16", cpu) == torch.bfloat16
    assert [precision_name(d) for d in (None, torch.bfloat16, torch.float16)] == [
        "fp32",
        "bf16",
        "fp16",
    ]


@pytest.mark.slow
def test_regression_head_learns(cs224n, cache):
    spec = parse_spec(
        {
            "study": {"name": "t"},
            "task": {
                "name": "local",
                "train_file": str(cs224n / "sts-train.tsv"),
                "validation_file": str(cs224n / "sts-dev.tsv"),
                "label_kind": "regression",
                "text_fields": ["sentence1", "sentence2"],
                "label_field": "similarity",
                "max_length": 64,
                "max_train_samples": 600,
                "max_eval_samples": 200,
            },
            "model": {"num_hidden_layers": 2},
            "train": {"epochs": 2, "batch_size": 16, "lr": 5e-4, "evals_per_epoch": 1},
        }
    )
    result = train(spec, cache.encoded(spec))
    assert spec.metric == "pearson"
    assert result.best.metrics["pearson"] > 0.2


def test_cuda_device_without_cuda_is_a_clear_error(cache):
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    spec = tiny_spec(device="cuda")
    with pytest.raises(Exception, match="CUDA is not available"):
        train(spec, cache.encoded(spec))
