"""Is ``torch.compile`` of the encoder worth it on CPU? A whole 1-epoch trial, timed both ways.

Usage:
    python scripts/bench_compile.py                        # 2,000 Quora pairs, seeds 0 and 1
    python scripts/bench_compile.py --train 256 --seeds 0  # smoke test

The trial is ``studies/quora-adam.toml``'s (minilm at 2 layers, batch 32, lr 1e-4), one epoch
of ``--train`` pairs and one evaluation on ``--eval``, through ``hpsearch.train.trainer.train``
as a study runs it. The compiled variant wraps the encoder (``model.bert``) in
``torch.compile(dynamic=True)`` and pads every batch to a multiple of 8 tokens (so that few
shapes are seen); its time includes compilation, as a trial's would. Each variant runs in a
fresh process (no compiled code carried over), eager first. The rule of issue 15: keep
compilation as an option only if the compiled trial is at least 1.2x faster with equal
results; the script prints the ratio and the verdict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

MARKER = "BENCH_RESULT "
TARGET = 1.2


def worker(compiled: bool, seed: int, train: int, eval_: int, precision: str) -> dict:
    import torch
    from quora_studies import quora_spec

    from hpsearch.data import encode
    from hpsearch.data.encode import DataCache
    from hpsearch.train import trainer

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
    if compiled:
        batch = encode.EncodedSplit.batch

        def padded(self, rows, pad_id):  # widths rounded up to a multiple of 8
            out = batch(self, rows, pad_id)
            width = out["input_ids"].shape[1]
            extra = -width % 8
            if extra:
                for key in ("input_ids", "token_type_ids", "attention_mask"):
                    value = pad_id if key == "input_ids" else 0
                    out[key] = torch.nn.functional.pad(out[key], (0, extra), value=value)
            return out

        encode.EncodedSplit.batch = padded
        build = trainer.build_model

        def build_compiled(*args, **kwargs):
            model = build(*args, **kwargs)
            model.bert = torch.compile(model.bert, dynamic=True)
            return model

        trainer.build_model = build_compiled
    data = DataCache().encoded_tasks(spec)
    started = time.perf_counter()
    result = trainer.train(spec, data)
    seconds = time.perf_counter() - started
    return {
        "compiled": compiled,
        "seed": seed,
        "seconds": seconds,
        "f1": result.metrics["f1"],
        "accuracy": result.metrics["accuracy"],
        "loss": result.metrics["loss"],
        "precision": result.precision,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--eval", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="train.precision of every trial (auto: bf16 where the CPU multiplies it natively)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", choices=["eager", "compiled"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker == "compiled", args.seed, args.train, args.eval, args.precision)
        print(MARKER + json.dumps(result))
        return 0
    results = []
    for seed in args.seeds:
        for variant in ("eager", "compiled"):
            cmd = [sys.executable, __file__, "--worker", variant, "--seed", str(seed)]
            cmd += ["--train", str(args.train), "--eval", str(args.eval)]
            cmd += ["--precision", args.precision]
            done = subprocess.run(cmd, capture_output=True, text=True)
            lines = [x for x in done.stdout.splitlines() if x.startswith(MARKER)]
            if done.returncode != 0 or not lines:
                print(f"{variant} seed {seed} failed:\n{done.stderr[-3000:]}")
                return 1
            r = json.loads(lines[-1].removeprefix(MARKER))
            results.append(r)
            print(
                f"{variant:<9} seed {seed} {r['precision']}: {r['seconds']:6.1f} s  "
                f"F1 {r['f1']:.4f}  "
                f"acc {r['accuracy']:.4f}  loss {r['loss']:.4f}",
                flush=True,
            )
    eager = statistics.median(r["seconds"] for r in results if not r["compiled"])
    compiled = statistics.median(r["seconds"] for r in results if r["compiled"])
    speedup = eager / compiled
    print(
        f"whole trial, median over seeds: eager {eager:.1f} s, compiled {compiled:.1f} s "
        f"(compilation included): {speedup:.2f}x; target >= {TARGET}x: "
        f"{'met: worth an option' if speedup >= TARGET else 'MISSED: no option added'}"
    )
    if args.json:
        payload = {
            "results": results,
            "speedup": speedup,
            "target": TARGET,
            "precision": args.precision,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
