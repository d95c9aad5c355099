"""An arm that never learned within its space gets no verdict.

When every judged trial of an arm answered one class for every validation example (or, on
a regression task, one value), or the re-run of its best config did so on every seed, its
scores are the label shares, not learning (F1 0.63 for "duplicate" on every Quora pair,
F1 0 for "not duplicate"; Pearson 0 for a constant STS score). A
difference to the baseline, its CI and its p-value would then measure where the arm's
search space lies, not the optimizer: on a task nobody tuned on, all of M-FAC's trials and
re-runs answered one class and a Δ F1 of −59.56 with p = 1.3e-06 read as "M-FAC is far
worse". Such an arm is marked (:attr:`~hpsearch.compare.model.ArmResult.never_learned`),
gets no paired test (nor, as the baseline, does any arm against it), and a note points to
``hpsearch calibrate``, which finds an arm's working learning rates.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from optuna.trial import FrozenTrial, TrialState

from hpsearch.compare.arms import Arm, Source
from hpsearch.compare.model import ConfigResult, NeverLearned, SeedRun
from hpsearch.metrics import every_task_flat
from hpsearch.search.record import best_evaluation, read_record
from hpsearch.wording import plural


def never_learned(
    arm: Arm, config: ConfigResult, metric: str, maximize: bool
) -> tuple[NeverLearned, ...]:
    """Where ``arm`` never learned: every judged trial (each at the evaluation it reports),
    and the re-runs of its best ``config`` on every seed, whose every task answered one
    class (:func:`hpsearch.metrics.every_task_flat`); empty where it learned."""
    where: list[NeverLearned] = []
    if arm.judged and all(every_task_flat(_reported(t, metric, maximize)) for t in arm.judged):
        where.append("every judged trial")
    if learned_nothing(config.runs):
        where.append("every seed re-run")
    return tuple(where)


def learned_nothing(runs: Sequence[SeedRun]) -> bool:
    """Whether every one of a config's ``runs`` answered one class (or one value) in every
    task."""
    return bool(runs) and all(every_task_flat(r.metrics) for r in runs)


def _reported(trial: FrozenTrial, metric: str, maximize: bool) -> Mapping[str, float]:
    """The metrics of the evaluation ``trial`` reports: a complete trial's ``metrics``, a
    pruned one's best evaluation by the trainer's rule."""
    if trial.state == TrialState.COMPLETE:
        return read_record(trial).metrics or {}
    best = best_evaluation(trial, metric, maximize)
    return {} if best is None else best.metrics or {}


def never_learned_notes(
    arms: Sequence[Arm], best: Mapping[str, ConfigResult], never: Mapping[str, Sequence[str]]
) -> list[str]:
    """The verdict's line for each arm that never learned (``never``: by arm name, as
    :func:`never_learned` gives it): what answered one class, why there is no verdict, and
    the command that finds the arm's working learning rates."""
    notes = []
    for arm in arms:
        if not never[arm.name]:
            continue
        config = best[arm.name]
        what = {
            "every judged trial": f"every judged trial ({len(arm.judged)})",
            "every seed re-run": (
                f"its best config (trial {config.trial}) re-run on every seed "
                f"({plural(len(config.runs), 'seed')})"
            ),
        }
        whose = "no arm gets them against it" if arm.baseline else "it gets none"
        notes.append(
            f"{arm.name} never learned within its space: "
            + " and ".join(what[w] for w in never[arm.name])
            + " predicted one class (MCC 0) or one value (Pearson 0) for every validation "
            "example. No verdict: a Δ, "
            f"CI or p-value would measure where its search space lies, not the optimizer, so "
            f"{whose}. Find the learning rates where it learns: {calibrate_command(arm.source)}"
        )
    return notes


def calibrate_command(source: Source) -> str:
    """``hpsearch calibrate STUDY.toml``, with the ``--storage`` and ``--set`` of the study's
    ``hpsearch run`` command (:attr:`~hpsearch.compare.arms.Source.command`)."""
    return shlex.join(["hpsearch", "calibrate", *shlex.split(source.command)[2:]])
