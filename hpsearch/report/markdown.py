"""report.md: the study's comparison with its baseline (:mod:`hpsearch.compare.markdown`),
the per-task and learning-schemes tables, the plots and the notes."""

from __future__ import annotations

from collections.abc import Mapping

from hpsearch.compare.markdown import (
    comparison_sections,
    markdown_table,
    notes_section,
    params_text,
    plots_section,
)
from hpsearch.compare.tables import number_cell
from hpsearch.report.labels import MULTITASK_ROWS, scheme_label
from hpsearch.report.model import Report
from hpsearch.report.tables import multitask_rows, scheme_rows, seeds_text
from hpsearch.wording import plural

__all__ = ["markdown_table", "to_markdown"]


def to_markdown(report: Report, plots: Mapping[str, str | None] | None = None) -> str:
    """report.md: the comparison, the study's tables, every config and run, plots and notes.

    Args:
        plots: file name → None when written, or the reason it was skipped.
    """
    comp = report.comparison
    intro = (
        f"Study `{report.study}` (`{report.study_file}`)"
        + (
            f" against its baseline `{report.baseline}` (`{report.baseline_file}`)"
            if report.baseline
            else ""
        )
        + f": the top {plural(report.top, 'config')} of each arm, each re-run with "
        f"{seeds_text(report.seeds)}, without pruning. Objective: {report.metric} "
        f"({report.direction}). "
        f"Created {report.created}."
    )
    cards, rest = comparison_sections(comp, report.metrics)
    parts = [f"# Report: {report.study}", "", intro, "", *cards]
    if report.multitask is not None:
        parts += [
            f"## Tasks: summed loss, PCGrad and the per-task ensemble, by {report.metric}",
            "",
            "The best complete trial of the search of each kind, "
            + _seeded_text(any(r.seeded for r in report.multitask.rows), report.seeds)
            + " Summed loss and PCGrad: the jointly trained model at its best evaluation "
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
            parts.append(f"- {MULTITASK_ROWS[r.row]}: trial {r.trial}; {params_text(r.params)}")
        parts.append("")
    parts += [
        f"## Learning schemes: the best config of each, by {report.metric}",
        "",
        f"Every learning scheme of study `{report.study}` (what trains, discriminative "
        "lr, gradual unfreezing, optimizer) with its best complete trial of the search, "
        + _seeded_text(any(r.seeded for r in report.schemes), report.seeds),
        "",
        markdown_table(scheme_rows(report.schemes, report.metric)),
        "",
    ]
    for s in report.schemes:
        parts.append(
            f"- {scheme_label(s.scheme)}: trial {s.trial} (best of {s.n_trials}), "
            f"{_count(s.trainable_params)} trainable parameters, "
            f"{number_cell(s.seconds_per_step, 3)} s/step; {params_text(s.params)}"
        )
    parts.append("")
    for section in rest:
        parts += section
    if plots:
        parts += plots_section(plots)
    parts += notes_section([*comp.notes, *report.notes])
    return "\n".join(parts)


def _seeded_text(seeded: bool, seeds: int) -> str:
    """What a row's metrics are: over the seed re-runs, or the search's one run."""
    if seeded:
        return (
            f"re-run without pruning with the report's {seeds_text(seeds)}: validation metrics "
            "as mean ± std over them (each run's best evaluation); the last column is the "
            "objective of the trial in the search, on one seed."
        )
    return "not re-run: validation metrics of that trial's best evaluation."


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"
