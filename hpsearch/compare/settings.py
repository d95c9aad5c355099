"""The settings a comparison's runs were made under, said where they differ: never mixed in
silence.

``run`` refuses to add trials to a study whose file changed (:mod:`hpsearch.search.drift`);
``compare`` and ``report`` follow the same rule for the trials they judge. A study file whose
fixed settings (``--set`` included) differ from those its judged trials ran with is refused,
naming each field, unless ``--allow-drift``: then every config is re-run under the settings
it was tuned with (:func:`hpsearch.search.reseed.reseed` always does so), the notes say
which arms and configs ran under settings other than their file's, and the runs table shows
each config's. Runs of one config that trained on different devices or precisions
(``train.precision = "auto"`` resolves by machine) are said too, and so are runs whose loss
diverged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from optuna.trial import FrozenTrial

from hpsearch.compare.arms import Arm, Plan
from hpsearch.compare.labels import config_label, run_place
from hpsearch.compare.model import ConfigResult, SeedRun
from hpsearch.search.drift import (
    PRECISION,
    Change,
    SpecDriftError,
    resolved_precision,
    trial_changes,
)
from hpsearch.search.record import NOT_RECORDED, read_record
from hpsearch.wording import listed, plural


def changes_of(arm: Arm, trial: FrozenTrial) -> list[Change]:
    """How ``arm``'s study file (``--set`` included) differs from the settings ``trial`` ran
    under; an explicit precision that "auto" resolved to for the trials of those settings is
    no difference."""
    changes = trial_changes(arm.spec, arm.study, trial)
    if any(c.field == PRECISION for c in changes):
        spec_id = read_record(trial).spec_id
        same = [
            t for t in arm.study.get_trials(deepcopy=False) if read_record(t).spec_id == spec_id
        ]
        changes = resolved_precision(changes, same)
    return changes


def _groups(arm: Arm) -> list[tuple[list[Change], list[int]]]:
    """The arm's judged trials by the settings they ran under: (how the study file differs
    from them, their numbers), in trial order."""
    by_id: dict[Any, list[FrozenTrial]] = {}
    for t in arm.judged:
        by_id.setdefault(read_record(t).spec_id, []).append(t)
    return [(changes_of(arm, trials[0]), [t.number for t in trials]) for trials in by_id.values()]


def check_settings(arms: Sequence[Arm], *, allow_drift: bool = False) -> list[str]:
    """Refuse arms whose study file's fixed settings differ from those their judged trials
    ran with, unless ``allow_drift``; then notes that say where they differ.

    Raises:
        SpecDriftError: one line naming each arm's study file and every field, "was"
            (the trials') and "now" (the file's).
    """
    problems = []
    notes = []
    for arm in arms:
        groups = _groups(arm)
        drifted = [(changes, numbers) for changes, numbers in groups if changes]
        if not drifted:
            continue
        differ = "; ".join(dict.fromkeys(str(c) for changes, _ in drifted for c in changes))
        count = sum(len(numbers) for _, numbers in drifted)
        which = (
            f"its {plural(count, 'judged trial')}"
            if count == len(arm.judged)
            else f"{count} of its {plural(len(arm.judged), 'judged trial')}"
        )
        problems.append(
            f"{arm.source.file}: study {arm.spec.study.name!r}: the study file's fixed "
            f"settings differ from those {which} ran with ({differ})"
        )
        numbers = ", ".join(str(n) for _, ns in drifted for n in ns)
        notes.append(
            f"{arm.name}: --allow-drift: {which} ran under settings other than the study "
            f"file's ({differ}; trials {numbers}): each config is re-run under the settings it "
            "was tuned with; the search spaces table shows the file's"
        )
        if len(groups) > 1:
            notes.append(
                f"{arm.name}: its judged trials ran under {len(groups)} different settings: "
                "its tuning curve mixes them"
            )
    if problems and not allow_drift:
        raise SpecDriftError(
            "; ".join(problems)
            + ": re-runs under the file's settings would be compared with a search made under "
            "the trials' (and --set, if given, counts as an edit); put the settings back, or "
            "pass --allow-drift to re-run each config under the settings it was tuned with "
            "(the notes and the runs table then say which differ)"
        )
    return notes


def config_drift(arm: Arm, trial: FrozenTrial) -> tuple[str, ...]:
    """The fixed settings ``trial`` was tuned (and is re-run) under that differ from its
    study file's, as the runs table shows them: ``train.epochs 1 (study file: 2)``."""
    return tuple(
        f"{c.field} {_shown(c.stored)} (study file: {_shown(c.now)})"
        for c in changes_of(arm, trial)
    )


def _shown(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)


def place_notes(configs: Sequence[ConfigResult]) -> list[str]:
    """A note per config whose seeds trained on different devices, precisions or thread
    counts (``train.precision = "auto"`` resolves by machine): its mean ± std mixes them."""
    notes = []
    for c in configs:
        places: dict[str, list[int]] = {}
        for r in c.runs:
            places.setdefault(run_place(r.cost), []).append(r.seed)
        if len(places) < 2 or set(places) == {NOT_RECORDED}:
            continue
        where = "; ".join(f"{listed('seed', seeds)}: {place}" for place, seeds in places.items())
        notes.append(
            f"{config_label(c)}: its seeds ran on different devices, precisions or threads "
            f'({where}; train.precision "auto" resolves by machine): its mean ± std mixes '
            "them, and its seconds do not compare"
        )
    return notes


def diverged_notes(arms: Sequence[Arm], configs: Sequence[ConfigResult]) -> list[str]:
    """What diverged (its validation loss ended far above chance): an arm's judged trials,
    and a config's re-runs. The live lines say it as it happens; the notes keep it."""
    notes = []
    for arm in arms:
        flagged = [t for t in arm.judged if read_record(t).diverged]
        if flagged:
            numbers = ", ".join(str(t.number) for t in flagged)
            notes.append(
                f"{arm.name}: {len(flagged)} of {plural(len(arm.judged), 'judged trial')} "
                f"diverged (trials {numbers}): {read_record(flagged[0]).diverged}"
            )
    for c in configs:
        notes += diverged_runs(f"{c.arm} trial {c.trial}", c.runs)
    return notes


def diverged_runs(what: str, runs: Sequence[SeedRun]) -> list[str]:
    """A note when some of ``runs`` (re-runs of ``what``) diverged."""
    flagged = [r for r in runs if r.diverged]
    if not flagged:
        return []
    seeds = listed("seed", [r.seed for r in flagged])
    return [
        f"{what}: {len(flagged)} of {plural(len(runs), 'seed re-run')} diverged "
        f"({seeds}): {flagged[0].diverged}"
    ]


def checked(plan: Plan, *, allow_drift: bool = False) -> Plan:
    """``plan`` once its arms' settings are checked (:func:`check_settings`), with the notes
    that ``allow_drift`` adds; the command line calls it before showing the plan.

    Raises:
        SpecDriftError: a study file's settings differ from its judged trials'.
    """
    notes = check_settings(plan.arms, allow_drift=allow_drift)
    return replace(plan, notes=(*plan.notes, *notes)) if notes else plan
