"""What the arms' judged trials say on the plan's budget axis, before any re-run: each arm's
tuning curve (:mod:`hpsearch.compare.curves`) and each arm's probability of being the best
arm at a few budgets (:mod:`hpsearch.compare.best_odds`).

A plan of any axis (:func:`hpsearch.compare.plan_comparison` with ``axis=``) goes in; nothing
runs and nothing is written, so a caller with plans of its own (several tasks' comparisons)
can take :func:`tuning_curves` and :func:`plan_best_odds` without the re-runs.
"""

from __future__ import annotations

from optuna.trial import FrozenTrial, TrialState

from hpsearch.compare.arms import Arm, Plan
from hpsearch.compare.axes import AXES
from hpsearch.compare.best_odds import ODDS_DRAWS, best_odds
from hpsearch.compare.curves import (
    CURVE_POINTS,
    CURVE_RESAMPLES,
    budget_grid,
    compute_curve,
    table_ks,
    tuning_curve,
)
from hpsearch.compare.model import BestOdds, TuningCurve
from hpsearch.search.record import best_evaluation


def trial_value(trial: FrozenTrial, metric: str, maximize: bool) -> float | None:
    """A finished trial's value for the tuning curve: a pruned trial's best evaluation of
    ``metric`` by the trainer's rule (:func:`hpsearch.metrics.evaluation_rank`), from its
    evals (the pruner may have compared the loss instead), at chance where it answered one
    class, as a complete trial's value is."""
    if trial.state == TrialState.COMPLETE:
        return trial.value
    best = best_evaluation(trial, metric, maximize)
    return None if best is None else best.value(metric)


def judged_draws(arm: Arm, plan: Plan) -> tuple[list[float], list[float]]:
    """The arm's judged trials as the curves and P(best) draw them, in trial order: their
    values and what each spent on the plan's axis. On the trials axis a trial that measured
    no value of the metric is left out (it is no draw); on a compute axis it stays, NaN, as
    it spent its compute."""
    compute = AXES[plan.axis].compute
    spent = arm.compute[: len(arm.judged)] or (1,) * len(arm.judged)
    values, costs = [], []
    for trial, cost in zip(arm.judged, spent, strict=True):
        value = trial_value(trial, plan.metric, plan.maximize)
        if value is None and not compute:
            continue
        values.append(float("nan") if value is None else value)
        costs.append(cost)
    return values, costs


def tuning_curves(plan: Plan) -> tuple[TuningCurve, ...]:
    """Each arm's tuning curve on the plan's axis: after k = 1 … its judged trials, or at
    the curve budgets up to the plan's budget of seconds or steps."""
    curves = []
    for arm in plan.arms:
        values, costs = judged_draws(arm, plan)
        if not AXES[plan.axis].compute:
            points = tuning_curve(values, maximize=plan.maximize, resamples=CURVE_RESAMPLES)
            curves.append(TuningCurve(arm=arm.name, values=tuple(values), points=points))
            continue
        points = compute_curve(
            values, costs, plan.budget, maximize=plan.maximize, resamples=CURVE_RESAMPLES
        )
        curves.append(
            TuningCurve(arm=arm.name, values=tuple(values), points=points, costs=tuple(costs))
        )
    return tuple(curves)


def odds_budgets(plan: Plan) -> list[float]:
    """Where P(best) is told: the rows of the curves' table (k = 1, 2, 4, … K trials, or
    the budgets at 1/32, 1/16, … 1 of the plan's), on a compute axis from every arm's
    costliest judged trial's cost on (below it an arm may have nothing yet)."""
    if not AXES[plan.axis].compute:
        return list(table_ks(int(plan.budget)))
    floor = max(max(judged_draws(arm, plan)[1]) for arm in plan.arms)
    grid = budget_grid(plan.budget)
    return [grid[j - 1] for j in table_ks(CURVE_POINTS) if grid[j - 1] >= floor]


def plan_best_odds(plan: Plan, *, draws: int = ODDS_DRAWS, seed: int = 0) -> tuple[BestOdds, ...]:
    """Each arm's P(best) at :func:`odds_budgets` on the plan's axis, from its judged
    trials (:func:`hpsearch.compare.best_odds.best_odds`)."""
    arms = {arm.name: judged_draws(arm, plan) for arm in plan.arms}
    return best_odds(arms, odds_budgets(plan), maximize=plan.maximize, draws=draws, seed=seed)
