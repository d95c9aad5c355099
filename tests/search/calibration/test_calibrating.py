"""Calibrating a study on its storage, with the stand-in probe (nothing trains): a ladder
per arm, each probe kept as it ends, resuming after an interrupt, nothing run when nothing
is missing, --redo, probes made under other settings named and never used, the ranges a
study takes, what it cost, and the study itself left alone."""

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
from hpsearch.search.calibration.model import CalibratedRange, CalibrationArm, ProbeSettings
from hpsearch.search.calibration.rule import short_lr
from hpsearch.search.interrupts import Interrupted
from hpsearch.search.storage import read_trials
from hpsearch.search.study import StudyNotFoundError, load_study

KINDS = (
    'space.optimizer.kind={ choices = ["adamw", "mfac"] }',
    "space.optimizer.num_grads={ choices = [4, 8] }",
)
ARMS = [CalibrationArm("adamw"), CalibrationArm("mfac", 4), CalibrationArm("mfac", 8)]
# The stand-in's ladders: AdamW learns best at 1e-3, M-FAC at 4e-3 (m = 4), 2e-3 (m = 8)
LADDERS = {
    ARMS[0]: ["1e-3", "3e-3", "1e-2", "3e-4", "1e-4", "3e-5"],
    ARMS[1]: ["1e-3", "3e-3", "1e-2", "3e-2", "3e-4"],
    ARMS[2]: ["1e-3", "3e-3", "1e-2", "3e-4", "1e-4"],  # from 3e-3 × 4 / 8 on the grid
}
PROBES = sum(len(lrs) for lrs in LADDERS.values())


@pytest.fixture
def study(quora_study):
    """``study(*overrides)``: the spec of a small study searching AdamW and M-FAC (m = 4 or
    8), with ``overrides`` after; stored in tmp_path."""
    return lambda *overrides: quora_study.spec("cal", set=[*KINDS, *overrides])


def stored(spec) -> int:
    return len(read_trials(spec.study.storage, calibration_name(spec.study.name)))


def ran(probes) -> dict[CalibrationArm, list[str]]:
    out: dict[CalibrationArm, list[str]] = {}
    for arm, lr in probes.calls:
        out.setdefault(arm, []).append(short_lr(lr))
    return out


def test_each_arm_walks_its_ladder_and_every_probe_is_kept(study, probes):
    spec = study()
    calibration = calibrate(spec)
    assert ran(probes) == LADDERS
    assert [a.arm for a in calibration.arms] == ARMS
    assert all(a.state == "fresh" for a in calibration.arms)
    assert [a.ran_now for a in calibration.arms] == [len(v) for v in LADDERS.values()]
    assert stored(spec) == PROBES
    ranges = calibrated_ranges(calibration)
    assert [(r.kind, r.num_grads) for r in ranges] == [("adamw", None), ("mfac", 4), ("mfac", 8)]
    assert all(isinstance(r, CalibratedRange) and r.param().log for r in ranges)
    bounds = [(short_lr(r.low), short_lr(r.high)) for r in ranges]
    assert bounds == [("1e-4", "3e-3"), ("1e-3", "1e-2"), ("3e-4", "3e-3")]
    assert [short_lr(a.outcome.best_lr) for a in calibration.arms] == ["1e-3", "3e-3", "3e-3"]
    # The study itself is untouched: calibrating first creates no study of that name.
    with pytest.raises(StudyNotFoundError):
        load_study(spec)


def test_m_fac_s_next_num_grads_starts_from_the_previous_best_scaled_by_m(quora_study, probes):
    """m = 64 after m = 4 (best 3e-3): its ladder starts at 3e-3 × 4 / 64 ≈ 2e-4, on the
    grid 3e-4, not at 1e-3, and still walks both ways."""
    spec = quora_study.spec(
        "m", set=["optimizer.kind=mfac", "space.optimizer.num_grads={ choices = [4, 64] }"]
    )
    calibration = calibrate(spec)
    m64 = ran(probes)[CalibrationArm("mfac", 64)]
    assert m64 == ["3e-4", "1e-3", "1e-4", "3e-5", "1e-5"]
    assert short_lr(calibration.arms[1].outcome.best_lr) == "3e-4"


def test_calibrating_again_with_nothing_missing_runs_and_writes_nothing(study, probes):
    spec = study()
    first = calibrate(spec)
    probes.calls.clear()
    again = calibrate(spec)
    assert probes.calls == [] and stored(spec) == PROBES
    assert not any(a.ran_now for a in again.arms)
    assert [a.probes for a in again.arms] == [a.probes for a in first.arms]
    assert read_calibration(spec) == again


def test_an_interrupted_calibration_keeps_its_finished_probes_and_resumes(study, probes):
    spec = study()
    probes.stop_at = 8  # Ctrl-C as M-FAC m=4's third probe starts
    with pytest.raises(Interrupted):
        calibrate(spec)
    kept = read_calibration(spec)
    assert kept is not None and [a.state for a in kept.arms] == ["fresh", "partial", "missing"]
    assert len(kept.arms[1].probes) == 2 and stored(spec) == 8
    with pytest.raises(CalibrationError, match=r"M-FAC m=4's calibration is unfinished"):
        calibrated_ranges(kept)
    probes.stop_at = None
    probes.calls.clear()
    calibration = calibrate(spec)
    # Only what was lost runs: the interrupted probe on, then M-FAC m=8's whole ladder.
    assert ran(probes) == {ARMS[1]: LADDERS[ARMS[1]][2:], ARMS[2]: LADDERS[ARMS[2]]}
    assert stored(spec) == PROBES
    assert [a.probes for a in calibration.arms] == [a.probes for a in read_calibration(spec).arms]


def test_redo_runs_every_probe_again_and_the_newest_counts(study, probes):
    spec = study()
    calibrate(spec)
    probes.calls.clear()
    redone = calibrate(spec, redo=True)
    assert ran(probes) == LADDERS and stored(spec) == 2 * PROBES
    assert [a.ran_now for a in redone.arms] == [len(v) for v in LADDERS.values()]
    assert read_calibration(spec).arms == tuple(
        type(a)(a.arm, a.state, a.probes, a.outcome) for a in redone.arms
    )


def test_a_probe_made_under_other_settings_is_named_and_never_used(study, probes):
    calibrate(study())
    changed = study("train.batch_size=16")
    calibration = read_calibration(changed)
    assert calibration is not None and calibration.probes == ()
    assert all(a.state == "stale" for a in calibration.arms)
    assert calibration.arms[0].changes == ("train.batch_size was 32, now 16",)
    with pytest.raises(CalibrationError, match=r"AdamW was calibrated under other settings "):
        calibrated_ranges(calibration)
    # calibrate measures them again, under the settings now; said before each arm.
    said = []
    probes.calls.clear()
    calibrate(changed, say=said.append)
    assert ran(probes) == LADDERS
    assert said[0].startswith(
        "AdamW: its stored probes ran under other settings (train.batch_size was 32, "
        "now 16): measuring again"
    )
    assert said[1] == "AdamW: lr 1e-3: learned, f1 0.8000 (10 steps, 1.5 s)"
    # Other probe settings: stale too, said as such.
    other = calibrate(study(), settings=ProbeSettings(epochs=2), say=said.append)
    assert "probe epochs was 1, now 2" in " ".join(said)
    assert all(a.state == "fresh" for a in other.arms)
    # Back to the first settings: their probes are the arms' again, nothing runs.
    probes.calls.clear()
    calibrate(study())
    assert probes.calls == []


def test_an_arm_where_no_probe_learned_gives_the_study_no_ranges(study, probes, monkeypatch):
    monkeypatch.setattr(probes, "best", staticmethod(lambda arm: 1e-12))  # all diverge
    calibration = calibrate(study())
    # From 1e-3 down to the grid's end, each arm: above a divergence the ladder never looks.
    assert len(probes.calls) == 3 * 7
    with pytest.raises(CalibrationError) as info:
        calibrated_ranges(calibration)
    assert "AdamW: no probe learned (lr 1e-6 to 1e-3: 7 diverged)" in str(info.value)


def test_the_cost_is_the_probes_seconds_and_steps_against_the_studys_trials(study, probes):
    spec = study()
    calibration = calibrate(spec)
    assert calibration_cost(calibration).share is None  # the study has no trials yet
    searched = optuna.create_study(study_name=spec.study.name, storage=spec.study.storage)
    searched.tell(searched.ask(), 0.5)  # a trial that took a moment
    cost = calibration_cost(calibration, searched.trials)
    assert (cost.probes, cost.steps) == (PROBES, 10 * PROBES)
    assert cost.seconds == pytest.approx(1.5 * PROBES)
    assert cost.study_seconds is not None
    assert cost.share == pytest.approx(1.5 * PROBES / cost.study_seconds)


LR = 'space.train.lr="calibrated"'


def test_a_calibrated_lr_is_searched_per_kind_and_num_grads_in_its_measured_range(study, probes):
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
    assert ran(probes) == LADDERS  # calibrated first, each arm and probe said
    assert len(said) == 3 + PROBES
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
    probes.calls.clear()
    assert calibrated_spec(spec) == resolved and probes.calls == []


def test_a_study_of_one_optimizer_searches_its_lr_in_its_one_range(quora_study, probes):
    from hpsearch.search.calibration.calibrating import calibrated_spec

    resolved = calibrated_spec(quora_study.spec("one", set=[LR]))
    assert resolved.space_when == ()
    lr = resolved.space["train.lr"]
    assert lr.log and (lr.low, lr.high) == (pytest.approx(1e-4), pytest.approx(10**-2.5))


def test_a_calibrated_lr_without_a_range_or_outside_an_enqueued_value_is_refused(
    study, probes, monkeypatch
):
    from hpsearch.search.calibration.calibrating import calibrated_spec, with_calibrated_ranges

    enqueued = 'study.enqueue=[{ "optimizer.kind" = "adamw", "train.lr" = 1.0 }]'
    spec = study(LR, enqueued)
    with pytest.raises(CalibrationError, match=r"`study.enqueue\[0\].train.lr`: 1.0 is outside"):
        with_calibrated_ranges(spec, calibrate(spec))
    monkeypatch.setattr(probes, "best", staticmethod(lambda arm: 1e-12))
    with pytest.raises(CalibrationError, match="AdamW: no probe learned"):
        calibrated_spec(study(LR, "train.batch_size=16"))


def test_an_enqueued_calibrated_lr_is_its_arm_s_best_probe_s(study, probes):
    """``"train.lr" = "calibrated"`` in an enqueued trial: the lr of the best probe of the
    arm the trial's kind and num_grads select, so a reference setting (the cards') runs at
    a measured lr inside its range; an M-FAC trial that leaves num_grads to the sampler
    cannot say which arm, and is refused."""
    from hpsearch.search.calibration.calibrating import with_calibrated_ranges

    enqueued = (
        'study.enqueue=[{ "optimizer.kind" = "adamw", "train.lr" = "calibrated" }, '
        '{ "optimizer.kind" = "mfac", "optimizer.num_grads" = 8, "train.lr" = "calibrated" }]'
    )
    spec = study(LR, enqueued)
    resolved = with_calibrated_ranges(spec, calibrate(spec))
    assert [short_lr(t["train.lr"]) for t in resolved.study.enqueue] == ["1e-3", "3e-3"]
    named = resolved.enqueued(resolved.study.enqueue[1])
    assert set(named) == {
        "optimizer.kind",
        "optimizer.num_grads",
        "train.lr|optimizer.kind=mfac|optimizer.num_grads=8",
    }
    open_m = 'study.enqueue=[{ "optimizer.kind" = "mfac", "train.lr" = "calibrated" }]'
    spec = study(LR, open_m)
    with pytest.raises(CalibrationError, match=r"enqueue\[0\].train.lr.*set optimizer.num_grads"):
        with_calibrated_ranges(spec, calibrate(spec))


def test_calibrated_enqueues_only_a_calibrated_field(study):
    from hpsearch.errors import SpecError

    with pytest.raises(SpecError, match=r"study.enqueue\[0\].train.hidden_dropout.*only enqueues"):
        study(
            "space.train.hidden_dropout={ low = 0.0, high = 0.2 }",
            'study.enqueue=[{ "optimizer.kind" = "adamw", "train.hidden_dropout" = "calibrated" }]',
        )


MODES = 'space.finetune.mode={ choices = ["full", "frozen"] }'


def test_a_study_searching_finetune_mode_walks_a_ladder_per_mode(study, probes):
    """Each mode's first arm of a kind starts at 1e-3; M-FAC's next m starts from the
    previous m's best in the same mode. The stand-in's frozen arms learn best at 10 times
    their full arms' lr: their ranges sit a decade above."""
    calibration = calibrate(study(MODES))
    assert [a.arm.label for a in calibration.arms] == [
        "AdamW full",
        "AdamW frozen",
        "M-FAC m=4 full",
        "M-FAC m=4 frozen",
        "M-FAC m=8 full",
        "M-FAC m=8 frozen",
    ]
    ladders = ran(probes)
    assert ladders[CalibrationArm("adamw", None, "full")] == LADDERS[ARMS[0]]
    assert ladders[CalibrationArm("mfac", 8, "full")] == LADDERS[ARMS[2]]
    assert ladders[CalibrationArm("adamw", None, "frozen")][0] == "1e-3"
    # m = 8 frozen after m = 4 frozen (best 3e-2): 3e-2 × 4 / 8 on the grid.
    assert ladders[CalibrationArm("mfac", 8, "frozen")][0] == "1e-2"
    best = {(r.kind, r.num_grads, r.mode): r.best for r in calibrated_ranges(calibration)}
    assert best["adamw", None, "frozen"] == pytest.approx(10 * best["adamw", None, "full"])
    assert best["mfac", 4, "frozen"] == pytest.approx(10 * best["mfac", 4, "full"])


def test_a_frozen_trial_draws_its_lr_from_the_frozen_range(study, probes):
    """The ranges are conditioned on the mode as well: suggest decides finetune.mode before
    train.lr, and each (kind, num_grads, mode) has its own parameter."""
    from optuna.distributions import FloatDistribution

    from hpsearch.search.calibration.calibrating import calibrated_spec
    from hpsearch.spec.suggest import suggest

    spec = study(LR, MODES)
    resolved = calibrated_spec(spec)
    ranges = {(r.kind, r.num_grads, r.mode): r for r in calibrated_ranges(read_calibration(spec))}
    searched = optuna.create_study()
    arms = (("adamw", None, "frozen"), ("mfac", 8, "frozen"), ("adamw", None, "full"))
    for kind, m, mode in arms:
        fixed = {"optimizer.kind": kind, "finetune.mode": mode}
        searched.enqueue_trial(fixed | ({"optimizer.num_grads": m} if m else {}))
        trial = searched.ask()
        params = suggest(trial, resolved)
        grads = f"|optimizer.num_grads={m}" if m else ""
        name = f"train.lr|optimizer.kind={kind}{grads}|finetune.mode={mode}"
        r = ranges[kind, m, mode]
        assert trial.distributions[name] == FloatDistribution(r.low, r.high, log=True)
        assert r.low <= params["train.lr"] <= r.high and params["finetune.mode"] == mode
        searched.tell(trial, 0.5)
    frozen, full = ranges["adamw", None, "frozen"], ranges["adamw", None, "full"]
    assert frozen.low > full.low and frozen.high > full.high


def test_an_enqueued_calibrated_lr_takes_the_best_of_its_trial_s_mode(study, probes):
    from hpsearch.search.calibration.calibrating import with_calibrated_ranges

    enqueued = (
        'study.enqueue=[{ "optimizer.kind" = "adamw", "finetune.mode" = "full", '
        '"train.lr" = "calibrated" }, { "optimizer.kind" = "adamw", '
        '"finetune.mode" = "frozen", "train.lr" = "calibrated" }]'
    )
    spec = study(LR, MODES, enqueued)
    resolved = with_calibrated_ranges(spec, calibrate(spec))
    assert [short_lr(t["train.lr"]) for t in resolved.study.enqueue] == ["1e-3", "1e-2"]
    assert "train.lr|optimizer.kind=adamw|finetune.mode=frozen" in resolved.enqueued(
        resolved.study.enqueue[1]
    )
    open_mode = 'study.enqueue=[{ "optimizer.kind" = "adamw", "train.lr" = "calibrated" }]'
    spec = study(LR, MODES, open_mode)
    with pytest.raises(CalibrationError, match=r"enqueue\[0\].train.lr.*set finetune.mode"):
        with_calibrated_ranges(spec, calibrate(spec))


def test_a_probe_stored_before_arms_had_a_mode_reads_and_counts_for_the_mode_it_ran_at(
    study, probes, monkeypatch
):
    """Probes written without a mode in their arm (as before) still load; in a study that
    now searches the mode they are the arm of the mode they ran at, where the settings
    match: only the other modes' ladders run."""
    import dataclasses

    from hpsearch.search.calibration.model import Probe, read_probe

    def legacy(probe: Probe) -> dict:
        data = dataclasses.asdict(probe)
        del data["arm"]["mode"]
        return data

    with monkeypatch.context() as patched:
        patched.setattr(Probe, "to_dict", legacy)
        first = calibrate(study())  # the mode fixed at full: arms without a mode
    old = read_probe(legacy(first.probes[0]))
    assert old.arm == CalibrationArm("adamw") and old == first.probes[0]
    probes.calls.clear()
    calibration = calibrate(study(MODES))
    assert {arm.mode for arm, _ in probes.calls} == {"frozen"}
    full = [a for a in calibration.arms if a.arm.mode == "full"]
    assert [a.ran_now for a in full] == [0, 0, 0]
    assert [len(a.probes) for a in full] == [len(v) for v in LADDERS.values()]


def test_the_testbed_s_enqueued_recipes_resolve_to_their_arm_s_best_lr(tmp_path, probes):
    """studies/sst2-testbed.toml calibrated by the stand-in: each enqueued recipe takes the
    best lr of its optimizer and mode (the stand-in's: a decade above full finetuning's for
    the other modes), and lies in its own conditional entry."""
    from hpsearch.search.calibration.calibrating import calibrated_spec
    from hpsearch.spec.load import load_spec
    from tests.studies import REPO

    storage = f"study.storage=sqlite:///{tmp_path / 'study.db'}"
    spec = load_spec(REPO / "studies" / "sst2-testbed.toml", [storage])
    resolved = calibrated_spec(spec)
    assert len(resolved.study.enqueue) == len(spec.study.enqueue)
    for trial in resolved.study.enqueue:
        arm = CalibrationArm(
            trial["optimizer.kind"], trial.get("optimizer.num_grads"), trial["finetune.mode"]
        )
        assert trial["train.lr"] in [lr for a, lr in probes.calls if a == arm]
        assert short_lr(trial["train.lr"]) == short_lr(probes.best(arm))
        (name_of_lr,) = (n for n in resolved.enqueued(trial) if n.startswith("train.lr|"))
        assert f"finetune.mode={arm.mode}" in name_of_lr
