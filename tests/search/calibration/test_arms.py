"""A study's calibration arms, the centre each probe sets the other searched fields to, the
probe's spec, and what its fingerprint does and does not follow."""

from __future__ import annotations

import math

import pytest

from hpsearch.search.calibration.arms import (
    calibration_arms,
    centre_values,
    probe_id,
    probe_spec,
)
from hpsearch.search.calibration.model import CalibrationArm, ProbeSettings
from hpsearch.spec.load import load_spec
from tests.studies import QUICKSTART

KINDS = 'space.optimizer.kind={ choices = ["adamw", "mfac"] }'
TWO_M = "space.optimizer.num_grads={ choices = [8, 16] }"  # the quickstart searching two m


def test_a_study_searching_optimizer_kind_has_an_arm_per_kind_and_m_fac_one_per_num_grads():
    spec = load_spec(QUICKSTART, [TWO_M])
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
    """The quickstart searching batch size among [16, 32]: at the file's 32; dropout in
    [0, 0.2] at 0.1, damp on a log scale at the geometric middle, and only where the
    optimizer takes it."""
    spec = load_spec(QUICKSTART, ["space.train.batch_size={ choices = [16, 32] }"])
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


def test_a_probe_trains_the_study_at_one_lr_for_its_epochs_searching_nothing(quora_study):
    spec = load_spec(QUICKSTART)
    probed = probe_spec(spec, CalibrationArm("mfac", 8), ProbeSettings(), 3e-3)
    assert probed.space == {} and probed.space_when == ()
    assert probed.train.lr == 3e-3 and probed.train.schedule == spec.train.schedule
    assert (probed.train.epochs, probed.train.evals_per_epoch) == (1, 1)
    assert probed.optimizer.kind == "mfac" and probed.optimizer.hparams["num_grads"] == 8
    assert probed.train.batch_size == 32 and probed.task.name == spec.task.name
    assert probed.task.max_train_samples == spec.task.max_train_samples  # the study's data
    assert probed.task.max_eval_samples == 1000
    # Never more epochs than the study's, never more validation examples than its subset.
    small = quora_study.spec(set=["train.epochs=2", "task.max_eval_samples=300"])
    probed = probe_spec(small, CalibrationArm("adamw"), ProbeSettings(epochs=5), 1e-3)
    assert probed.train.epochs == 2 and probed.task.max_eval_samples == 300


def test_the_fingerprint_follows_what_the_probe_trains_with_and_nothing_else(quora_study):
    arm, settings = CalibrationArm("adamw"), ProbeSettings()

    def fingerprint(*overrides: str, settings: ProbeSettings = settings, lr=1e-3) -> str:
        return probe_id(probe_spec(quora_study.spec(set=overrides), arm, settings, lr), settings)

    same = fingerprint()
    assert fingerprint() == same
    # What the probe does not train with: the budget, the lr's range, the study's epochs.
    assert fingerprint("study.n_trials=50") == same
    assert fingerprint("space.train.lr={ low = 1e-6, high = 1e-2, log = true }") == same
    assert fingerprint("train.epochs=3") == same
    # What it trains with: its lr, a fixed setting, a centre, the probe's own settings.
    assert fingerprint(lr=3e-3) != same
    assert fingerprint("train.batch_size=16") != same
    assert fingerprint("train.schedule=cosine") != same
    assert fingerprint("space.train.hidden_dropout={ low = 0.0, high = 0.4 }") != same
    assert fingerprint(settings=ProbeSettings(eval_samples=500)) != same


MODES = 'space.finetune.mode={ choices = ["full", "frozen"] }'


def test_a_study_searching_finetune_mode_has_an_arm_per_mode_of_each_kind_and_m():
    """What trains sets the lr's scale: each (kind, num_grads) arm is one per mode."""
    spec = load_spec(QUICKSTART, [TWO_M, MODES])
    arms = calibration_arms(spec)
    assert arms == (
        CalibrationArm("adamw", None, "full"),
        CalibrationArm("adamw", None, "frozen"),
        CalibrationArm("mfac", 8, "full"),
        CalibrationArm("mfac", 8, "frozen"),
        CalibrationArm("mfac", 16, "full"),
        CalibrationArm("mfac", 16, "frozen"),
    )
    assert [a.label for a in arms[:4]] == [
        "AdamW full",
        "AdamW frozen",
        "M-FAC m=8 full",
        "M-FAC m=8 frozen",
    ]
    # A study that fixes the mode: no mode in its arms, whatever the mode.
    fixed = load_spec(QUICKSTART, ["finetune.mode=frozen"])
    assert all(a.mode is None for a in calibration_arms(fixed))


def test_a_mode_arm_probes_at_its_mode_and_only_the_fields_that_apply_to_it():
    spec = load_spec(
        QUICKSTART,
        [
            'space.finetune.mode={ choices = ["full", "lora"] }',
            "space.finetune.lora_r={ choices = [4, 8, 16] }",
        ],
    )
    lora = centre_values(spec, CalibrationArm("adamw", None, "lora"))
    assert lora["finetune.mode"] == "lora" and lora["finetune.lora_r"] == 8
    full = centre_values(spec, CalibrationArm("adamw", None, "full"))
    assert full["finetune.mode"] == "full" and "finetune.lora_r" not in full
    probed = probe_spec(spec, CalibrationArm("adamw", None, "lora"), ProbeSettings(), 1e-2)
    assert probed.finetune.mode == "lora" and probed.finetune.lora_r == 8
    assert probed.space == {} and probed.train.lr == 1e-2
