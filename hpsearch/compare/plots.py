"""Pictures of a comparison (PNG, matplotlib), drawn from its data only.

- ``seeds.png``: the objective of every re-run, per config (box and points), one colour per
  arm;
- ``tuning.png``: each arm's tuning curve: expected best after k trials (or a budget of
  training seconds or optimizer steps) with its 90% bootstrap band, and the observed best so
  far;
- ``p_best.png`` (``--p-best``): each arm's probability of being the best arm against the
  budget;
- ``seconds.png``, ``steps.png``: the objective of each arm's best config against training
  seconds (evaluations excluded) and against optimizer steps: the median over the seeds at
  each evaluation and a band from the lowest to the highest seed, with the target;
- ``lr_sensitivity.png``: each arm's judged trials against their learning rate
  (:mod:`~hpsearch.compare.sensitivity_plot`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hpsearch.compare.axes import AXES
from hpsearch.compare.labels import optimizer_name
from hpsearch.compare.model import Comparison, ConfigResult
from hpsearch.compare.png import PlotResult, draw_all, integer_ticks, new_figure
from hpsearch.compare.sensitivity_plot import LR_SENSITIVITY_PLOT, sensitivity_figure
from hpsearch.wording import plural

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Maker = Callable[[], "Figure | str"]


def comparison_makers(comp: Comparison) -> dict[str, Maker]:
    """Each plot of ``comp`` by file name, as a maker for
    :func:`~hpsearch.compare.png.draw_all`."""
    makers: dict[str, Maker] = {
        "seeds.png": lambda: seeds_figure(comp),
        "tuning.png": lambda: tuning_figure(comp),
        "seconds.png": lambda: progress_figure(comp, "seconds"),
        "steps.png": lambda: progress_figure(comp, "steps"),
        LR_SENSITIVITY_PLOT: lambda: sensitivity_figure(comp),
    }
    if comp.best_odds:
        makers["p_best.png"] = lambda: odds_figure(comp)
    return makers


def write_compare_plots(comp: Comparison, folder: Path) -> PlotResult:
    """Draw every plot of ``comp`` into ``folder``."""
    return draw_all(comparison_makers(comp), folder)


def _colors(comp: Comparison) -> dict[str, str]:
    return {a.name: f"C{i}" for i, a in enumerate(comp.arms)}


def seeds_figure(comp: Comparison) -> Figure:
    """Box and points of the re-runs' objective, one box per config, one colour per arm."""
    import numpy as np

    configs = comp.configs
    colors = _colors(comp)
    figure = new_figure(max(5.0, 1.8 * len(configs) + 2), 4.5)
    ax = figure.add_subplot()
    data = [[r.value for r in c.runs] for c in configs]
    ax.boxplot(data, widths=0.5, showfliers=False)
    jitter = np.random.default_rng(0)  # fixed: the same comparison draws the same picture
    for x, (c, values) in enumerate(zip(configs, data, strict=True), start=1):
        xs = x + jitter.uniform(-0.12, 0.12, len(values))
        ax.scatter(xs, values, color=colors[c.arm], s=28, alpha=0.8, zorder=3)
    ax.set_xticks(
        range(1, len(configs) + 1),
        [f"{optimizer_name(c.optimizer)}\n{c.study} #{c.trial}" for c in configs],
    )
    for arm, color in colors.items():
        ax.scatter([], [], color=color, label=arm)
    ax.legend(fontsize="small")
    ax.set_title(f"{comp.metric} of each config over {plural(len(comp.seeds), 'seed')}")
    ax.set_ylabel(comp.metric)
    ax.grid(alpha=0.3, axis="y")
    return figure


def tuning_figure(comp: Comparison) -> Figure:
    """Expected best after k trials (or a budget of seconds or steps) with its band, and
    the observed best so far, per arm."""
    figure = new_figure(8, 4.8)
    ax = figure.add_subplot()
    colors = _colors(comp)
    axis = AXES[comp.budget_by]
    for curve in comp.curves:
        color = colors[curve.arm]
        ks = [p.k if p.budget is None else p.budget for p in curve.points]
        ax.plot(ks, [p.expected for p in curve.points], color=color, label=f"{curve.arm}: expected")
        ax.fill_between(
            ks,
            [p.low for p in curve.points],
            [p.high for p in curve.points],
            color=color,
            alpha=0.2,
        )
        ax.step(
            ks,
            [p.observed for p in curve.points],
            where="post",
            color=color,
            linestyle="--",
            label=f"{curve.arm}: observed best so far",
        )
    after = f"a budget of {axis.label}" if axis.compute else "k trials"
    ax.set_title(f"Expected best {comp.metric} after {after} (band: 90% bootstrap)")
    # Said beside the curve, as Dodge et al. ask: the estimator assumes independent draws.
    ax.set_xlabel(
        f"{_axis_label(comp)}\nTPE trials are not independent draws: the curve estimates "
        "random draws from them"
    )
    if not axis.compute:
        integer_ticks(ax.xaxis)
    ax.set_ylabel(comp.metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def _axis_label(comp: Comparison) -> str:
    """``trials (k)``, ``training seconds (s)``, ``optimizer steps``: a budget axis' label."""
    axis = AXES[comp.budget_by]
    if not axis.compute:
        return "trials (k)"
    return f"{axis.label} ({axis.unit})" if axis.unit == "s" else axis.label


def odds_figure(comp: Comparison) -> Figure:
    """Each arm's P(best) against the budget (``--p-best``)."""
    figure = new_figure(8, 4.5)
    ax = figure.add_subplot()
    colors = _colors(comp)
    budgets = [o.budget for o in comp.best_odds]
    for arm in comp.arms:
        odds = [o.p_best[arm.name] for o in comp.best_odds]
        ax.plot(budgets, odds, color=colors[arm.name], marker="o", label=arm.name)
    ax.set_title(f"P(best {comp.metric}) at a budget: {comp.best_odds_draws or 0:,} rounds")
    ax.set_xlabel(_axis_label(comp))
    if not AXES[comp.budget_by].compute:
        integer_ticks(ax.xaxis)
    ax.set_ylabel("probability of being the best arm")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return figure


def _best(comp: Comparison, arm: str) -> ConfigResult:
    trial = comp.arm(arm).best_trial
    return next(c for c in comp.configs if c.arm == arm and c.trial == trial)


def progress_figure(comp: Comparison, axis: Literal["seconds", "steps"]) -> Figure | str:
    """The objective of each arm's best config against training seconds or steps: the
    median over the seeds at each evaluation, and the lowest to the highest seed."""
    series = {}
    for a in comp.arms:
        runs = _best(comp, a.name).runs
        n = min((len(r.evals) for r in runs), default=0)
        xs_by_eval = [
            [r.evals[i].train_seconds if axis == "seconds" else r.evals[i].step for r in runs]
            for i in range(n)
        ]
        if n == 0 or any(x is None for xs in xs_by_eval for x in xs):
            what = "training seconds" if axis == "seconds" else "steps"
            return (
                f"skipped: the re-runs of {a.name} did not record their evaluations' {what} "
                "(made by an older hpsearch)"
            )
        values = [[r.evals[i].value for r in runs] for i in range(n)]
        series[a.name] = (
            [statistics.median(float(x) for x in xs if x is not None) for xs in xs_by_eval],
            [statistics.median(v) for v in values],
            [min(v) for v in values],
            [max(v) for v in values],
        )
    figure = new_figure(8, 4.5)
    ax = figure.add_subplot()
    colors = _colors(comp)
    for arm, (xs, median, low, high) in series.items():
        ax.plot(xs, median, color=colors[arm], marker="o", markersize=3, label=f"{arm}: median")
        ax.fill_between(xs, low, high, color=colors[arm], alpha=0.2, label=f"{arm}: min–max")
    ax.axhline(comp.target, color="0.4", linestyle=":", label=f"target {comp.target:.4f}")
    label = "training seconds (evaluations excluded)" if axis == "seconds" else "optimizer steps"
    ax.set_title(f"{comp.metric} of each arm's best config over {plural(len(comp.seeds), 'seed')}")
    ax.set_xlabel(label)
    if axis == "steps":
        integer_ticks(ax.xaxis)
    ax.set_ylabel(comp.metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return figure
