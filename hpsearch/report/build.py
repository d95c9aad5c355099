"""Building a report: finished studies → re-runs with other seeds → a :class:`Report`.

Nothing here prints, draws or writes files; :mod:`hpsearch.report.tables`,
:mod:`~hpsearch.report.markdown`, :mod:`~hpsearch.report.files` and
:mod:`~hpsearch.report.plots` turn the returned report into tables, files and pictures.
:func:`open_sources` checks every input before anything is written to any storage.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.data.encode import DataCache
from hpsearch.errors import HpsearchError
from hpsearch.metrics import default_direction
from hpsearch.report.leaderboard import state_name
from hpsearch.report.model import (
    REPORT_VERSION,
    Comparison,
    ComparisonSide,
    ConfigResult,
    Difference,
    Report,
    Role,
    StudyTrials,
    TrialPoint,
)
from hpsearch.report.multitask import multitask_table
from hpsearch.report.schemes import scheme_table
from hpsearch.report.stats import summarize, welch
from hpsearch.search.progress import Progress
from hpsearch.search.reseed import SeedRun, reseed, reseed_name, seeds_for, top_trials
from hpsearch.search.study import StudyNotFoundError, load_study
from hpsearch.spec.load import load_spec
from hpsearch.spec.schema import Spec

# Metrics left out of the model-card comparison: the cards compare quality (F1, accuracy),
# and the validation loss is in every config's table anyway.
NOT_COMPARED = frozenset({"loss"})


class ReportError(HpsearchError):
    """A report cannot be made from the given studies (missing, empty, no baseline run)."""


@dataclass(frozen=True)
class Source:
    """A finished study a report reads: the study file's own, or its baseline."""

    role: Role
    spec: Spec
    study: optuna.Study


def open_sources(spec: Spec) -> list[Source]:
    """The study of ``spec`` and, when it names one, its baseline; both checked.

    Raises:
        StudyNotFoundError: the study was never run.
        ReportError: a study has no complete trial, or the baseline study was never run.
        SpecError: the baseline's study file is invalid.
    """
    sources = [_open(spec, "study")]
    if spec.study.baseline is not None:
        baseline = load_spec(spec.study.baseline)
        try:
            sources.append(_open(baseline, "baseline"))
        except StudyNotFoundError as e:
            raise ReportError(
                f"the baseline of study {spec.study.name!r} is missing: {e}"
            ) from None
    return sources


def _open(spec: Spec, role: Role) -> Source:
    study = load_study(spec)
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        which = "baseline study" if role == "baseline" else "study"
        raise ReportError(
            f"{which} {spec.study.name!r} has no complete trial to report on yet; "
            f"run it first: `hpsearch run {spec.source}`"
        )
    return Source(role, spec, study)


def build_report(
    sources: list[Source],
    *,
    seeds: int = 5,
    top: int = 1,
    progress: Progress | None = None,
) -> Report:
    """Re-run the ``top`` best configs of each source with ``seeds`` seeds; the report.

    ``sources`` come from :func:`open_sources`, the study first. Re-runs that finished in an
    earlier call are read back, not run again. The comparison is ``None`` when the study
    has no baseline.
    """
    if seeds < 1 or top < 1:
        raise ValueError(f"`seeds >= 1` and `top >= 1` must hold, but got ({seeds=}, {top=})")
    main = sources[0].spec
    cache = DataCache()  # both studies usually share the task: tokenize once
    configs: list[ConfigResult] = []
    notes = []
    for source in sources:
        trials = top_trials(source.study, top)
        if len(trials) < top:
            notes.append(
                f"{source.spec.study.name}: only {len(trials)} complete trial(s), "
                f"fewer than --top {top}"
            )
        runs = reseed(source.spec, source.study, trials, seeds, cache=cache, progress=progress)
        configs += [_config(source, t, runs[t.number]) for t in trials]
    # A multitask study's configs show its tables' columns (each task's report_metrics and
    # the mean), not every metric of every task; report.json keeps them all.
    shown = main.shown_metrics or [m for c in configs for m in c.summary]
    metrics = tuple(dict.fromkeys([main.metric, *shown]))
    baseline = next((s for s in sources if s.role == "baseline"), None)
    if baseline is None:
        notes.append(
            f"study {main.study.name!r} names no baseline (`study.baseline`): no comparison"
        )
    studies = tuple(_study_trials(s) for s in sources)
    notes += [
        f"{s.name}: importances skipped: {s.importance_note}" for s in studies if s.importance_note
    ]
    return Report(
        version=REPORT_VERSION,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        study=main.study.name,
        study_file=str(Path(main.source).resolve()),
        baseline=None if baseline is None else baseline.spec.study.name,
        baseline_file=None if baseline is None else str(Path(baseline.spec.source).resolve()),
        metric=main.metric,
        direction=main.direction,
        seeds=seeds,
        top=top,
        metrics=metrics,
        configs=tuple(configs),
        comparison=None if baseline is None else _comparison(configs, main.metric),
        schemes=scheme_table(main, sources[0].study),
        multitask=multitask_table(main, sources[0].study),
        studies=studies,
        notes=tuple(notes),
    )


def _config(source: Source, trial: FrozenTrial, runs: list[SeedRun]) -> ConfigResult:
    spec = source.spec.with_params(trial.params)
    maximize = source.spec.direction == "maximize"
    metric_names = list(dict.fromkeys(m for r in runs for m in r.metrics))
    summary = {
        m: summarize(
            [r.metrics.get(m, float("nan")) for r in runs],
            maximize=default_direction(m) == "maximize",
        )
        for m in metric_names
    }
    best = (max if maximize else min)(runs, key=lambda r: r.value)
    return ConfigResult(
        role=source.role,
        study=source.spec.study.name,
        metric=source.spec.metric,
        optimizer=spec.optimizer.kind,
        trial=trial.number,
        params=dict(trial.params),
        search_value=trial.value,
        reseed_study=reseed_name(source.spec.study.name),
        seeds=tuple(seeds_for(source.spec, trial.params, len(runs))),
        runs=tuple(runs),
        summary=summary,
        best_run=best,
    )


def _comparison(configs: list[ConfigResult], metric: str) -> Comparison:
    """The model cards' comparison: the best config of the baseline against the study's.

    "Best" is by the mean of the study's metric over the seeds, not by the search value: a
    lucky seed in the search is exactly what the re-runs are there to discount.
    """
    maximize = default_direction(metric) == "maximize"

    def best_of(role: Role) -> ConfigResult:
        side = [c for c in configs if c.role == role and metric in c.summary]
        pick = max if maximize else min
        return pick(side, key=lambda c: c.summary[metric].mean)

    base, study = best_of("baseline"), best_of("study")
    compared = [m for m in study.summary if m in base.summary and m not in NOT_COMPARED]
    compared.sort(key=lambda m: m != metric)  # the objective first

    def values(config: ConfigResult, m: str) -> list[float]:
        return [r.metrics[m] for r in config.runs if m in r.metrics]

    def side(config: ConfigResult) -> ComparisonSide:
        return ComparisonSide(
            role=config.role,
            study=config.study,
            optimizer=config.optimizer,
            trial=config.trial,
            params=config.params,
            seeds=config.seeds,
            best_run=config.best_run,
            summary={m: config.summary[m] for m in compared},
        )

    def difference(m: str) -> Difference:  # study minus baseline
        nan = float("nan")
        return Difference(
            mean=study.summary[m].mean - base.summary[m].mean,
            best_run=study.best_run.metrics.get(m, nan) - base.best_run.metrics.get(m, nan),
        )

    return Comparison(
        metric=metric,
        metrics=tuple(compared),
        baseline=side(base),
        study=side(study),
        difference={m: difference(m) for m in compared},
        welch={m: welch(values(study, m), values(base, m)) for m in compared},
    )


def _study_trials(source: Source) -> StudyTrials:
    """What the plots need of a study: its trials' values and curves, and importances."""
    trials = tuple(
        TrialPoint(
            number=t.number,
            state=state_name(t.state),
            value=t.value,
            intermediate=tuple(
                sorted((int(k), float(v)) for k, v in t.intermediate_values.items())
            ),
        )
        for t in source.study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    )
    importance, note = _importance(source.study)
    return StudyTrials(
        name=source.spec.study.name,
        role=source.role,
        metric=source.spec.metric,
        direction=source.spec.direction,
        trials=trials,
        importance=importance,
        importance_note=note,
    )


def _importance(study: optuna.Study) -> tuple[dict[str, float] | None, str | None]:
    """fANOVA importances (seeded), or None and why not."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return None, f"needs at least 2 complete trials, the study has {len(complete)}"
    common = set.intersection(*(set(t.params) for t in complete))
    if len(common) < 2:
        return (
            None,
            f"needs 2 or more parameters shared by the complete trials, has {sorted(common)}",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            values = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
            )
    except (RuntimeError, ValueError) as e:  # e.g. every complete trial has the same value
        return None, f"cannot be computed: {e}"
    return {k: float(v) for k, v in values.items()}, None
