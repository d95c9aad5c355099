"""Finished studies as typed report data, then rendered as markdown, CSV, JSON and plots.

Layer 5 of 6: may import :mod:`hpsearch.search` and everything below it; never rich (the
terminal's tables are :mod:`hpsearch.cli`'s). Modules:

- :mod:`~hpsearch.report.build`: studies and re-runs → report data;
- :mod:`~hpsearch.report.stats`: mean ± std, best-of-N and Welch's t-test;
- :mod:`~hpsearch.report.schemes`, :mod:`~hpsearch.report.multitask`: the survey's and the
  multitask per-task tables;
- :mod:`~hpsearch.report.leaderboard`: a study's trials (and a storage's studies) as rows;
- :mod:`~hpsearch.report.labels`: how names read; :mod:`~hpsearch.report.render`: tables,
  report.md, CSV and JSON files; :mod:`~hpsearch.report.plots`: PNG plots.
"""

__all__ = ["build", "labels", "leaderboard", "multitask", "plots", "render", "schemes", "stats"]
