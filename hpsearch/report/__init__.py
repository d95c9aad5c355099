"""Finished studies compared as arms, then rendered as markdown, CSV, JSON and plots.

Layer 5 of 6: may import :mod:`hpsearch.search` and everything below it; never rich (the
terminal's tables are :mod:`hpsearch.cli`'s). Modules, in the order data flows:

- :mod:`~hpsearch.report.model`: the frozen dataclasses of a comparison and of a report,
  ``to_dict()`` for the JSON files and ``from_dict`` to read one back;
- :mod:`~hpsearch.report.arms`: study files checked and opened as arms, cut to equal budgets;
- :mod:`~hpsearch.report.spaces`: the arms' search spaces side by side, and their warnings;
- :mod:`~hpsearch.report.curves`: tuning curves (expected best after k trials);
- :mod:`~hpsearch.report.stats`: mean ± std, best-of-N, paired and unpaired tests, the
  bootstrap CI, Holm's correction;
- :mod:`~hpsearch.report.cost`: cost per arm and time-to-target;
- :mod:`~hpsearch.report.compare`: arms → paired re-runs → a ``Comparison``;
- :mod:`~hpsearch.report.build`: a study and its baseline → their comparison → a ``Report``;
- :mod:`~hpsearch.report.schemes`, :mod:`~hpsearch.report.multitask`: the survey's and the
  multitask per-task tables' data;
- :mod:`~hpsearch.report.leaderboard`: a study's trials (and a storage's studies) as rows;
- :mod:`~hpsearch.report.labels`: how names read;
- :mod:`~hpsearch.report.tables`, :mod:`~hpsearch.report.compare_tables`: each table as a
  header and rows of strings, and its title;
- :mod:`~hpsearch.report.markdown`, :mod:`~hpsearch.report.compare_markdown`: report.md and
  compare.md;
- :mod:`~hpsearch.report.figures`, :mod:`~hpsearch.report.plots`,
  :mod:`~hpsearch.report.compare_plots`: PNG plots;
- :mod:`~hpsearch.report.files`: the CSV and JSON files, and writing every file and plot of
  a report or a comparison, all or nothing.
"""

__all__ = [
    "arms",
    "build",
    "compare",
    "compare_markdown",
    "compare_plots",
    "compare_tables",
    "cost",
    "curves",
    "figures",
    "files",
    "labels",
    "leaderboard",
    "markdown",
    "model",
    "multitask",
    "plots",
    "schemes",
    "spaces",
    "stats",
    "tables",
]
