"""The trainer on CUDA: bf16 autocast, fp16 with loss scaling, AdamW and M-FAC (its word
embedding row-sparse), float32 weights throughout. Skipped without CUDA."""

from __future__ import annotations

import math

import pytest
import torch

import hpsearch.train.trainer as trainer_module
from hpsearch.data.encode import DataCache
from hpsearch.spec.validate import parse_spec
from hpsearch.train.trainer import resolve_precision, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")


@pytest.fixture(scope="module")
def cache() -> DataCache:
    return DataCache()


def cuda_spec(cs224n, precision: str, kind: str):
    optimizer = {"kind": kind, **({"num_grads": 8} if kind == "mfac" else {})}
    return parse_spec(
        {
            "study": {"name": "t"},
            "task": {
                "name": "local",
                "train_file": str(cs224n / "quora-train.tsv"),
                "validation_file": str(cs224n / "quora-dev.tsv"),
                "text_fields": ["sentence1", "sentence2"],
                "label_field": "is_duplicate",
                "max_length": 64,
                "max_train_samples": 320,
                "max_eval_samples": 128,
            },
            "model": {"num_hidden_layers": 2},
            "train": {
                "epochs": 1,
                "batch_size": 32,
                "evals_per_epoch": 2,
                "device": "cuda",
                "precision": precision,
            },
            "optimizer": optimizer,
        }
    )


def test_auto_precision_is_bf16_on_a_gpu_that_has_it():
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert resolve_precision("auto", torch.device("cuda")) == expected


@pytest.mark.parametrize("kind", ["adamw", "mfac"])
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_trains_on_cuda_in_mixed_precision(cs224n, cache, monkeypatch, precision, kind):
    """A run on the GPU: finite metrics at every evaluation; the weights stay float32 on the
    GPU (autocast computes in bf16 or fp16; the checkpoint's dtype does not leak in)."""
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    built = []
    real = trainer_module.build_model

    def recorded(*args, **kwargs):
        model = real(*args, **kwargs)
        built.append(model)
        return model

    monkeypatch.setattr(trainer_module, "build_model", recorded)
    spec = cuda_spec(cs224n, precision, kind)
    result = train(spec, cache.encoded(spec))
    assert result.device.startswith("cuda")
    assert result.steps == 10 and len(result.evals) == 2
    for record in result.evals:
        assert all(math.isfinite(v) for v in record.metrics.values())
        assert math.isfinite(record.train_loss)
    (model,) = built
    assert {(p.dtype, p.device.type) for p in model.parameters()} == {(torch.float32, "cuda")}
