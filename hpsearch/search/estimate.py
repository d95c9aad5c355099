"""How long a study, or a comparison's seed re-runs, will take, and the most memory M-FAC's
gradient buffer will ask for: typed estimates that the command line prints.

Both come from the record of the study's finished trials, never from a warm-up run
(docs/search.md says why):

- **time**: a trial takes what its study's finished trials took, wall clock from start to
  end (loading, training, evaluations; a pruned trial's shorter run counts as the pruner
  will cut later trials too): the median of them. Trials still to run × that median /
  workers; a trial running now counts as partly done, and one whose worker died (its
  heartbeat silent too long) as not begun, since it is run again (:func:`eta_seconds`). With no
  finished trial there is no estimate yet; the first one gives it. A seed re-run takes
  what the trial it re-runs took (:func:`rerun_estimate`), since re-runs are never pruned.
- **memory**: M-FAC keeps ``num_grads`` gradients of the trainable parameters
  (:func:`hpsearch.optim.mfac.mfac_buffer_bytes`). A finished M-FAC trial's optimizer
  state, per gradient, times the largest ``num_grads`` the study can ask for; before one,
  the trainable parameters a finished trial recorded, stored dense (an upper bound: M-FAC
  keeps the word embedding's gradient rows row-sparse when that is smaller). A re-run's
  is what the trial it re-runs recorded.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.optim import OPTIMIZERS
from hpsearch.search.liveness import Heartbeat, silent_seconds
from hpsearch.search.record import RunCost, ran_on, read_record, seed_run
from hpsearch.search.reseed import rerun_key
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import candidate_values, field_params

__all__ = [
    "Estimate",
    "MfacBuffer",
    "eta_seconds",
    "rerun_estimate",
    "study_estimate",
    "trial_seconds",
]

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_BYTES = {"float32": 4, "bfloat16": 2, "float64": 8}  # M-FAC's buffer_dtype, per number
_MFAC_DEFAULTS = OPTIMIZERS["mfac"].hparams  # what a study that sets nothing gets


@dataclass(frozen=True)
class MfacBuffer:
    """The largest gradient buffer an M-FAC trial of the study may allocate."""

    bytes: int
    num_grads: int  # the largest num_grads the study can ask for
    source: str  # what the bytes per gradient come from, as a phrase


@dataclass(frozen=True)
class Estimate:
    """What is left to run, and how long it takes by the record of finished trials.

    ``seconds`` is None when nothing finished yet to base it on; ``basis`` says what it
    rests on, as a phrase (``"median of 3 finished trials, 41 s each"``).
    """

    runs: int  # trials (or re-runs) still to run
    seconds: float | None  # all of them, ``workers`` at a time
    basis: str
    workers: int = 1
    ran_on: tuple[str, ...] = ()  # where the finished trials trained: "cpu, bf16"
    mfac: MfacBuffer | None = None  # None: the study runs no M-FAC, or nothing recorded yet
    peak_memory_bytes: int | None = None  # the largest peak a finished trial recorded


def trial_seconds(trial: FrozenTrial) -> float | None:
    """Wall seconds from ``trial``'s start to its end; None if it has not both."""
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def typical_seconds(trials: Iterable[FrozenTrial]) -> tuple[float | None, int]:
    """The median wall seconds of the finished (complete or pruned) ``trials``, and how
    many there were; (None, 0) when none finished."""
    seconds = [s for t in trials if t.state in FINISHED and (s := trial_seconds(t)) is not None]
    return (statistics.median(seconds) if seconds else None), len(seconds)


def eta_seconds(
    trials: Sequence[FrozenTrial],
    budget: int,
    workers: int = 1,
    now: dt.datetime | None = None,
    grace: float = Heartbeat().grace,
) -> float | None:
    """Seconds until ``budget`` trials of a study are finished, by its ``trials`` so far.

    The trials not yet started take the median finished trial's time; a running one the
    rest of it (at least nothing). A running trial whose heartbeat has been silent for
    more than ``grace`` seconds is counted whole: its worker died, and the next sweep
    fails it and queues it again (:mod:`hpsearch.search.liveness`). They run ``workers``
    at a time (or as many as run now, if more). None when no trial finished yet.
    """
    typical, _ = typical_seconds(trials)
    if typical is None:
        return None
    now = now or dt.datetime.now()
    finished = sum(t.state in FINISHED for t in trials)
    running = [t for t in trials if t.state == TrialState.RUNNING]
    alive = [t for t in running if silent_seconds(t, now.timestamp()) <= grace]
    left = max(0, budget - finished - len(alive))
    started = [t.datetime_start for t in alive if t.datetime_start is not None]
    rest = sum(max(0.0, typical - (now - s).total_seconds()) for s in started)
    rest += typical * (len(alive) - len(started))
    return (left * typical + rest) / max(1, workers, len(alive))


def study_estimate(
    spec: Spec, trials: Sequence[FrozenTrial], budget: int, workers: int = 1
) -> Estimate:
    """The time the rest of ``spec``'s study takes, from its ``trials`` so far (none for a
    new study), with ``workers`` at a time, and the memory it asks for."""
    typical, count = typical_seconds(trials)
    finished = sum(t.state in FINISHED for t in trials)
    runs = max(0, budget - finished)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    costs = _costs(complete, spec.metric)
    if typical is None:
        basis = "no finished trial yet"
    else:
        each = f"{typical:.0f} s each"
        basis = f"median of {count} finished trial{'s' if count > 1 else ''}, {each}"
    return Estimate(
        runs=runs,
        seconds=eta_seconds(trials, budget, workers),
        basis=basis,
        workers=workers,
        ran_on=_ran_on(costs),
        mfac=mfac_buffer(spec, complete),
        peak_memory_bytes=_peak(costs),
    )


def rerun_estimate(
    reruns: Sequence[tuple[Spec, optuna.Study, Sequence[FrozenTrial]]], seeds: Sequence[int]
) -> Estimate:
    """The time the seed re-runs still to run take: each (config, seed) pair of ``reruns``
    (a study's spec, the study, the trials to re-run) that its companion study has not
    finished, as long as the trial it re-runs took. One at a time, as a comparison runs
    them."""
    pending: dict[tuple[str, int, int], float | None] = {}
    costs: list[RunCost] = []
    for spec, study, trials in reruns:
        done = _finished_reruns(study)
        costs += _costs(trials, spec.metric)
        for t in trials:
            for seed in seeds:
                if (t.number, seed) not in done:
                    pending[study.study_name, t.number, seed] = trial_seconds(t)
    known = [s for s in pending.values() if s is not None]
    seconds = sum(known) if len(known) == len(pending) else None
    if not pending:
        basis = "every re-run finished already"
    elif seconds is None:
        basis = "some trials to re-run have no recorded time"
    else:
        basis = "each as long as the trial it re-runs took"
    mfac = [m for spec, _, trials in reruns for t in trials if (m := _kept(spec, t)) is not None]
    return Estimate(
        runs=len(pending),
        seconds=seconds,
        basis=basis,
        ran_on=_ran_on(costs),
        mfac=max(mfac, key=lambda m: m.bytes, default=None),
        peak_memory_bytes=_peak(costs),
    )


def _finished_reruns(study: optuna.Study) -> set[tuple[int, int]]:
    """(source trial, seed) of every complete re-run of ``study`` in its companion study
    (the attrs :mod:`hpsearch.search.reseed` writes); none before the first."""
    # Here, not above: the re-runs' module imports training (torch), which the run's
    # progress, reading only eta_seconds, must not pay for.
    from hpsearch.search.reseed import reseed_name

    try:
        companion = optuna.load_study(
            study_name=reseed_name(study.study_name), storage=study._storage
        )
    except KeyError:
        return set()
    done = set()
    for t in companion.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        key = rerun_key(t, study.study_name)
        if key is not None:
            done.add(key)
    return done


def mfac_buffer(spec: Spec, complete: Sequence[FrozenTrial]) -> MfacBuffer | None:
    """The largest M-FAC buffer a trial of ``spec`` may allocate, from its ``complete``
    trials' record; None when the study runs no M-FAC or no trial recorded its size."""
    num_grads = _largest_num_grads(spec)
    if num_grads is None:
        return None
    for t in complete:
        kept = _kept(spec, t)
        if kept is not None:
            # The buffer, and the momentum vector if any (at most one gradient more).
            per_grad = kept.bytes / kept.num_grads
            source = f"as trial {t.number}'s buffer of {kept.num_grads} gradients"
            return MfacBuffer(round(per_grad * num_grads), num_grads, source)
    for t in complete:
        trainable = read_record(t).trainable_params
        if trainable:
            dtype = str(_value(spec, t, "optimizer.buffer_dtype") or _MFAC_DEFAULTS["buffer_dtype"])
            size = int(trainable) * _BYTES.get(dtype, 4) * num_grads
            source = f"stored dense, {int(trainable):,} trainable numbers as in trial {t.number}"
            return MfacBuffer(size, num_grads, source)
    return None


def _kept(spec: Spec, trial: FrozenTrial) -> MfacBuffer | None:
    """The M-FAC buffer a re-run of ``trial`` allocates: the one the trial recorded (the
    same config, the same buffer); None for another optimizer or no record."""
    if _value(spec, trial, "optimizer.kind") != "mfac":
        return None
    state = seed_run(trial, 0, spec.metric).cost.optimizer_state_bytes
    grads = _value(spec, trial, "optimizer.num_grads") or _MFAC_DEFAULTS["num_grads"]
    if not state or not isinstance(grads, int) or grads < 1:
        return None
    return MfacBuffer(state, grads, f"trial {trial.number}'s, re-run as it ran")


def _largest_num_grads(spec: Spec) -> int | None:
    """The most gradients an M-FAC trial of ``spec`` keeps; None if it runs no M-FAC."""
    kinds = spec.space.get("optimizer.kind")
    runs_mfac = spec.optimizer.kind == "mfac" or (
        kinds is not None and "mfac" in candidate_values(kinds)
    )
    if not runs_mfac:
        return None
    searched = spec.space.get("optimizer.num_grads")
    if searched is not None:
        return int(max(candidate_values(searched)))
    return int(spec.optimizer.hparams.get("num_grads", _MFAC_DEFAULTS["num_grads"]))


def _value(spec: Spec, trial: FrozenTrial, name: str) -> object:
    """``name``'s value in ``trial``: its param if searched, else ``spec``'s fixed one."""
    params = field_params(trial.params)
    if name in params:
        return params[name]
    section, field = name.split(".", 1)
    if section == "optimizer" and field != "kind":
        return spec.optimizer.hparams.get(field)
    return spec.value(name)


def _ran_on(costs: Iterable[RunCost]) -> tuple[str, ...]:
    return tuple(sorted({ran_on(c.device, c.precision) for c in costs if c.device is not None}))


def _peak(costs: Iterable[RunCost]) -> int | None:
    peaks = [c.peak_memory_bytes for c in costs if c.peak_memory_bytes is not None]
    return max(peaks, default=None)


def _costs(trials: Iterable[FrozenTrial], metric: str) -> list[RunCost]:
    """What the complete ``trials`` recorded they cost."""
    return [seed_run(t, 0, metric).cost for t in trials if t.value is not None]
