"""Does bf16 autocast change what a trial finds? Paired seeds, fp32 against bf16.

Usage:
    python scripts/bench_precision.py                                 # the quickstart, 5 seeds
    python scripts/bench_precision.py studies/quora-adam.toml --seeds 0 1 2 \\
        --set task.max_train_samples=2000 --json precision.json
    python scripts/bench_precision.py --seeds 0 --set task.max_train_samples=64   # smoke test

Each setting a study file enqueues (or its own fields, where it enqueues none) trains once
per seed of ``--seeds`` at each of the two ``--precision`` values (fp32, then bf16 autocast:
``train.precision``), each in a fresh process, nothing else changed. Per setting: the
study's metric and the validation loss at the end (mean over seeds, and the mean paired
difference, second − first, with its standard deviation) and the median samples/s. No
target: the paired differences are the evidence for ``train.precision = "auto"`` choosing
bf16 on a CPU that multiplies it natively; they should be within the seeds' spread.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import asdict, dataclass

import bench

STUDY = bench.REPO / "studies" / "quickstart.toml"


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

    from hpsearch.data import DataCache
    from hpsearch.spec import load_spec
    from hpsearch.train import train

    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    base = load_spec(study, overrides)
    params = {**settings(base)[setting], "train.seed": seed, "train.precision": precision}
    spec = base.with_params(params)
    result = train(spec, DataCache().encoded(spec))
    assert result.precision == precision, (result.precision, precision)
    last = result.evals[-1].metrics
    metric = last[spec.study.metric]
    return Run(setting, seed, precision, metric, last["loss"], result.samples_per_s)


def paired(runs: list[Run], field: str, a: str, b: str) -> dict[str, float]:
    """Mean of ``field`` at precisions ``a`` and ``b``, and the mean and sd of b − a by seed."""
    by = {(r.seed, r.precision): getattr(r, field) for r in runs}
    seeds = sorted({r.seed for r in runs})
    diffs = [by[s, b] - by[s, a] for s in seeds]
    return {
        a: statistics.mean(by[s, a] for s in seeds),
        b: statistics.mean(by[s, b] for s in seeds),
        "diff_mean": statistics.mean(diffs),
        "diff_sd": statistics.stdev(diffs) if len(diffs) > 1 else 0.0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", nargs="?", default=str(STUDY))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    # --precision: the two compared, the second against the first (default fp32 bf16)
    bench.add_common_args(parser, ["fp32", "bf16"], default=["fp32", "bf16"], many=True)
    args = parser.parse_args(argv)
    if len(args.precision) != 2 or len(set(args.precision)) != 2:
        parser.error("--precision takes two different precisions: the second against the first")
    first, second = args.precision

    from hpsearch.spec import load_spec

    spec = load_spec(args.study, args.overrides)
    metric = spec.study.metric
    machine = bench.Machine("cpu", args.precision, args.threads)
    runs: list[Run] = []
    for setting, params in enumerate(settings(spec)):
        for seed in args.seeds:
            for precision in args.precision:
                job = (args.study, args.overrides, setting, seed, precision)
                run = bench.fresh(train_once, *job, threads=args.threads)
                runs.append(run)
                print(
                    f"setting {setting} {params} seed {seed} {precision}: {metric} "
                    f"{run.metric:.4f}, loss {run.loss:.4f}, {run.samples_per_s:.1f} samples/s",
                )
    record = machine.record()

    print(f"\n{spec.study.name}: {second} − {first} over seeds {args.seeds} (mean ± sd)")
    summary = []
    for setting, params in enumerate(settings(spec)):
        mine = [r for r in runs if r.setting == setting]
        m, loss = paired(mine, "metric", first, second), paired(mine, "loss", first, second)
        speed = {
            p: statistics.median(r.samples_per_s for r in mine if r.precision == p)
            for p in args.precision
        }
        print(
            f"setting {setting} {params}: {metric} {first} {m[first]:.4f}, {second} "
            f"{m[second]:.4f}, Δ {m['diff_mean']:+.4f} ± {m['diff_sd']:.4f}; loss {first} "
            f"{loss[first]:.4f}, {second} {loss[second]:.4f}, Δ {loss['diff_mean']:+.4f} ± "
            f"{loss['diff_sd']:.4f}; samples/s {first} {speed[first]:.1f}, {second} "
            f"{speed[second]:.1f} ({speed[second] / speed[first]:.2f}×)"
        )
        summary.append(
            {
                "name": f"setting {setting}",
                "setting": params,
                "metric": m,
                "loss": loss,
                "samples_per_s": speed,
                "runs": [asdict(r) for r in mine],
            }
        )
    setup = {"metric": metric}
    bench.save(args.json, "bench_precision", args, record, summary, [], setup)


if __name__ == "__main__":
    main()
