"""Tuned arms compared: equal budgets, search spaces side by side, tuning curves, paired
re-runs over one seed list with their tests, cost; then compare.md, CSV, JSON and plots.

Layer 5 of 7: may import :mod:`hpsearch.search` and everything below it; never rich (the
terminal's tables are :mod:`hpsearch.cli`'s). The data flows through its modules so:

- the work: :mod:`~hpsearch.compare.arms` (study files checked and opened as arms, cut to
  equal budgets on an axis of :mod:`~hpsearch.compare.axes`, trials, training seconds or
  steps, :mod:`~hpsearch.compare.budget`) → :mod:`~hpsearch.compare.comparison` (the arms'
  top configs re-run over seeds, then the statistics) → a
  :class:`~hpsearch.compare.model.Comparison`, with :mod:`~hpsearch.compare.spaces`,
  :mod:`~hpsearch.compare.tuning` (what the judged trials say on the axis:
  :mod:`~hpsearch.compare.curves`, expected best after k trials or a budget of compute, and
  :mod:`~hpsearch.compare.best_odds`, P(best), both drawn by
  :mod:`~hpsearch.compare.draws`), :mod:`~hpsearch.compare.stats` (paired and unpaired
  tests, the CI, Holm), :mod:`~hpsearch.compare.cost` (cost per arm, time-to-target) and
  :mod:`~hpsearch.compare.sensitivity` (each arm's trials by learning rate); a suite of
  workloads, :mod:`~hpsearch.compare.suite`, compares each and sums them up;
- the data: :mod:`~hpsearch.compare.model`, frozen dataclasses that the renderers read;
- the renderers, which read the data and never start work (an import-linter contract):
  :mod:`~hpsearch.compare.labels`, :mod:`~hpsearch.compare.tables` (each table as strings),
  :mod:`~hpsearch.compare.markdown`, :mod:`~hpsearch.compare.plots` (with
  :mod:`~hpsearch.compare.sensitivity_plot`, over
  :mod:`~hpsearch.compare.png`) and :mod:`~hpsearch.compare.files` (every file, all or
  nothing).
"""

from hpsearch.exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "arms": ("Arm", "CompareError", "Plan", "Source", "plan_comparison", "source"),
        "axes": ("AXES", "BudgetAxis", "check_axis", "check_budget"),
        "comparison": ("build_comparison",),
        "files": ("write_compare",),
        "model": ("COMPARE_VERSION", "CompareReport", "Comparison", "compare_version"),
        "spaces": ("space_rows", "space_warnings"),
        "tuning": ("odds_budgets", "plan_best_odds", "tuning_curves"),
    },
)
