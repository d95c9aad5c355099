"""Benchmark hpsearch's trainer against Hugging Face ``Trainer`` (the engine of run_glue.py).

Usage:
    python scripts/bench_trainer.py                          # 2,000 train / 1,000 dev pairs
    python scripts/bench_trainer.py --runs 3 --json bench.json
    python scripts/bench_trainer.py --train-samples 128 --eval-samples 64   # smoke test
    python scripts/bench_trainer.py --lr 5e-4 --epochs 2   # a recipe that learns: compare F1
    python scripts/bench_trainer.py --lr 5e-4 --epochs 2 --runs 3   # issue 15's target
    python scripts/bench_trainer.py --lr 5e-4 --epochs 2 --runs 3 --train-samples 8000 \
        --runners hpsearch Trainer-dynamic   # the same with F1 past its threshold noise
    python scripts/bench_trainer.py --precision fp32       # float32 only
    python scripts/bench_trainer.py --runners hpsearch Trainer-dynamic   # the target's two
    python scripts/bench_trainer.py --device cuda          # on a GPU, bf16 autocast both ways

At the issue's recipe (lr 1e-4, one epoch of 2,000 pairs: 63 steps) no runner gets past the
majority class (dev F1 0 for all), so F1 agreement says little there. At lr 5e-4 and 2
epochs the models learn a little, but F1 still sits near the decision threshold: a seed can
answer "not duplicate" for every pair (F1 0) with the lowest dev loss of all runs, and
hpsearch's length-grouped batches gave F1 0.376 against 0.486 for random ones on the same 8
seeds, at a lower dev loss (0.669 against 0.680). With 8,000 pairs the two orders give the
same F1 (6 paired seeds: 0.534 against 0.540, accuracy 0.687 against 0.680), and F1 can
judge the runners: that is the command with ``--train-samples 8000``.

Four runners train on the same rows with the same recipe, each run in a fresh process of its
own (spawned; none inherits another's malloc setting, thread pool or caches):

- ``hpsearch``: ``hpsearch.train.trainer.train`` on hpsearch's model (``build_model``: the
  last encoder layer computing the [CLS] row only, the one row the classifier reads, dropout
  masks drawn 16 bits at a time, the attention's too: ``hpsearch.train.cls_only``,
  ``.dropout``, ``.attention``), with dynamic padding, batches grouped by length and the word
  embedding cut to the rows the data uses (``hpsearch.train.vocab``);
- ``Trainer-padded-128``: ``Trainer`` on transformers' model as it loads
  (``build_model(..., speed_ups=False)``), rows padded to 128 tokens (run_glue's default,
  ``padding="max_length"`` with ``default_data_collator``);
- ``Trainer-dynamic``: ``Trainer`` on transformers' model with ``DataCollatorWithPadding``
  and random batches (the Trainer default, ``train_sampling_strategy="random"``, i.e. no
  grouping by length): what a Trainer user runs, and the runner the target compares with;
- ``Trainer-dynamic-hpsearch-model``: the same ``Trainer`` on hpsearch's model. It splits
  hpsearch's lead into what its model brings and what its training loop brings.

Until the fix of 2026-11-30 every Trainer runner trained hpsearch's model: the benchmark
called ``build_model`` for them, and since the [CLS]-only layer (``1ac1362``) and the 16-bit
masks landed there, Trainer had them too. The ratios measured in between (1.87×-2.33×) are
against ``Trainer-dynamic-hpsearch-model``, not against what a Trainer user gets.

The recipe (studies/quora-adam.toml, every field below pinned by ``--set`` overrides): minilm
(all-MiniLM-L6-v2) cut to 2 layers with a new 2-label head, the Quora question pairs of the
cs224n data (a seeded subset: the rows come from
``hpsearch.data.load.load_task``, so every runner sees exactly the same rows and tokens), max length
128, batch size 32, one epoch (``--epochs``), torch AdamW (lr 1e-4 or ``--lr``, betas
0.9/0.999, eps 1e-8, weight decay 0; each runner in the implementation it picks by default:
hpsearch's registry and Trainer's default ``optim`` both take the fused one where torch has
it, and the table names it), linear decay to 0 without warmup, gradient clipping at
1.0, dropout 0.1, float32 weights.

Precision: every runner runs at each precision of ``--precision``: ``fp32``, or ``bf16``
autocast (hpsearch's ``train.precision = "bf16"``, Trainer's ``bf16=True``). The default is
both on a CPU that multiplies bf16 natively (AVX512-BF16 or AMX: there hpsearch's
``train.precision = "auto"`` is bf16), fp32 on another CPU, and bf16 with ``--device cuda``
(``scripts/gpu_check.sh`` runs it so). Each runner is compared with Trainer-dynamic at its
own precision (like for like); the last target line also compares the defaults a user
gets: hpsearch's ``auto`` against Trainer's default, float32 (``bf16=False``).

What is measured:
- samples/s is training throughput with evaluation excluded: for hpsearch its own
  ``TrainResult.samples_per_s`` (evaluated once, at the end of the epoch, outside the timed
  loop); for Trainer the training rows times the epochs over ``train_runtime`` of
  ``trainer.train()`` (no evaluation, logging or saving inside), which times the training
  loop only, not model loading. Tokenization happens before either clock starts.
- Dev F1 (positive class) and accuracy are computed by ``hpsearch.metrics.compute_metrics`` for
  every runner, on the model at the end of the epoch (Trainer through ``trainer.predict``).
- Every runner uses the same number of torch threads (``--threads``, default torch's), set
  in each run's process. A short untimed warm-up (forward and backward passes) runs there
  first, and the order of the runners rotates from one repeat to the next.
- ``--runs N`` repeats each runner N times; repeat ``r`` uses training seed ``seed + r`` for
  every runner (same head initialization within a repeat; the data subset stays fixed by
  ``--seed``). The table shows the median samples/s and, when N > 1, dev F1 and accuracy as
  mean ± standard deviation over the seeds: the seed-to-seed noise F1 is judged against.

The machine should be quiet. The script prints and saves the load average before and after,
and the share of the CPUs that other processes used during the runs (from ``psutil``); it flags
every run during which they used more than 10 % as unreliable.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import logging
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from quora_studies import data_folder, quora_spec

MODEL = "minilm"
LAYERS = 2
BATCH_SIZE = 32
MAX_LENGTH = 128
LR = 1e-4
EVAL_BATCH_SIZE = 128
TARGET_RATIO = 2.5  # hpsearch vs Trainer-dynamic, samples/s (issue 15)
BUSY_SHARE = 0.1  # other processes above this CPU share during a run: its timing is unreliable

HPSEARCH = "hpsearch"
PADDED = "Trainer-padded-128"
DYNAMIC = "Trainer-dynamic"
DYNAMIC_OWN_MODEL = "Trainer-dynamic-hpsearch-model"
RUNNERS = (HPSEARCH, PADDED, DYNAMIC, DYNAMIC_OWN_MODEL)
TRAINER_DEFAULT_PRECISION = "fp32"  # TrainingArguments(bf16=False, fp16=False)


@dataclass(frozen=True)
class RunResult:
    runner: str
    seed: int
    samples: int
    steps: int
    train_seconds: float
    samples_per_s: float
    f1: float
    accuracy: float
    eval_loss: float
    threads: int  # torch threads right after the run (checks nobody changed them)
    optimizer: str  # the class and implementation the runner trained with
    precision: str  # fp32 or bf16 (autocast)
    other_cpu_share: float = 0.0  # CPU share other processes used during this run


# --------------------------------------------------------------------------- data


def build_spec(
    data_dir: Path, train_samples: int, eval_samples: int, seed: int, lr: float, epochs: int
):
    """studies/quora-adam.toml with every field the runners share pinned by overrides."""
    return quora_spec(
        "adamw",
        [
            f"task.max_length={MAX_LENGTH}",
            f"task.max_train_samples={train_samples}",
            f"task.max_eval_samples={eval_samples}",
            f"task.seed={seed}",
            f'model.name="{MODEL}"',
            f"model.num_hidden_layers={LAYERS}",
            f"train.epochs={epochs}",
            f"train.batch_size={BATCH_SIZE}",
            f"train.lr={lr!r}",
            "train.weight_decay=0.0",
            "train.warmup_ratio=0.0",
            'train.schedule="linear"',
            "train.hidden_dropout=0.1",
            "train.attention_dropout=0.1",
            "train.max_grad_norm=1.0",
            "train.evals_per_epoch=1",
            f"train.eval_batch_size={EVAL_BATCH_SIZE}",
            "train.group_by_length=true",
            f"train.seed={seed}",
            'optimizer.kind="adamw"',
            "optimizer.beta1=0.9",
            "optimizer.beta2=0.999",
            "optimizer.eps=1e-8",
        ],
        data_dir,
    )


def hf_datasets(split, tokenizer, padded: bool):
    """A ``datasets.Dataset`` of one split, tokenized as hpsearch does (pairs truncated
    longest-first to 128 tokens), padded to 128 or not at all."""
    import datasets

    first = [t[0] for t in split.texts]
    second = [t[1] for t in split.texts] if len(split.texts[0]) > 1 else None
    enc = tokenizer(
        first,
        second,
        truncation=True,
        max_length=MAX_LENGTH,
        padding="max_length" if padded else False,
        return_token_type_ids=True,
        return_attention_mask=True,
    )
    return datasets.Dataset.from_dict(
        {
            "input_ids": enc["input_ids"],
            "token_type_ids": enc["token_type_ids"],
            "attention_mask": enc["attention_mask"],
            "labels": [int(y) for y in split.labels],
        }
    )


def check_same_tokens(dataset, encoded) -> None:
    """The unpadded Trainer rows must be token for token hpsearch's rows."""
    ids = [tok for row in dataset["input_ids"] for tok in row]
    lengths = [len(row) for row in dataset["input_ids"]]
    if ids != encoded.ids.tolist() or lengths != encoded.lengths.tolist():
        raise SystemExit("bench_trainer: Trainer and hpsearch rows differ after tokenization")
    if dataset["labels"] != encoded.labels.tolist():
        raise SystemExit("bench_trainer: Trainer and hpsearch labels differ")


def tokens_processed(lengths: torch.Tensor, batches: list[torch.Tensor]) -> int:
    """Token positions the model computes on, padding included (batch × longest row)."""
    return sum(len(b) * int(lengths[b].max()) for b in batches)


def padding_stats(encoded, seed: int) -> dict[str, float]:
    """Tokens processed per epoch by each runner, as a multiple of the real tokens.

    hpsearch's batches are rebuilt with its own ``train_batches`` and the seed its trainer
    uses (exact); Trainer-dynamic's random batches are averaged over 5 random orders.
    """
    from hpsearch.data.batches import train_batches

    lengths = encoded.lengths
    real = int(lengths.sum())
    grouped = train_batches(encoded, BATCH_SIZE, torch.Generator().manual_seed(seed), True)
    rng = torch.Generator().manual_seed(seed)
    dynamic = statistics.mean(
        tokens_processed(
            lengths, list(torch.randperm(len(lengths), generator=rng).split(BATCH_SIZE))
        )
        for _ in range(5)
    )
    return {
        "real_tokens": real,
        HPSEARCH: tokens_processed(lengths, grouped) / real,
        PADDED: len(lengths) * MAX_LENGTH / real,
        DYNAMIC: dynamic / real,
        DYNAMIC_OWN_MODEL: dynamic / real,
    }


# --------------------------------------------------------------------------- runners


def warm_up(
    threads: int, device: str, bf16: bool, hpsearch_model: bool, padded: bool, longest: int
) -> None:
    """Untimed forward and backward passes of the runner's model, so one-time kernel setup
    falls on no runner.

    Rows ``padded`` to 128 have that one width. Otherwise, where a new shape of the matrix
    products costs setup once per process, every width from ``longest`` (the data's longest
    row) down to 1: with dynamic padding each batch width is such a shape. On CUDA that is
    cuBLAS's first-call setup, which made the first runner of the first repeat on an H200
    pay about a second (785 samples/s against 2,900 in the next); on a CPU in bf16 it is
    oneDNN making its kernels for the shape, about 5 ms for a step's products (minilm at 2
    layers) at each new width, at about 30% of the steps of two 2,000-pair epochs. A worker
    runs trial after trial in one process, so a search pays it once per width. float32 on a
    CPU (MKL) has no such cost: three widths warm the rest up."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = load_model(hpsearch_model)
    model.to(device).train()
    per_shape = torch.device(device).type == "cuda" or bf16
    if padded:
        widths: Sequence[int] = (MAX_LENGTH,)
    elif per_shape:
        widths = range(longest, 0, -1)
    else:
        widths = (MAX_LENGTH, 48, 24)
    for width in widths:
        ids = torch.randint(1000, 2000, (BATCH_SIZE, width), device=device)
        labels = torch.zeros(BATCH_SIZE, dtype=torch.long, device=device)
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=ids, labels=labels)
        out.loss.backward()
    del model
    gc.collect()


def load_model(hpsearch_model: bool) -> torch.nn.Module:
    """minilm at ``LAYERS`` layers with a new 2-label head: hpsearch's model (``build_model``:
    the [CLS]-only last layer, 16-bit dropout masks), or transformers' as it loads, the model
    a Trainer user trains (``speed_ups=False``). Seed torch first."""
    from hpsearch.train.models import build_model

    return build_model(
        MODEL,
        num_labels=2,
        kind="classification",
        num_hidden_layers=LAYERS,
        speed_ups=hpsearch_model,
    )


def run_hpsearch(spec, encoded, seed: int, threads: int) -> RunResult:
    from hpsearch.train.trainer import train

    torch.set_num_threads(threads)
    result = train(spec.with_params({"train.seed": seed}), encoded)
    assert result.precision == spec.train.precision, (result.precision, spec.train.precision)
    metrics = result.evals[-1].metrics  # the end of the epoch (the only evaluation)
    return RunResult(
        runner=HPSEARCH,
        seed=seed,
        samples=len(encoded.train) * spec.train.epochs,
        steps=result.steps,
        train_seconds=result.seconds_per_step * result.steps,
        samples_per_s=result.samples_per_s,
        f1=metrics["f1"],
        accuracy=metrics["accuracy"],
        eval_loss=metrics["loss"],
        threads=torch.get_num_threads(),
        optimizer=describe_optimizer(registry_adamw(spec)),
        precision=result.precision,
    )


def describe_optimizer(optimizer: torch.optim.Optimizer) -> str:
    """``AdamW (fused)``: the class and which of torch's implementations it runs."""
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps Trainer's
    d = inner.defaults
    kind = "fused" if d.get("fused") else "foreach" if d.get("foreach") else "per-parameter loop"
    return f"{type(inner).__name__} ({kind})"


def registry_adamw(spec) -> torch.optim.Optimizer:
    """What hpsearch's optimizer registry builds for the spec's optimizer on its device."""
    from hpsearch.optim.registry import get_optimizer

    device = "cuda" if spec.train.device == "cuda" else "cpu"
    param = torch.zeros(1, device=device, requires_grad=True)
    entry = get_optimizer(spec.optimizer.kind)
    return entry.create([{"params": [param]}], lr=1e-3)


def run_trainer(
    name: str,
    train_ds,
    eval_ds,
    collator,
    seed: int,
    threads: int,
    lr: float,
    epochs: int,
    *,
    device: str = "cpu",
    bf16: bool = False,
) -> RunResult:
    from transformers import PrinterCallback, Trainer, TrainingArguments

    from hpsearch.metrics import compute_metrics

    torch.set_num_threads(threads)
    torch.manual_seed(seed)  # the head's initial weights, as hpsearch's trainer seeds them
    model = load_model(hpsearch_model=name == DYNAMIC_OWN_MODEL)
    with tempfile.TemporaryDirectory(prefix="bench_trainer_") as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=BATCH_SIZE,
            per_device_eval_batch_size=EVAL_BATCH_SIZE,
            learning_rate=lr,
            num_train_epochs=epochs,
            lr_scheduler_type="linear",
            warmup_steps=0,
            weight_decay=0.0,
            adam_beta1=0.9,
            adam_beta2=0.999,
            adam_epsilon=1e-8,
            max_grad_norm=1.0,
            # optim: Trainer's default (adamw_torch_fused in transformers 5), as a user gets
            train_sampling_strategy="random",  # the default: no grouping by length
            seed=seed,
            report_to="none",
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            dataloader_num_workers=0,
            use_cpu=device == "cpu",
            bf16=bf16,  # autocast, as hpsearch's train.precision = "bf16"
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=args, data_collator=collator, train_dataset=train_ds)
        trainer.remove_callback(PrinterCallback)  # it prints the final metrics dict
        out = trainer.train()
        optimizer = describe_optimizer(trainer.optimizer)
        runtime = float(out.metrics["train_runtime"])
        steps = int(out.global_step)
        pred = trainer.predict(eval_ds)
    metrics = compute_metrics(
        "classification",
        np.asarray(pred.predictions, dtype=np.float32),
        np.asarray(pred.label_ids, dtype=np.int64),
        float(pred.metrics["test_loss"]),
    )
    return RunResult(
        runner=name,
        seed=seed,
        samples=len(train_ds) * epochs,
        steps=steps,
        train_seconds=runtime,
        samples_per_s=len(train_ds) * epochs / runtime,  # rows seen, every epoch
        f1=metrics["f1"],
        accuracy=metrics["accuracy"],
        eval_loss=metrics["loss"],
        threads=torch.get_num_threads(),
        optimizer=optimizer,
        precision="bf16" if bf16 else "fp32",
    )


# --------------------------------------------------------------------------- report


def label(runner: str, precision: str) -> str:
    return f"{runner} {precision}"


def summarize(results: list[RunResult], precisions: list[str]) -> dict[str, dict[str, Any]]:
    """Per runner and precision (``label``): median samples/s, mean ± sd of F1 and accuracy,
    and the ratio to Trainer-dynamic at the same precision."""
    summary: dict[str, dict[str, Any]] = {}
    for precision in precisions:
        for name in RUNNERS:
            runs = [r for r in results if (r.runner, r.precision) == (name, precision)]
            if runs:
                summary[label(name, precision)] = summarize_runs(runs)
    for entry in summary.values():
        base = summary.get(label(DYNAMIC, entry["precision"]), {}).get("samples_per_s")
        entry["ratio_vs_dynamic"] = entry["samples_per_s"] / base if base else None
    return summary


def summarize_runs(runs: list[RunResult]) -> dict[str, Any]:
    sps = statistics.median(r.samples_per_s for r in runs)
    f1s = [r.f1 for r in runs]
    accs = [r.accuracy for r in runs]
    return {
        "runner": runs[0].runner,
        "precision": runs[0].precision,
        "optimizer": runs[0].optimizer,
        "samples_per_s": sps,
        "train_seconds": statistics.median(r.train_seconds for r in runs),
        "f1": statistics.mean(f1s),
        "f1_std": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
        "accuracy": statistics.mean(accs),
        "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "eval_loss": statistics.mean(r.eval_loss for r in runs),
        "runs": [asdict(r) for r in runs],
    }


def target_ratios(
    summary: dict[str, dict[str, Any]], precisions: list[str], auto: str
) -> dict[str, float]:
    """hpsearch's samples/s over Trainer-dynamic's: at each precision (like for like), and
    each at its default where both ran: hpsearch's ``train.precision = "auto"`` (``auto``
    is what it resolves to here) against Trainer's float32."""
    ratios = {
        f"both {p}": summary[label(HPSEARCH, p)]["ratio_vs_dynamic"]
        for p in precisions
        if summary.get(label(HPSEARCH, p), {}).get("ratio_vs_dynamic") is not None
    }
    mine = summary.get(label(HPSEARCH, auto))
    theirs = summary.get(label(DYNAMIC, TRAINER_DEFAULT_PRECISION))
    if mine and theirs and auto != TRAINER_DEFAULT_PRECISION:
        ratios[f"defaults (hpsearch auto = {auto}, Trainer {TRAINER_DEFAULT_PRECISION})"] = (
            mine["samples_per_s"] / theirs["samples_per_s"]
        )
    return ratios


def print_table(summary: dict[str, dict[str, Any]], notes: list[str], n_runs: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="hpsearch trainer vs Hugging Face Trainer")
    table.add_column("runner", no_wrap=True)
    table.add_column("optimizer", no_wrap=True)
    for col in (
        "samples/s",
        "ratio (same precision)",
        "train seconds",
        "dev F1",
        "dev accuracy",
    ):
        table.add_column(col, justify="right", no_wrap=True)

    def spread(mean: float, std: float) -> str:
        return f"{mean:.4f} ± {std:.4f}" if n_runs > 1 else f"{mean:.4f}"

    for name, s in summary.items():
        ratio = s["ratio_vs_dynamic"]
        table.add_row(
            name,
            s["optimizer"],
            f"{s['samples_per_s']:.1f}",
            "—" if ratio is None else f"{ratio:.2f}×",
            f"{s['train_seconds']:.2f}",
            spread(s["f1"], s["f1_std"]),
            spread(s["accuracy"], s["accuracy_std"]),
        )
    console = Console()
    if not console.is_terminal:  # piped or redirected: rich would assume 80 columns
        console = Console(width=150)
    console.print(table)
    for note in notes:
        console.print(note, highlight=False, soft_wrap=True)


class OtherLoad:
    """CPU time that other processes used while this one ran, as a share of all CPUs."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float]:
        total = self._psutil.cpu_times()
        busy = sum(total) - total.idle - getattr(total, "iowait", 0.0)
        mine = self._me.cpu_times()  # the runs' processes are its children, reaped
        own = mine.user + mine.system + mine.children_user + mine.children_system
        return time.monotonic(), busy, own

    def share(self) -> float:
        t0, busy0, mine0 = self._start
        t1, busy1, mine1 = self._snapshot()
        cpus = os.cpu_count() or 1
        return max(0.0, (busy1 - busy0) - (mine1 - mine0)) / ((t1 - t0) * cpus)


@dataclass(frozen=True)
class Setup:
    """What the runners share: the spec, hpsearch's rows and the same rows for Trainer."""

    spec: Any
    task: Any
    encoded: Any
    tokenizer: Any
    ds: dict[tuple[str, bool], Any]  # (split, padded to 128) -> datasets.Dataset

    @classmethod
    def build(cls, args: argparse.Namespace, padded: tuple[bool, ...], precision: str) -> Setup:
        """``padded``: the Trainer datasets to tokenize, padded to 128 or not (a run of
        hpsearch needs none, a Trainer run one); ``precision``: hpsearch's
        ``train.precision``."""
        import datasets
        import transformers

        from hpsearch.data.encode import DataCache
        from hpsearch.data.pretrained import load_tokenizer

        transformers.logging.set_verbosity_error()
        logging.getLogger("hpsearch").setLevel(logging.ERROR)
        datasets.disable_progress_bars()
        spec = build_spec(
            args.data.resolve(),
            args.train_samples,
            args.eval_samples,
            args.seed,
            args.lr,
            args.epochs,
        ).with_params({"train.device": args.device, "train.precision": precision})
        cache = DataCache()
        task = cache.task(spec)  # load_task(spec.task): the rows every runner trains on
        tokenizer = load_tokenizer(MODEL)
        ds = {
            (split, pad): hf_datasets(getattr(task, split), tokenizer, pad)
            for split in ("train", "validation")
            for pad in padded
        }
        return cls(spec, task, cache.encoded(spec), tokenizer, ds)


def default_precisions(device: str) -> list[str]:
    """bf16 on CUDA; on a CPU both, where it multiplies bf16 natively, else fp32."""
    from hpsearch.train.trainer import cpu_has_native_bf16

    if device == "cuda":
        return ["bf16"]
    return ["fp32", "bf16"] if cpu_has_native_bf16() else ["fp32"]


def auto_precision(device: str) -> str:
    """What hpsearch's default, ``train.precision = "auto"``, resolves to on ``device``."""
    from hpsearch.train.trainer import precision_name, resolve_precision

    return precision_name(resolve_precision("auto", torch.device(device)))


def run_isolated(name: str, precision: str, seed: int, args: argparse.Namespace) -> RunResult:
    """One run of runner ``name`` at ``precision`` in a fresh process, spawned and gone with it.

    No run inherits another's process state: hpsearch's trainer sets the process's malloc
    to keep freed blocks (hpsearch.train.allocator), which would speed up a Trainer run after
    it in the same process; thread pools and caches are each run's own too. The process
    warms up (untimed) before the run, and its CPU time counts as this process's own in
    :class:`OtherLoad`.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_run_here, name, precision, seed, args).result()


def _run_here(name: str, precision: str, seed: int, args: argparse.Namespace) -> RunResult:
    from transformers import DataCollatorWithPadding, default_data_collator

    padded = name == PADDED
    setup = Setup.build(args, () if name == HPSEARCH else (padded,), precision)
    bf16 = precision == "bf16"
    longest = int(setup.encoded.train.lengths.max())
    ours = name in (HPSEARCH, DYNAMIC_OWN_MODEL)  # hpsearch's model
    warm_up(args.threads, args.device, bf16, ours, padded, longest)
    gc.collect()
    if name == HPSEARCH:
        return run_hpsearch(setup.spec, setup.encoded, seed, args.threads)
    return run_trainer(
        name,
        setup.ds["train", padded],
        setup.ds["validation", padded],
        default_data_collator if padded else DataCollatorWithPadding(setup.tokenizer),
        seed,
        args.threads,
        args.lr,
        args.epochs,
        device=args.device,
        bf16=bf16,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=data_folder(), help="folder of quora-*.tsv")
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--eval-samples", type=int, default=1000)
    parser.add_argument(
        "--seed", type=int, default=0, help="data subset; repeat r trains with seed+r"
    )
    parser.add_argument(
        "--runners", nargs="+", choices=RUNNERS, default=list(RUNNERS), help="which to run"
    )
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate (1e-4)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="repeats per runner (median samples/s)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to train")
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=["fp32", "bf16"],
        help="every runner runs at each of these (default: bf16 on cuda; on a cpu fp32, "
        "and bf16 too where the cpu multiplies bf16 natively)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.threads < 1:
        parser.error("--runs and --threads must be at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available")
    precisions = args.precision or default_precisions(args.device)

    load_before = os.getloadavg()
    setup = Setup.build(args, (False,), precisions[0])  # the tokens every runner must share
    task, encoded = setup.task, setup.encoded
    check_same_tokens(setup.ds["train", False], encoded.train)
    check_same_tokens(setup.ds["validation", False], encoded.validation)
    pads = padding_stats(encoded.train, args.seed)
    other = OtherLoad()
    results: list[RunResult] = []
    started = time.perf_counter()
    combos = [(name, precision) for precision in precisions for name in args.runners]
    for r in range(args.runs):
        shift = r % len(combos)
        for name, precision in combos[shift:] + combos[:shift]:
            during = OtherLoad()
            result = run_isolated(name, precision, args.seed + r, args)
            result = replace(result, other_cpu_share=during.share())
            results.append(result)
            print(
                f"run {r + 1}/{args.runs} {label(name, precision):<36} "
                f"{result.samples_per_s:8.1f} samples/s "
                f"{result.train_seconds:7.2f} s  F1 {result.f1:.4f}  acc {result.accuracy:.4f}  "
                f"(other processes {result.other_cpu_share:.0%} CPU)",
                flush=True,
            )
    load_after = os.getloadavg()
    other_share = other.share()

    summary = summarize(results, precisions)
    busy = [
        f"{label(r.runner, r.precision)} run {i // len(combos) + 1}"
        for i, r in enumerate(results)
        if r.other_cpu_share > BUSY_SHARE
    ]
    targets = target_ratios(summary, precisions, auto_precision(args.device))
    notes = [
        f"{len(task.train)} train / {len(task.validation)} dev pairs, batch {BATCH_SIZE}, "
        f"max length {MAX_LENGTH}, {args.device} {' and '.join(precisions)}, "
        f"{args.threads} torch threads, "
        f"{args.runs} run(s) per runner "
        "(samples/s and train seconds: median; F1 and accuracy: mean ± sd over seeds "
        f"{args.seed}..{args.seed + args.runs - 1})",
        "token positions computed per real token (in every layer but the last of hpsearch's "
        "model, which computes the [CLS] row only: hpsearch.train.cls_only): "
        + ", ".join(f"{n} {pads[n]:.2f}" for n in RUNNERS),
        "mean dev loss: " + ", ".join(f"{n} {s['eval_loss']:.4f}" for n, s in summary.items()),
        f"machine: load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"other processes used {other_share:.0%} of the {os.cpu_count()} CPUs during the runs; "
        + (
            "busy runs (other processes > 10% CPU), timings NOT reliable: " + ", ".join(busy)
            if busy
            else "no run saw other processes above 10% CPU"
        ),
        *(
            f"target ≥ {TARGET_RATIO}× Trainer-dynamic samples/s, {what}: "
            f"{'met' if ratio >= TARGET_RATIO else 'NOT met'} ({ratio:.2f}×)"
            for what, ratio in targets.items()
        ),
    ]
    print_table(summary, notes, args.runs)

    if args.json is not None:
        report = {
            "config": {
                "data": str(args.data.resolve()),
                "model": MODEL,
                "num_hidden_layers": LAYERS,
                "train_samples": len(task.train),
                "eval_samples": len(task.validation),
                "batch_size": BATCH_SIZE,
                "max_length": MAX_LENGTH,
                "lr": args.lr,
                "epochs": args.epochs,
                "optimizer": {name: s["optimizer"] for name, s in summary.items()},
                "schedule": "linear, no warmup",
                "max_grad_norm": 1.0,
                "weight_decay": 0.0,
                "seed": args.seed,
                "runs": args.runs,
                "threads": args.threads,
                "device": args.device,
                "precision": precisions,
                "hpsearch_auto_precision": auto_precision(args.device),
                "steps_per_epoch": math.ceil(len(task.train) / BATCH_SIZE),
            },
            "machine": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "transformers": importlib.metadata.version("transformers"),
                "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None,
                "cpu_count": os.cpu_count(),
                "load_average_before": load_before,
                "load_average_after": load_after,
                "other_processes_cpu_share": other_share,
                "bench_seconds": time.perf_counter() - started,
            },
            "tokens_per_real_token": pads,
            "target_ratio": TARGET_RATIO,
            "ratios": targets,
            "target_met": {what: ratio >= TARGET_RATIO for what, ratio in targets.items()},
            "results": summary,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
