"""Finished studies as typed report data, then rendered as markdown, CSV, JSON and plots.

Layer 5 of 6: may import :mod:`hpsearch.search` and everything below it; never rich (the
terminal's tables are :mod:`hpsearch.cli`'s). Modules, in the order data flows:

- :mod:`~hpsearch.report.model`: the report's frozen dataclasses (``Report`` and its parts),
  ``to_dict()`` for report.json and ``Report.from_dict`` to read one back;
- :mod:`~hpsearch.report.build`: studies and re-runs → a ``Report``;
- :mod:`~hpsearch.report.stats`: mean ± std, best-of-N and Welch's t-test;
- :mod:`~hpsearch.report.schemes`, :mod:`~hpsearch.report.multitask`: the survey's and the
  multitask per-task tables' data;
- :mod:`~hpsearch.report.leaderboard`: a study's trials (and a storage's studies) as rows;
- :mod:`~hpsearch.report.labels`: how names read;
- :mod:`~hpsearch.report.tables`: each table as a header and rows of strings, and its title;
- :mod:`~hpsearch.report.markdown`: report.md;
- :mod:`~hpsearch.report.plots`: PNG plots;
- :mod:`~hpsearch.report.files`: report.csv, schemes.csv, multitask.csv and report.json, and
  writing every file and plot of a report, all or nothing.
"""

__all__ = [
    "build",
    "files",
    "labels",
    "leaderboard",
    "markdown",
    "model",
    "multitask",
    "plots",
    "schemes",
    "stats",
    "tables",
]
