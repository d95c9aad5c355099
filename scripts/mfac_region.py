"""M-FAC's working region: the final metric over lr x num_grads x damp, AdamW's over lr x
weight decay as the reference, and the mechanism of a collapse (docs/optim.md).

Usage:
    python scripts/mfac_region.py grid quora --out /tmp/region/quora.jsonl     # trains
    python scripts/mfac_region.py grid sst2 --out /tmp/region/sst2.jsonl
    python scripts/mfac_region.py trace quora --out /tmp/region/trace.json \\
        --cell optimizer.num_grads=16 train.lr=1e-2 --cell optimizer.num_grads=16 train.lr=1e-3
    python scripts/mfac_region.py plot /tmp/region/*.jsonl /tmp/region/trace.json --to docs/optim

``grid`` trains one run per cell (one seed; ``--repeat`` cells again on other seeds, to show
the noise), appending a line per finished cell to ``--out``: the same command resumes and
skips the cells already there. A cell is judged as the study's own runs are: ``diverged``
(a non-finite loss, which fails the run, or a validation loss over 10 x chance,
:func:`hpsearch.search.divergence.divergence`), ``one class`` (MCC 0 at the last
evaluation), else learned. ``trace`` records, step by step and per layer group (embeddings,
encoder, head), the gradient norm |g| the optimizer gets (after clipping) and the update's
norm relative to the parameters' norm. ``plot`` writes the PNGs docs/optim.md shows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDIES = REPO / "studies"

# Each task at small size: one epoch, fixed settings but the cell's, cards' batch 32,
# no warmup (the remedies are columns of their own), the trainer's default clipping (1.0).
COMMON = (
    "train.epochs=1",
    "train.batch_size=32",
    "train.hidden_dropout=0.1",
    "train.warmup_ratio=0.0",
    "train.evals_per_epoch=2",
    "model.num_hidden_layers=2",
)
TASKS = {
    "quora": (
        "quora-{kind}.toml",
        ("task.max_length=64", "task.max_train_samples=4000", "task.max_eval_samples=1000"),
    ),
    "sst2": (
        "sst2-testbed.toml",
        (
            "task.max_train_samples=4000",
            "task.max_eval_samples=872",
            'study.metric="accuracy"',
            'finetune.mode="full"',
            'train.schedule="linear"',
        ),
    ),
}

LRS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
NUM_GRADS = (16, 64, 256)
DAMPS = (1e-6, 1e-4, 1e-2)
WEIGHT_DECAYS = (0.0, 0.01, 0.1)


def cells(lrs, num_grads, damps, weight_decays) -> Iterator[dict[str, object]]:
    """M-FAC's cells first by damp (the cards' 1e-6 first), then AdamW's."""
    for damp, m, lr in itertools.product(damps, num_grads, lrs):
        yield {
            "optimizer.kind": "mfac",
            "optimizer.num_grads": m,
            "optimizer.damp": damp,
            "train.lr": lr,
        }
    for wd, lr in itertools.product(weight_decays, lrs):
        yield {"optimizer.kind": "adamw", "train.weight_decay": wd, "train.lr": lr}


def spec_of(task: str, cell: dict[str, object], seed: int):
    from hpsearch.spec import load_spec

    file, extra = TASKS[task]
    path = STUDIES / file.format(kind="mfac" if cell["optimizer.kind"] == "mfac" else "adam")
    overrides = [*COMMON, *extra, "study.enqueue=[]"]
    base = load_spec(path, overrides)
    return base.with_params({**cell, "train.seed": seed})


def run_cell(task: str, cell: dict[str, object], seed: int, cache, on_model=None) -> dict:
    from hpsearch.metrics import answered_one_class
    from hpsearch.search.divergence import divergence
    from hpsearch.train import train
    from hpsearch.train.trainer import NonFiniteLossError

    spec = spec_of(task, cell, seed)
    data = cache.encoded(spec)
    tick = time.perf_counter()
    try:
        result = train(spec, data, on_model=on_model)
    except NonFiniteLossError as e:
        return {
            "outcome": "diverged",
            "why": str(e),
            "metric": None,
            "seconds": time.perf_counter() - tick,
        }
    last = result.evals[-1].metrics
    diverged = divergence(result.evals, {"": data})
    outcome = (
        "diverged"
        if diverged
        else "one class"
        if answered_one_class(last.get("mcc"))
        else "learned"
    )
    return {
        "outcome": outcome,
        "metric": last[spec.metric],
        "metric_name": spec.metric,
        "loss": last["loss"],
        "mcc": last.get("mcc"),
        "seconds": time.perf_counter() - tick,
        "seconds_per_step": result.seconds_per_step,
    }


def key_of(cell: dict[str, object], seed: int) -> str:
    return json.dumps({**cell, "seed": seed}, sort_keys=True)


def grid(args: argparse.Namespace) -> None:
    import logging

    import torch

    from hpsearch.data import DataCache

    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {key_of(r["cell"], r["seed"]) for r in map(json.loads, out.read_text().splitlines())}
    todo = [(c, 0) for c in cells(args.lrs, args.num_grads, args.damps, args.weight_decays)]
    todo += [(c, s) for c in map(json.loads, args.repeat) for s in args.repeat_seeds]
    cache = DataCache()
    for cell, seed in todo:
        if key_of(cell, seed) in done:
            continue
        row = {
            "task": args.task,
            "cell": cell,
            "seed": seed,
            **run_cell(args.task, cell, seed, cache),
        }
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(
            f"{cell} seed {seed}: {row['outcome']} {row['metric']} ({row['seconds']:.0f} s)",
            flush=True,
        )


def group_of(name: str) -> str:
    if "embeddings" in name:
        return "embeddings"
    return "encoder" if "encoder" in name else "head"


def trace(args: argparse.Namespace) -> None:
    """Per step and layer group: |g| (after clipping, what the optimizer gets) and
    |update| / |theta|, recorded by global optimizer step hooks."""
    import logging

    import torch
    from torch.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )

    from hpsearch.data import DataCache

    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    cache = DataCache()
    runs = []
    for items in args.cell:
        cell = {
            "optimizer.kind": "mfac",
            "optimizer.num_grads": 16,
            "optimizer.damp": 1e-6,
            "train.lr": 1e-3,
        }
        for item in items:
            k, v = item.split("=", 1)
            cell[k] = json.loads(v)
        names: dict[torch.nn.Parameter, str] = {}
        steps: list[dict[str, dict[str, float]]] = []
        before: dict[torch.nn.Parameter, torch.Tensor] = {}

        def on_model(model, names=names):
            names.update({p: n for n, p in model.named_parameters()})
            return model

        def pre(opt, a, k, before=before, names=names):
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is not None and p in names:
                        before[p] = p.detach().clone()

        def post(opt, a, k, before=before, names=names, steps=steps):
            sums: dict[str, list[float]] = {}
            for p, old in before.items():
                g = p.grad
                s = sums.setdefault(group_of(names[p]), [0.0, 0.0, 0.0])
                s[0] += float(g.float().pow(2).sum()) if g is not None and not g.is_sparse else 0
                s[1] += float((p.detach() - old).float().pow(2).sum())
                s[2] += float(old.float().pow(2).sum())
            before.clear()
            steps.append(
                {
                    k: {
                        "grad": math.sqrt(v[0]),
                        "update": math.sqrt(v[1]),
                        "param": math.sqrt(v[2]),
                    }
                    for k, v in sums.items()
                }
            )

        hooks = [register_optimizer_step_pre_hook(pre), register_optimizer_step_post_hook(post)]
        try:
            row = run_cell(args.task, cell, 0, cache, on_model=on_model)
        finally:
            for h in hooks:
                h.remove()
        runs.append({"task": args.task, "cell": cell, **row, "steps": steps})
        print(f"{cell}: {row['outcome']} {row['metric']}", flush=True)
    Path(args.out).write_text(json.dumps(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grid")
    g.add_argument("task", choices=sorted(TASKS))
    g.add_argument("--out", required=True)
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--lrs", type=float, nargs="*", default=LRS)
    g.add_argument("--num-grads", type=int, nargs="*", default=NUM_GRADS)
    g.add_argument("--damps", type=float, nargs="*", default=DAMPS)
    g.add_argument("--weight-decays", type=float, nargs="*", default=WEIGHT_DECAYS)
    g.add_argument("--repeat", nargs="*", default=(), help="cells (JSON) to train again")
    g.add_argument("--repeat-seeds", type=int, nargs="+", default=(1, 2))
    t = sub.add_parser("trace")
    t.add_argument("task", choices=sorted(TASKS))
    t.add_argument("--out", required=True)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--cell", nargs="+", action="append", required=True)
    p = sub.add_parser("plot")
    p.add_argument("files", nargs="+")
    p.add_argument("--to", required=True)
    args = parser.parse_args()
    {"grid": grid, "trace": trace, "plot": plot}[args.command](args)


def plot(args: argparse.Namespace) -> None:
    """One heatmap figure per task (a panel per damp, and AdamW's), one mechanism figure."""
    import matplotlib

    matplotlib.use("Agg")
    to = Path(args.to)
    to.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for file in map(Path, args.files):
        if file.suffix == ".jsonl":
            rows += map(json.loads, file.read_text().splitlines())
        else:
            _mechanism(json.loads(file.read_text()), to / "mfac-mechanism.png")
    for task in sorted({r["task"] for r in rows}):
        _heatmaps([r for r in rows if r["task"] == task], task, to / f"region-{task}.png")


def _panel(ax, rows: list[dict], y_field: str, title: str, vmin: float, vmax: float):
    """A heatmap of the seed-0 metric over lr (x) and ``y_field`` (y); a cell is marked
    "1c" (one class) or "div" (diverged), with the repeat seeds' metrics below when any."""
    import numpy as np

    lrs = sorted({r["cell"]["train.lr"] for r in rows})
    ys = sorted({r["cell"][y_field] for r in rows})
    grid_ = np.full((len(ys), len(lrs)), np.nan)
    for r in rows:
        i, j = ys.index(r["cell"][y_field]), lrs.index(r["cell"]["train.lr"])
        if r["seed"] == 0 and r["outcome"] == "learned":
            grid_[i, j] = r["metric"]
    image = ax.imshow(grid_, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
    for r in rows:
        if r["seed"] != 0:
            continue
        i, j = ys.index(r["cell"][y_field]), lrs.index(r["cell"]["train.lr"])
        text = {"learned": f"{r['metric']:.2f}", "one class": "1c", "diverged": "div"}
        label = text[r["outcome"]]
        repeats = [q for q in rows if q["cell"] == r["cell"] and q["seed"] != 0]
        if repeats:
            label += "\n" + " ".join(
                f"{q['metric']:.2f}" if q["outcome"] == "learned" else text[q["outcome"]]
                for q in repeats
            )
        color = "white" if r["outcome"] != "learned" else "black"
        ax.text(j, i, label, ha="center", va="center", fontsize=7, color=color)
        if r["outcome"] != "learned":
            ax.add_patch(matplotlib_rect(j, i, r["outcome"]))
    ax.set_xticks(range(len(lrs)), [f"{x:g}" for x in lrs], rotation=45, fontsize=7)
    ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=7)
    ax.set_xlabel("lr")
    ax.set_ylabel(y_field.split(".")[-1])
    ax.set_title(title, fontsize=9)
    return image


def matplotlib_rect(j: int, i: int, outcome: str):
    from matplotlib.patches import Rectangle

    color = "#b00020" if outcome == "diverged" else "#555555"
    return Rectangle((j - 0.5, i - 0.5), 1, 1, color=color, zorder=0.5)


def _heatmaps(rows: list[dict], task: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    mfac = [r for r in rows if r["cell"]["optimizer.kind"] == "mfac"]
    adam = [r for r in rows if r["cell"]["optimizer.kind"] == "adamw"]
    damps = sorted({r["cell"]["optimizer.damp"] for r in mfac})
    learned = [r["metric"] for r in rows if r["outcome"] == "learned"]
    vmin, vmax = (min(learned), max(learned)) if learned else (0, 1)
    fig, axes = plt.subplots(1, len(damps) + 1, figsize=(4 * (len(damps) + 1), 3.4))
    name = rows[0].get("metric_name", "metric")
    for ax, damp in zip(axes, damps, strict=False):
        image = _panel(
            ax,
            [r for r in mfac if r["cell"]["optimizer.damp"] == damp],
            "optimizer.num_grads",
            f"M-FAC, damp {damp:g}",
            vmin,
            vmax,
        )
    image = _panel(axes[-1], adam, "train.weight_decay", "AdamW", vmin, vmax)
    fig.colorbar(image, ax=axes, label=f"{name} (learned cells)", shrink=0.8)
    fig.suptitle(
        f"{task}: final {name}, one seed a cell (1c: one class, div: diverged)", fontsize=10
    )
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _mechanism(runs: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(runs), figsize=(5 * len(runs), 6), sharex=True, squeeze=False)
    for col, run in enumerate(runs):
        cell = run["cell"]
        title = (
            f"M-FAC m={cell['optimizer.num_grads']}, lr {cell['train.lr']:g}, "
            f"damp {cell['optimizer.damp']:g}: {run['outcome']}"
        )
        for group in ("embeddings", "encoder", "head"):
            steps = [s[group] for s in run["steps"] if group in s]
            axes[0][col].plot([s["grad"] for s in steps], label=group)
            axes[1][col].plot([s["update"] / max(s["param"], 1e-12) for s in steps], label=group)
        axes[0][col].set_title(title, fontsize=9)
        axes[0][col].set_ylabel("|g| (after clipping)")
        axes[1][col].set_ylabel("|update| / |θ|")
        axes[1][col].set_xlabel("step")
        for ax in axes[:, col]:
            ax.set_yscale("log")
            ax.legend(fontsize=7)
    fig.savefig(path, dpi=70, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main()
