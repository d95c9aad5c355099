"""The picture of a study's calibration (PNG, matplotlib), drawn from its arms' probes only.

``calibration.png``: above, the study's metric of each probe against its learning rate (a
log axis), one line per arm, each probe marked by its verdict (a dot learned, a ring one
class, a cross diverged; a probe without a finite metric sits on the axis' floor), and the
arm's chosen range shaded in its colour; below, each probe's validation loss (a log axis),
a loss that was not finite on the axis' ceiling. Where the arms are one per finetune mode,
a column per mode, the lr axis shared, so that each mode's lr scale shows beside the
others; an optimizer (and num_grads) has one colour in every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.compare.png import PlotResult, draw_all, new_figure
from hpsearch.search.calibration.model import ArmCalibration, CalibrationArm, Probe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CALIBRATION_PLOT = "calibration.png"
# How each verdict is marked: marker, filled
MARKS = {
    "learned": ("o", True),
    "one class": ("o", False),
    "constant": ("s", False),
    "diverged": ("X", True),
}
TITLE = (
    "probes at fixed lrs: ● learned, ○ one class, □ constant, ✕ diverged; shaded: each arm's range"
)


def write_calibration_plot(arms: Sequence[ArmCalibration], folder: Path) -> PlotResult:
    """Draw ``calibration.png`` of the fresh ``arms`` into ``folder``."""
    return draw_all({CALIBRATION_PLOT: lambda: calibration_figure(arms)}, folder)


def calibration_figure(arms: Sequence[ArmCalibration]) -> Figure | str:
    """The panels of the module docstring; a string (why not) when no arm has a probe."""
    drawn = [a for a in arms if a.probes]
    if not drawn:
        return "no arm has a probe to draw"
    modes = list(dict.fromkeys(a.arm.mode for a in drawn))
    # An optimizer (and num_grads) keeps its colour across the modes' columns.
    series = list(dict.fromkeys(CalibrationArm(a.arm.kind, a.arm.num_grads) for a in drawn))
    colors = {arm: f"C{i}" for i, arm in enumerate(series)}
    figure = new_figure(8 if len(modes) == 1 else 1 + 4 * len(modes), 6.5)
    axes = figure.subplots(
        2, len(modes), sharex=True, sharey="row", height_ratios=(3, 2), squeeze=False
    )
    for column, mode in enumerate(modes):
        metric_ax, loss_ax = axes[0][column], axes[1][column]
        for arm in (a for a in drawn if a.arm.mode == mode):
            color = colors[CalibrationArm(arm.arm.kind, arm.arm.num_grads)]
            probes = sorted(arm.probes, key=lambda p: p.lr)
            _panel(metric_ax, probes, [p.metric for p in probes], color, floor=True)
            _panel(loss_ax, probes, [p.loss for p in probes], color, floor=False)
            outcome = arm.outcome
            if outcome is not None and outcome.low is not None and outcome.high is not None:
                metric_ax.axvspan(outcome.low, outcome.high, color=color, alpha=0.12)
                loss_ax.axvspan(outcome.low, outcome.high, color=color, alpha=0.12)
        if mode is not None:
            metric_ax.set_title(f"finetune.mode {mode}")
        loss_ax.set_xlabel("learning rate")
        for ax in (metric_ax, loss_ax):
            ax.grid(alpha=0.3)
    first, first_loss = axes[0][0], axes[1][0]
    first.set_xscale("log")
    first_loss.set_yscale("log")
    first.set_ylabel(drawn[0].probes[0].metric_name)
    first_loss.set_ylabel("validation loss")
    for arm, color in colors.items():  # one legend entry per line colour
        first.plot([], [], color=color, label=arm.label)
    first.legend(fontsize="small")
    if len(modes) == 1:
        first.set_title(TITLE)
    else:
        figure.suptitle(TITLE, fontsize="medium")
    return figure


def _panel(
    ax: Any,
    probes: Sequence[Probe],
    values: Sequence[float | None],
    color: str,
    *,
    floor: bool,
) -> None:
    """One arm's ``values`` against its probes' lrs on ``ax``: a line through the finite
    ones, a mark per probe by verdict; a value that is None on the axis' floor (``floor``)
    or ceiling."""
    finite = [(p.lr, v) for p, v in zip(probes, values, strict=True) if v is not None]
    ax.plot([x for x, _ in finite], [y for _, y in finite], color=color, alpha=0.6)
    edge = ax.get_xaxis_transform()  # x in data, y in axes: 0 the floor, 1 the ceiling
    for p, v in zip(probes, values, strict=True):
        marker, filled = MARKS[p.verdict]
        y, where = (v, ax.transData) if v is not None else (0.0 if floor else 1.0, edge)
        ax.scatter(
            [p.lr],
            [y],
            transform=where,
            marker=marker,
            facecolors=color if filled else "none",
            edgecolors=color,
            s=40,
            zorder=3,
            clip_on=False,
        )
