"""AdamW against M-FAC on real data, several seeds each: does M-FAC learn as well as Adam?

The issue's setup: 4,000 training pairs from the shared Quora data, minilm with 2 layers,
2 epochs, 3 seeds per optimizer; dev F1 and accuracy as mean ± std. Each optimizer's run is
its study file's setup (studies/quora-adam.toml, studies/quora-mfac.toml) with the fields
above and below set by ``--set`` overrides.

    python3 scripts/compare_optimizers.py [--seeds 3] [--json results.json]

M-FAC's step on the newest gradient is about lr * m * g / |g|^2, so its lr is scaled to its
num_grads: the cards' lr 1e-4 at m = 1024 corresponds to about 3e-3 at m = 32.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from quora_studies import add_data_args, quora_spec
from rich.console import Console
from rich.table import Table

from hpsearch.data import DataCache
from hpsearch.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_args(parser, train=4000, eval=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--adam-lr", type=float, default=3e-4)
    parser.add_argument("--mfac-lr", type=float, default=3e-3)
    parser.add_argument("--num-grads", type=int, default=32)
    parser.add_argument("--damp", type=float, default=1e-6)
    parser.add_argument("--optimizers", default="adamw,mfac", help="comma-separated subset")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    setups = {
        "adamw": ([], args.adam_lr),
        "mfac": (
            [f"optimizer.num_grads={args.num_grads}", f"optimizer.damp={args.damp!r}"],
            args.mfac_lr,
        ),
    }
    chosen = args.optimizers.split(",")
    unknown = sorted(set(chosen) - set(setups))
    if unknown:
        parser.error(f"--optimizers: unknown {unknown}; choose from {sorted(setups)}")
    setups = {name: setups[name] for name in chosen}
    cache = DataCache()
    console = Console()
    results: dict[str, list[dict]] = {}
    for name, (optimizer, lr) in setups.items():
        for seed in range(args.seeds):
            overrides = [
                "task.max_length=128",
                f"task.max_train_samples={args.train_samples}",
                f"task.max_eval_samples={args.eval_samples}",
                'model.name="minilm"',
                "model.num_hidden_layers=2",
                f"train.epochs={args.epochs}",
                "train.batch_size=32",
                f"train.lr={lr!r}",
                f"train.seed={seed}",
                "train.evals_per_epoch=1",
                *optimizer,
            ]
            spec = quora_spec(name, overrides, args.data)
            start = time.perf_counter()
            result = train(spec, cache.encoded(spec))
            last = result.evals[-1].metrics  # the end of training, as the cards report it
            run = {
                "seed": seed,
                "lr": lr,
                "f1": last["f1"],
                "accuracy": last["accuracy"],
                "seconds": time.perf_counter() - start,
                "seconds_per_step": result.seconds_per_step,
            }
            results.setdefault(name, []).append(run)
            console.print(
                f"{name} seed {seed}: F1 {run['f1']:.4f} accuracy "
                f"{run['accuracy']:.4f} ({run['seconds']:.0f} s)",
                highlight=False,
            )

    table = Table(
        title=f"Quora, {args.train_samples} pairs, {args.epochs} epochs, "
        f"minilm 2 layers, {args.seeds} seeds"
    )
    for col in ("optimizer", "lr", "dev F1 (mean ± std)", "dev accuracy", "best F1", "s/step"):
        table.add_column(col, justify="right")
    summary = {}
    for name, runs in results.items():
        f1 = [100 * r["f1"] for r in runs]
        acc = [100 * r["accuracy"] for r in runs]
        sd = statistics.stdev if len(runs) > 1 else (lambda _: 0.0)
        summary[name] = {
            "f1_mean": statistics.mean(f1),
            "f1_std": sd(f1),
            "accuracy_mean": statistics.mean(acc),
            "accuracy_std": sd(acc),
            "best_f1": max(f1),
            "runs": runs,
        }
        s = summary[name]
        table.add_row(
            name,
            f"{runs[0]['lr']:g}",
            f"{s['f1_mean']:.2f} ± {s['f1_std']:.2f}",
            f"{s['accuracy_mean']:.2f} ± {s['accuracy_std']:.2f}",
            f"{s['best_f1']:.2f}",
            f"{statistics.mean(r['seconds_per_step'] for r in runs):.3f}",
        )
    console.print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "results": summary}, indent=2
            )
        )


if __name__ == "__main__":
    main()
