"""Rendering report data: rich tables for the terminal, and report.md, report.csv, schemes.csv,
multitask.csv (a multitask study), report.json.

Every function here reads the plain dict of :func:`hpsearch.report.build.build_report` and
nothing else. Tables are built once as header and rows of strings, then rendered as rich
tables or markdown, so the terminal and the file always agree.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hpsearch.report.labels import (
    COMBINE_NAMES,
    MULTITASK_ROWS,
    PERCENT,
    adapter_label,
    column_name,
    config_label,
    metric_name,
    optimizer_name,
    scheduler_label,
    scheme_label,
)

Rows = tuple[list[str], list[list[str]]]  # header, rows


def _num(value: float | None, digits: int = 4, scale: float = 1.0, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value * scale, f"{'+' if sign else ''}.{digits}f")


def _pm(summary: dict[str, Any], digits: int = 4, scale: float = 1.0) -> str:
    mean = _num(summary["mean"], digits, scale)
    if summary["std"] is None:
        return f"{mean} (n=1)"
    return f"{mean} ± {_num(summary['std'], digits, scale)}"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def comparison_rows(report: dict[str, Any]) -> Rows | None:
    """The model cards' table: a row per optimizer, then the difference and Welch's p."""
    comp = report["comparison"]
    if comp is None:
        return None
    metrics = comp["metrics"]
    base, study = comp["baseline"], comp["study"]

    def scale(m: str) -> float:
        return 100.0 if m in PERCENT else 1.0

    digits = {m: 2 if m in PERCENT else 4 for m in metrics}
    best_name = " / ".join(metric_name(m) for m in metrics)
    header = ["", *(metric_name(m) for m in metrics), f"best run ({best_name})", "seeds"]
    rows = []
    for side in (base, study):
        best = side["best_run"]["metrics"]
        rows.append(
            [
                config_label(side),
                *(_pm(side["summary"][m], digits[m], scale(m)) for m in metrics),
                " / ".join(_num(best.get(m), digits[m], scale(m)) for m in metrics),
                str(len(side["seeds"])),
            ]
        )
    diff = comp["difference"]
    rows.append(
        [
            f"difference ({optimizer_name(study['optimizer'])} − "
            f"{optimizer_name(base['optimizer'])})",
            *(_num(diff[m]["mean"], digits[m], scale(m), sign=True) for m in metrics),
            " / ".join(_num(diff[m]["best_run"], digits[m], scale(m), sign=True) for m in metrics),
            "",
        ]
    )
    rows.append(
        ["Welch t-test p", *(_p(comp["welch"][m]["p"]) for m in metrics), "", ""],
    )
    return header, rows


# The survey's columns; the objective gets its own column when it is neither.
SCHEME_METRICS = ("loss", "accuracy")


def scheme_rows(report: dict[str, Any]) -> Rows:
    """The survey's table: the best config of each learning scheme, best first."""
    schemes = report["schemes"]
    # A survey column no scheme has (a multitask study's metrics are per task) is left out.
    metrics = [m for m in SCHEME_METRICS if not schemes or any(m in r["metrics"] for r in schemes)]
    if report["metric"] not in metrics:
        metrics.append(report["metric"])
    header = ["learning scheme", "adapter", "scheduler"]
    header += [f"validation {metric_name(m).lower()}" for m in metrics]
    rows = [
        [
            scheme_label(r["scheme"]),
            adapter_label(r["finetune"]),
            scheduler_label(r["schedule"]),
            *(_num(r["metrics"].get(m)) for m in metrics),
        ]
        for r in report["schemes"]
    ]
    return header, rows


def multitask_rows(report: dict[str, Any]) -> Rows | None:
    """The per-task table of a multitask study: summed loss, PCGrad, per-task ensemble."""
    table = report.get("multitask")
    if table is None:
        return None
    header = ["", *(column_name(m) for m in table["columns"]), "trial"]
    rows = []
    for r in table["rows"]:
        label = MULTITASK_ROWS[r["row"]]
        if r["row"] == "ensemble" and r["combine"] is not None:
            label += f" (after {COMBINE_NAMES[r['combine']]})"
        trial = "–" if r["trial"] is None else f"{r['trial']} (best of {r['n_trials']})"
        rows.append([label, *(_num(r["metrics"].get(m)) for m in table["columns"]), trial])
    return header, rows


def config_rows(report: dict[str, Any]) -> Rows:
    """Each re-run config: mean ± std and best-of-N of every metric over its seeds."""
    metrics = report["metrics"]
    header = ["config", f"search {report['metric']}", "seeds"]
    for m in metrics:
        header += [f"{m} mean ± std", f"{m} best"]
    rows = []
    for c in report["configs"]:
        row = [config_label(c), _num(c["search_value"]), str(len(c["runs"]))]
        for m in metrics:
            s = c["summary"].get(m)
            row += ["–", "–"] if s is None else [_pm(s), _num(s["best"])]
        rows.append(row)
    return header, rows


def run_rows(report: dict[str, Any]) -> Rows:
    """Every re-run: config, seed, the trial in the companion study, every metric."""
    metrics = report["metrics"]
    header = ["config", "seed", "re-run trial", *metrics]
    rows = [
        [config_label(c), str(r["seed"]), f"{c['reseed_study']} #{r['trial']}"]
        + [_num(r["metrics"].get(m)) for m in metrics]
        for c in report["configs"]
        for r in c["runs"]
    ]
    return header, rows


def markdown_table(rows: Rows) -> str:
    header, body = rows

    def cells(row: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    align = ["---", *(["---:"] * (len(header) - 1))]
    return "\n".join([cells(header), "| " + " | ".join(align) + " |", *map(cells, body)])


def to_markdown(report: dict[str, Any], plots: dict[str, str | None] | None = None) -> str:
    """report.md: the comparison, the configs, every run, the params, the plots and notes.

    Args:
        plots: file name → None when written, or the reason it was skipped.
    """
    seeds = report["seeds"]
    intro = (
        f"Study `{report['study']}` (`{report['study_file']}`)"
        + (
            f" against its baseline `{report['baseline']}` (`{report['baseline_file']}`)"
            if report["baseline"]
            else ""
        )
        + f": the top {report['top']} config(s) of each study, each re-run with {seeds} "
        f"seeds, without pruning. Objective: {report['metric']} ({report['direction']}). "
        f"Created {report['created']}."
    )
    parts = [f"# Report: {report['study']}", "", intro, ""]
    comp = comparison_rows(report)
    if comp is not None:
        parts += [
            f"## {comparison_title(report)}",
            "",
            "The best config of each study (by mean "
            f"{report['metric']} over the seeds). Best run: the seed with the best "
            f"{report['metric']}, all its metrics. Difference: study minus baseline. Welch's "
            "t-test (unequal variances, two-sided) over the seeds.",
            "",
            markdown_table(comp),
            "",
        ]
    tasks = multitask_rows(report)
    if tasks is not None:
        parts += [
            f"## Tasks: summed loss, PCGrad and the per-task ensemble, by {report['metric']}",
            "",
            "Validation metrics of the best complete trial of the search (not re-run) of each "
            "kind. Summed loss and PCGrad: the jointly trained model at its best evaluation "
            "(`multitask.combine`). Per-task ensemble: each task predicted by its own copy of "
            "the joint model, finetuned on that task alone (`multitask.ensemble`).",
            "",
            markdown_table(tasks),
            "",
        ]
        for r in report["multitask"]["rows"]:
            if r["trial"] is None:
                parts.append(f"- {MULTITASK_ROWS[r['row']]}: no complete trial in the search")
                continue
            params = ", ".join(f"`{k}` = {_param(v)}" for k, v in r["params"].items())
            parts.append(
                f"- {MULTITASK_ROWS[r['row']]}: trial {r['trial']}; "
                f"{params or 'no searched params'}"
            )
        parts.append("")
    parts += [
        f"## Learning schemes: the best config of each, by {report['metric']}",
        "",
        f"Every learning scheme of study `{report['study']}` (what trains, discriminative "
        "lr, gradual unfreezing, optimizer) with its best complete trial of the search (not "
        "re-run); validation metrics of that trial's best evaluation.",
        "",
        markdown_table(scheme_rows(report)),
        "",
    ]
    for r in report["schemes"]:
        params = ", ".join(f"`{k}` = {_param(v)}" for k, v in r["params"].items())
        parts.append(
            f"- {scheme_label(r['scheme'])}: trial {r['trial']} (best of {r['n_trials']}), "
            f"{_count(r['trainable_params'])} trainable parameters, "
            f"{_num(r['seconds_per_step'], 3)} s/step; {params or 'no searched params'}"
        )
    parts += [
        "",
        "## Configs: mean ± std and best-of-N over the seeds",
        "",
        markdown_table(config_rows(report)),
        "",
        "Params:",
        "",
    ]
    for c in report["configs"]:
        params = ", ".join(f"`{k}` = {_param(v)}" for k, v in c["params"].items())
        parts.append(f"- {config_label(c)}: {params or 'no searched params'}")
    parts += ["", "## Runs", "", markdown_table(run_rows(report)), ""]
    if plots:
        parts += ["## Plots", ""]
        for name, skipped in plots.items():
            stem = name.rsplit(".", 1)[0]
            parts.append(f"- `{name}`: {skipped}" if skipped else f"![{stem}]({name})")
        parts.append("")
    if report["notes"]:
        parts += ["## Notes", "", *(f"- {n}" for n in report["notes"]), ""]
    return "\n".join(parts)


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _param(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def to_csv(report: dict[str, Any]) -> str:
    """report.csv: one row per config, with mean, std, best and worst of every metric."""
    metrics = report["metrics"]
    stats = ("mean", "std", "best", "worst")
    fields = ["study", "role", "optimizer", "trial", "search_value", "n_seeds", "seeds"]
    fields += ["params", *(f"{m}_{s}" for m in metrics for s in stats)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for c in report["configs"]:
        row: dict[str, Any] = {
            "study": c["study"],
            "role": c["role"],
            "optimizer": c["optimizer"],
            "trial": c["trial"],
            "search_value": c["search_value"],
            "n_seeds": len(c["runs"]),
            "seeds": " ".join(map(str, c["seeds"])),
            "params": json.dumps(c["params"], sort_keys=True),
        }
        for m in metrics:
            for s in stats:
                value = c["summary"].get(m, {}).get(s)
                row[f"{m}_{s}"] = "" if value is None else value
        writer.writerow(row)
    return buf.getvalue()


def schemes_csv(report: dict[str, Any]) -> str:
    """schemes.csv: the learning-schemes table, one row per scheme, with its trial's data."""
    metrics = sorted({m for r in report["schemes"] for m in r["metrics"]})
    fields = ["learning_scheme", "adapter", "scheduler", *(f"validation_{m}" for m in metrics)]
    fields += ["trial", "n_trials", "value", "trainable_params", "seconds_per_step"]
    fields += ["mode", "discriminative", "gradual_unfreezing", "optimizer", "params"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in report["schemes"]:
        scheme = r["scheme"]
        writer.writerow(
            {
                "learning_scheme": scheme_label(scheme),
                "adapter": adapter_label(r["finetune"]),
                "scheduler": scheduler_label(r["schedule"]),
                **{f"validation_{m}": r["metrics"].get(m, "") for m in metrics},
                **{k: r[k] for k in ("trial", "n_trials", "value")},
                "trainable_params": r["trainable_params"],
                "seconds_per_step": r["seconds_per_step"],
                **{k: scheme[k] for k in ("mode", "discriminative", "gradual_unfreezing")},
                "optimizer": scheme["optimizer"],
                "params": json.dumps(r["params"], sort_keys=True),
            }
        )
    return buf.getvalue()


def multitask_csv(report: dict[str, Any]) -> str:
    """multitask.csv: the per-task table, one row per kind (summed loss, PCGrad, ensemble)."""
    table = report["multitask"]
    fields = ["row", *table["columns"], "trial", "n_trials", "combine", "params"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in table["rows"]:
        writer.writerow(
            {
                "row": r["row"],
                **{m: r["metrics"].get(m, "") for m in table["columns"]},
                "trial": "" if r["trial"] is None else r["trial"],
                "n_trials": r["n_trials"],
                "combine": r["combine"] or "",
                "params": json.dumps(r["params"], sort_keys=True),
            }
        )
    return buf.getvalue()


def to_json(report: dict[str, Any]) -> str:
    """report.json: the whole report data. NaN (a diverged run) is written as null."""
    return json.dumps(_no_nan(report), indent=2) + "\n"


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def write_text_files(
    report: dict[str, Any], folder: Path, plots: dict[str, str | None] | None = None
) -> list[Path]:
    """Write report.md, report.csv, schemes.csv, report.json and (a multitask study)
    multitask.csv into ``folder``; their paths."""
    files = {
        "report.md": to_markdown(report, plots),
        "report.csv": to_csv(report),
        "schemes.csv": schemes_csv(report),
        "report.json": to_json(report),
    }
    if report.get("multitask") is not None:
        files["multitask.csv"] = multitask_csv(report)
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def write_report(report: dict[str, Any], folder: Path) -> tuple[list[Path], dict[str, str | None]]:
    """Write the report files and plots into ``folder``, all or nothing.

    Everything is drawn and written into a staging folder beside ``folder`` first and moved
    in at the end, so a failure leaves no half-written report (an earlier report stays as it
    was). A plot skipped now removes that plot of an earlier report.

    Returns:
        The written paths, and the plot results (file name → None or why it was skipped).
    """
    from hpsearch.report.plots import write_plots

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        plots = write_plots(report, staging)
        write_text_files(report, staging, plots)
        folder.mkdir(exist_ok=True)
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


def comparison_title(report: dict[str, Any]) -> str:
    comp = report["comparison"]
    return (
        f"{optimizer_name(comp['study']['optimizer'])} against "
        f"{optimizer_name(comp['baseline']['optimizer'])}: validation metrics ×100, "
        f"mean ± std over {report['seeds']} seeds"
    )


def multitask_title(report: dict[str, Any]) -> str:
    return (
        f"tasks of {report['study']}: the best config of summed loss, PCGrad and the per-task "
        f"ensemble, by {report['multitask']['metric']} in the search"
    )


def scheme_title(report: dict[str, Any]) -> str:
    return (
        f"learning schemes of {report['study']}: the best config of each, by "
        f"{report['metric']} in the search"
    )
