"""A study's calibration arms, the centre each range test sets the other searched fields
to, the range test's spec, and what its fingerprint does and does not follow."""

from __future__ import annotations

import math

import pytest

from hpsearch.search.calibration.arms import (
    calibration_arms,
    centre_values,
    range_test_id,
    range_test_spec,
)
from hpsearch.search.calibration.model import CalibrationArm, RangeTestSettings
from hpsearch.spec.load import load_spec
from tests.studies import QUICKSTART

KINDS = 'space.optimizer.kind={ choices = ["adamw", "mfac"] }'


def test_a_study_searching_optimizer_kind_has_an_arm_per_kind_and_m_fac_one_per_num_grads():
    spec = load_spec(QUICKSTART)
    arms = calibration_arms(spec)
    assert arms == (
        CalibrationArm("adamw"),
        CalibrationArm("mfac", 8),
        CalibrationArm("mfac", 16),
    )
    assert [a.label for a in arms] == ["AdamW", "M-FAC m=8", "M-FAC m=16"]


def test_a_study_file_of_one_optimizer_is_one_arm(quora_study):
    assert calibration_arms(quora_study.spec()) == (CalibrationArm("adamw"),)
    # num_grads searched as a range: one test, at its centre.
    spec = quora_study.spec(
        set=["optimizer.kind=mfac", "space.optimizer.num_grads={ low = 4, high = 16 }"]
    )
    assert calibration_arms(spec) == (CalibrationArm("mfac"),)
    assert centre_values(spec, CalibrationArm("mfac"))["optimizer.num_grads"] == 10


def test_every_other_searched_field_sits_at_its_centre():
    """The quickstart: batch size among [16, 32] at the file's 32, dropout in [0, 0.2] at
    0.1, damp on a log scale at the geometric middle, and only where the optimizer takes it."""
    spec = load_spec(QUICKSTART)
    mfac = centre_values(spec, CalibrationArm("mfac", 16))
    assert mfac["optimizer.kind"] == "mfac" and mfac["optimizer.num_grads"] == 16
    assert mfac["train.batch_size"] == 32
    assert mfac["train.hidden_dropout"] == pytest.approx(0.1)
    assert mfac["optimizer.damp"] == pytest.approx(math.sqrt(1e-6 * 1e-3))
    adamw = centre_values(spec, CalibrationArm("adamw"))
    assert "optimizer.damp" not in adamw and "optimizer.num_grads" not in adamw


def test_a_choice_the_file_does_not_fix_takes_the_middle_and_ranges_keep_their_grid(quora_study):
    spec = quora_study.spec(
        set=[
            "train.batch_size=48",
            "space.train.batch_size={ choices = [8, 16, 32] }",
            "space.train.epochs={ low = 1, high = 4, log = true }",
            "space.train.hidden_dropout={ low = 0.0, high = 0.3, step = 0.2 }",
        ]
    )
    values = centre_values(spec, CalibrationArm("adamw"))
    assert values["train.batch_size"] == 16  # 48 is no choice: the middle one
    assert values["train.epochs"] == 2  # √(1 · 4), rounded
    assert values["train.hidden_dropout"] == pytest.approx(0.2)  # 0.15 on the grid 0, 0.2


def test_the_range_test_ramps_the_lr_over_one_epoch_searching_nothing():
    spec = load_spec(QUICKSTART)
    settings = RangeTestSettings()
    ranged = range_test_spec(spec, CalibrationArm("mfac", 8), settings)
    assert ranged.space == {}
    assert ranged.train.schedule == "exponential" and ranged.train.lr == 10.0
    assert ranged.train.ratio == pytest.approx(1e8)
    assert (ranged.train.epochs, ranged.train.evals_per_epoch) == (1, 8)
    assert ranged.optimizer.kind == "mfac" and ranged.optimizer.hparams["num_grads"] == 8
    assert ranged.train.batch_size == 32 and ranged.task == spec.task  # the study's own data


def test_the_fingerprint_follows_what_the_test_trains_with_and_nothing_else(quora_study):
    arm, settings = CalibrationArm("adamw"), RangeTestSettings()

    def fingerprint(*overrides: str, settings: RangeTestSettings = settings) -> str:
        return range_test_id(
            range_test_spec(quora_study.spec(set=overrides), arm, settings), settings
        )

    same = fingerprint()
    assert fingerprint() == same
    # What the test does not train with: the budget, the lr's range, the epochs, the schedule.
    assert fingerprint("study.n_trials=50") == same
    assert fingerprint("space.train.lr={ low = 1e-6, high = 1e-2, log = true }") == same
    assert fingerprint("train.epochs=3", "train.schedule=cosine") == same
    # What it trains with: a fixed setting, a centre, the test's own settings.
    assert fingerprint("train.batch_size=16") != same
    assert fingerprint("space.train.hidden_dropout={ low = 0.0, high = 0.4 }") != same
    assert fingerprint(settings=RangeTestSettings(steps=50)) != same
