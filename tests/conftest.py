"""Shared fixtures: the real data in ../shared (read in place, never copied) and study files."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CS224N = REPO.parent / "shared" / "data" / "cs224n"


@pytest.fixture(scope="session")
def cs224n() -> Path:
    """The cs224n folder of the shared data (Quora, SST, STS)."""
    if not (CS224N / "quora-train.tsv").is_file():
        pytest.fail(f"the tests read the shared data at {CS224N}; it is missing")
    return CS224N


QUORA_STUDY = """
[study]
name = "{name}"
n_trials = {n_trials}
sampler = {{ name = "tpe", seed = 0, n_startup_trials = 2 }}
pruner = {{ name = "none" }}

[task]
name = "local"
train_file = "{data}/quora-train.tsv"
validation_file = "{data}/quora-dev.tsv"
text_fields = ["sentence1", "sentence2"]
label_field = "is_duplicate"
max_length = 64
max_train_samples = {train}
max_eval_samples = {eval}

[model]
name = "minilm"
num_hidden_layers = 2

[train]
epochs = 1
batch_size = 32
evals_per_epoch = 2

[space.train]
lr = {{ low = 5e-5, high = 5e-4, log = true }}
"""


@pytest.fixture
def quora_study(tmp_path: Path, cs224n: Path):
    """Write a Quora study file into tmp_path; returns its path."""

    def write(
        name: str = "quora", n_trials: int = 2, train: int = 200, eval: int = 200, extra: str = ""
    ) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            QUORA_STUDY.format(name=name, n_trials=n_trials, data=cs224n, train=train, eval=eval)
            + extra
        )
        return path

    return write
