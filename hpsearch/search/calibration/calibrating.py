"""Calibrating a study: a ladder of probes per arm, kept in the study's storage; reading
what is kept; the ranges a study's space takes from it; what it cost.

:func:`calibrate` walks each arm's ladder (:func:`hpsearch.search.calibration.rule.walk`)
over the probes its storage holds, running only those it lacks (every one with ``redo``)
and keeping each as it ends; the walk is a function of the probes' verdicts, so walking it
again over what is kept takes the same steps: running it again resumes where it stopped,
and with nothing missing trains nothing and writes nothing. A stored probe is the arm's
only while it ran under the settings the study has now (its fingerprint,
:func:`~hpsearch.search.calibration.arms.probe_id`): a probe made under others is
``stale``, named with what changed, and never used silently.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from hpsearch.errors import HpsearchError
from hpsearch.search.calibration.arms import (
    KIND,
    MODE,
    NUM_GRADS,
    by_mode,
    calibration_arms,
    probe_id,
    probe_spec,
)
from hpsearch.search.calibration.model import (
    ArmCalibration,
    CalibratedRange,
    Calibration,
    CalibrationArm,
    Outcome,
    Probe,
    ProbeSettings,
)
from hpsearch.search.calibration.rule import choose, grid_index, next_start, short_lr, walk
from hpsearch.search.calibration.store import save_probe, stored_probes
from hpsearch.search.drift import fixed_changes
from hpsearch.search.interrupts import interrupted_while, stop_on_signals
from hpsearch.search.storage import open_storage
from hpsearch.search.study import resolve_storage_url
from hpsearch.spec.schema import FieldError, Spec
from hpsearch.spec.space import CALIBRATED, Categorical, ConditionalParam
from hpsearch.spec.validate import with_conditional_ranges

Say = Callable[[str], None]  # a line for the user, about what calibrate does
Runner = Callable[[CalibrationArm, float], Probe]  # runs (and keeps) an arm's probe at an lr


class CalibrationError(HpsearchError):
    """A study has no calibrated learning-rate range to use for some arm."""


class _Missing(Exception):
    """A reader's walk reached a probe the storage lacks."""


def calibrate(
    spec: Spec,
    *,
    storage_url: str | None = None,
    settings: ProbeSettings | None = None,
    redo: bool = False,
    say: Say | None = None,
) -> Calibration:
    """Walk the ladder of each of ``spec``'s arms, running the probes its storage lacks
    (every one with ``redo``) with ``settings``; each is stored as it ends.

    Raises:
        hpsearch.search.interrupts.Interrupted: on SIGINT or SIGTERM; the probes that ended
            are kept, and the same call resumes.
    """
    settings = settings or ProbeSettings()
    url = resolve_storage_url(spec, storage_url)
    stored = stored_probes(url, spec.study.name)
    before = ladders(spec, stored, settings)
    if not redo and all(a.state == "fresh" for a in before):
        return Calibration(spec.study.name, before)  # nothing to run: nothing written
    storage = open_storage(url)
    # Training is imported only to run a probe: reading a calibration must start fast.
    from hpsearch.data.encode import DataCache
    from hpsearch.search.calibration.probe import run_probe

    told: set[CalibrationArm] = set()
    states = {a.arm: a for a in before}

    with stop_on_signals() as guard:
        cache = DataCache()
        with interrupted_while("loading the data"):
            cache.encoded_tasks(spec)  # data or tokenizer problems stop here, before a probe

        def run(arm: CalibrationArm, lr: float) -> Probe:
            if say is not None and arm not in told:
                told.add(arm)
                say(_why(states[arm], redo, settings))
            probe = run_probe(spec, arm, lr, settings, cache)
            with guard.shielded():  # a finished probe is written whole
                save_probe(storage, spec.study.name, probe)
            if say is not None:
                say(probe_line(probe))
            return probe

        arms = ladders(spec, [] if redo else stored, settings, run)
    return Calibration(spec.study.name, arms)


def read_calibration(spec: Spec, storage_url: str | None = None) -> Calibration | None:
    """What the storage holds of ``spec``'s calibration, judged against its settings now;
    None when it holds no probe of the study. Only reads."""
    url = resolve_storage_url(spec, storage_url)
    probes = stored_probes(url, spec.study.name)
    if not probes:
        return None
    return Calibration(spec.study.name, ladders(spec, probes))


def ladders(
    spec: Spec,
    probes: Sequence[Probe],
    settings: ProbeSettings | None = None,
    run: Runner | None = None,
) -> tuple[ArmCalibration, ...]:
    """Each arm of ``spec`` with its ladder walked over ``probes`` (oldest first; at an lr
    the newest counts) that ran under the settings the arm has now: ``fresh`` when the walk
    ends; where it needs a probe ``probes`` lack, ``run`` runs it, and without ``run`` the
    arm is ``partial`` (some of its walk's probes kept), ``stale`` (its probes ran under
    other settings: what changed) or ``missing``. ``settings``: the probes' own settings
    must match too (``calibrate`` with other ``--epochs``); None: each arm's newest probe's
    (a reader takes the probes as they were run)."""
    judged = []
    # By kind and mode: its last arm's num_grads and outcome. A mode's first arm starts at
    # START: no rule relates one mode's lr to another's, and the ladder walks both ways.
    last: dict[tuple[str, str | None], tuple[int | None, Outcome | None]] = {}
    probes = [_as_arm_of(spec, p) for p in probes]
    for arm in calibration_arms(spec):
        own = [p for p in probes if p.arm == arm]
        wanted = settings or (own[-1].settings if own else ProbeSettings())
        fresh = {grid_index(p.lr): p for p in own if _is_fresh(spec, p, wanted)}
        m_last, outcome_last = last.get((arm.kind, arm.mode), (None, None))
        start = next_start(outcome_last, m_last, arm.num_grads)
        taken, ran, ended = _walk(arm, start, fresh, run)
        if not ended:
            judged.append(_unfinished(spec, arm, own, fresh, taken, settings))
            last[arm.kind, arm.mode] = (arm.num_grads, None)
            continue
        outcome = choose(taken, maximize=spec.direction == "maximize")
        judged.append(ArmCalibration(arm, "fresh", tuple(taken), outcome, ran_now=ran))
        last[arm.kind, arm.mode] = (arm.num_grads, outcome)
    return tuple(judged)


def _as_arm_of(spec: Spec, probe: Probe) -> Probe:
    """``probe`` under the arm it counts for in ``spec``: its finetune mode in the arm where
    ``spec``'s arms are one per mode, none where they are not. A probe stored before arms
    had a mode, or of a study that fixed the mode, ran at the mode its settings record; the
    fingerprint then decides whether it is that arm's (:func:`_is_fresh`)."""
    mode = _ran_mode(probe) if by_mode(spec) else None
    if probe.arm.mode == mode:
        return probe
    arm = dataclasses.replace(probe.arm, mode=mode)
    return dataclasses.replace(probe, arm=arm)


def _ran_mode(probe: Probe) -> str | None:
    """The finetune mode ``probe`` trained with."""
    if probe.arm.mode is not None:
        return probe.arm.mode
    mode = probe.ran_with.get("finetune", {}).get("mode")
    return None if mode is None else str(mode)


def _walk(
    arm: CalibrationArm, start: float, fresh: dict[int, Probe], run: Runner | None
) -> tuple[list[Probe], int, bool]:
    """``arm``'s walk from ``start`` over the ``fresh`` probes by grid point, ``run``
    running those missing: its probes in order, how many ran, and whether it ended (no:
    a probe was missing and there is no ``run``)."""
    taken: list[Probe] = []
    ran = 0

    def probe(lr: float) -> Probe:
        nonlocal ran
        found = fresh.get(grid_index(lr))
        if found is None:
            if run is None:
                raise _Missing
            found = run(arm, lr)
            ran += 1
        taken.append(found)
        return found

    try:
        walk(start, probe)
    except _Missing:
        return taken, ran, False
    return taken, ran, True


def _unfinished(
    spec: Spec,
    arm: CalibrationArm,
    own: Sequence[Probe],
    fresh: dict[int, Probe],
    taken: Sequence[Probe],
    settings: ProbeSettings | None,
) -> ArmCalibration:
    """An arm whose walk needs a probe that is not stored (see :func:`ladders`)."""
    if fresh:
        return ArmCalibration(arm, "partial", tuple(taken) or tuple(fresh.values()))
    if own:
        return ArmCalibration(arm, "stale", changes=_changes(spec, own[-1], settings))
    return ArmCalibration(arm, "missing")


def _is_fresh(spec: Spec, probe: Probe, settings: ProbeSettings) -> bool:
    if probe.settings != settings:
        return False
    now = probe_spec(spec, probe.arm, probe.settings, probe.lr)
    return probe.spec_id == probe_id(now, probe.settings)


def _changes(spec: Spec, probe: Probe, settings: ProbeSettings | None) -> tuple[str, ...]:
    """What differs between ``probe`` and the probe ``spec`` would run now."""
    now = probe_spec(spec, probe.arm, probe.settings, probe.lr)
    changes = [str(c) for c in fixed_changes(probe.ran_with, now)]
    if settings is not None:
        for field in dataclasses.fields(ProbeSettings):
            was, wanted = getattr(probe.settings, field.name), getattr(settings, field.name)
            if was != wanted:
                changes.append(f"probe {field.name} was {was}, now {wanted}")
    return tuple(changes) or ("its recorded settings differ",)


def _why(arm: ArmCalibration, redo: bool, settings: ProbeSettings) -> str:
    """The line said before an arm's first new probe."""
    how = (
        f"probes of {settings.epochs} epoch{'s' if settings.epochs > 1 else ''} each at "
        f"fixed lrs, each scored on at most {settings.eval_samples} validation examples"
    )
    label = arm.arm.label
    if redo:
        return f"{label}: its ladder again (--redo): {how}"
    if arm.state == "stale":
        changed = "; ".join(arm.changes)
        return (
            f"{label}: its stored probes ran under other settings ({changed}): measuring "
            f"again ({how})"
        )
    if arm.state == "partial":
        return f"{label}: resuming its ladder ({len(arm.probes)} probes kept): {how}"
    return f"{label}: {how}"


def probe_line(probe: Probe) -> str:
    """``AdamW: lr 1e-3: learned, accuracy 0.7512 (94 steps, 41.2 s)``."""
    metric = "" if probe.metric is None else f", {probe.metric_name} {probe.metric:.4f}"
    spent = f"{probe.steps} steps, {probe.seconds:.1f} s"
    return f"{probe.arm.label}: lr {short_lr(probe.lr)}: {probe.verdict}{metric} ({spent})"


def calibrated_ranges(calibration: Calibration) -> tuple[CalibratedRange, ...]:
    """The learning-rate range of each arm of ``calibration``, for the study's space: one
    per optimizer kind, per choice of ``optimizer.num_grads`` where M-FAC searches it, and
    per choice of ``finetune.mode`` where the study searches it.

    Raises:
        CalibrationError: an arm has no range to use (not calibrated, calibrated in part or
            under other settings, or no probe of it learned); one line naming each.
    """
    ranges, problems = [], []
    for a in calibration.arms:
        label = a.arm.label
        if a.state == "missing":
            problems.append(f"{label} was never calibrated")
        elif a.state == "partial":
            problems.append(f"{label}'s calibration is unfinished ({len(a.probes)} probes kept)")
        elif a.state == "stale":
            problems.append(f"{label} was calibrated under other settings ({'; '.join(a.changes)})")
        elif a.outcome is None or a.outcome.low is None or a.outcome.high is None:
            problem = "no range" if a.outcome is None else a.outcome.problem
            problems.append(f"{label}: {problem}")
        else:
            o = a.outcome
            ranges.append(
                CalibratedRange(a.arm.kind, a.arm.num_grads, o.low, o.high, o.best_lr, a.arm.mode)
            )
    if problems:
        raise CalibrationError(
            f"study {calibration.study!r} has no calibrated learning-rate range to use: "
            f"{'; '.join(problems)}"
        )
    return tuple(ranges)


def with_calibrated_ranges(spec: Spec, calibration: Calibration) -> Spec:
    """``spec`` searching its calibrated fields (``[space.train] lr = "calibrated"``) in the
    ranges of ``calibration``: an entry per optimizer kind where the study searches
    ``optimizer.kind``, per ``num_grads`` choice where M-FAC searches it, and per
    ``finetune.mode`` choice where the study searches it (conditional entries,
    :func:`hpsearch.spec.validate.with_conditional_ranges`, so each trial records the range
    it was drawn from as its parameter's distribution:
    ``train.lr|optimizer.kind=adamw|finetune.mode=frozen``), else the field's own entry.
    Its enqueued trials must lie in them. A spec without calibrated fields is returned as
    it is.

    Raises:
        CalibrationError: an arm has no range to use (:func:`calibrated_ranges`), or an
            enqueued value lies outside its arm's range.
    """
    if not spec.calibrated:
        return spec
    kinds = isinstance(spec.space.get(KIND), Categorical)
    space = dict(spec.space)
    entries = []
    ranges = calibrated_ranges(calibration)
    for r in ranges:
        when = ((KIND, r.kind),) if kinds else ()
        when += ((NUM_GRADS, r.num_grads),) if r.num_grads is not None else ()
        when += ((MODE, r.mode),) if r.mode is not None else ()
        for field in spec.calibrated:
            if when:
                entries.append(ConditionalParam(field, when, r.param()))
            else:
                space[field] = r.param()
    resolved = with_conditional_ranges(
        spec.model_copy(update={"space": space}), entries, source=spec.source
    )
    enqueue = [_at_best(trial, i, spec, ranges) for i, trial in enumerate(spec.study.enqueue)]
    for i, trial in enumerate(enqueue):
        try:
            resolved.enqueued(trial)
        except FieldError as e:
            raise CalibrationError(
                f"{spec.source}: `study.enqueue[{i}].{e.field}`: {e.message} (its calibrated "
                'range); enqueue a value inside it, "calibrated" (its best probe\'s lr), or '
                "give the field a range of its own"
            ) from None
    study = resolved.study.model_copy(update={"enqueue": enqueue})
    return resolved.model_copy(update={"study": study})


def _at_best(
    trial: Mapping[str, Any], i: int, spec: Spec, ranges: tuple[CalibratedRange, ...]
) -> dict[str, Any]:
    """Enqueued ``trial`` with each calibrated field written ``"calibrated"`` at the lr of its
    arm's best probe (the range the trial's optimizer kind, num_grads and finetune mode
    select).

    Raises:
        CalibrationError: the trial leaves its arm open (M-FAC's num_grads, or the finetune
            mode, searched among ranges and not set in it).
    """
    out = dict(trial)
    for field in spec.calibrated:
        if out.get(field) != CALIBRATED:
            continue
        kind = out.get(KIND, spec.optimizer.kind)
        fits = [r for r in ranges if r.kind == kind]
        for decider, attr, fixed in (
            (NUM_GRADS, "num_grads", getattr(spec.optimizer, "num_grads", None)),
            (MODE, "mode", spec.finetune.mode),
        ):
            if all(getattr(r, attr) is None for r in fits):
                continue
            if decider not in out and decider in spec.space:
                raise CalibrationError(
                    f'{spec.source}: `study.enqueue[{i}].{field}`: "{CALIBRATED}" takes the '
                    f"best lr of the trial's {attr}, which it leaves to the sampler; set "
                    f"{decider} in it too"
                )
            fits = [r for r in fits if getattr(r, attr) == out.get(decider, fixed)]
        if fits and fits[0].best is not None:
            out[field] = fits[0].best
    return out


def calibrated_spec(
    spec: Spec,
    *,
    storage_url: str | None = None,
    settings: ProbeSettings | None = None,
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
    """What a study's fresh probes cost, against its trials' time."""

    probes: int
    seconds: float  # the probes' wall seconds
    steps: int  # the probes' optimizer steps
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
    same clock as a probe's, set-up and evaluations included)."""
    return CalibrationCost(
        len(calibration.probes), calibration.seconds, calibration.steps, trial_seconds(trials)
    )


def trial_seconds(trials: Sequence[FrozenTrial]) -> float | None:
    """The wall seconds ``trials`` ran, finished or failed; None when none did."""
    ended = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    spans = [
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.state in ended and t.datetime_start is not None and t.datetime_complete is not None
    ]
    return math.fsum(spans) if spans else None
