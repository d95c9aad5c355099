"""Pictures of a report (PNG, matplotlib), drawn from the report data only.

- ``history.png``: optimization history of the study and its baseline: each complete
  trial's value, and the best so far.
- ``intermediate.png``: the objective at each evaluation of every trial, one panel per
  study; pruned trials dashed, with a cross where they stopped.
- ``importance.png``: fANOVA parameter importances per study; skipped, with the reason,
  when no study has them (fewer than 2 complete trials, one parameter, no variance).
- the comparison's plots (:mod:`hpsearch.compare.plots`): ``seeds.png``,
  ``tuning.png``, ``seconds.png`` and ``steps.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.compare.plots import comparison_makers
from hpsearch.compare.png import PlotResult, draw_all, integer_ticks, new_figure
from hpsearch.report.labels import importance_note
from hpsearch.report.model import Report, StudyTrials

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def write_plots(report: Report, folder: Path) -> PlotResult:
    """Draw every plot of ``report`` into ``folder``."""
    makers = {
        "history.png": lambda: history_figure(report),
        "intermediate.png": lambda: intermediate_figure(report),
        **comparison_makers(report.comparison),
        "importance.png": lambda: importance_figure(report),
    }
    return draw_all(makers, folder)


def _study_label(study: StudyTrials) -> str:
    return f"{study.name} ({study.role})"


def history_figure(report: Report) -> Figure:
    """Complete trials' values by trial number, and each study's best so far."""
    figure = new_figure(8, 4.5)
    ax = figure.add_subplot()
    for i, study in enumerate(report.studies):
        color = f"C{i}"
        complete = [t for t in study.trials if t.state == "complete"]
        xs = [t.number for t in complete]
        ys = [t.value for t in complete]
        ax.scatter(xs, ys, color=color, alpha=0.6, s=20, label=f"{_study_label(study)}: trial")
        pick = max if study.direction == "maximize" else min
        best = [pick(ys[: k + 1]) for k in range(len(ys))]
        ax.step(xs, best, where="post", color=color, label=f"{_study_label(study)}: best so far")
    ax.set_title(f"Optimization history ({report.metric})")
    ax.set_xlabel("trial")
    integer_ticks(ax.xaxis)
    ax.set_ylabel(report.metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def intermediate_figure(report: Report) -> Figure:
    """The objective per evaluation step, one panel per study; pruned trials marked."""
    from matplotlib.lines import Line2D

    studies = report.studies
    figure = new_figure(5.5 * len(studies), 4.5)
    axes = figure.subplots(1, len(studies), squeeze=False, sharey=True)[0]
    for i, (ax, study) in enumerate(zip(axes, studies, strict=True)):
        color = f"C{i}"
        for t in study.trials:
            if not t.intermediate:
                continue
            steps, values = zip(*t.intermediate, strict=True)
            if t.state == "pruned":
                ax.plot(steps, values, color="0.55", linestyle="--", linewidth=1)
                ax.plot(steps[-1], values[-1], marker="x", color="C3", markersize=8)
            elif t.state == "failed":
                ax.plot(steps, values, color="0.75", linestyle=":", linewidth=1)
            else:
                ax.plot(steps, values, color=color, marker="o", markersize=3, alpha=0.8)
        ax.set_title(f"{_study_label(study)}: {study.metric} per evaluation")
        ax.set_xlabel("evaluation")
        integer_ticks(ax.xaxis)
        ax.grid(alpha=0.3)
        ax.legend(
            handles=[
                Line2D([], [], color=color, marker="o", markersize=3, label="complete"),
                Line2D([], [], color="0.55", linestyle="--", label="pruned"),
                Line2D([], [], color="C3", marker="x", linestyle="", label="pruned here"),
            ],
            fontsize="small",
        )
    axes[0].set_ylabel(report.metric)
    return figure


def importance_figure(report: Report) -> Figure | str:
    """Horizontal bars of fANOVA importances, one panel per study that has them."""
    studies = [(s, s.importance) for s in report.studies if s.importance]
    if not studies:
        if all(importance_note(s) in report.notes for s in report.studies):
            return "skipped, no study has parameter importances (the notes say why)"
        reasons = "; ".join(f"{s.name}: {s.importance_note}" for s in report.studies)
        return f"skipped, no study has parameter importances ({reasons})"
    rows = max(len(importance) for _, importance in studies)
    figure = new_figure(5.5 * len(studies), max(3.0, 1.2 + 0.45 * rows))
    axes = figure.subplots(1, len(studies), squeeze=False)[0]
    for i, (ax, (study, importance)) in enumerate(zip(axes, studies, strict=True)):
        items = sorted(importance.items(), key=lambda kv: kv[1])
        ax.barh([k for k, _ in items], [v for _, v in items], color=f"C{i}")
        ax.set_title(f"{_study_label(study)}: importance for {study.metric}")
        ax.set_xlabel("fANOVA importance")
        ax.set_xlim(0, 1)
    return figure
