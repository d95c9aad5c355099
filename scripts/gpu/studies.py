"""Write the GPU check's two study files: AdamW and M-FAC at num_grads = 1024 on Quora.

Usage:
    python3 scripts/gpu/studies.py FOLDER --data DIR            # the GPU sizes
    python3 scripts/gpu/studies.py FOLDER --data DIR --cpu      # tiny, on CPU

``FOLDER/quora-adam.toml`` and ``FOLDER/quora-mfac.toml``: minilm cut to 2 layers on the
cs224n Quora pairs in ``DIR``, the same search for both (lr, with the M-FAC model cards'
1e-4 enqueued first), bf16 autocast on CUDA; the M-FAC study names the AdamW one as its
baseline, so ``hpsearch report FOLDER/quora-mfac.toml --seeds 3`` makes the model cards'
table of the two. Each file holds every setting (``hpsearch report`` reads the study files,
not ``--set`` overrides), and its database and results land in FOLDER.

The GPU sizes (6,000 training pairs, 2 epochs, 4 trials per optimizer) are sized to leave
the comparison about four of the check's eight minutes on an H200 (``scripts/gpu_check.sh``).
At 376 steps a run, M-FAC's ring of 1,024 gradients is never full: the comparison is of
the first epochs of finetuning, not of the cards' 5-epoch runs on all of QQP.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sizes:
    """How large the two studies are."""

    train_samples: int  # training pairs (a seeded subset)
    eval_samples: int  # validation pairs
    max_length: int
    batch_size: int
    epochs: int
    evals_per_epoch: int
    trials: int  # per optimizer
    num_grads: int  # M-FAC's m
    device: str
    precision: str


GPU = Sizes(6000, 2000, 128, 32, 2, 2, 4, 1024, "cuda", "bf16")
CPU = Sizes(96, 64, 32, 16, 1, 1, 2, 8, "cpu", "fp32")

STUDY = """\
# Written by scripts/gpu/studies.py for the GPU check (scripts/gpu_check.sh).
[study]
name = "quora-{name}"
metric = "f1"
n_trials = {s.trials}
sampler = {{ name = "tpe", seed = 0, n_startup_trials = {s.trials} }}
pruner = {{ name = "none" }}
{baseline}
[[study.enqueue]]  # the M-FAC model cards' lr
"train.lr" = 1e-4

[task]
name = "local"
train_file = {train_file}
validation_file = {validation_file}
text_fields = ["sentence1", "sentence2"]
label_field = "is_duplicate"
max_length = {s.max_length}
max_train_samples = {s.train_samples}
max_eval_samples = {s.eval_samples}

[model]
name = "minilm"
num_hidden_layers = 2

[train]
epochs = {s.epochs}
batch_size = {s.batch_size}
lr = 1e-4
warmup_ratio = 0.0
schedule = "linear"
evals_per_epoch = {s.evals_per_epoch}
device = "{s.device}"
precision = "{s.precision}"

[optimizer]
{optimizer}

[space.train]
lr = {{ low = 3e-5, high = 3e-4, log = true }}
"""

OPTIMIZERS = {
    "adam": ('kind = "adamw"', ""),
    "mfac": (
        'kind = "mfac"\nnum_grads = {m}\ndamp = 1e-6',
        'baseline = "quora-adam.toml"\n',
    ),
}


def study_file(name: str, sizes: Sizes, data: Path) -> str:
    """The study file of optimizer ``name`` (``adam`` or ``mfac``)."""
    optimizer, baseline = OPTIMIZERS[name]
    return STUDY.format(
        name=name,
        s=sizes,
        # JSON strings are TOML basic strings: a path with quotes or backslashes stays intact.
        train_file=json.dumps(str(data / "quora-train.tsv")),
        validation_file=json.dumps(str(data / "quora-dev.tsv")),
        baseline=baseline,
        optimizer=optimizer.format(m=sizes.num_grads),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the study files go")
    parser.add_argument("--data", type=Path, required=True, help="folder of quora-*.tsv")
    parser.add_argument("--cpu", action="store_true", help="tiny sizes, on CPU")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    for name in OPTIMIZERS:
        path = args.folder / f"quora-{name}.toml"
        path.write_text(study_file(name, CPU if args.cpu else GPU, args.data.resolve()))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
