"""The arms' search spaces side by side, and the warnings where they differ."""

from __future__ import annotations

from hpsearch.compare.spaces import space_rows, space_warnings
from tests.trials import plan_of


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
