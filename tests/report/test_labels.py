"""Names in reports come from the registries' labels: a schedule, with the options it takes."""

from __future__ import annotations

import pytest

from hpsearch.report.labels import scheduler_label
from hpsearch.report.model import ScheduleSettings
from hpsearch.schedules import SCHEDULES


def settings(schedule: str, **options: float | None) -> ScheduleSettings:
    """A schedule's settings as a report holds them; options not given do not apply."""
    return ScheduleSettings(
        schedule=schedule,
        warmup_ratio=options.get("warmup_ratio"),
        cut_frac=options.get("cut_frac"),
        ratio=options.get("ratio"),
    )


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_a_schedule_with_no_options_set_reads_as_its_label(name):
    assert scheduler_label(settings(name)) == SCHEDULES[name].label


@pytest.mark.parametrize(
    ("schedule", "label"),
    [
        (settings("linear", warmup_ratio=0.0), "linear"),
        (settings("cosine", warmup_ratio=0.1), "cosine (warmup 0.1)"),
        (
            settings("slanted_triangular", cut_frac=0.1, ratio=32.0),
            "slanted triangular (cut_frac 0.1, ratio 32)",
        ),
    ],
)
def test_scheduler_label_shows_the_options_its_schedule_takes(schedule, label):
    assert scheduler_label(schedule) == label
