"""The picture of a study's calibration (PNG, matplotlib), drawn from its range tests only.

``calibration.png``: above, each arm's smoothed training loss against the learning rate (a
log axis), its chosen range shaded in its colour and its failure marked with a cross;
below, the study's metric at each evaluation of the range tests, hollow where the
classifier answered one class for every example.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.compare.png import PlotResult, draw_all, new_figure
from hpsearch.search.calibration.model import RangeTest
from hpsearch.search.calibration.rule import DIVERGED

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CALIBRATION_PLOT = "calibration.png"


def write_calibration_plot(tests: Sequence[RangeTest], folder: Path) -> PlotResult:
    """Draw ``calibration.png`` of ``tests`` into ``folder``."""
    return draw_all({CALIBRATION_PLOT: lambda: calibration_figure(tests)}, folder)


def calibration_figure(tests: Sequence[RangeTest]) -> Figure | str:
    """The two panels of the module docstring; a string (why not) when no test has a
    finite loss to draw."""
    drawn = [t for t in tests if any(p.smoothed is not None for p in t.curve)]
    if not drawn:
        return "no range test has a finite loss to draw"
    figure = new_figure(8, 6.5)
    loss_ax, metric_ax = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    least = min(p.smoothed for t in drawn for p in t.curve if p.smoothed is not None)
    highest = max(p.smoothed for t in drawn for p in t.curve if p.smoothed is not None)
    for i, test in enumerate(drawn):
        color = f"C{i}"
        points = [p for p in test.curve if p.smoothed is not None]
        loss_ax.plot(
            [p.lr for p in points], [p.smoothed for p in points], color=color, label=test.arm.label
        )
        outcome = test.outcome
        if outcome.low is not None and outcome.high is not None:
            loss_ax.axvspan(outcome.low, outcome.high, color=color, alpha=0.12)
        if outcome.failure is not None:
            loss_ax.axvline(outcome.failure.lr, color=color, linestyle=":", linewidth=1)
            loss_ax.scatter(
                [outcome.failure.lr], [points[-1].smoothed], color=color, marker="x", s=50, zorder=3
            )
        learned = [e for e in test.evals if not e.one_class]
        one = [e for e in test.evals if e.one_class]
        metric_ax.plot(
            [e.lr for e in test.evals],
            [e.metric for e in test.evals],
            color=color,
            linewidth=1,
            alpha=0.6,
        )
        metric_ax.scatter(
            [e.lr for e in learned], [e.metric for e in learned], color=color, s=30, zorder=3
        )
        metric_ax.scatter(
            [e.lr for e in one],
            [e.metric for e in one],
            facecolors="none",
            edgecolors=color,
            s=30,
            zorder=3,
        )
    loss_ax.set_xscale("log")
    # A diverging tail rises to DIVERGED × its least before the test stops: shown up to there.
    loss_ax.set_ylim(top=min(highest, DIVERGED * least) * 1.05)
    loss_ax.set_ylabel("training loss (smoothed)")
    loss_ax.set_title(
        "learning-rate range tests: the shaded span is each arm's chosen range, × its failure"
    )
    loss_ax.legend(fontsize="small")
    loss_ax.grid(alpha=0.3)
    metric_ax.set_xlabel("learning rate")
    metric_ax.set_ylabel(f"{drawn[0].metric} (hollow: one class)")
    metric_ax.grid(alpha=0.3)
    return figure
