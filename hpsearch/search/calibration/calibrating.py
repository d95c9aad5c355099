"""Calibrating a study: a range test per arm, kept in the study's storage; reading what is
kept; the ranges a study's space takes from it; what it cost.

:func:`calibrate` runs the range tests that are missing (every one with ``redo``) and keeps
each as it ends, so running it again resumes, and with nothing missing trains nothing and
writes nothing. A stored test is the arm's only while it ran under the settings the study
has now (its fingerprint, :func:`~hpsearch.search.calibration.arms.range_test_id`): a test
made under others is ``stale``, named with what changed, and never used silently.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from hpsearch.errors import HpsearchError
from hpsearch.search.calibration.arms import (
    KIND,
    NUM_GRADS,
    calibration_arms,
    range_test_id,
    range_test_spec,
)
from hpsearch.search.calibration.model import (
    ArmCalibration,
    CalibratedRange,
    Calibration,
    RangeTest,
    RangeTestSettings,
)
from hpsearch.search.calibration.store import save_test, stored_tests
from hpsearch.search.drift import fixed_changes
from hpsearch.search.interrupts import interrupted_while, stop_on_signals
from hpsearch.search.storage import open_storage
from hpsearch.search.study import resolve_storage_url
from hpsearch.spec.schema import FieldError, Spec
from hpsearch.spec.space import Categorical, ConditionalParam
from hpsearch.spec.validate import with_conditional_ranges

Say = Callable[[str], None]  # a line for the user, about what calibrate does


class CalibrationError(HpsearchError):
    """A study has no calibrated learning-rate range to use for some arm."""


def calibrate(
    spec: Spec,
    *,
    storage_url: str | None = None,
    settings: RangeTestSettings | None = None,
    redo: bool = False,
    say: Say | None = None,
) -> Calibration:
    """Run the range tests of ``spec``'s arms that its storage lacks (every one with
    ``redo``), with ``settings``; each is stored as it ends.

    Raises:
        hpsearch.search.interrupts.Interrupted: on SIGINT or SIGTERM; the tests that ended
            are kept, and the same call resumes.
    """
    settings = settings or RangeTestSettings()
    url = resolve_storage_url(spec, storage_url)
    arms = list(judge(spec, stored_tests(url, spec.study.name), settings))
    todo = [i for i, a in enumerate(arms) if redo or a.state != "fresh"]
    if not todo:
        return Calibration(spec.study.name, tuple(arms))  # nothing to run: nothing written
    storage = open_storage(url)
    # Training is imported only to run a test: reading a calibration must start fast.
    from hpsearch.data.encode import DataCache
    from hpsearch.search.calibration.range_test import run_range_test

    with stop_on_signals() as guard:
        cache = DataCache()
        with interrupted_while("loading the data"):
            cache.encoded_tasks(spec)  # data or tokenizer problems stop here, before a test
        for i in todo:
            arm = arms[i]
            if say is not None:
                say(_why(arm, redo, settings))
            test = run_range_test(spec, arm.arm, settings, cache)
            with guard.shielded():  # a finished test is written whole
                save_test(storage, spec.study.name, test)
            arms[i] = ArmCalibration(arm.arm, "fresh", test, ran_now=True)
    return Calibration(spec.study.name, tuple(arms))


def read_calibration(spec: Spec, storage_url: str | None = None) -> Calibration | None:
    """What the storage holds of ``spec``'s calibration, judged against its settings now;
    None when it holds no range test of the study. Only reads."""
    url = resolve_storage_url(spec, storage_url)
    tests = stored_tests(url, spec.study.name)
    if not tests:
        return None
    return Calibration(spec.study.name, judge(spec, tests))


def judge(
    spec: Spec, tests: Sequence[RangeTest], settings: RangeTestSettings | None = None
) -> tuple[ArmCalibration, ...]:
    """Each arm of ``spec`` with its latest stored test that ran under the settings the arm
    has now (``fresh``); else with its latest test (``stale``, and what changed); else
    ``missing``. ``settings``: the range test's own settings must match too (``calibrate``
    with other ``--steps``); None: any (a reader takes the test as it was run)."""
    judged = []
    for arm in calibration_arms(spec):
        own = [t for t in tests if t.arm == arm]
        fresh = [t for t in own if _is_fresh(spec, t, settings)]
        if fresh:
            judged.append(ArmCalibration(arm, "fresh", fresh[-1]))
        elif own:
            latest = own[-1]
            changes = _changes(spec, latest, settings)
            judged.append(ArmCalibration(arm, "stale", latest, changes))
        else:
            judged.append(ArmCalibration(arm, "missing", None))
    return tuple(judged)


def _is_fresh(spec: Spec, test: RangeTest, settings: RangeTestSettings | None) -> bool:
    if settings is not None and test.settings != settings:
        return False
    now = range_test_spec(spec, test.arm, test.settings)
    return test.spec_id == range_test_id(now, test.settings)


def _changes(spec: Spec, test: RangeTest, settings: RangeTestSettings | None) -> tuple[str, ...]:
    """What differs between ``test`` and the test ``spec`` would run now."""
    now = range_test_spec(spec, test.arm, test.settings)
    changes = [str(c) for c in fixed_changes(test.ran_with, now)]
    if settings is not None:
        for field in dataclasses.fields(RangeTestSettings):
            was, wanted = getattr(test.settings, field.name), getattr(settings, field.name)
            if was != wanted:
                changes.append(f"range test {field.name} was {was:g}, now {wanted:g}")
    return tuple(changes) or ("its recorded settings differ",)


def _why(arm: ArmCalibration, redo: bool, settings: RangeTestSettings) -> str:
    """The line said before an arm's range test runs."""
    ramp = (
        f"{settings.steps} steps from lr {settings.start:g} to {settings.end:g}, "
        f"{settings.evals} evaluations on {settings.eval_examples} examples"
    )
    if arm.state == "stale" and not redo:
        changed = "; ".join(arm.changes)
        return (
            f"{arm.arm.label}: its stored range test ran under other settings ({changed}): "
            f"measuring again ({ramp})"
        )
    again = " again (--redo)" if arm.state != "missing" else ""
    return f"{arm.arm.label}: range test{again}: {ramp}"


def calibrated_ranges(calibration: Calibration) -> tuple[CalibratedRange, ...]:
    """The learning-rate range of each arm of ``calibration``, for the study's space: one
    per optimizer kind, and per choice of ``optimizer.num_grads`` where M-FAC searches it.

    Raises:
        CalibrationError: an arm has no range to use (not calibrated, calibrated under
            other settings, or its range test found none); one line naming each.
    """
    ranges, problems = [], []
    for a in calibration.arms:
        label = a.arm.label
        if a.state == "missing" or a.test is None:
            problems.append(f"{label} was never calibrated")
        elif a.state == "stale":
            problems.append(f"{label} was calibrated under other settings ({'; '.join(a.changes)})")
        elif not a.test.outcome.found:
            problems.append(f"{label}: {a.test.outcome.problem}")
        else:
            outcome = a.test.outcome
            assert outcome.low is not None and outcome.high is not None
            ranges.append(CalibratedRange(a.arm.kind, a.arm.num_grads, outcome.low, outcome.high))
    if problems:
        raise CalibrationError(
            f"study {calibration.study!r} has no calibrated learning-rate range to use: "
            f"{'; '.join(problems)}"
        )
    return tuple(ranges)


def with_calibrated_ranges(spec: Spec, calibration: Calibration) -> Spec:
    """``spec`` searching its calibrated fields (``[space.train] lr = "calibrated"``) in the
    ranges of ``calibration``: an entry per optimizer kind where the study searches
    ``optimizer.kind``, and per ``num_grads`` choice where M-FAC searches it (conditional
    entries, :func:`hpsearch.spec.validate.with_conditional_ranges`, so each trial records
    the range it was drawn from as its parameter's distribution), else the field's own
    entry. Its enqueued trials must lie in them. A spec without calibrated fields is
    returned as it is.

    Raises:
        CalibrationError: an arm has no range to use (:func:`calibrated_ranges`), or an
            enqueued value lies outside its arm's range.
    """
    if not spec.calibrated:
        return spec
    kinds = isinstance(spec.space.get(KIND), Categorical)
    space = dict(spec.space)
    entries = []
    for r in calibrated_ranges(calibration):
        when = ((KIND, r.kind),) if kinds else ()
        when += ((NUM_GRADS, r.num_grads),) if r.num_grads is not None else ()
        for field in spec.calibrated:
            if when:
                entries.append(ConditionalParam(field, when, r.param()))
            else:
                space[field] = r.param()
    resolved = with_conditional_ranges(
        spec.model_copy(update={"space": space}), entries, source=spec.source
    )
    for i, trial in enumerate(spec.study.enqueue):
        try:
            resolved.enqueued(trial)
        except FieldError as e:
            raise CalibrationError(
                f"{spec.source}: `study.enqueue[{i}].{e.field}`: {e.message} (its calibrated "
                "range); enqueue a value inside it, or give the field a range of its own"
            ) from None
    return resolved


def calibrated_spec(
    spec: Spec,
    *,
    storage_url: str | None = None,
    settings: RangeTestSettings | None = None,
    say: Say | None = None,
) -> Spec:
    """``spec`` with its calibrated fields' ranges filled in (:func:`with_calibrated_ranges`),
    calibrating first whatever its storage lacks (an arm never measured, or measured under
    other settings), as :func:`calibrate` does and says; a spec without calibrated fields
    as it is. What ``run`` trains with.

    Raises:
        CalibrationError: an arm has no range to use, or an enqueued value is outside it.
        hpsearch.search.interrupts.Interrupted: on SIGINT or SIGTERM while calibrating.
    """
    if not spec.calibrated:
        return spec
    calibration = calibrate(spec, storage_url=storage_url, settings=settings, say=say)
    return with_calibrated_ranges(spec, calibration)


def read_calibrated_spec(spec: Spec, storage_url: str | None = None) -> Spec:
    """``spec`` with its calibrated fields' ranges filled in from what its storage holds,
    for readers (``compare``, ``report``), which never train; ``spec`` as it is where the
    storage gives no range to use."""
    if not spec.calibrated:
        return spec
    calibration = read_calibration(spec, storage_url)
    if calibration is None:
        return spec
    try:
        return with_calibrated_ranges(spec, calibration)
    except CalibrationError:
        return spec


@dataclass(frozen=True)
class CalibrationCost:
    """What a study's fresh range tests cost, against its trials' time."""

    tests: int
    seconds: float  # the range tests' wall seconds
    study_seconds: float | None  # the study's trials' wall seconds; None: no trial yet

    @property
    def share(self) -> float | None:
        """``seconds`` as a share of ``study_seconds``; None without trials."""
        if not self.study_seconds:
            return None
        return self.seconds / self.study_seconds


def calibration_cost(
    calibration: Calibration, trials: Sequence[FrozenTrial] = ()
) -> CalibrationCost:
    """The cost of ``calibration`` against the study's ``trials`` (their wall seconds: the
    same clock as a range test's, set-up and evaluations included)."""
    return CalibrationCost(len(calibration.tests), calibration.seconds, trial_seconds(trials))


def trial_seconds(trials: Sequence[FrozenTrial]) -> float | None:
    """The wall seconds ``trials`` ran, finished or failed; None when none did."""
    ended = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    spans = [
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.state in ended and t.datetime_start is not None and t.datetime_complete is not None
    ]
    return math.fsum(spans) if spans else None
