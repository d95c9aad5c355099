"""The arms' search spaces side by side, and where they differ.

Choi et al. 2019 showed that the search space decides optimizer rankings, so a comparison
shows, before anything runs, how each arm sets the dimensions every finetuning recipe has
(:data:`SHARED`) and every other field an arm searches, with a warning wherever one arm
searches what another fixes, the ranges differ, or a fixed setting differs. An arm that is
one kind of a study searching ``optimizer.kind`` shows that kind's own ranges
(``[space.by_kind]``), each per value of a field it depends on where it has several
(``num_grads 8: …; num_grads 16: …``).
"""

from __future__ import annotations

from collections.abc import Sequence

from hpsearch.compare.arms import KIND, Arm
from hpsearch.compare.model import CalibratedLr, SpaceCell, SpaceRow
from hpsearch.optim import OPTIMIZERS
from hpsearch.search.calibration.model import arm_detail
from hpsearch.spec.schema import APPLIES_WHEN
from hpsearch.spec.space import FloatRange, param_text, value_text

# The dimensions every comparison shows, searched or not.
SHARED = (
    "train.lr",
    "train.batch_size",
    "train.epochs",
    "train.hidden_dropout",
    "train.schedule",
    "train.warmup_ratio",
)
# Sections whose fixed settings must agree across arms (task identity is checked apart, and
# the optimizer's hyperparameters belong to each optimizer).
_RECIPE = ("task", "model", "train", "finetune", "multitask")


def cell(arm: Arm, field: str) -> SpaceCell:
    """How ``arm`` sets ``field``: searched (its range or choices), fixed, or n/a."""
    spec = arm.spec
    section, name = field.split(".", 1)
    entry = OPTIMIZERS.get(arm.kind)
    if section == "optimizer" and (entry is None or name not in entry.hparams):
        return SpaceCell("n/a", "–")
    condition = APPLIES_WHEN.get(field)
    # A field whose condition is searched may apply to some trials: shown as the space has it.
    if condition is not None and condition[0] not in spec.space and not spec.applies(field):
        return SpaceCell("n/a", "–")
    if section == "optimizer":
        assert entry is not None
        own = spec.optimizer.hparams if spec.optimizer.kind == arm.kind else {}
        fixed = value_text(own.get(name, entry.hparams[name]))
    else:
        fixed = value_text(spec.value(field))
    ranges = spec.ranges(field, {KIND: arm.kind})
    texts = {given: param_text(c[1]) if c else f"fixed {fixed}" for given, c in ranges}
    if all(c is None for _, c in ranges):
        return SpaceCell("fixed", fixed)
    if len(set(texts.values())) == 1:
        return SpaceCell("searched", next(iter(texts.values())))
    # One part per entry, with the values of the fields that choose it.
    by_text: dict[str, list[str]] = {}
    for given, text in texts.items():
        by_text.setdefault(text, []).append(" ".join(value_text(v) for _, v in given))
    deciders = " ".join(f.split(".")[-1] for f, _ in next(iter(texts)))
    parts = [f"{deciders} {', '.join(values)}: {text}" for text, values in by_text.items()]
    return SpaceCell("searched", "; ".join(parts))


def space_rows(arms: Sequence[Arm]) -> tuple[SpaceRow, ...]:
    """The shared dimensions, then every other field an arm searches, in its study's order."""
    searched = [f for a in arms for f in a.spec.searched() if f != KIND and f not in SHARED]
    fields = [*SHARED, *dict.fromkeys(searched)]
    rows = [
        SpaceRow(field=f, shared=f in SHARED, cells={a.name: cell(a, f) for a in arms})
        for f in fields
    ]
    ranges = calibrated_lrs(arms)
    if ranges:  # beside the lr the arms search
        cells = {a.name: calibrated_cell([r for r in ranges if r.arm == a.name]) for a in arms}
        rows.insert(1, SpaceRow(CALIBRATED, True, cells))
    return tuple(rows)


CALIBRATED = "train.lr calibrated"  # the row of the arms' calibrated lr ranges


def calibrated_lrs(arms: Sequence[Arm]) -> tuple[CalibratedLr, ...]:
    """Each arm's learning-rate ranges as ``hpsearch calibrate`` measured them, per
    num_grads choice where M-FAC searches it and per finetune mode where the study searches
    it; none for an arm without a calibration."""
    ranges = []
    for arm in arms:
        for a in arm.calibration:
            assert a.outcome is not None  # an arm keeps its fresh ladders only
            o, m = a.outcome, a.arm.num_grads
            ranges.append(CalibratedLr(arm.name, m, o.low, o.high, o.problem, a.arm.mode))
    return tuple(ranges)


def calibrated_cell(ranges: Sequence[CalibratedLr]) -> SpaceCell:
    """An arm's calibrated ``ranges`` as its cell of the row ``train.lr calibrated``."""
    if not ranges:
        return SpaceCell("n/a", "–")
    texts = []
    for r in ranges:
        shown = (
            "none"
            if r.low is None or r.high is None
            else param_text(FloatRange(r.low, r.high, log=True))
        )
        which = " ".join(arm_detail(r.num_grads, r.mode))
        texts.append(f"{which}: {shown}" if which else shown)
    return SpaceCell("calibrated", "; ".join(texts))


def space_warnings(rows: Sequence[SpaceRow], arms: Sequence[Arm]) -> tuple[str, ...]:
    """Where the arms' spaces differ (an optimizer's own hyperparameters aside), then the
    fixed settings outside the rows that differ."""
    warnings = []
    for row in rows:
        if row.field.startswith("optimizer.") or row.field == CALIBRATED:
            continue
        cells = {name: c for name, c in row.cells.items() if c.state != "n/a"}
        if len({(c.state, c.text) for c in cells.values()}) < 2:
            continue
        searched = {n: c.text for n, c in cells.items() if c.state == "searched"}
        fixed = {n: c.text for n, c in cells.items() if c.state == "fixed"}
        if searched and fixed:
            warnings.append(
                f"{row.field}: searched by {_list(searched, True)} but fixed by "
                f"{_list(fixed, True)}"
            )
        elif searched:
            warnings.append(f"{row.field}: the arms search different ranges: {_list(searched)}")
        else:
            warnings.append(f"{row.field}: fixed at different values: {_list(fixed)}")
    shown = {r.field for r in rows}
    for field, values in _fixed_differences(arms).items():
        if field not in shown:
            warnings.append(f"{field}: fixed at different values: {_list(values)}")
    return tuple(warnings)


def _list(values: dict[str, str], parens: bool = False) -> str:
    """``AdamW 1, M-FAC 2``; with ``parens``: ``AdamW (16, 32)``."""
    return ", ".join(f"{n} ({t})" if parens else f"{n} {t}" for n, t in values.items())


def _fixed_differences(arms: Sequence[Arm]) -> dict[str, dict[str, str]]:
    """Fixed settings of the recipe (``section.field``) that differ between arms."""
    flat = []
    for arm in arms:
        data = arm.spec.to_dict()
        settings = {
            f"{section}.{k}": v
            for section in _RECIPE
            for k, v in (data.get(section) or {}).items()
            if f"{section}.{k}" not in arm.spec.searched()
        }
        flat.append(settings)
    differ: dict[str, dict[str, str]] = {}
    for field in dict.fromkeys(f for settings in flat for f in settings):
        values = [settings.get(field) for settings in flat]
        if any(v != values[0] for v in values):
            differ[field] = {a.name: value_text(v) for a, v in zip(arms, values, strict=True)}
    return differ
