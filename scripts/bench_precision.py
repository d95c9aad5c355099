"""Does bf16 autocast change what a trial finds? Paired seeds, fp32 against bf16.

Usage:
    python scripts/bench_precision.py                                 # the quickstart, 5 seeds
    python scripts/bench_precision.py studies/quora-adam.toml --seeds 0 1 2 \\
        --set task.max_train_samples=2000 --json precision.json
    python scripts/bench_precision.py --seeds 0 --set task.max_train_samples=64   # smoke test

Each setting a study file enqueues (``[[study.enqueue]]``: for the quickstart AdamW at lr
3e-4 and M-FAC at m = 16, lr 3e-3), or its own fields where it enqueues none, is trained
once per seed of ``--seeds`` in float32 and once in bf16 autocast (``train.precision``),
each in a process of its own, nothing else changed: same rows, same batches, same initial
head. It reports, per setting, the study's metric and the validation loss at the end of
training (the mean over seeds and the mean paired difference, bf16 − fp32, with its
standard deviation) and the median samples/s of each precision. The paired differences are
the evidence for ``train.precision = "auto"`` choosing bf16 on a CPU that multiplies bf16
natively: they should be within the seed-to-seed spread.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class Run:
    setting: int  # index of the enqueued setting
    seed: int
    precision: str
    metric: float  # the study's metric at the last evaluation
    loss: float  # validation loss at the last evaluation
    samples_per_s: float


def settings(spec) -> list[dict]:
    """The study's enqueued settings, or its own fields (one empty setting)."""
    return [dict(s) for s in spec.study.enqueue] or [{}]


def train_once(study: str, overrides: list[str], setting: int, seed: int, precision: str) -> Run:
    """One training in this (fresh) process: the setting's params, the seed, the precision."""
    import logging

    from hpsearch.data.encode import DataCache
    from hpsearch.spec.load import load_spec
    from hpsearch.train.trainer import train

    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    base = load_spec(study, overrides)
    params = {**settings(base)[setting], "train.seed": seed, "train.precision": precision}
    spec = base.with_params(params)
    result = train(spec, DataCache().encoded(spec))
    assert result.precision == precision, (result.precision, precision)
    last = result.evals[-1].metrics
    metric = last[spec.study.metric]
    return Run(setting, seed, precision, metric, last["loss"], result.samples_per_s)


def paired(runs: list[Run], field: str) -> tuple[float, float, float, float]:
    """Mean of ``field`` in fp32 and in bf16, and the mean and sd of bf16 − fp32 by seed."""
    by = {(r.seed, r.precision): getattr(r, field) for r in runs}
    seeds = sorted({r.seed for r in runs})
    diffs = [by[s, "bf16"] - by[s, "fp32"] for s in seeds]
    sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    return (
        statistics.mean(by[s, "fp32"] for s in seeds),
        statistics.mean(by[s, "bf16"] for s in seeds),
        statistics.mean(diffs),
        sd,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", nargs="?", default=str(ROOT / "studies" / "quickstart.toml"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--json", type=Path, default=None, help="write the runs here")
    args = parser.parse_args(argv)

    from hpsearch.spec.load import load_spec

    spec = load_spec(args.study, args.overrides)
    metric = spec.study.metric
    load_before = os.getloadavg()  # samples/s mean something on a quiet machine only
    runs: list[Run] = []
    spawn = multiprocessing.get_context("spawn")  # each run's threads, caches and malloc its own
    for setting, params in enumerate(settings(spec)):
        for seed in args.seeds:
            for precision in PRECISIONS:
                with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                    job = (args.study, args.overrides, setting, seed, precision)
                    run = pool.submit(train_once, *job).result()
                runs.append(run)
                print(
                    f"setting {setting} {params} seed {seed} {precision}: {metric} "
                    f"{run.metric:.4f}, loss {run.loss:.4f}, {run.samples_per_s:.1f} samples/s",
                    flush=True,
                )

    print(f"\n{spec.study.name}: bf16 − fp32 over seeds {args.seeds} (mean ± sd of differences)")
    summary = []
    for setting, params in enumerate(settings(spec)):
        mine = [r for r in runs if r.setting == setting]
        m32, m16, dm, sdm = paired(mine, "metric")
        l32, l16, dl, sdl = paired(mine, "loss")
        speed = {
            p: statistics.median(r.samples_per_s for r in mine if r.precision == p)
            for p in PRECISIONS
        }
        print(
            f"setting {setting} {params}: {metric} fp32 {m32:.4f}, bf16 {m16:.4f}, "
            f"Δ {dm:+.4f} ± {sdm:.4f}; loss fp32 {l32:.4f}, bf16 {l16:.4f}, "
            f"Δ {dl:+.4f} ± {sdl:.4f}; samples/s fp32 {speed['fp32']:.1f}, bf16 "
            f"{speed['bf16']:.1f} ({speed['bf16'] / speed['fp32']:.2f}×)"
        )
        summary.append(
            {
                "setting": params,
                "metric": {"fp32": m32, "bf16": m16, "diff_mean": dm, "diff_sd": sdm},
                "loss": {"fp32": l32, "bf16": l16, "diff_mean": dl, "diff_sd": sdl},
                "samples_per_s": speed,
            }
        )
    if args.json is not None:
        report = {
            "study": args.study,
            "overrides": args.overrides,
            "seeds": args.seeds,
            "metric": metric,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "summary": summary,
            "runs": [asdict(r) for r in runs],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
