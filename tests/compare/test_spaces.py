"""The arms' search spaces side by side, and the warnings where they differ."""

from __future__ import annotations

from dataclasses import replace

from hpsearch.compare.spaces import cell, space_rows, space_warnings
from hpsearch.spec.space import ConditionalParam, FloatRange
from hpsearch.spec.validate import with_conditional_ranges
from tests.trials import add_trials, plan_of


def test_spaces_side_by_side_warn_where_arms_differ(arms):
    adam = arms("adam", "adamw", [0.5, 0.6])
    mfac = arms(
        "mfac",
        "mfac",
        [0.5, 0.6],
        set=[
            "space.train.lr={ low = 1e-4, high = 1e-2, log = true }",
            "space.train.batch_size={ choices = [16, 32] }",
            "space.optimizer.damp={ low = 1e-8, high = 1e-2, log = true }",
            "train.epochs=2",
        ],
    )
    plan = plan_of(adam, mfac)
    rows = {r.field: r for r in space_rows(plan.arms)}
    assert rows["train.lr"].cells["AdamW"].text == "5e-05 – 0.0005 (log)"
    assert rows["train.lr"].cells["M-FAC"].text == "0.0001 – 0.01 (log)"
    assert (
        rows["train.batch_size"].cells["AdamW"].state,
        rows["train.batch_size"].cells["AdamW"].text,
    ) == ("fixed", "32")
    assert rows["optimizer.damp"].cells["AdamW"].state == "n/a"  # AdamW takes no damp
    warnings = space_warnings(list(rows.values()), plan.arms)
    assert warnings == (
        "train.lr: the arms search different ranges: AdamW 5e-05 – 0.0005 (log), "
        "M-FAC 0.0001 – 0.01 (log)",
        "train.batch_size: searched by M-FAC (16, 32) but fixed by AdamW (32)",
        "train.epochs: fixed at different values: AdamW 1, M-FAC 2",
    )
    same = space_warnings(space_rows(plan_of(adam, arms("adam2", "adamw", [0.5, 0.6])).arms), ())
    assert same == ()


def test_each_kind_of_a_study_shows_its_own_range(quora_study):
    """An arm that is one kind of a study searching optimizer.kind shows that kind's range;
    where the kind's range depends on num_grads too, one part per choice."""
    kinds = "space.optimizer.kind={ choices = ['adamw', 'mfac'] }"
    grads = "space.optimizer.num_grads={ choices = [4, 8] }"
    mfac_lr = "space.by_kind.mfac.train.lr={ low = 1e-3, high = 3e-2, log = true }"
    path = quora_study("kinds", set=[kinds, grads, mfac_lr])
    mfac = "train.lr|optimizer.kind=mfac"
    add_trials(
        path,
        [("complete", 0.5 + i / 10, {"optimizer.kind": "adamw", "train.lr": 1e-4}) for i in (0, 1)]
        + [("complete", 0.6 + i / 10, {"optimizer.kind": "mfac", mfac: 3e-3}) for i in (0, 1)],
    )
    plan = plan_of(path)
    rows = {r.field: r for r in space_rows(plan.arms)}
    lr = rows["train.lr"].cells
    assert (lr["AdamW"].text, lr["M-FAC"].text) == ("5e-05 – 0.0005 (log)", "0.001 – 0.03 (log)")
    assert rows["optimizer.num_grads"].cells["AdamW"].state == "n/a"

    # The calibration's case: M-FAC's range per num_grads choice (here at 8 only).
    arm = next(a for a in plan.arms if a.kind == "mfac")
    m8 = ConditionalParam(
        "train.lr",
        (("optimizer.kind", "mfac"), ("optimizer.num_grads", 8)),
        FloatRange(1e-2, 1e-1, log=True),
    )
    per_grads = replace(
        arm, source=replace(arm.source, spec=with_conditional_ranges(arm.spec, [m8]))
    )
    assert cell(per_grads, "train.lr").text == (
        "num_grads 4: 0.001 – 0.03 (log); num_grads 8: 0.01 – 0.1 (log)"
    )


def test_each_arms_calibrated_range_stands_beside_its_space(arms, quora_study, probes):
    """The row ``train.lr calibrated``: an arm's range from ``hpsearch calibrate``, per
    num_grads choice where M-FAC searches it; n/a for an arm never calibrated. A range
    measured is not a search space: no warning that the arms' differ."""
    from hpsearch.compare.spaces import CALIBRATED, calibrated_lrs
    from hpsearch.search.calibration import calibrate
    from hpsearch.spec.load import load_spec
    from tests.trials import add_trials, lr_trials

    adam = arms("adam", "adamw", [0.5, 0.6])
    searched = "space.optimizer.num_grads={ choices = [4, 8] }"
    mfac = quora_study("mfac", set=["optimizer.kind=mfac", searched])
    add_trials(mfac, lr_trials(0.5, 0.6))
    plain = [r.field for r in space_rows(plan_of(adam, mfac).arms)]
    assert CALIBRATED not in plain  # nothing calibrated: the table as it was
    calibrate(load_spec(mfac))
    plan = plan_of(adam, mfac)
    rows = space_rows(plan.arms)
    assert [r.field for r in rows] == [plain[0], CALIBRATED, *plain[1:]]
    cells = rows[1].cells
    assert cells["AdamW"].state == "n/a"
    assert cells["M-FAC"].state == "calibrated"
    low4, high4, low8, high8 = (x for r in calibrated_lrs(plan.arms) for x in (r.low, r.high))
    assert cells["M-FAC"].text == (
        f"m=4: {low4:.4g} – {high4:.4g} (log); m=8: {low8:.4g} – {high8:.4g} (log)"
    )
    assert not any(w.startswith(CALIBRATED) for w in space_warnings(rows, plan.arms))


def test_a_calibrated_lr_shows_the_ranges_its_trials_were_drawn_from(quora_study, probes):
    """``lr = "calibrated"``: compare reads each arm's lr range from the study's calibration,
    as ``run`` gave it to the trials (and so sees no drift in them)."""
    from hpsearch.search.calibration import calibrate
    from hpsearch.spec.load import load_spec
    from tests.trials import add_trials

    kinds = "space.optimizer.kind={ choices = ['adamw', 'mfac'] }"
    path = quora_study("cal", set=[kinds, 'space.train.lr="calibrated"'])
    ranges = {a.arm.kind: a.outcome for a in calibrate(load_spec(path)).arms}
    mfac = "train.lr|optimizer.kind=mfac"
    add_trials(
        path,
        [("complete", 0.5 + i / 10, {"optimizer.kind": "adamw", "train.lr": 1e-4}) for i in (0, 1)]
        + [("complete", 0.6 + i / 10, {"optimizer.kind": "mfac", mfac: 3e-3}) for i in (0, 1)],
    )
    rows = {r.field: r for r in space_rows(plan_of(path).arms)}
    for arm, kind in (("AdamW", "adamw"), ("M-FAC", "mfac")):
        o = ranges[kind]
        assert rows["train.lr"].cells[arm].text == f"{o.low:.4g} – {o.high:.4g} (log)"


def test_calibrated_ranges_per_finetune_mode_are_shown_per_mode(quora_study, probes):
    """A study searching finetune.mode: its arm's calibrated ranges, and the lr ranges its
    trials were drawn from, one per mode."""
    from hpsearch.compare.spaces import CALIBRATED
    from hpsearch.search.calibration import calibrate
    from hpsearch.spec.load import load_spec

    modes = 'space.finetune.mode={ choices = ["full", "frozen"] }'
    path = quora_study("modes", set=[modes, 'space.train.lr="calibrated"'])
    outcomes = {a.arm.mode: a.outcome for a in calibrate(load_spec(path)).arms}
    trial = {"finetune.mode": "full", "train.lr|finetune.mode=full": 1e-3}
    add_trials(path, [("complete", 0.5, trial)])
    rows = {r.field: r for r in space_rows(plan_of(path).arms)}
    full, frozen = (f"{o.low:.4g} – {o.high:.4g} (log)" for o in outcomes.values())
    assert rows[CALIBRATED].cells["AdamW"].text == f"full: {full}; frozen: {frozen}"
    assert rows["train.lr"].cells["AdamW"].text == f"mode full: {full}; mode frozen: {frozen}"
