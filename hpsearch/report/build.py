"""Building a report: a study and its baseline → their comparison → a :class:`Report`.

``hpsearch report STUDY`` is ``hpsearch compare`` of the study's baseline (its
``study.baseline``) and the study, or of the study alone when it names none, plus what only a
report shows: the learning schemes and a multitask study's per-task table (each row's config
re-run over the comparison's seeds), and the search's trials for the plots. Nothing here
prints, draws or writes files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import optuna
from optuna.trial import TrialState

from hpsearch.compare.arms import Arm, Plan, Source, plan_comparison, source
from hpsearch.compare.comparison import Reruns, build_comparison
from hpsearch.compare.comparison import planned_reruns as comparison_reruns
from hpsearch.compare.model import Comparison, Role
from hpsearch.compare.settings import checked
from hpsearch.data.encode import DataCache
from hpsearch.report.importance import param_importances
from hpsearch.report.labels import importance_note
from hpsearch.report.model import (
    REPORT_VERSION,
    MultitaskTable,
    Report,
    SchemeRow,
    StudyTrials,
    TrialPoint,
)
from hpsearch.report.multitask import multitask_table
from hpsearch.report.schemes import scheme_table
from hpsearch.report.seeded import seed_rows
from hpsearch.search.leaderboard import state_name
from hpsearch.search.progress import Progress
from hpsearch.search.record import evaluated
from hpsearch.spec.load import load_spec
from hpsearch.spec.schema import Spec
from hpsearch.wording import shown_path


def report_sources(
    spec: Spec, *, overrides: Sequence[str] = (), storage: str | None = None
) -> list[Source]:
    """The inputs of ``report``: the baseline study first (when ``spec`` names one), then
    the study; ``overrides`` and ``storage`` apply to both.

    Raises:
        SpecError: the baseline's study file is invalid.
    """
    study = source(spec, overrides=overrides, storage=storage)
    if spec.study.baseline is None:
        return [study]
    baseline = source(
        load_spec(spec.study.baseline, overrides),
        overrides=overrides,
        storage=storage,
        label="baseline study",
        baseline_of=spec.study.name,
    )
    return [baseline, study]


def report_study(
    spec: Spec,
    *,
    seeds: int = 5,
    top: int = 1,
    budget: int | None = None,
    target: float | None = None,
    overrides: Sequence[str] = (),
    storage: str | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    allow_drift: bool = False,
) -> Report:
    """The report of study ``spec``: its baseline and it planned as arms (every input
    checked before anything is written), ``on_plan(plan)`` called before any re-run (the
    command line shows the spaces there), then compared, its schemes' and multitask rows'
    configs re-run with the same seeds, and reported.

    Raises:
        CompareError: a study was never run, has too few trials, or differs in its task.
        SpecDriftError: a study file's fixed settings differ from its judged trials' (unless
            ``allow_drift``: then each config is re-run under its own, and the notes say so).
        ReseedError: a re-run failed; the finished ones are kept for the next call.
    """
    plan = plan_comparison(
        report_sources(spec, overrides=overrides, storage=storage), budget=budget
    )
    plan = checked(plan, allow_drift=allow_drift)
    if on_plan is not None:
        on_plan(plan)
    cache = DataCache()  # every re-run reads the same task: tokenize once
    comparison = build_comparison(
        plan,
        seeds=seeds,
        top=top,
        target=target,
        shown=spec.shown_metrics,
        cache=cache,
        progress=progress,
    )
    main = _main_arm(plan)
    schemes, multitask, notes = seed_rows(
        main.spec,
        main.study,
        scheme_table(spec, main.study),
        multitask_table(spec, main.study),
        comparison.seeds,
        cache=cache,
        progress=progress,
        # The same re-runs as the comparison's configs: their notes are said there.
        noted={c.trial for c in comparison.configs if c.study == main.spec.study.name},
    )
    report = build_report(spec, plan, comparison, schemes=schemes, multitask=multitask)
    return replace(report, notes=(*report.notes, *notes))


def planned_reruns(spec: Spec, plan: Plan, top: int) -> Reruns:
    """The trials :func:`report_study` re-runs: the comparison's (each arm's ``top`` best),
    then those of the study's learning schemes and per-task rows, each with its spec and
    study (for :func:`hpsearch.search.estimate.rerun_estimate`, which counts a trial and
    seed once)."""
    main = _main_arm(plan)
    numbers = {r.trial for r in scheme_table(spec, main.study)}
    multitask = multitask_table(spec, main.study)
    if multitask is not None:
        numbers |= {r.trial for r in multitask.rows if r.trial is not None}
    rows = [t for t in main.study.get_trials(deepcopy=False) if t.number in numbers]
    return [*comparison_reruns(plan, top), (main.spec, main.study, rows)]


def _main_arm(plan: Plan) -> Arm:
    """The study's own arm (the first, when its space splits it by optimizer)."""
    return next(a for a in plan.arms if a.source.baseline_of is None)


def build_report(
    spec: Spec,
    plan: Plan,
    comparison: Comparison,
    *,
    schemes: tuple[SchemeRow, ...],
    multitask: MultitaskTable | None,
) -> Report:
    """The report of study ``spec``: ``comparison`` (of ``plan``'s arms, built by
    :func:`hpsearch.compare.comparison.build_comparison`) and the study's own tables,
    ``schemes`` and ``multitask`` (None: a single-task study), as
    :func:`hpsearch.report.seeded.seed_rows` re-ran them."""
    baseline = next((a for a in plan.arms if a.source.baseline_of is not None), None)
    notes = []
    if baseline is None:
        notes.append(
            f"study {spec.study.name!r} names no baseline (`study.baseline`)"
            + ("" if len(plan.arms) > 1 else ": no comparison")
        )
    sources = {a.spec.study.name: (a, "baseline" if a is baseline else "study") for a in plan.arms}
    studies = tuple(_study_trials(a.spec, a.study, role) for a, role in sources.values())
    notes += [note for s in studies if (note := importance_note(s)) is not None]
    shown = spec.shown_metrics or [m for c in comparison.configs for m in c.summary]
    return Report(
        version=REPORT_VERSION,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        study=spec.study.name,
        study_file=shown_path(Path(spec.source).resolve()),
        baseline=None if baseline is None else baseline.spec.study.name,
        baseline_file=None
        if baseline is None
        else shown_path(Path(baseline.spec.source).resolve()),
        metric=spec.metric,
        direction=spec.direction,
        seeds=len(comparison.seeds),
        top=comparison.top,
        metrics=tuple(dict.fromkeys([spec.metric, *shown])),
        comparison=comparison,
        schemes=schemes,
        multitask=multitask,
        studies=studies,
        notes=tuple(notes),
    )


def _study_trials(spec: Spec, study: optuna.Study, role: Role) -> StudyTrials:
    """What the plots need of a study: its trials' values and curves, and importances."""
    trials = tuple(
        TrialPoint(
            number=t.number,
            state=state_name(t.state),
            value=t.value,
            intermediate=evaluated(t, spec.metric),
        )
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    )
    importance, note = param_importances(study)
    return StudyTrials(
        name=spec.study.name,
        role=role,
        metric=spec.metric,
        direction=spec.direction,
        trials=trials,
        importance=importance,
        importance_note=note,
    )
