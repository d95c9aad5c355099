"""Small Quora specs for the tests that train: a tiny study, and one trial to train two ways."""

from __future__ import annotations

from tests.studies import quora_spec, toml_value


def tiny_spec(**train):
    """96 Quora pairs (max length 32), minilm with 1 layer, 2 epochs of 6 steps, 3
    evaluations an epoch on 64 pairs; ``train``: other [train] fields."""
    return quora_spec(
        [
            "task.max_length=32",
            "task.max_train_samples=96",
            "task.max_eval_samples=64",
            "model.num_hidden_layers=1",
            "train.epochs=2",
            "train.batch_size=16",
            "train.evals_per_epoch=3",
            *(f"train.{key}={toml_value(value)}" for key, value in train.items()),
        ]
    )


def same_training_spec(kind: str, **optimizer):
    """One epoch of :func:`tiny_spec` at lr 1e-3 with AdamW or M-FAC (4 gradients), for
    tests that train one trial two ways that should agree: in float32, since the ways
    differ by float32 rounding, which bf16 autocast (`auto` on CUDA and on a CPU with
    native bf16) would amplify past the tolerance. ``optimizer``: other [optimizer] fields."""
    fields = {"kind": kind, **({"num_grads": 4} if kind == "mfac" else {}), **optimizer}
    return tiny_spec(epochs=1, lr=1e-3, precision="fp32").with_params(
        {f"optimizer.{key}": value for key, value in fields.items()}
    )
