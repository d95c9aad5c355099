"""Report data to test one table or section with: every field empty but the ones given."""

from __future__ import annotations

from typing import Any

from hpsearch.compare.model import Comparison
from hpsearch.report.model import REPORT_VERSION, Report


def make_comparison(**fields: Any) -> Comparison:
    """A :class:`Comparison` of one arm, AdamW (objective f1), with ``fields`` set."""
    empty: dict[str, Any] = {
        "metric": "f1",
        "direction": "maximize",
        "metrics": ("f1",),
        "baseline": "AdamW",
        "seeds": (0,),
        "top": 1,
        "budget": 1,
        "budget_requested": None,
        "arms": (),
        "space": (),
        "warnings": (),
        "curves": (),
        "curve_resamples": 1_000,
        "curve_band": (0.05, 0.95),
        "resamples": 10_000,
        "ci_level": 0.95,
        "paired": (),
        "target": 0.5,
        "target_source": "--target",
        "costs": (),
        "configs": (),
        "notes": (),
    }
    return Comparison(**{**empty, **fields})


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
        "comparison": make_comparison(),
        "schemes": (),
        "multitask": None,
        "studies": (),
        "notes": (),
    }
    return Report(**{**empty, **fields})
