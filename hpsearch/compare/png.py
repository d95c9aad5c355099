"""What every plot shares: a figure on its own Agg canvas, saved as PNG, integer ticks.

Figures are made with ``matplotlib.figure.Figure`` on an Agg canvas created here, never
through ``pyplot``: no global backend is selected, no window can open, and nothing is left
in a global figure list.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PlotResult = dict[str, str | None]  # file name → None if written, else why it was skipped


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg backend for this figure only
    return figure


def save(figure: Figure, path: Path) -> None:
    figure.savefig(path, format="png", facecolor="white")


def integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def draw_all(makers: dict[str, Any], folder: Path) -> PlotResult:
    """Call each maker (``() -> Figure | str``) and save its figure as ``folder/name``; a
    maker that returns a string skips its plot, the string saying why."""
    result: PlotResult = {}
    for name, make in makers.items():
        figure = make()
        if isinstance(figure, str):
            result[name] = figure
            continue
        save(figure, folder / name)
        result[name] = None
    return result
