"""profiles.png: each performance profile of a suite, ρ_a(τ) as a step function of τ in
[1, τ_max], one line per arm with its score in the legend; drawn from the summary only."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.compare.png import PlotResult, draw_all, new_figure
from hpsearch.compare.suite.markdown import PROFILES_PLOT
from hpsearch.compare.suite.model import SuiteSummary
from hpsearch.compare.suite.profile import steps_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def write_summary_plots(summary: SuiteSummary, folder: Path) -> PlotResult:
    return draw_all({PROFILES_PLOT: lambda: profiles_figure(summary)}, folder)


def profiles_figure(summary: SuiteSummary) -> Figure | str:
    """A panel per profile; a string (why not) where there is none."""
    if not summary.profiles:
        return "not drawn: no workload could be profiled"
    n = len(summary.profiles)
    figure = new_figure(4.2 * n + 1, 4.0)
    axes = figure.subplots(1, n, squeeze=False)[0]
    for ax, profile in zip(axes, summary.profiles, strict=True):
        for i, arm in enumerate(profile.arms):
            ratios = [math.inf if r is None else r for r in arm.ratios]
            corners = steps_of(ratios, profile.tau_max)
            # Drawn a hair apart so that arms with the same profile stay visible.
            shift = 0.01 * i
            ax.step(
                [t for t, _ in corners],
                [rho + shift for _, rho in corners],
                where="post",
                color=f"C{i}",
                label=f"{arm.arm} (score {arm.score:.2f})",
            )
        ax.set_xlim(1.0, profile.tau_max)
        ax.set_ylim(-0.03, 1.05)
        ax.set_xlabel("τ: ratio to the best arm")
        ax.set_ylabel("ρ(τ): share of workloads")
        ax.set_title(f"{profile.basis} ({len(profile.workloads)} workloads)", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    figure.suptitle(f"{summary.suite.name}: performance profiles", fontsize=11)
    return figure
