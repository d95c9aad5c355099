"""A report to test one table or section with: every field empty but the ones given."""

from __future__ import annotations

from typing import Any

from hpsearch.report.model import REPORT_VERSION, Report


def make_report(**fields: Any) -> Report:
    """A :class:`Report` of study ``s`` (objective accuracy) with ``fields`` set."""
    empty: dict[str, Any] = {
        "version": REPORT_VERSION,
        "created": "now",
        "study": "s",
        "study_file": "s.toml",
        "baseline": None,
        "baseline_file": None,
        "metric": "accuracy",
        "direction": "maximize",
        "seeds": 1,
        "top": 1,
        "metrics": (),
        "configs": (),
        "comparison": None,
        "schemes": (),
        "multitask": None,
        "studies": (),
        "notes": (),
    }
    return Report(**{**empty, **fields})
