"""Is ``torch.compile`` of the encoder worth it on CPU? A whole 1-epoch trial, timed both ways.

Usage:
    python scripts/bench_compile.py                        # 2,000 Quora pairs, seeds 0 and 1
    python scripts/bench_compile.py --train 256 --seeds 0  # smoke test

The trial is ``studies/quora-adam.toml``'s (minilm at 2 layers, batch 32, lr 1e-4), one
epoch of ``--train`` pairs and one evaluation on ``--eval``, through ``hpsearch.train.train``.
The compiled variant wraps the encoder in ``torch.compile(dynamic=True)`` and pads every
batch to a multiple of 8 tokens (few shapes), through ``train``'s ``on_model`` hook; its time
includes compilation, as a trial's would. Each variant runs in a fresh process, eager first.
The rule of issue 15: an option only if the compiled trial is at least 1.2x faster with
equal results.
"""

from __future__ import annotations

import argparse
import statistics
import time

import bench

TARGET = 1.2
TOKEN_KEYS = ("input_ids", "token_type_ids", "attention_mask")


def compiled(model):
    """``model`` with its encoder compiled, and its inputs padded to a multiple of 8 tokens
    (padding is masked out: the same numbers, fewer shapes to compile for)."""
    import torch

    pad_id = model.config.pad_token_id or 0

    def pad_to_8(module, args, kwargs):
        extra = -kwargs["input_ids"].shape[1] % 8
        for key in TOKEN_KEYS if extra else ():
            value = pad_id if key == "input_ids" else 0
            kwargs[key] = torch.nn.functional.pad(kwargs[key], (0, extra), value=value)
        return args, kwargs

    model.bert = torch.compile(model.bert, dynamic=True)
    model.register_forward_pre_hook(pad_to_8, with_kwargs=True)
    return model


def trial(compile_: bool, seed: int, train: int, eval_: int, precision: str) -> dict:
    """One 1-epoch trial in this (fresh) process, timed from the data in memory to the end."""
    from quora_studies import quora_spec

    from hpsearch.data import DataCache
    from hpsearch.train import train as train_model

    spec = quora_spec(
        "adamw",
        [
            f"task.max_train_samples={train}",
            f"task.max_eval_samples={eval_}",
            "train.epochs=1",
            "train.evals_per_epoch=1",
            f"train.seed={seed}",
            f'train.precision="{precision}"',
        ],
    )
    data = DataCache().encoded_tasks(spec)
    started = time.perf_counter()
    result = train_model(spec, data, on_model=compiled if compile_ else None)
    return {
        "compiled": compile_,
        "seed": seed,
        "seconds": time.perf_counter() - started,
        "f1": result.metrics["f1"],
        "accuracy": result.metrics["accuracy"],
        "loss": result.metrics["loss"],
        "precision": result.precision,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--eval", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    # --precision: train.precision of every trial (auto: bf16 where the CPU multiplies it)
    bench.add_common_args(parser, ["auto", "fp32", "bf16"], default="auto")
    args = parser.parse_args()

    machine = bench.Machine("cpu", [args.precision], args.threads)
    results = []
    for seed in args.seeds:
        for variant in ("eager", "compiled"):
            job = (variant == "compiled", seed, args.train, args.eval, args.precision)
            r = bench.fresh(trial, *job, threads=args.threads)
            results.append(r)
            print(
                f"{variant:<9} seed {seed} {r['precision']}: {r['seconds']:6.1f} s  "
                f"F1 {r['f1']:.4f}  acc {r['accuracy']:.4f}  loss {r['loss']:.4f}",
            )
    record = machine.record()
    eager = statistics.median(r["seconds"] for r in results if not r["compiled"])
    compiled_s = statistics.median(r["seconds"] for r in results if r["compiled"])
    print(
        f"whole trial, median over seeds: eager {eager:.1f} s, compiled {compiled_s:.1f} s "
        "(compilation included)"
    )
    verdicts = [bench.verdict("eager / compiled trial time", eager / compiled_s, TARGET, "x")]
    print("worth an option" if verdicts[0]["met"] else "no option added")
    bench.save(args.json, "bench_compile", args, record, results, verdicts)


if __name__ == "__main__":
    main()
