"""``lr_sensitivity.png``: each arm's judged trials' metric against their learning rate,
drawn from the comparison's data only (:attr:`~hpsearch.compare.model.Comparison.sensitivity`).

One panel per arm, the metric's axis shared, the lr on a log axis. A trial's marker says
how it ended: a circle complete, a triangle pruned (at its last reported value); hollow
where its classifier answered one class there (its value at chance). The arm's colour, or
one colour per ``num_grads`` where its trials tried several (M-FAC's usable lr moves like
1/m). Shaded: the arm's calibrated lr range (per ``num_grads``), where the study has one;
a bar at the best: the lr span of the complete trials within the tolerance of it. An arm
that does not search the lr gets a panel that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hpsearch.compare.model import CalibratedLr, Comparison, LrPoint, LrSensitivity
from hpsearch.compare.png import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LR_SENSITIVITY_PLOT = "lr_sensitivity.png"
# How a trial is marked: by whether it was pruned
MARKERS = {False: "o", True: "v"}


def sensitivity_figure(comp: Comparison) -> Figure | str:
    """The panels of the module docstring; a string (why not) when no arm has a trial to
    draw."""
    if not any(s.points for s in comp.sensitivity):
        return "skipped: no arm searches train.lr (or the comparison predates this plot)"
    arms = comp.sensitivity
    figure = new_figure(max(5.0, 3.8 * len(arms) + 1), 4.5)
    axes = figure.subplots(1, len(arms), sharey=True, squeeze=False)[0]
    for i, (ax, s) in enumerate(zip(axes, arms, strict=True)):
        calibrated = [c for c in comp.calibrated if c.arm == s.arm]
        _panel(ax, s, f"C{i}", calibrated, maximize=comp.direction == "maximize")
    axes[0].set_ylabel(comp.metric)
    tolerance = arms[0].tolerance
    figure.suptitle(
        f"{comp.metric} of each arm's judged trials by learning rate\n"
        "● complete, ▼ pruned (last reported), hollow: one class (at chance); bar: the lrs "
        f"within {tolerance:g} of the best (dotted)",
        fontsize="medium",
    )
    return figure


def _panel(
    ax: Any,
    s: LrSensitivity,
    color: str,
    calibrated: Sequence[CalibratedLr],
    *,
    maximize: bool,
) -> None:
    """Arm ``s``'s panel: its trials in ``color`` (or by num_grads), its ``calibrated``
    ranges shaded, the span near its best; or why there is nothing to plot."""
    ax.set_title(s.arm)
    ax.grid(alpha=0.3)
    if not s.points:
        why = f"train.lr fixed at {s.fixed_lr:.3g}" if s.fixed_lr is not None else "no trial"
        ax.text(0.5, 0.5, f"{why}:\nnothing to plot", transform=ax.transAxes, ha="center")
        ax.set_xticks([])
        return
    colors = _grads_colors(s.points)
    for p in s.points:
        c = colors.get(p.num_grads, color)
        ax.scatter(
            [p.lr],
            [p.value],
            marker=MARKERS[p.pruned],
            facecolors="none" if p.one_class else c,
            edgecolors=c,
            s=36,
            zorder=3,
        )
    for r in calibrated:
        if r.low is not None and r.high is not None:
            ax.axvspan(r.low, r.high, color=colors.get(r.num_grads, color), alpha=0.12)
    if s.best is not None and s.low is not None and s.high is not None:
        # Ticks at its ends: a span of one lr still shows.
        ax.plot([s.low, s.high], [s.best, s.best], color="0.3", marker="|", markersize=12)
        near = s.best - s.tolerance if maximize else s.best + s.tolerance
        ax.axhline(near, color="0.5", linestyle=":", linewidth=1)
    for m, c in colors.items():
        ax.scatter([], [], color=c, label=f"num_grads {m}")
    if colors:
        ax.legend(fontsize="small")
    ax.set_xscale("log")
    width = "" if s.decades is None else f" (near best: {s.decades:.2f} decades)"
    ax.set_xlabel(f"learning rate{width}")


def _grads_colors(points: Sequence[LrPoint]) -> dict[int | None, str]:
    """A colour per ``num_grads`` where the points tried several; empty otherwise."""
    grads = sorted({p.num_grads for p in points if p.num_grads is not None})
    if len(grads) < 2:
        return {}
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["viridis"]  # ordered, as num_grads is; its yellow end left out
    return {m: to_hex(cmap(0.85 * i / (len(grads) - 1))) for i, m in enumerate(grads)}
