"""Calibrating a study on its storage, with the stand-in range test (nothing trains): one
test per arm kept as it ends, resuming after an interrupt, nothing run when nothing is
missing, --redo, tests made under other settings named and never used, the ranges a study
takes, what it cost, and the study itself left alone."""

from __future__ import annotations

import optuna
import pytest

from hpsearch.search.calibration import (
    CalibrationError,
    calibrate,
    calibrated_ranges,
    calibration_cost,
    calibration_name,
    read_calibration,
)
from hpsearch.search.calibration.model import CalibratedRange, CalibrationArm
from hpsearch.search.interrupts import Interrupted
from hpsearch.search.storage import read_trials
from hpsearch.search.study import StudyNotFoundError, load_study

KINDS = (
    'space.optimizer.kind={ choices = ["adamw", "mfac"] }',
    "space.optimizer.num_grads={ choices = [4, 8] }",
)
ARMS = [CalibrationArm("adamw"), CalibrationArm("mfac", 4), CalibrationArm("mfac", 8)]


@pytest.fixture
def study(quora_study):
    """``study(*overrides)``: the spec of a small study searching AdamW and M-FAC (m = 4 or
    8), with ``overrides`` after; stored in tmp_path."""
    return lambda *overrides: quora_study.spec("cal", set=[*KINDS, *overrides])


def stored(spec) -> int:
    return len(read_trials(spec.study.storage, calibration_name(spec.study.name)))


def test_each_arm_gets_one_range_test_kept_in_the_studys_storage(study, range_test):
    spec = study()
    calibration = calibrate(spec)
    assert range_test.calls == ARMS
    assert [a.arm for a in calibration.arms] == ARMS
    assert all(a.state == "fresh" and a.ran_now for a in calibration.arms)
    assert stored(spec) == 3
    # M-FAC's usable lr moves with num_grads: the stand-in's least loss is at 1e-3 × m.
    ranges = calibrated_ranges(calibration)
    assert [(r.kind, r.num_grads) for r in ranges] == [("adamw", None), ("mfac", 4), ("mfac", 8)]
    for r, best in zip(ranges, (1e-3, 4e-3, 8e-3), strict=True):
        assert isinstance(r, CalibratedRange) and r.low == pytest.approx(r.high / 100)
        assert best <= r.high < 2 * best
        assert r.param().log and (r.param().low, r.param().high) == (r.low, r.high)
    # The study itself is untouched: calibrating first creates no study of that name.
    with pytest.raises(StudyNotFoundError):
        load_study(spec)


def test_calibrating_again_with_nothing_missing_runs_and_writes_nothing(study, range_test):
    spec = study()
    first = calibrate(spec)
    range_test.calls.clear()
    again = calibrate(spec)
    assert range_test.calls == [] and stored(spec) == 3
    assert not any(a.ran_now for a in again.arms)
    assert again.tests == first.tests
    assert read_calibration(spec) == again


def test_an_interrupted_calibration_keeps_its_finished_tests_and_resumes(study, range_test):
    spec = study()
    range_test.stop_at = 1  # Ctrl-C as the second test starts
    with pytest.raises(Interrupted):
        calibrate(spec)
    kept = read_calibration(spec)
    assert kept is not None and [a.state for a in kept.arms] == ["fresh", "missing", "missing"]
    range_test.stop_at = None
    range_test.calls.clear()
    calibrate(spec)
    assert range_test.calls == ARMS[1:] and stored(spec) == 3


def test_redo_runs_every_test_again_and_the_newest_counts(study, range_test):
    spec = study()
    calibrate(spec)
    range_test.calls.clear()
    redone = calibrate(spec, redo=True)
    assert range_test.calls == ARMS and stored(spec) == 6
    assert all(a.ran_now for a in redone.arms)


def test_a_test_made_under_other_settings_is_named_and_never_used(study, range_test):
    calibrate(study())
    changed = study("train.batch_size=16")
    calibration = read_calibration(changed)
    assert calibration is not None and calibration.tests == ()
    assert all(a.state == "stale" for a in calibration.arms)
    assert calibration.arms[0].changes == ("train.batch_size was 32, now 16",)
    with pytest.raises(CalibrationError, match=r"AdamW was calibrated under other settings "):
        calibrated_ranges(calibration)
    # calibrate measures them again, under the settings now; said before each.
    said = []
    range_test.calls.clear()
    calibrate(changed, say=said.append)
    assert range_test.calls == ARMS
    assert said[0].startswith(
        "AdamW: its stored range test ran under other settings (train.batch_size was 32, "
        "now 16): measuring again"
    )
    # Back to the first settings: their tests are the arms' again, nothing runs.
    range_test.calls.clear()
    calibrate(study())
    assert range_test.calls == []


def test_an_arm_whose_test_found_no_range_gives_the_study_no_ranges(study, range_test):
    from hpsearch.search.calibration.model import RangeTestSettings

    # Ending at lr 2e-3, M-FAC's loss is still falling at the last step: no minimum.
    calibration = calibrate(study(), settings=RangeTestSettings(end=2e-3))
    assert calibration.arms[0].test.outcome.found
    with pytest.raises(CalibrationError) as info:
        calibrated_ranges(calibration)
    assert "M-FAC m=4: the loss was still falling at the test's last lr" in str(info.value)


def test_the_cost_is_the_tests_seconds_against_the_studys_trials(study, range_test):
    spec = study()
    calibration = calibrate(spec)
    assert calibration_cost(calibration).share is None  # the study has no trials yet
    searched = optuna.create_study(study_name=spec.study.name, storage=spec.study.storage)
    searched.tell(searched.ask(), 0.5)  # a trial that took a moment
    cost = calibration_cost(calibration, searched.trials)
    assert cost.tests == 3 and cost.seconds == pytest.approx(4.5)
    assert cost.study_seconds is not None and cost.share == pytest.approx(4.5 / cost.study_seconds)


LR = 'space.train.lr="calibrated"'


def test_a_calibrated_lr_is_searched_per_kind_and_num_grads_in_its_measured_range(
    study, range_test
):
    """``lr = "calibrated"``: what ``run`` trains with calibrates first, then draws each
    trial's lr from its arm's range, under a parameter name of its own, so every trial
    records the range it used; the study's settings name the ranges too."""
    from optuna.distributions import FloatDistribution

    from hpsearch.search.calibration.calibrating import calibrated_spec
    from hpsearch.search.drift import trial_settings
    from hpsearch.spec.suggest import suggest

    spec = study(LR)
    said = []
    resolved = calibrated_spec(spec, say=said.append)
    assert range_test.calls == ARMS and len(said) == 3  # calibrated first, each test said
    ranges = {(r.kind, r.num_grads): r for r in calibrated_ranges(read_calibration(spec))}
    searched = optuna.create_study()
    for kind, m in (("adamw", None), ("mfac", 4), ("mfac", 8)):
        fixed = {"optimizer.kind": kind, **({"optimizer.num_grads": m} if m else {})}
        searched.enqueue_trial(fixed)
        trial = searched.ask()
        params = suggest(trial, resolved)
        name = "train.lr|optimizer.kind=" + kind + (f"|optimizer.num_grads={m}" if m else "")
        r = ranges[kind, m]
        assert trial.distributions[name] == FloatDistribution(r.low, r.high, log=True)
        assert r.low <= params["train.lr"] <= r.high
        searched.tell(trial, 0.5)
    assert set(trial_settings(resolved)["space_when"]) == {
        "train.lr|optimizer.kind=adamw",
        "train.lr|optimizer.kind=mfac|optimizer.num_grads=4",
        "train.lr|optimizer.kind=mfac|optimizer.num_grads=8",
    }
    # Calibrated already: the same call trains nothing.
    range_test.calls.clear()
    assert calibrated_spec(spec) == resolved and range_test.calls == []


def test_a_study_of_one_optimizer_searches_its_lr_in_its_one_range(quora_study, range_test):
    from hpsearch.search.calibration.calibrating import calibrated_spec

    resolved = calibrated_spec(quora_study.spec("one", set=[LR]))
    assert resolved.space_when == ()
    lr = resolved.space["train.lr"]
    assert lr.log and 1e-3 <= lr.high < 2e-3 and lr.low == pytest.approx(lr.high / 100)


def test_a_calibrated_lr_without_a_range_or_outside_an_enqueued_value_is_refused(study, range_test):
    from hpsearch.search.calibration.calibrating import calibrated_spec, with_calibrated_ranges
    from hpsearch.search.calibration.model import RangeTestSettings

    with pytest.raises(CalibrationError, match="M-FAC m=4: the loss was still falling"):
        calibrated_spec(study(LR), settings=RangeTestSettings(end=2e-3))
    enqueued = 'study.enqueue=[{ "optimizer.kind" = "adamw", "train.lr" = 1.0 }]'
    spec = study(LR, enqueued)
    with pytest.raises(CalibrationError, match=r"`study.enqueue\[0\].train.lr`: 1.0 is outside"):
        with_calibrated_ranges(spec, calibrate(spec))
