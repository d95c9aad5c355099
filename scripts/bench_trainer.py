"""Benchmark hpsearch's trainer against Hugging Face ``Trainer`` (the engine of run_glue.py).

Usage:
    python scripts/bench_trainer.py                          # 2,000 train / 1,000 dev pairs
    python scripts/bench_trainer.py --train-samples 128 --eval-samples 64   # smoke test
    python scripts/bench_trainer.py --lr 5e-4 --epochs 2 --runs 3   # issue 15's target
    python scripts/bench_trainer.py --lr 5e-4 --epochs 2 --runs 3 --train-samples 8000 \
        --runners hpsearch Trainer-dynamic   # F1 past its threshold noise
    python scripts/bench_trainer.py --device cuda          # on a GPU, bf16 autocast both ways

Four runners train the same rows with the same recipe (studies/quora-adam.toml pinned by
``--set`` overrides: minilm at 2 layers, batch 32, max length 128, torch AdamW, linear
decay), each run in a fresh process after an untimed warm-up: ``hpsearch`` (its trainer and
model); ``Trainer-padded-128`` (transformers' model, rows padded to 128 as run_glue does);
``Trainer-dynamic`` (transformers' model, dynamic padding, random batches: what a Trainer
user runs, and the target's baseline); ``Trainer-dynamic-hpsearch-model`` (the same Trainer
on hpsearch's model). samples/s is training throughput, evaluation and loading excluded;
dev F1 and accuracy come from ``hpsearch.metrics.compute_metrics`` for all. Each runner
runs at each ``--precision`` and is compared with Trainer-dynamic at the same one. The
target: hpsearch >= 2.5x Trainer-dynamic's samples/s. docs/development.md (Benchmarks) has
the recipe's details, what the figures mean and the latest ones.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import bench
import numpy as np
import torch
from quora_studies import add_data_args, quora_spec

MODEL = "minilm"
LAYERS = 2
BATCH_SIZE = 32
MAX_LENGTH = 128
LR = 1e-4
EVAL_BATCH_SIZE = 128
TARGET_RATIO = 2.5  # hpsearch vs Trainer-dynamic, samples/s (issue 15)

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


def warm_up(device: str, bf16: bool, hpsearch_model: bool, padded: bool, longest: int) -> None:
    """Untimed forward and backward passes of the runner's model, so one-time kernel setup
    falls on no runner.

    Rows ``padded`` to 128 have that one width. Otherwise, where a new shape of the matrix
    products costs setup once per process (cuBLAS on CUDA, oneDNN for bf16 on a CPU), every
    width from ``longest`` (the data's longest row) down to 1: with dynamic padding each
    batch width is such a shape, and a search's worker pays it once per width, not per
    trial. float32 on a CPU (MKL) has no such cost: three widths warm the rest up
    (docs/development.md, Benchmarks, has what it cost)."""
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


def run_hpsearch(spec, encoded, seed: int) -> RunResult:
    from hpsearch.train import train

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
        **scores(metrics),
        optimizer=describe_optimizer(registry_adamw(spec)),
        precision=result.precision,
    )


def scores(metrics: dict[str, float]) -> dict[str, Any]:
    """The RunResult fields of the dev metrics, and the torch threads right after the run."""
    return {
        "f1": metrics["f1"],
        "accuracy": metrics["accuracy"],
        "eval_loss": metrics["loss"],
        "threads": torch.get_num_threads(),
    }


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
    lr: float,
    epochs: int,
    *,
    device: str = "cpu",
    bf16: bool = False,
) -> RunResult:
    from transformers import PrinterCallback, Trainer, TrainingArguments

    from hpsearch.metrics import compute_metrics

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
        **scores(metrics),
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


def _run_here(name: str, precision: str, seed: int, args: argparse.Namespace) -> RunResult:
    """One run of runner ``name`` at ``precision``, in a fresh process of its own
    (:func:`bench.fresh`): hpsearch's trainer sets the process's malloc to keep freed blocks
    (hpsearch.train.allocator), which would speed up a Trainer run after it in the same
    process; thread pools and caches are each run's own too."""
    from transformers import DataCollatorWithPadding, default_data_collator

    padded = name == PADDED
    setup = Setup.build(args, () if name == HPSEARCH else (padded,), precision)
    bf16 = precision == "bf16"
    longest = int(setup.encoded.train.lengths.max())
    ours = name in (HPSEARCH, DYNAMIC_OWN_MODEL)  # hpsearch's model
    warm_up(args.device, bf16, ours, padded, longest)
    gc.collect()
    if name == HPSEARCH:
        return run_hpsearch(setup.spec, setup.encoded, seed)
    return run_trainer(
        name,
        setup.ds["train", padded],
        setup.ds["validation", padded],
        default_data_collator if padded else DataCollatorWithPadding(setup.tokenizer),
        seed,
        args.lr,
        args.epochs,
        device=args.device,
        bf16=bf16,
    )


def matmul_weights() -> int:
    """The weights of minilm's ``LAYERS`` encoder layers that multiply every token (four
    attention projections, two feed-forward matrices): training a token takes about 6 FLOPs
    per weight (attention scores, the head, and the rows hpsearch's [CLS]-only last layer
    skips are left out)."""
    import transformers

    from hpsearch.data.pretrained import resolve_model

    config = transformers.AutoConfig.from_pretrained(resolve_model(MODEL))
    h, i = config.hidden_size, config.intermediate_size
    return LAYERS * (4 * h * h + 2 * h * i)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_args(parser, train=2000, eval=1000)
    parser.add_argument(
        "--seed", type=int, default=0, help="data subset; repeat r trains with seed+r"
    )
    parser.add_argument(
        "--runners", nargs="+", choices=RUNNERS, default=list(RUNNERS), help="which to run"
    )
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate (1e-4)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="repeats per runner (median samples/s)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to train")
    # --precision: every runner runs at each (default: bf16 on cuda; on a cpu fp32, and bf16
    # too where the cpu multiplies bf16 natively)
    bench.add_common_args(parser, ["fp32", "bf16"], many=True)
    args = parser.parse_args(argv)
    if args.runs < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--runs and --threads must be at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available")
    precisions = args.precision or default_precisions(args.device)

    machine = bench.Machine(args.device, precisions, args.threads)
    setup = Setup.build(args, (False,), precisions[0])  # the tokens every runner must share
    task, encoded = setup.task, setup.encoded
    check_same_tokens(setup.ds["train", False], encoded.train)
    check_same_tokens(setup.ds["validation", False], encoded.validation)
    pads = padding_stats(encoded.train, args.seed)
    results: list[RunResult] = []
    combos = [(name, precision) for precision in precisions for name in args.runners]
    for r in range(args.runs):
        shift = r % len(combos)
        for name, precision in combos[shift:] + combos[:shift]:
            during = bench.OtherLoad()
            result = bench.fresh(
                _run_here, name, precision, args.seed + r, args, threads=args.threads
            )
            result = replace(result, other_cpu_share=during.share())
            results.append(result)
            print(
                f"run {r + 1}/{args.runs} {label(name, precision):<36} "
                f"{result.samples_per_s:8.1f} samples/s "
                f"{result.train_seconds:7.2f} s  F1 {result.f1:.4f}  acc {result.accuracy:.4f}  "
                f"(other processes {result.other_cpu_share:.0%} CPU)",
            )
    record = machine.record()

    summary = summarize(results, precisions)
    busy = [
        f"{label(r.runner, r.precision)} run {i // len(combos) + 1}"
        for i, r in enumerate(results)
        if r.other_cpu_share > bench.BUSY_SHARE
    ]
    # Model FLOP/s against this machine's GEMM rate at the precision: the physical limit.
    flops_per_sample = 6 * matmul_weights() * pads["real_tokens"] / len(task.train)
    notes = [
        f"{len(task.train)} train / {len(task.validation)} dev pairs, batch {BATCH_SIZE}, "
        f"max length {MAX_LENGTH}, {args.device} {' and '.join(precisions)}, "
        f"{record['torch_threads']} torch threads, "
        f"{args.runs} run(s) per runner "
        "(samples/s and train seconds: median; F1 and accuracy: mean ± sd over seeds "
        f"{args.seed}..{args.seed + args.runs - 1})",
        "token positions computed per real token (in every layer but the last of hpsearch's "
        "model, which computes the [CLS] row only: hpsearch.train.cls_only): "
        + ", ".join(f"{n} {pads[n]:.2f}" for n in RUNNERS),
        "mean dev loss: " + ", ".join(f"{n} {s['eval_loss']:.4f}" for n, s in summary.items()),
        "model arithmetic (6 FLOPs per encoder weight and real token) as a share of this "
        "machine's GEMM rate: "
        + ", ".join(
            f"{n} {s['samples_per_s'] * flops_per_sample / 1e9:.1f} GFLOP/s = "
            f"{s['samples_per_s'] * flops_per_sample / record['gemm_flops'][s['precision']]:.0%}"
            for n, s in summary.items()
        ),
        "busy runs (other processes > 10% CPU), timings NOT reliable: " + ", ".join(busy)
        if busy
        else "no run saw other processes above 10% CPU",
    ]
    print_table(summary, notes, args.runs)
    auto = auto_precision(args.device)
    verdicts = [
        bench.verdict(f"hpsearch / Trainer-dynamic samples/s, {what}", ratio, TARGET_RATIO, "x")
        for what, ratio in target_ratios(summary, precisions, auto).items()
    ]
    config = {
        "model": MODEL,
        "num_hidden_layers": LAYERS,
        "train_samples": len(task.train),
        "eval_samples": len(task.validation),
        "batch_size": BATCH_SIZE,
        "max_length": MAX_LENGTH,
        "schedule": "linear, no warmup",
        "max_grad_norm": 1.0,
        "weight_decay": 0.0,
        "precision": precisions,
        "hpsearch_auto_precision": auto,
        "steps_per_epoch": math.ceil(len(task.train) / BATCH_SIZE),
        "tokens_per_real_token": pads,
        "train_flops_per_sample": flops_per_sample,
    }
    bench.save(args.json, "bench_trainer", args, record, summary, verdicts, config)


if __name__ == "__main__":
    main()
