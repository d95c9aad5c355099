"""A suite's summary files: summary.md, summary.json and profiles.png, written all or
nothing into the suite's results folder (beside the workloads' folders)."""

from __future__ import annotations

from pathlib import Path

from hpsearch.compare.files import to_json, write_all
from hpsearch.compare.png import PlotResult
from hpsearch.compare.suite.markdown import PROFILES_PLOT, summary_markdown
from hpsearch.compare.suite.model import SuiteSummary
from hpsearch.compare.suite.plots import write_summary_plots

SUMMARY_FILES = ("summary.md", "summary.json", PROFILES_PLOT)


def write_summary(summary: SuiteSummary, folder: Path) -> tuple[list[Path], PlotResult]:
    """Write the summary's files and plot into ``folder``, all or nothing."""
    return write_all(
        folder,
        lambda staging: write_summary_plots(summary, staging),
        lambda plots: {
            "summary.md": summary_markdown(summary, plots),
            "summary.json": to_json(summary),
        },
    )
