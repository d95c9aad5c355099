"""compare.md, compare.csv (one row per arm) and compare.json as text, and writing files
with their plots, all or nothing (:func:`write_all`, which ``report`` writes through too).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hpsearch.compare.markdown import compare_markdown
from hpsearch.compare.model import CompareReport, Comparison, Data
from hpsearch.compare.plots import write_compare_plots
from hpsearch.compare.png import PlotResult
from hpsearch.errors import HpsearchError

STATS = ("mean", "std", "best", "worst")  # the columns of a metric over seeds
# What compare writes into its folder (report's files: hpsearch.report.files.REPORT_FILES).
COMPARE_FILES = (
    "compare.md",
    "compare.csv",
    "compare.json",
    "seeds.png",
    "tuning.png",
    "seconds.png",
    "steps.png",
    "lr_sensitivity.png",
    "p_best.png",
)


class ResultsFolderError(HpsearchError):
    """The results folder, or a file in it, cannot be written."""


def check_results_folder(folder: Path, names: Sequence[str]) -> None:
    """Refuse, before any re-run trains, a results ``folder`` that could not take the files
    ``names``: the folder (or the nearest folder above it that exists) cannot be written, a
    file stands where a folder must be, or one of ``names`` is a folder there.

    Tried by writing: a mode, an immutable flag, a read-only mount or an ACL all stop a
    write, and only a write says so for every user (root's ``os.access`` answers yes).

    Raises:
        ResultsFolderError: one line naming the path and what to do.
    """
    where = folder
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise ResultsFolderError(
            f"results folder {folder}: {where} is a file, not a folder; move it, or give "
            "another --name"
        )
    for name in names:
        if (folder / name).is_dir():
            raise ResultsFolderError(
                f"results folder {folder}: {name} is a folder, where the file {name} is to be "
                "written; move it away"
            )
    # write_all stages beside the folder, then moves its files in: both must take a file.
    for place in dict.fromkeys([where, folder.parent if folder.exists() else where, folder]):
        if place.is_dir() and not _can_write(place):
            raise ResultsFolderError(
                f"results folder {folder} cannot be written: {place} is read-only; make it "
                "writable, or compare from a copy of the study files elsewhere"
            )


def _can_write(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def csv_text(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def compare_csv(comp: Comparison) -> str:
    """compare.csv: one row per arm: its budget, best config, every compared metric over
    the seeds, where it never learned within its space, the paired difference of the
    objective to the baseline with its tests (empty where the arm or the baseline never
    learned), and its cost."""
    fields = ["arm", "study", "optimizer", "baseline", "finished", "judged", "cut"]
    fields += ["best_trial", "params", *(f"{m}_{s}" for m in comp.metrics for s in STATS)]
    fields += ["never_learned", "diff_mean", "diff_ci_low", "diff_ci_high", "effect_size"]
    fields += ["paired_t_p", "paired_t_p_holm", "wilcoxon_p", "wilcoxon_p_holm", "welch_p"]
    fields += ["seconds_per_step", "samples_per_s", "train_seconds", "wall_time"]
    fields += ["optimizer_state_bytes", "peak_memory_bytes", "peak_memory"]
    fields += ["target", "target_seconds", "target_steps", "target_reached", "seeds"]
    rows = []
    for arm in comp.arms:
        best = next(c for c in comp.configs if c.arm == arm.name and c.trial == arm.best_trial)
        paired = comp.paired_test(arm.name, comp.metric)
        cost = comp.cost(arm.name)
        row: dict[str, Any] = {
            "arm": arm.name,
            "study": arm.study,
            "optimizer": arm.optimizer,
            "baseline": arm.baseline,
            "finished": arm.finished,
            "judged": len(arm.judged),
            "cut": " ".join(map(str, arm.cut)),
            "best_trial": arm.best_trial,
            "params": json.dumps(best.params, sort_keys=True),
            # why it gets no Δ, CI or p-value: "every judged trial; every seed re-run"
            "never_learned": "; ".join(arm.never_learned),
        }
        for m in comp.metrics:
            for s in STATS:
                row[f"{m}_{s}"] = getattr(arm.summary[m], s)
        if paired is not None:
            row |= {
                "diff_mean": paired.mean,
                "diff_ci_low": paired.ci_low,
                "diff_ci_high": paired.ci_high,
                "effect_size": paired.effect_size,
                "paired_t_p": paired.t_test.p,
                "paired_t_p_holm": paired.t_test.p_holm,
                "wilcoxon_p": paired.wilcoxon.p,
                "wilcoxon_p_holm": paired.wilcoxon.p_holm,
                "welch_p": paired.welch.p,
            }
        row |= {
            "seconds_per_step": cost.seconds_per_step,
            "samples_per_s": cost.samples_per_s,
            "train_seconds": cost.train_seconds,
            "wall_time": cost.wall_time,
            "optimizer_state_bytes": cost.optimizer_state_bytes,
            "peak_memory_bytes": cost.peak_memory_bytes,
            "peak_memory": cost.peak_memory,
            "target": comp.target,
            # empty: not reached (infinitely slow)
            "target_seconds": cost.target_seconds,
            "target_steps": cost.target_steps,
            "target_reached": f"{cost.reached}/{cost.runs}",
            "seeds": " ".join(map(str, comp.seeds)),
        }
        rows.append({k: "" if v is None else v for k, v in row.items()})
    return csv_text(fields, rows)


def to_json(report: Data) -> str:
    """report.json or compare.json: all of the data. NaN (a diverged run) is written as
    null."""
    return json.dumps(_no_nan(report.to_dict()), indent=2) + "\n"


def _no_nan(value: Any) -> Any:
    """Plain data with NaN and ±inf as None, and tuples as lists (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def compare_texts(doc: CompareReport, plots: Mapping[str, str | None]) -> dict[str, str]:
    """compare.md, compare.csv and compare.json, by file name."""
    return {
        "compare.md": compare_markdown(doc, plots),
        "compare.csv": compare_csv(doc.comparison),
        "compare.json": to_json(doc),
    }


def write_compare(doc: CompareReport, folder: Path) -> tuple[list[Path], PlotResult]:
    """Write compare's files and plots into ``folder``, all or nothing; a plot of
    :data:`COMPARE_FILES` that this comparison does not draw (``p_best.png`` without
    ``--p-best``) is not left there from an earlier one."""
    written, plots = write_all(
        folder,
        lambda staging: write_compare_plots(doc.comparison, staging),
        lambda p: compare_texts(doc, p),
    )
    for name in COMPARE_FILES:
        if name.endswith(".png") and name not in plots:
            (folder / name).unlink(missing_ok=True)
    return written, plots


def write_all(
    folder: Path,
    draw: Callable[[Path], PlotResult],
    texts: Callable[[PlotResult], dict[str, str]],
) -> tuple[list[Path], PlotResult]:
    """Draw the plots (``draw(folder)``) and write the text files (``texts(plots)``: file
    name → text) into ``folder``, all or nothing.

    Everything is drawn and written into a staging folder beside ``folder`` first and moved
    in at the end, so a failure leaves no half-written output (an earlier one stays as it
    was). A plot skipped now removes that plot of an earlier run.

    Returns:
        The written paths, and the plot results (file name → None or why it was skipped).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        plots = draw(staging)
        for name, text in texts(plots).items():
            (staging / name).write_text(text, encoding="utf-8")
        folder.mkdir(exist_ok=True)
        check_results_folder(folder, [p.name for p in staging.iterdir()])  # before any move
        written = []
        for path in sorted(staging.iterdir()):
            written.append(folder / path.name)
            os.replace(path, written[-1])
        for name, skipped in plots.items():
            if skipped:
                (folder / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written, plots
