"""Building a comparison: arms (:mod:`hpsearch.compare.arms`) → paired re-runs over one seed
list → a :class:`~hpsearch.compare.model.Comparison`.

The one mechanism behind ``hpsearch compare`` and ``hpsearch report`` (which compares a
study with its baseline). The ``top`` best configs of each arm's judged trials are re-run
without pruning with the same seeds in every arm (from the baseline arm's ``train.seed``
on), so new weights, dropout and batch order match across arms and each seed gives a pair.
Each arm is then represented by its config with the best mean objective over the seeds (a
lucky seed in the search is what the re-runs are there to discount). Nothing here prints,
draws or writes files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import optuna
from optuna.trial import FrozenTrial

from hpsearch.compare.arms import Arm, CompareError, Plan
from hpsearch.compare.axes import AXES
from hpsearch.compare.best_odds import ODDS_DRAWS
from hpsearch.compare.budget import spent
from hpsearch.compare.cost import arm_cost
from hpsearch.compare.curves import BAND, BAND_DRAWS, CURVE_RESAMPLES, DRAWS
from hpsearch.compare.learned import learned_nothing, never_learned, never_learned_notes
from hpsearch.compare.model import (
    ArmResult,
    Comparison,
    ConfigResult,
    NeverLearned,
    Paired,
)
from hpsearch.compare.sensitivity import lr_sensitivity
from hpsearch.compare.settings import config_drift, diverged_notes, place_notes
from hpsearch.compare.spaces import calibrated_lrs, space_rows, space_warnings
from hpsearch.compare.stats import (
    CI_LEVEL,
    CI_METHOD,
    effect_size,
    holm,
    paired_ci,
    paired_t,
    summarize,
    welch,
    wilcoxon,
    wilcoxon_floor,
    wilcoxon_pairs,
)
from hpsearch.compare.target import (
    check_target,
    default_target,
    refuse_one_class_target,
    run_scores,
    trial_scores,
)
from hpsearch.compare.tuning import plan_best_odds, tuning_curves
from hpsearch.data.encode import DataCache
from hpsearch.metrics import default_direction
from hpsearch.search.progress import Progress
from hpsearch.search.record import read_record, top_trials
from hpsearch.search.reseed import SeedRun, reseed, reseed_name, shared_seeds
from hpsearch.spec.schema import Spec
from hpsearch.spec.space import field_params
from hpsearch.wording import plural, shown_path

# Metrics left out of the compared metrics: a comparison is of quality (F1, accuracy), and
# the validation loss is in every config's table anyway.
NOT_COMPARED = frozenset({"loss"})
# The most seeds a comparison re-runs each config with: a bound stated, so that a typo
# (--seeds 1000000) is refused rather than queued, about ten re-runs a second.
MAX_SEEDS = 100


def check_seeds(seeds: int) -> None:
    """Refuse a seed count outside 1 … :data:`MAX_SEEDS`.

    Raises:
        CompareError: one line with the rule and the value.
    """
    if not 1 <= seeds <= MAX_SEEDS:
        raise CompareError(f"--seeds must be between 1 and {MAX_SEEDS}, but got {seeds}")


Reruns = list[tuple[Spec, optuna.Study, list[FrozenTrial]]]  # a study's trials to re-run


def planned_reruns(plan: Plan, top: int) -> Reruns:
    """The trials :func:`build_comparison` re-runs: the ``top`` best judged trials of each
    arm, with the arm's spec and study (for :func:`hpsearch.search.estimate.rerun_estimate`)."""
    return [(a.spec, a.study, top_trials(a.judged, top, plan.maximize)) for a in plan.arms]


def build_comparison(
    plan: Plan,
    *,
    seeds: int = 5,
    top: int = 1,
    target: float | None = None,
    shown: Sequence[str] | None = None,
    cache: DataCache | None = None,
    progress: Progress | None = None,
    p_best: bool = False,
) -> Comparison:
    """Re-run the ``top`` best configs of each arm with ``seeds`` shared seeds; compare.

    Re-runs that finished in an earlier call are read back, not run again. Every config is
    re-run under the settings it was tuned with (the plan's check,
    :func:`hpsearch.compare.settings.checked`, refused or noted where its study file differs).

    Args:
        target: time-to-target's target; default: the baseline arm's median best over the
            seeds that learned (:func:`hpsearch.compare.target.default_target`). A target
            outside the metric's values, or equal to a score of answering one class, is
            refused.
        shown: the metrics to compare (a multitask study's table columns); default: every
            metric of the runs but the loss.
        p_best: add each arm's probability of being the best arm at a few budgets on the
            plan's axis (``--p-best``, :mod:`hpsearch.compare.tuning`).
    """
    if seeds < 1 or top < 1:
        raise ValueError(f"`seeds >= 1` and `top >= 1` must hold, but got ({seeds=}, {top=})")
    check_seeds(seeds)
    metric, maximize = plan.metric, plan.maximize
    check_target(target, metric)
    refuse_one_class_target(target, trial_scores(plan.arms, metric), metric, maximize)
    seed_list = tuple(shared_seeds(plan.baseline.spec, seeds))
    cache = cache or DataCache()  # the arms share the task: tokenize once
    configs: list[ConfigResult] = []
    notes = list(plan.notes)
    for arm in plan.arms:
        trials = top_trials(arm.judged, top, maximize)
        if len(trials) < top:
            notes.append(
                f"{arm.name}: only {plural(len(trials), 'complete trial')} within the budget, "
                f"fewer than --top {top}"
            )
        runs = reseed(
            arm.spec, arm.study, trials, seed_list, cache=cache, progress=progress, notes=notes
        )
        configs += [
            replace(_config(arm, t, runs[t.number], seed_list), drift=config_drift(arm, t))
            for t in trials
        ]

    best = {arm.name: _best_config(configs, arm.name, metric, maximize) for arm in plan.arms}
    never = {a.name: never_learned(a, best[a.name], metric, maximize) for a in plan.arms}
    notes += never_learned_notes(plan.arms, best, never)
    notes += one_class_notes(plan.arms, configs)
    notes += diverged_notes(plan.arms, configs) + place_notes(configs)
    names = shown or [m for c in best.values() for m in c.summary if m not in NOT_COMPARED]
    common = set.intersection(*(set(c.summary) for c in best.values()))
    compared = [m for m in dict.fromkeys([metric, *names]) if m in common]
    baseline = best[plan.baseline.name]
    if target is None:
        target, target_source = default_target(plan.baseline.name, baseline.runs, maximize)
    else:
        refuse_one_class_target(target, run_scores(configs), metric, maximize)
        target_source = "--target"
    rows = space_rows(plan.arms)
    compute = AXES[plan.axis].compute
    return Comparison(
        metric=metric,
        direction="maximize" if maximize else "minimize",
        metrics=tuple(compared),
        baseline=plan.baseline.name,
        seeds=seed_list,
        top=top,
        budget=min(len(a.judged) for a in plan.arms) if compute else int(plan.budget),
        budget_requested=plan.budget_requested,
        arms=tuple(
            _arm(arm, best[arm.name], compared, never[arm.name], compute) for arm in plan.arms
        ),
        space=rows,
        warnings=space_warnings(rows, plan.arms),
        curves=tuning_curves(plan),
        curve_resamples=CURVE_RESAMPLES,
        curve_band=BAND,
        resamples=0,  # the paired CIs are t-intervals (CI_METHOD): nothing is resampled
        ci_level=CI_LEVEL,
        paired=_paired(plan, best, compared, never),
        target=target,
        target_source=target_source,
        costs=tuple(
            arm_cost(
                arm.name,
                best[arm.name].runs,
                target,
                maximize=maximize,
                calibration_seconds=arm.calibration_seconds,
                search_seconds=arm.search_seconds,
            )
            for arm in plan.arms
        ),
        configs=tuple(configs),
        notes=tuple(notes),
        ci_method=CI_METHOD,
        calibrated=calibrated_lrs(plan.arms),
        sensitivity=tuple(lr_sensitivity(arm, metric, maximize) for arm in plan.arms),
        budget_by=plan.axis,
        axis_budget=plan.budget if compute else None,
        curve_draws=DRAWS if compute else None,
        curve_band_draws=BAND_DRAWS if compute else None,
        best_odds=plan_best_odds(plan) if p_best else (),
        best_odds_draws=ODDS_DRAWS if p_best else None,
    )


def one_class_notes(arms: Sequence[Arm], configs: Sequence[ConfigResult]) -> list[str]:
    """What predicted one class for every validation example: an arm's judged trials, and
    a config's re-runs (their accuracy is the majority's share, not learning)."""
    notes = []
    for arm in arms:
        flat = [t.number for t in arm.judged if read_record(t).one_class]
        if flat:
            notes.append(
                f"{arm.name}: {len(flat)} of {plural(len(arm.judged), 'judged trial')} predicted "
                f"one class for every validation example (trials {', '.join(map(str, flat))}): "
                "see each trial's one_class attr"
            )
    for c in configs:
        notes += seed_notes(f"{c.arm} trial {c.trial}", c.runs)
    return notes


def seed_notes(what: str, runs: Sequence[SeedRun]) -> list[str]:
    """A note when some of ``runs`` (re-runs of ``what``) predicted one class."""
    flat = [r for r in runs if r.one_class]
    if not flat:
        return []
    return [f"{what}: {len(flat)} of {plural(len(runs), 'seed re-run')}: {flat[0].one_class}"]


def _config(
    arm: Arm, trial: FrozenTrial, runs: list[SeedRun], seeds: tuple[int, ...]
) -> ConfigResult:
    spec = arm.spec.with_params(trial.params)
    maximize = arm.spec.direction == "maximize"
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
        arm=arm.name,
        role="baseline" if arm.baseline else "study",
        study=arm.spec.study.name,
        metric=arm.spec.metric,
        optimizer=spec.optimizer.kind,
        trial=trial.number,
        params=field_params(trial.params),
        search_value=trial.value,
        reseed_study=reseed_name(arm.spec.study.name),
        seeds=seeds,
        runs=tuple(runs),
        summary=summary,
        best_run=best,
    )


def _best_config(
    configs: Sequence[ConfigResult], arm: str, metric: str, maximize: bool
) -> ConfigResult:
    """The arm's config with the best mean ``metric`` over the seeds, among those that
    learned on some seed when one did (a config that answered one class on every seed
    scores the label shares); ties: the earlier."""
    own = [c for c in configs if c.arm == arm]
    sign = -1.0 if maximize else 1.0
    return min(
        own,
        key=lambda c: (learned_nothing(c.runs), sign * c.summary[metric].mean, own.index(c)),
    )


def _arm(
    arm: Arm,
    best: ConfigResult,
    compared: Sequence[str],
    never: tuple[NeverLearned, ...],
    compute: bool,
) -> ArmResult:
    return ArmResult(
        name=arm.name,
        study=arm.spec.study.name,
        study_file=shown_path(arm.source.file),
        optimizer=arm.kind,
        baseline=arm.baseline,
        finished=len(arm.finished),
        judged=tuple(t.number for t in arm.judged),
        cut=tuple(t.number for t in arm.cut),
        best_trial=best.trial,
        summary={m: best.summary[m] for m in compared},
        best_run=best.best_run,
        never_learned=never,
        judged_compute=spent(arm.compute[: len(arm.judged)]) if compute else None,
        finished_compute=spent(arm.compute) if compute else None,
    )


def _paired(
    plan: Plan,
    best: dict[str, ConfigResult],
    compared: Sequence[str],
    never: Mapping[str, Sequence[str]],
) -> tuple[Paired, ...]:
    """Each other arm against the baseline, per metric; Holm's correction over the arms
    when more than one is compared with the baseline. None where the arm or the baseline
    never learned within its space (``never``, :mod:`hpsearch.compare.learned`)."""
    base = best[plan.baseline.name]
    if never[plan.baseline.name]:
        return ()
    others = [a.name for a in plan.arms[1:] if not never[a.name]]
    results = []
    for m in compared:
        row = [_pair(name, m, best[name], base) for name in others]
        if len(row) > 1:
            t_holm = holm([p.t_test.p for p in row])
            w_holm = holm([p.wilcoxon.p for p in row])
            row = [_with_holm(p, t, w) for p, t, w in zip(row, t_holm, w_holm, strict=True)]
        results += row
    return tuple(results)


def _with_holm(p: Paired, t: float | None, w: float | None) -> Paired:
    return replace(
        p,
        t_test=replace(p.t_test, p_holm=t),
        wilcoxon=replace(p.wilcoxon, p_holm=w),
    )


def _pair(arm: str, metric: str, config: ConfigResult, base: ConfigResult) -> Paired:
    """``config`` against ``base`` for ``metric``, seed by seed (both ran the same seeds)."""
    nan = float("nan")  # a run without the metric: visible, never silently dropped
    a = [r.metrics.get(metric, nan) for r in config.runs]
    b = [r.metrics.get(metric, nan) for r in base.runs]
    d = [x - y for x, y in zip(a, b, strict=True)]
    spread = summarize(d)
    ci = paired_ci(d)
    return Paired(
        arm=arm,
        metric=metric,
        seeds=config.seeds,
        differences=tuple(d),
        mean=spread.mean,
        std=spread.std,
        ci_low=None if ci is None else ci[0],
        ci_high=None if ci is None else ci[1],
        effect_size=effect_size(d),
        t_test=paired_t(a, b),
        wilcoxon=wilcoxon(a, b),
        wilcoxon_floor=wilcoxon_floor(wilcoxon_pairs(d)),
        welch=welch(a, b),
    )
