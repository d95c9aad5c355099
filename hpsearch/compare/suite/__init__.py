"""A workload suite: several comparisons (a workload each) run from one suite file and
summarised together: the per-workload verdicts with Holm's correction across workloads,
performance profiles (Dolan & Moré 2002) and an AlgoPerf-style integrated score.

The work: :mod:`~hpsearch.compare.suite.file` (the suite file → a validated
:class:`~hpsearch.compare.suite.file.Suite`) → :mod:`~hpsearch.compare.suite.run` (each
workload's missing trials and re-runs, through the run and compare callables it is given,
then its compare files) → :mod:`~hpsearch.compare.suite.summary` (pure: the summary from the
comparisons, over :mod:`~hpsearch.compare.suite.profile` and
:mod:`~hpsearch.compare.suite.score`) → :mod:`~hpsearch.compare.suite.model`; the renderers,
which read the summary and never start work: :mod:`~hpsearch.compare.suite.tables`,
:mod:`~hpsearch.compare.suite.markdown`, :mod:`~hpsearch.compare.suite.plots` and
:mod:`~hpsearch.compare.suite.files`.
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "file": ("Suite", "Workload", "is_suite_file", "load_suite"),
        "files": ("write_summary",),
        "model": ("SuiteSummary",),
        "profile": ("ratios", "rho"),
        "run": ("SuiteRun", "run_suite"),
        "score": ("integrated_score",),
        "summary": ("build_summary",),
    },
)
