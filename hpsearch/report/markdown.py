"""report.md: the report's tables (:mod:`hpsearch.report.tables`) as markdown, with the
params of each config, the plots and the notes."""

from __future__ import annotations

from collections.abc import Mapping

from hpsearch.report.labels import MULTITASK_ROWS, config_label, scheme_label
from hpsearch.report.model import Params, ParamValue, Report
from hpsearch.report.tables import (
    Rows,
    comparison_rows,
    comparison_title,
    config_rows,
    multitask_rows,
    number_cell,
    run_rows,
    scheme_rows,
)


def markdown_table(rows: Rows) -> str:
    """A markdown table: the first column left-aligned, the others right-aligned."""
    header, body = rows

    def cells(row: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    align = ["---", *(["---:"] * (len(header) - 1))]
    return "\n".join([cells(header), "| " + " | ".join(align) + " |", *map(cells, body)])


def to_markdown(report: Report, plots: Mapping[str, str | None] | None = None) -> str:
    """report.md: the comparison, the configs, every run, the params, the plots and notes.

    Args:
        plots: file name → None when written, or the reason it was skipped.
    """
    intro = (
        f"Study `{report.study}` (`{report.study_file}`)"
        + (
            f" against its baseline `{report.baseline}` (`{report.baseline_file}`)"
            if report.baseline
            else ""
        )
        + f": the top {report.top} config(s) of each study, each re-run with {report.seeds} "
        f"seeds, without pruning. Objective: {report.metric} ({report.direction}). "
        f"Created {report.created}."
    )
    parts = [f"# Report: {report.study}", "", intro, ""]
    if report.comparison is not None:
        parts += [
            f"## {comparison_title(report.comparison, report.seeds)}",
            "",
            "The best config of each study (by mean "
            f"{report.metric} over the seeds). Best run: the seed with the best "
            f"{report.metric}, all its metrics. Difference: study minus baseline. Welch's "
            "t-test (unequal variances, two-sided) over the seeds.",
            "",
            markdown_table(comparison_rows(report.comparison)),
            "",
        ]
    if report.multitask is not None:
        parts += [
            f"## Tasks: summed loss, PCGrad and the per-task ensemble, by {report.metric}",
            "",
            "Validation metrics of the best complete trial of the search (not re-run) of each "
            "kind. Summed loss and PCGrad: the jointly trained model at its best evaluation "
            "(`multitask.combine`). Per-task ensemble: each task predicted by its own copy of "
            "the joint model, finetuned on that task alone (`multitask.ensemble`).",
            "",
            markdown_table(multitask_rows(report.multitask)),
            "",
        ]
        for r in report.multitask.rows:
            if r.trial is None:
                parts.append(f"- {MULTITASK_ROWS[r.row]}: no complete trial in the search")
                continue
            parts.append(f"- {MULTITASK_ROWS[r.row]}: trial {r.trial}; {_params(r.params)}")
        parts.append("")
    parts += [
        f"## Learning schemes: the best config of each, by {report.metric}",
        "",
        f"Every learning scheme of study `{report.study}` (what trains, discriminative "
        "lr, gradual unfreezing, optimizer) with its best complete trial of the search (not "
        "re-run); validation metrics of that trial's best evaluation.",
        "",
        markdown_table(scheme_rows(report.schemes, report.metric)),
        "",
    ]
    for s in report.schemes:
        parts.append(
            f"- {scheme_label(s.scheme)}: trial {s.trial} (best of {s.n_trials}), "
            f"{_count(s.trainable_params)} trainable parameters, "
            f"{number_cell(s.seconds_per_step, 3)} s/step; {_params(s.params)}"
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
    parts += [f"- {config_label(c)}: {_params(c.params)}" for c in report.configs]
    parts += ["", "## Runs", "", markdown_table(run_rows(report)), ""]
    if plots:
        parts += ["## Plots", ""]
        for name, skipped in plots.items():
            stem = name.rsplit(".", 1)[0]
            parts.append(f"- `{name}`: {skipped}" if skipped else f"![{stem}]({name})")
        parts.append("")
    if report.notes:
        parts += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    return "\n".join(parts)


def _params(params: Params) -> str:
    shown = ", ".join(f"`{k}` = {_param(v)}" for k, v in params.items())
    return shown or "no searched params"


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _param(value: ParamValue) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
