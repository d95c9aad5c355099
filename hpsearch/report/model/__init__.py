"""The report data: frozen dataclasses that the builders fill in and every renderer (tables,
markdown, the CSV and JSON files, the plots) reads by attribute.

Field names are the JSON files' keys and fields keep their order, so ``to_dict()`` (a plain
:func:`dataclasses.asdict`) is the JSON's shape as it is, and ``from_dict`` reads a file
back into the same objects. Sequences are tuples, so the data cannot grow or shrink once
built; the dicts inside map names (metrics, params, arms) to values.

- :mod:`~hpsearch.report.model.base`: what the others share (``Summary``, ``StatTest``,
  ``ConfigResult``, reading JSON back);
- :mod:`~hpsearch.report.model.compare`: a comparison of arms (``Comparison``) and
  compare.json (``CompareReport``);
- :mod:`~hpsearch.report.model.report`: report.json (``Report``): a comparison plus the
  learning schemes, the multitask table and the search's trials.
"""

from hpsearch.report.model.base import (
    ConfigResult,
    Data,
    Params,
    ParamValue,
    Role,
    StatTest,
    Summary,
)
from hpsearch.report.model.compare import (
    COMPARE_VERSION,
    ArmResult,
    CompareReport,
    Comparison,
    Cost,
    CurvePoint,
    Paired,
    SpaceCell,
    SpaceRow,
    TimeToTarget,
    TuningCurve,
)
from hpsearch.report.model.report import (
    READABLE_VERSIONS,
    REPORT_VERSION,
    FinetuneSettings,
    MultitaskRow,
    MultitaskTable,
    Report,
    ScheduleSettings,
    Scheme,
    SchemeRow,
    Seeded,
    StudyTrials,
    TrialPoint,
)
from hpsearch.search.runs import EvalPoint, RunCost, SeedRun

__all__ = [
    "COMPARE_VERSION",
    "READABLE_VERSIONS",
    "REPORT_VERSION",
    "ArmResult",
    "CompareReport",
    "Comparison",
    "ConfigResult",
    "Cost",
    "CurvePoint",
    "Data",
    "EvalPoint",
    "FinetuneSettings",
    "MultitaskRow",
    "MultitaskTable",
    "Paired",
    "ParamValue",
    "Params",
    "Report",
    "Role",
    "RunCost",
    "ScheduleSettings",
    "Scheme",
    "SchemeRow",
    "SeedRun",
    "Seeded",
    "SpaceCell",
    "SpaceRow",
    "StatTest",
    "StudyTrials",
    "Summary",
    "TimeToTarget",
    "TrialPoint",
    "TuningCurve",
]
