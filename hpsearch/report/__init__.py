"""One study's report: its comparison with its baseline (:mod:`hpsearch.compare`), plus what
only a report shows (learning schemes, a multitask study's tasks, the search's trials), as
report.md, CSV, JSON and plots.

Layer 6 of 7: may import :mod:`hpsearch.compare` and everything below it; never rich. The
data flows through its modules so:

- the work: :mod:`~hpsearch.report.build` (a study and its baseline → their comparison →
  a :class:`~hpsearch.report.model.Report`), with :mod:`~hpsearch.report.schemes` and
  :mod:`~hpsearch.report.multitask` (the survey's and the multitask per-task tables) and
  :mod:`~hpsearch.report.seeded` (their rows' configs re-run over the seeds);
- the data: :mod:`~hpsearch.report.model`;
- the renderers, which read the data and never start work: :mod:`~hpsearch.report.labels`,
  :mod:`~hpsearch.report.tables`, :mod:`~hpsearch.report.markdown`,
  :mod:`~hpsearch.report.plots` and :mod:`~hpsearch.report.files`.
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "build": ("build_report", "report_study"),
        "files": ("write_report",),
        "model": ("REPORT_VERSION", "Report"),
    },
)
