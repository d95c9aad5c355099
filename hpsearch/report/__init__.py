"""Reports and views of finished studies, built as plain data first, then rendered.

- :mod:`~hpsearch.report.reseed`: re-run a study's best configs with other seeds, in a
  companion study ``<name>-reseed`` in the same storage.
- :mod:`~hpsearch.report.stats`: mean ± std, best-of-N and Welch's t-test.
- :mod:`~hpsearch.report.schemes`: the best trial of each learning scheme of a study.
- :mod:`~hpsearch.report.build`: studies and re-runs → one JSON-able dict.
- :mod:`~hpsearch.report.render`: that dict → rich tables, report.md, report.csv, report.json.
- :mod:`~hpsearch.report.plots`: that dict → PNG plots.
- :mod:`~hpsearch.report.dashboard`: the study file as a dashboard note, optuna-dashboard
  on localhost.

The submodules are imported one by one (``from hpsearch.report.build import ...``): this
package imports none of them, because :mod:`hpsearch.study` uses the dashboard note while
:mod:`~hpsearch.report.build` uses :mod:`hpsearch.study`.
"""

__all__ = ["build", "dashboard", "plots", "render", "reseed", "schemes", "stats"]
