"""The arms of a comparison: study files checked and opened, split by optimizer, and cut to
equal tuning budgets. Nothing runs and nothing is written here.

An arm is the trials of one optimizer: a study file, or, for a study whose space searches
``optimizer.kind``, the trials of one kind. Every arm is judged on the same budget of
finished (complete + pruned) trials, on the plan's axis (``--budget-by``,
:mod:`hpsearch.compare.axes`): its first K by trial number, K the smallest arm's count
unless ``--budget`` says less; or, on the seconds or steps axis, its first trials whose
compute fits within the smallest arm's total (:mod:`hpsearch.compare.budget`).
:func:`plan_comparison` checks every input before anything is written anywhere, and fails
with one line that says what is wrong and what to run.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.compare.axes import AXES, TRIALS, BudgetAxis
from hpsearch.compare.budget import fitting, spent, trial_compute
from hpsearch.compare.top_up import ArmSpend, goal, more_trials
from hpsearch.errors import HpsearchError
from hpsearch.optim import OPTIMIZERS
from hpsearch.search.calibration.calibrating import (
    read_calibrated_spec,
    read_calibration,
    trial_seconds,
)
from hpsearch.search.calibration.model import ArmCalibration, Calibration
from hpsearch.search.runner import BUDGET_STATES
from hpsearch.search.storage import display_url
from hpsearch.search.study import StudyNotFoundError, load_study
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import KIND, Categorical, field_params
from hpsearch.wording import plural

# What identifies a task's data: arms that differ here are not on the same task. How much
# of the training split a study reads is a setting of its recipe, shown among the fixed
# settings that differ; how it truncates is not: validation examples cut at other lengths
# are other inputs, and their scores do not compare.
TASK_IDENTITY = (
    "name",
    "train_file",
    "validation_file",
    "file_format",
    "text_fields",
    "label_field",
    "label_kind",
    "label_map",
    "max_length",
    "positive_label",
    "max_eval_samples",
    "validation_fraction",
    "seed",
)


class CompareError(HpsearchError):
    """The given studies cannot be compared (different tasks, never run, too few trials)."""


@dataclass(frozen=True)
class Source:
    """A study file as the command line gives it, with ``--set`` and ``--storage`` applied."""

    spec: Spec
    label: str  # how messages name it: "study", "baseline study"
    command: str  # the `hpsearch run` command that runs it with the same settings
    baseline_of: str | None = None  # for `report`'s baseline: the study it is the baseline of

    @property
    def file(self) -> str:
        return self.spec.source


def source(
    spec: Spec,
    *,
    overrides: Sequence[str] = (),
    storage: str | None = None,
    label: str = "study",
    baseline_of: str | None = None,
) -> Source:
    """``spec`` (loaded with ``overrides``) as an input, stored in ``storage`` when given;
    a field searched in its calibrated ranges (``lr = "calibrated"``) gets them from the
    study's calibration, as ``run`` gave them to its trials."""
    if storage is not None:
        spec = spec.model_copy(update={"study": spec.study.model_copy(update={"storage": storage})})
    spec = read_calibrated_spec(spec)
    args = ["hpsearch", "run", spec.source]
    if storage is not None:
        args += ["--storage", storage]
    for item in overrides:
        args += ["--set", item]
    return Source(spec, label, shlex.join(args), baseline_of)


@dataclass(frozen=True)
class Arm:
    """The trials of one optimizer in one study."""

    name: str
    kind: str  # optimizer.kind
    source: Source
    study: optuna.Study
    finished: tuple[FrozenTrial, ...]  # every finished trial of the arm, by number
    judged: tuple[FrozenTrial, ...]  # its first `budget` finished trials
    baseline: bool
    # Its study's ladders of probes of its optimizer (hpsearch calibrate) that ran under
    # the study's settings now, one per num_grads choice where M-FAC searches it
    calibration: tuple[ArmCalibration, ...] = ()
    # What each finished trial spent on the plan's axis, in the order of `finished`
    compute: tuple[float, ...] = ()

    @property
    def spec(self) -> Spec:
        return self.source.spec

    @property
    def calibration_seconds(self) -> float | None:
        """What its probes cost (wall seconds); None: it has none."""
        return sum(a.seconds for a in self.calibration) if self.calibration else None

    @property
    def search_seconds(self) -> float | None:
        """The wall seconds of its finished trials, what its calibration is charged to;
        None where it has no calibration or no timed trial."""
        return trial_seconds(self.finished) if self.calibration else None

    @property
    def cut(self) -> tuple[FrozenTrial, ...]:
        return self.finished[len(self.judged) :]


@dataclass(frozen=True)
class Plan:
    """Arms checked and cut to one budget, the baseline first; ready to re-run."""

    arms: tuple[Arm, ...]
    # What every arm is judged within, on `axis`: K finished trials (an int), or seconds or
    # steps that each arm's judged trials add up to at most
    budget: float
    budget_requested: float | None
    notes: tuple[str, ...]  # what the budget cut, and how arms were formed
    axis: BudgetAxis = TRIALS

    @property
    def baseline(self) -> Arm:
        return self.arms[0]

    @property
    def metric(self) -> str:
        return self.baseline.spec.metric

    @property
    def maximize(self) -> bool:
        return self.baseline.spec.direction == "maximize"


def plan_comparison(
    sources: Sequence[Source],
    *,
    baseline: str | None = None,
    budget: float | None = None,
    axis: BudgetAxis = TRIALS,
) -> Plan:
    """Check ``sources`` and open their studies as arms, cut to equal budgets on ``axis``.

    Args:
        sources: the study files, the first one's arm the baseline (unless ``baseline``).
        baseline: the name of the baseline arm (``--baseline``).
        budget: the most an arm is judged on (``--budget``), in ``axis``' unit: finished
            trials (a whole number), training seconds or optimizer steps.
        axis: what the budget counts (``--budget-by``, :mod:`hpsearch.compare.axes`).

    Raises:
        CompareError: arms on different tasks, metrics or directions; a study never run, or
            with too few finished trials; an unknown ``baseline``.
        HpsearchError: on a compute axis, a finished trial that recorded no compute.
        SpecError: a study file is invalid.
    """
    if budget is not None and not budget > 0:
        raise ValueError(f"`budget > 0` must hold, but got {budget=}")
    _check_alike(sources)
    studies = [(s, _open(s)) for s in sources]
    candidates = []
    notes = []
    calibrations = {id(s): read_calibration(s.spec) for s, _ in studies}  # by source
    for s, _ in studies:
        notes += _stale_notes(s, calibrations[id(s)])
    for s, study in studies:
        split = _split(s, study, axis)
        if len(split) > 1 and any(c.finished for c in split):
            # A kind no trial of the study tried is not an arm (a testbed searching many
            # recipes may never have reached it); said, not an error.
            notes += [
                f"study {s.spec.study.name!r} has no finished trial of {_label(c.kind)}: not an arm"
                for c in split
                if not c.finished
            ]
            split = [c for c in split if c.finished]
        candidates += split
    named = list(zip(_names(candidates), candidates, strict=True))
    if baseline is not None:
        names = [name for name, _ in named]
        if baseline not in names:
            raise CompareError(f"--baseline {baseline!r} is not an arm; the arms are {names}")
        named.sort(key=lambda x: x[0] != baseline)  # stable: the others keep their order
    comparing = len(named) > 1
    named, left_out = _usable(named, comparing, budget)
    notes += left_out
    if baseline is not None and named[0][0] != baseline:
        raise CompareError(f"--baseline {baseline!r} cannot be judged: {left_out[0]}")
    unit = AXES[axis]
    smallest = min(spent(c.costs) for _, c in named)
    k = smallest if budget is None else min(budget, smallest)
    if budget is not None and budget > smallest:
        # On the trials axis: "the smallest arm's 3 finished trials: every arm is judged on 3"
        total = unit.amount(smallest) if unit.compute else plural(smallest, "finished trial")
        within = f"within {unit.amount(smallest)}" if unit.compute else f"on {smallest}"
        notes.append(
            f"--budget {budget:g} is more than the smallest arm's {total}: "
            f"every arm is judged {within}"
        )
    built = []
    for i, (name, c) in enumerate(named):
        # _usable checked that the first k of each arm hold a complete trial to re-run.
        calibration = calibrations[id(c.source)]
        fresh = () if calibration is None else calibration.of_kind(c.kind)
        judged = fitting(c.costs, k)
        arm = Arm(
            name,
            c.kind,
            c.source,
            c.study,
            c.finished,
            c.finished[:judged],
            baseline=i == 0,
            calibration=tuple(a for a in fresh if a.state == "fresh"),
            compute=c.costs,
        )
        if arm.cut:
            numbers = ", ".join(str(t.number) for t in arm.cut)
            used = ""
            if unit.compute:
                used = f" ({unit.amount(spent(c.costs[:judged]))} of {unit.amount(spent(c.costs))})"
            notes.append(
                f"{arm.name}: judged on its first {judged} of "
                f"{plural(len(arm.finished), 'finished trial')}{used}; the budget cut "
                f"{plural(len(arm.cut), 'trial')} ({numbers})"
            )
        built.append(arm)
    split = {a.source.spec.study.name for a in built if _searches_kind(a.spec)}
    notes += _top_up_hint(built, axis) if budget is None else []
    notes += [
        f"study {name!r} searches optimizer.kind: its arms are its trials of each kind"
        for name in sorted(split)
    ]
    return Plan(tuple(built), k, budget, tuple(notes), axis)


def _top_up_hint(arms: Sequence[Arm], axis: BudgetAxis) -> list[str]:
    """On a compute axis where the budget cut an arm: how many trials the arm that set the
    budget (the one that spent least) would need to reach the top-up's goal, what the
    costliest arm spent on its first ``study.n_trials`` (:mod:`hpsearch.compare.top_up`),
    so that every arm is judged on its whole search. Nothing where it has (an arm topped up
    a trial past another's total is not sent back to catch up), or where it shares its
    study with another kind (one budget for both)."""
    unit = AXES[axis]
    if not unit.compute or not any(a.cut for a in arms):
        return []
    spends = [ArmSpend(a.spec.study.name, a.spec.study.n_trials, a.compute) for a in arms]
    i = min(range(len(arms)), key=lambda i: spends[i].total)
    cheapest, spend = arms[i], spends[i]
    more = more_trials(spend, goal(spends))
    if _searches_kind(cheapest.spec) or more == 0:
        return []
    total = len(cheapest.finished) + more
    return [
        f"{cheapest.name} set the budget ({unit.amount(spend.total)}): to judge every arm on "
        f"all its trials at equal compute, run its study to about {total} trials "
        f"(`{cheapest.source.command} --n-trials {total}`, then compare again); a suite "
        "file tops up so itself"
    ]


def _stale_notes(s: Source, calibration: Calibration | None) -> list[str]:
    """A note for each arm of ``s`` probed under other settings than the study's now: not
    shown as its arm's calibration."""
    if calibration is None:
        return []
    again = s.command.replace("hpsearch run", "hpsearch calibrate", 1)
    return [
        f"study {s.spec.study.name!r}: the probes of {a.arm.label} ran under other "
        f"settings ({'; '.join(a.changes)}): not shown; `{again}` measures again"
        for a in calibration.arms
        if a.state == "stale"
    ]


def _searches_kind(spec: Spec) -> bool:
    return isinstance(spec.space.get(KIND), Categorical)


def _task_identity(spec: Spec) -> Any:
    def identity(task: Any) -> dict[str, Any]:
        return {k: getattr(task, k) for k in TASK_IDENTITY}

    if spec.is_multitask:
        return [{"key": t.key, "metric": t.metric, **identity(t)} for t in spec.tasks]
    return identity(spec.task)


def _check_alike(sources: Sequence[Source]) -> None:
    """Every arm on the first one's task, metric and direction; no study given twice."""
    first = sources[0]
    where = {}
    for s in sources:
        for what, a, b in (
            ("task", _task_identity(first.spec), _task_identity(s.spec)),
            ("study.metric", first.spec.metric, s.spec.metric),
            ("study.direction", first.spec.direction, s.spec.direction),
        ):
            if a != b:
                raise CompareError(
                    f"{first.file} and {s.file} cannot be compared: they differ in "
                    f"{_difference(what, a, b)}; compare studies of one task and metric"
                )
        key = (s.spec.study.storage, s.spec.study.name)
        if key in where:
            raise CompareError(
                f"{where[key]} and {s.file} are the same study {s.spec.study.name!r} in "
                f"{display_url(str(key[0]))}; give each arm a study of its own"
            )
        where[key] = s.file


def _difference(what: str, a: Any, b: Any) -> str:
    """``task.validation_file ('x' against 'y')``: the first field where ``a`` and ``b``
    differ (dicts of a task, or lists of them for multitask studies)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if a[key] != b.get(key):
                return f"{what}.{key} ({a[key]!r} against {b.get(key)!r})"
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for x, y in zip(a, b, strict=True):
            if x != y:
                return _difference("tasks", x, y)
    return f"{what} ({a!r} against {b!r})"


def _open(s: Source) -> optuna.Study:
    spec = s.spec
    try:
        return load_study(spec)
    except StudyNotFoundError:
        url = display_url(str(spec.study.storage))
        missing = f"no study {spec.study.name!r} in {url}; run it first: `{s.command}`"
        if s.baseline_of is not None:
            raise CompareError(
                f"the baseline of study {s.baseline_of!r} is missing: {missing}"
            ) from None
        raise CompareError(f"{s.label} {spec.study.name!r} ({s.file}): {missing}") from None


def _finished(trials: Sequence[FrozenTrial]) -> tuple[FrozenTrial, ...]:
    return tuple(sorted((t for t in trials if t.state in BUDGET_STATES), key=lambda t: t.number))


@dataclass(frozen=True)
class _Candidate:
    """An arm before it is named and cut: the finished trials of one kind of a study."""

    source: Source
    study: optuna.Study
    kind: str
    finished: tuple[FrozenTrial, ...]
    costs: tuple[float, ...]  # what each finished trial spent on the plan's axis
    axis: BudgetAxis


def _split(s: Source, study: optuna.Study, axis: BudgetAxis) -> list[_Candidate]:
    """One arm of a study, or one per kind when its space searches ``optimizer.kind``."""
    trials = study.get_trials(deepcopy=False)
    own = s.spec.optimizer.kind
    split = _searches_kind(s.spec)
    candidates = []
    for kind in s.spec.optimizer_kinds if split else [own]:
        finished = _finished(
            [t for t in trials if not split or field_params(t.params).get(KIND, own) == kind]
        )
        costs = tuple(trial_compute(t, axis, s.spec.study.name) for t in finished)
        candidates.append(_Candidate(s, study, kind, finished, costs, axis))
    return candidates


def _label(kind: str) -> str:
    return OPTIMIZERS[kind].label if kind in OPTIMIZERS else kind


def _names(candidates: Sequence[_Candidate]) -> list[str]:
    """Each arm's name: its optimizer; its study where two arms share an optimizer (and
    both where that is not enough)."""
    labels = [_label(c.kind) for c in candidates]
    studies = [c.source.spec.study.name for c in candidates]
    names = []
    for label, study in zip(labels, studies, strict=True):
        if labels.count(label) == 1:
            names.append(label)
        elif studies.count(study) == 1:
            names.append(study)
        else:
            names.append(f"{study} {label}")
    return _distinct(names, [Path(c.source.file).resolve() for c in candidates])


def _distinct(names: list[str], files: list[Path]) -> list[str]:
    """``names`` with each one that two arms share told apart by its study file: as many
    of the path's last parts as it takes (studies of one name in two folders,
    ``AdamW (a/adam.toml)``, ``AdamW (b/adam.toml)``)."""
    out = list(names)
    for name in dict.fromkeys(names):
        same = [i for i, n in enumerate(names) if n == name]
        if len(same) < 2:
            continue
        for parts in range(1, max(len(files[i].parts) for i in same) + 1):
            tails = [Path(*files[i].parts[-parts:]).as_posix() for i in same]
            if len(set(tails)) == len(tails):
                break
        for i, tail in zip(same, tails, strict=True):
            out[i] = f"{name} ({tail})"
    return out


def _which(c: _Candidate) -> str:
    """How messages name an arm's trials: ``study 'x'``, ``the AdamW trials of study 'x'``."""
    s = c.source
    which = f"{s.label} {s.spec.study.name!r}"
    return f"the {_label(c.kind)} trials of {which}" if _searches_kind(s.spec) else which


def _usable(
    named: list[tuple[str, _Candidate]], comparing: bool, budget: float | None
) -> tuple[list[tuple[str, _Candidate]], list[str]]:
    """The arms that can be judged, and a note for each kind of a study searching
    ``optimizer.kind`` that cannot (no complete trial; one finished trial where arms are
    compared; every trial within the budget pruned): the sampler chose how often it tried
    each kind, so such a kind is left out and said, not an error, while the study keeps an
    arm. An arm that is a study file of its own must be usable.

    Raises:
        CompareError: an arm of its own, or every arm of a study, cannot be judged.
    """
    notes = []
    while True:
        kept, dropped = [], []
        k = _budget(named, budget)
        for name, c in named:
            problem = _problem(name, c, comparing, k)
            siblings = [(n, o) for n, o in named if o.source is c.source and o is not c]
            if problem is None:
                kept.append((name, c))
            elif _searches_kind(c.source.spec) and any(
                _problem(n, o, comparing, k) is None for n, o in siblings
            ):
                dropped.append(f"left out of the comparison: {problem}")
            else:
                raise CompareError(problem)
        if not dropped:
            return kept, notes
        notes += dropped
        named = kept  # the budget may grow without the dropped arms: check again


def _budget(named: list[tuple[str, _Candidate]], budget: float | None) -> float:
    """What every arm is judged within: the smallest total among the arms that have
    finished trials (an arm with none is named for itself by :func:`_check_trials`, not
    taken as cutting the others to nothing), at most ``budget``."""
    totals = [spent(c.costs) for _, c in named if c.finished]
    return min(totals + ([budget] if budget else []), default=0)


def _problem(name: str, c: _Candidate, comparing: bool, k: float) -> str | None:
    """Why arm ``c`` (named ``name``) cannot be judged on its first finished trials within
    budget ``k``; None: it can."""
    try:
        _check_trials(c, comparing)
    except CompareError as e:
        return str(e)
    judged = c.finished[: fitting(c.costs, k)]
    if not judged:  # a compute axis: its first trial spent more than another arm's all
        unit = AXES[c.axis]
        return (
            f"{name}: its first finished trial ({c.finished[0].number}) spent "
            f"{unit.amount(c.costs[0])}, more than the budget of {unit.amount(k)} "
            f"(--budget-by {c.axis}), so there is no trial to judge; raise --budget, run more "
            f"trials of the other arms, or judge by --budget-by trials"
        )
    if not any(t.state == TrialState.COMPLETE for t in judged):
        numbers = ", ".join(str(t.number) for t in judged)
        return (
            f"{name}: its first {plural(len(judged), 'finished trial')} ({numbers}) were all "
            f"pruned, so there is no config to re-run; raise --budget or run more trials: "
            f"`{c.source.command}`"
        )
    return None


def _check_trials(c: _Candidate, comparing: bool) -> None:
    """An arm needs a complete trial to re-run, and two finished ones to be compared."""
    n = len(c.finished)
    complete = sum(t.state == TrialState.COMPLETE for t in c.finished)
    command = c.source.command
    more = f"{command} --n-trials {n + 2}" if comparing and n else command
    has = "have" if _searches_kind(c.source.spec) else "has"  # "the SGD trials of ..."
    if complete == 0:
        raise CompareError(
            f"{_which(c)} {has} no complete trial to report on yet; run it first: `{more}`"
        )
    if comparing and n < 2:
        raise CompareError(
            f"{_which(c)} {has} {n} finished trial; comparing needs at least 2 per arm: "
            f"run more: `{more}`"
        )


def results_folder(sources: Sequence[Source], name: str | None) -> tuple[str, Path]:
    """The comparison's name and folder: ``results/<name>/`` beside the first study file;
    the name defaults to the studies' names joined with ``-vs-``."""
    if name is None:
        studies = list(dict.fromkeys(s.spec.study.name for s in sources))
        if len(sources) > 1 and len(studies) < len(sources):
            # Studies of one name in different storages: each said with its folder's name,
            # or its file's where the folders' names agree.
            files = [Path(s.file).resolve() for s in sources]
            folders = [f.parent.name for f in files]
            told = folders if len(set(folders)) == len(folders) else [f.stem for f in files]
            studies = [f"{t}-{s.spec.study.name}" for t, s in zip(told, sources, strict=True)]
        name = "-vs-".join(studies) if len(studies) > 1 else f"{studies[0]}-by-optimizer"
    return name, Path(sources[0].file).resolve().parent / "results" / name
