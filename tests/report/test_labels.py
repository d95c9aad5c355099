"""Names in reports come from the registries' labels."""

from __future__ import annotations

import pytest

from hpsearch.optim import OPTIMIZERS
from hpsearch.report.labels import optimizer_name, scheduler_label
from hpsearch.schedules import SCHEDULES


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_names_are_the_entries_labels(name):
    assert optimizer_name(name) == OPTIMIZERS[name].label


def test_optimizer_labels_and_an_unregistered_name():
    assert [optimizer_name(k) for k in ("adamw", "mfac", "sgd")] == ["AdamW", "M-FAC", "SGD"]
    assert optimizer_name("lion") == "lion"


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_a_schedule_with_no_options_set_reads_as_its_label(name):
    assert scheduler_label({"schedule": name}) == SCHEDULES[name].label


@pytest.mark.parametrize(
    ("schedule", "label"),
    [
        ({"schedule": "linear", "warmup_ratio": 0.0, "cut_frac": None, "ratio": None}, "linear"),
        ({"schedule": "cosine", "warmup_ratio": 0.1}, "cosine (warmup 0.1)"),
        (
            {
                "schedule": "slanted_triangular",
                "warmup_ratio": None,
                "cut_frac": 0.1,
                "ratio": 32.0,
            },
            "slanted triangular (cut_frac 0.1, ratio 32)",
        ),
    ],
)
def test_scheduler_label_shows_the_options_its_schedule_takes(schedule, label):
    assert scheduler_label(schedule) == label
