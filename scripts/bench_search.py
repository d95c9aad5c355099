"""How much training each pruner saves, and what it costs in the best result found.

Usage:
    python scripts/bench_search.py                     # 4 pruners x 2 sampler seeds on Quora
    python scripts/bench_search.py --seeds 0 1 2 --trials 12 --json search.json
    python scripts/bench_search.py --pruners none median --signal metric loss --seeds 0 1 2
    python scripts/bench_search.py --pruners none median --trials 3 --train 200   # smoke test
    python scripts/bench_search.py --task movies --seeds 0 1 2 --trials 12   # issue 15's figures

One study (minilm at 2 layers, 2 epochs of ``--train`` examples, 4 evaluations an epoch,
TPE over lr, batch size, dropout and warmup, AdamW) on ``--task`` (``quora``:
studies/quora-adam.toml; ``movies``: studies/quickstart.toml with Quora's space), run with
each pruner of ``--pruners`` (comparing F1, or with ``--signal loss`` the validation loss)
and each sampler seed of ``--seeds`` through ``hpsearch run``. Per pruner: the training
steps (a pruned trial counts the steps it trained) and their share of no pruning's, the
best F1 (a trial that answered one class at every evaluation is no result), and the steps
to first reach within ``--tolerance`` of the unpruned best. The target (issue 15): the
default pruner (successive halving) within 1 point of the unpruned best with at most 60% of
its steps. ``--storage`` keeps the studies: run again with it and the summary is recomputed
without training. docs/development.md (Benchmarks) has the latest figures.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import bench
from quora_studies import STUDIES, quora_study_file, set_args

PRUNERS = {
    "none": '{ name = "none" }',
    "median": '{ name = "median", n_startup_trials = 4, n_warmup_steps = 0 }',
    "successive-halving": '{ name = "successive-halving" }',
    "hyperband": '{ name = "hyperband" }',
}
DEFAULT_PRUNER = "successive-halving"  # the Quora and QQP study files'


def arms(pruners: list[str], signals: list[str]) -> list[tuple[str, str]]:
    """(pruner, signal) to run: each pruner with each signal, ``none`` once."""
    return [(p, s) for p in pruners for s in (["metric"] if p == "none" else signals)]


def arm_name(pruner: str, signal: str) -> str:
    return pruner if signal == "metric" else f"{pruner} on loss"


def pruner_table(pruner: str, signal: str) -> str:
    """``[study.pruner]`` as an inline table, comparing ``signal`` (no pruner compares none)."""
    if pruner == "none":
        return PRUNERS[pruner]
    return PRUNERS[pruner].replace(" }", f', signal = "{signal}" }}')


TARGET_SHARE = 0.6  # of the unpruned runs' training steps


@dataclass(frozen=True)
class Run:
    """One study: a pruner and a sampler seed, and what its trials did."""

    pruner: str
    seed: int
    wall_seconds: float
    steps: list[int]  # per trial, in trial order
    # per trial: its value if COMPLETE and it learned, else None (pruned, or its classifier
    # answered one class at every evaluation: F1 0.63 for "duplicate" everywhere is no result)
    values: list[float | None]
    pruned: int
    one_class: int  # COMPLETE trials that answered one class at every evaluation

    @property
    def total_steps(self) -> int:
        return sum(self.steps)

    @property
    def best(self) -> float:
        return max((v for v in self.values if v is not None), default=float("nan"))

    def steps_to(self, target: float) -> int | None:
        """Steps of every trial up to the first COMPLETE one at ``target`` or above."""
        spent = 0
        for steps, value in zip(self.steps, self.values, strict=True):
            spent += steps
            if value is not None and value >= target:
                return spent
        return None


# The searched fields of studies/quora-adam.toml, for the movies study too.
MOVIES = [
    "optimizer.kind=adamw",  # fixing it drops M-FAC's fields from the quickstart's space
    'study.metric="f1"',  # as Quora's, and as the figures in docs/development.md were measured
    "study.enqueue=[]",
    "space.train.lr={ low = 3e-5, high = 3e-3, log = true }",
    "space.train.batch_size={ choices = [16, 32, 64] }",
    "space.train.hidden_dropout={ low = 0.0, high = 0.2 }",
    "space.train.warmup_ratio={ low = 0.0, high = 0.2 }",
]
TASK_NAMES = {"quora": "Quora pairs", "movies": "Rotten Tomatoes snippets"}


def task_study(folder: Path, name: str, task: str) -> tuple[Path, list[str]]:
    """The study file of ``task`` copied to ``<folder>/<name>.toml`` and the ``--set``
    overrides that make it the benchmark's study named ``name``."""
    if task == "quora":
        return quora_study_file(folder, name)
    path = folder / f"{name}.toml"
    shutil.copyfile(STUDIES / "quickstart.toml", path)
    return path, [*MOVIES, f"study.name={name}"]


def sized(args: argparse.Namespace) -> list[str]:
    """The overrides every study shares: its data and training length."""
    return [
        f"task.max_train_samples={args.train}",
        f"task.max_eval_samples={args.eval}",
        "train.epochs=2",
        "train.evals_per_epoch=4",
        f'train.precision="{args.precision}"',
    ]


def one_class_f1(folder: Path, args: argparse.Namespace) -> float:
    """The F1 of answering the positive class for every validation example, for scale: a
    trial that answers one class at every evaluation is no result here."""
    from hpsearch.data import DataCache
    from hpsearch.spec import load_spec

    path, overrides = task_study(folder, "one-class", args.task)
    spec = load_spec(path, [*overrides, *sized(args)])
    share = float(DataCache().encoded(spec).validation.labels.float().mean())
    return 2 * share / (1 + share)


def run_study(
    folder: Path, url: str, pruner: str, signal: str, seed: int, args: argparse.Namespace
) -> Run:
    import optuna
    from optuna.trial import TrialState

    from hpsearch.search.record import learned_nothing

    name = f"bench-{args.task}-{pruner}-{signal}-{seed}"
    path, overrides = task_study(folder, name, args.task)
    overrides += [
        f"study.n_trials={args.trials}",
        f'study.sampler={{ name = "tpe", seed = {seed}, n_startup_trials = 4 }}',
        f"study.pruner={pruner_table(pruner, signal)}",
        "study.enqueue=[]",
        *sized(args),
    ]
    started = time.perf_counter()
    command = [sys.executable, "-m", "hpsearch", "run", str(path), "--storage", url]
    done = subprocess.run(
        [*command, *set_args(overrides)],
        capture_output=True,
        text=True,
        env=bench.child_env(args.threads),  # the checkout's hpsearch, on --threads
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    from hpsearch.search import open_storage

    trials = optuna.load_study(study_name=name, storage=open_storage(url, write=False)).trials
    trials = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]

    # A trial's best evaluation answers one class only if every one did (the trainer's rule).
    return Run(
        pruner=arm_name(pruner, signal),
        seed=seed,
        wall_seconds=wall,
        steps=[t.user_attrs["evals"][-1]["step"] for t in trials],
        values=[
            t.value if t.state == TrialState.COMPLETE and not learned_nothing(t) else None
            for t in trials
        ],
        pruned=sum(t.state == TrialState.PRUNED for t in trials),
        one_class=sum(t.state == TrialState.COMPLETE and learned_nothing(t) for t in trials),
    )


def summarize(runs: list[Run], tolerance: float) -> tuple[dict[str, dict], float]:
    by_pruner: dict[str, list[Run]] = {}
    for r in runs:
        by_pruner.setdefault(r.pruner, []).append(r)
    unpruned = by_pruner.get("none")
    reference = statistics.mean(r.best for r in unpruned) if unpruned else float("nan")
    base_steps = statistics.mean(r.total_steps for r in unpruned) if unpruned else None
    summary = {}
    for pruner, group in by_pruner.items():
        to_target = [r.steps_to(reference - tolerance) for r in group]
        reached = [s for s in to_target if s is not None]
        every_seed = len(reached) == len(group)
        steps = statistics.mean(r.total_steps for r in group)
        best = statistics.mean(r.best for r in group)
        summary[pruner] = {
            "total_steps": steps,
            "share_of_unpruned": steps / base_steps if base_steps else None,
            "best": best,
            "best_std": statistics.stdev(r.best for r in group) if len(group) > 1 else 0.0,
            "within_tolerance": best >= reference - tolerance,
            "steps_to_target": to_target,
            "steps_to_target_mean": statistics.mean(reached) if every_seed else None,
            "pruned": statistics.mean(r.pruned for r in group),
            "one_class": statistics.mean(r.one_class for r in group),
            "wall_seconds": sum(r.wall_seconds for r in group),
            "runs": [asdict(r) for r in group],
        }
    return summary, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pruners", nargs="+", default=list(PRUNERS), choices=list(PRUNERS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="sampler seeds")
    parser.add_argument("--task", choices=list(TASK_NAMES), default="quora")
    parser.add_argument("--trials", type=int, default=10, help="trials per study")
    parser.add_argument("--train", type=int, default=2000, help="training examples")
    parser.add_argument("--eval", type=int, default=500, help="validation examples")
    parser.add_argument(
        "--signal",
        nargs="+",
        choices=["metric", "loss"],
        default=["metric"],
        help="what the pruners compare: F1, the validation loss, or each (study.pruner.signal)",
    )
    parser.add_argument("--tolerance", type=float, default=0.01, help="of the metric (F1)")
    parser.add_argument(
        "--storage",
        help="keep the studies here (default: a temporary folder); run again with it and "
        "finished studies train nothing, so the summary is recomputed from them",
    )
    # --precision: train.precision of every trial (auto: bf16 where the CPU multiplies it)
    bench.add_common_args(parser, ["auto", "fp32", "bf16"], default="auto")
    args = parser.parse_args()
    if "none" not in args.pruners:
        parser.error("--pruners must include none: it is the reference")

    machine = bench.Machine("cpu", [args.precision], args.threads)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench_search_") as tmp:
        url = args.storage or f"sqlite:///{Path(tmp) / 'search.db'}"
        for seed in args.seeds:
            for pruner, signal in arms(args.pruners, args.signal):
                run = run_study(Path(tmp), url, pruner, signal, seed, args)
                runs.append(run)
                print(
                    f"{run.pruner:<20} seed {seed}: {run.total_steps:6d} steps, best "
                    f"{run.best:.4f}, {run.pruned} pruned, {run.one_class} never learned, "
                    f"{run.wall_seconds:.0f} s",
                )
        trivial = one_class_f1(Path(tmp), args)
    record = machine.record()
    summary, reference = summarize(runs, args.tolerance)

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=(
            "Pruners (comparing F1, or the validation loss where named) "
            f"on {TASK_NAMES[args.task]} ({args.train} for training, 2 epochs, 4 "
            f"evaluations an epoch, precision {args.precision}), "
            f"{args.trials} trials, sampler seeds {args.seeds}; target = the unpruned best "
            f"{reference:.4f} - {args.tolerance}"
        )
    )
    columns = (
        "pruner", "steps", "share", "best (mean ± sd)", "pruned", "never learned", "steps to target"
    )  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col == "pruner" else "right")
    for pruner, s in summary.items():
        share = s["share_of_unpruned"]
        table.add_row(
            pruner,
            f"{s['total_steps']:.0f}",
            "-" if share is None else f"{share:.0%}",
            f"{s['best']:.4f} ± {s['best_std']:.4f}",
            f"{s['pruned']:.1f}",
            f"{s['one_class']:.1f}",
            ", ".join("-" if v is None else str(v) for v in s["steps_to_target"]),
        )
    Console(width=140).print(table)
    print(
        f"answering the positive class for every validation example scores F1 {trivial:.4f}; "
        "the trainer never takes such an evaluation as a trial's best when one with varying "
        "answers exists"
    )
    fits = [p for p, s in summary.items() if p != "none" and s["within_tolerance"]]
    if fits:
        cheapest = min(fits, key=lambda p: summary[p]["total_steps"])
        print(f"fewest steps within the tolerance: {cheapest}")
    default = summary.get(DEFAULT_PRUNER, {})
    verdicts = [  # the target: both at once
        bench.verdict(
            f"{DEFAULT_PRUNER} best - the unpruned best {reference:.4f}",
            default["best"] - reference if default else None,
            -args.tolerance,
        ),
        bench.verdict(
            f"{DEFAULT_PRUNER} steps / the unpruned runs' steps",
            default.get("share_of_unpruned"),
            TARGET_SHARE,
            higher=False,
        ),
    ]
    setup = {"reference_best": reference, "one_class_f1": trivial}
    bench.save(args.json, "bench_search", args, record, summary, verdicts, setup)


if __name__ == "__main__":
    main()
