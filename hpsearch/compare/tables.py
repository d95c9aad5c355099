"""A comparison's tables as a header and rows of strings (:class:`Rows`), how their cells
read, and their titles.

The first is the model cards' table with the comparison's columns added; then the budget,
the search spaces, the tuning curves, P(best) (``--p-best``), the paired tests, the cost,
every config and every run; budgets read in the unit of the comparison's axis
(:mod:`hpsearch.compare.axes`). Drawn as markdown (:mod:`hpsearch.compare.markdown`) or as
rich tables (:mod:`hpsearch.cli.tables`), so the terminal and the markdown files always
agree; a report's own tables (:mod:`hpsearch.report.tables`) are built on the same cells.

A terminal narrower than a table drops its least important columns (and says which); the
markdown files keep every column. Each table ranks its columns for that here
(:attr:`Rows.drop`): the objective and the row labels are always kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from hpsearch.compare.axes import AXES, Axis
from hpsearch.compare.curves import table_ks
from hpsearch.compare.labels import (
    PERCENT,
    arm_label,
    bytes_label,
    config_label,
    metric_name,
    no_verdict_label,
    run_place,
)
from hpsearch.compare.model import Comparison, Cost, Paired, SpaceRow, StatTest, Summary
from hpsearch.compare.stats import CI_METHOD, wilcoxon_pairs
from hpsearch.search.record import NOT_RECORDED
from hpsearch.wording import plural

# A column's place in :attr:`Rows.drop`: never dropped. Larger numbers drop sooner.
KEEP = 0


@dataclass(frozen=True)
class Rows:
    """A table as strings: the column names and one list of cells per row; unpacks as
    ``header, body = rows``.

    ``drop``: per column, when a terminal too narrow for the table drops it: :data:`KEEP`
    never, then the largest number first (ties: the rightmost first); empty: keep every
    column. ``wrap``: the columns of text, whose cells may wrap between words; a cell of
    any other column (a number, ``mean ± std``) is drawn whole, on one line, while it fits.
    """

    header: list[str]
    body: list[list[str]]
    drop: tuple[int, ...] = ()
    wrap: frozenset[int] = field(default=frozenset({0}))

    def __iter__(self) -> Iterator[list]:
        return iter((self.header, self.body))


def number_cell(
    value: float | None, digits: int = 4, scale: float = 1.0, sign: bool = False
) -> str:
    """``value × scale`` with ``digits`` decimals (and its sign); ``–`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value * scale, f"{'+' if sign else ''}.{digits}f")


def pm_cell(summary: Summary, digits: int = 4, scale: float = 1.0) -> str:
    """``mean ± std``; ``mean (n=1)`` for a single run."""
    mean = number_cell(summary.mean, digits, scale)
    if summary.std is None:
        return f"{mean} (n=1)"
    return f"{mean} ± {number_cell(summary.std, digits, scale)}"


def p_cell(p: float | None) -> str:
    """A p-value: three decimals, or scientific below 0.001; ``–`` when undefined."""
    if p is None:
        return "–"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def scale(metric: str) -> float:
    """×100 for the metrics the model cards show in percent."""
    return 100.0 if metric in PERCENT else 1.0


def digits(metric: str) -> int:
    return 2 if metric in PERCENT else 4


def ci_label(comp: Comparison) -> str:
    """``95% CI (paired t)``: the level of the paired differences' CIs and their method."""
    return f"{comp.ci_level:.0%} CI ({comp.ci_method})"


def ci_text(comp: Comparison) -> str:
    """How the paired differences' CIs are made, as a note says it."""
    level = f"{comp.ci_level:.0%}"
    if comp.ci_method == CI_METHOD:
        return (
            f"its {level} paired t-interval (mean ± t · sd / √n of the differences, the "
            f"paired t-test's own interval; a bootstrap CI covers far less than {level} of "
            "the time at a few seeds)"
        )
    return f"its {level} {comp.ci_method} CI ({comp.resamples:,} resamples, seeded)"


def _diff_cell(p: Paired) -> str:
    """``+1.23 [−0.40, +2.81]``: the mean difference and its CI, in the metric's scale."""
    s, d = scale(p.metric), digits(p.metric)
    mean = number_cell(p.mean, d, s, sign=True)
    if p.ci_low is None or p.ci_high is None:
        return mean
    low, high = number_cell(p.ci_low, d, s, sign=True), number_cell(p.ci_high, d, s, sign=True)
    return f"{mean} [{low}, {high}]"


def _test_p(test: StatTest) -> str:
    """The p-value, and Holm's adjusted one where there were several arms to adjust for."""
    if test.p_holm is None:
        return p_cell(test.p)
    return f"{p_cell(test.p)} (Holm {p_cell(test.p_holm)})"


def seconds_cell(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.1f} s"


def target_cell(cost: Cost, axis: str = "trials") -> str:
    """``41.2 s, 75 steps (3/3)``: median time-to-target, and how many runs reached it; the
    steps first where the comparison's budget counts steps (``axis``)."""
    reached = f"({cost.reached}/{cost.runs})"
    if cost.target_steps is None:
        return f"not reached {reached}"
    steps = f"{cost.target_steps:.0f} steps"
    if cost.target_seconds is None:
        return f"{steps} {reached}"
    spent = [seconds_cell(cost.target_seconds), steps]
    return f"{', '.join(spent[::-1] if axis == 'steps' else spent)} {reached}"


def axis_of(comp: Comparison) -> Axis:
    """What the comparison's budget counts (``--budget-by``)."""
    return AXES[comp.budget_by]


def budget_text(comp: Comparison) -> str:
    """``8 trials``, or on a compute axis ``120.0 s (training seconds)``: what each arm was
    judged within."""
    axis = axis_of(comp)
    if not axis.compute or comp.axis_budget is None:
        return plural(comp.budget, "trial")
    return f"{axis.amount(comp.axis_budget)} ({axis.label})"


def budget_cell(comp: Comparison, budget: float) -> str:
    """A budget of a curve's or P(best)'s table: ``4`` (trials), ``30.0 s``, ``1,200 steps``."""
    axis = axis_of(comp)
    return axis.amount(budget) if axis.compute else str(int(budget))


def cards_rows(comp: Comparison) -> Rows:
    """The model cards' table: a row per arm (its best config over the seeds) with every
    compared metric's mean ± std and the best run, then the paired difference of the
    objective to the baseline with its CI, the tests' p-values (none where the arm or the
    baseline never learned within its space: the cell says which), time-to-target, step
    time and optimizer memory."""
    metrics = comp.metrics
    objective = metric_name(comp.metric)
    best_name = " / ".join(metric_name(m) for m in metrics)
    compared = len(comp.arms) > 1  # one arm alone has nothing to be tested against
    header = ["", *(metric_name(m) for m in metrics), f"best run ({best_name})", "seeds"]
    # Narrow, the objective and its difference to the baseline stay longest.
    drop = [KEEP, *(KEEP if m == comp.metric else 3 for m in metrics), 6, 9]
    if compared:
        header += [f"Δ {objective} [{ci_label(comp)}]", "paired t p", "Wilcoxon p", "Welch p"]
        drop += [1, 2, 4, 5]
    header += ["time to target", "s/step", "optimizer state"]
    drop += [7, 8, 8]
    rows = []
    for arm in comp.arms:
        best = arm.best_run.metrics
        paired = comp.paired_test(arm.name, comp.metric)
        cost = comp.cost(arm.name)
        why = comp.no_verdict(arm.name)
        if not compared:
            tests = []
        elif why is not None:
            tests = [no_verdict_label(arm, why), "", "", ""]
        elif paired is None:
            tests = ["baseline", "", "", ""]
        else:
            tests = [
                _diff_cell(paired),
                _test_p(paired.t_test),
                _test_p(paired.wilcoxon),
                p_cell(paired.welch.p),
            ]
        rows.append(
            [
                arm_label(arm),
                *(pm_cell(arm.summary[m], digits(m), scale(m)) for m in metrics),
                " / ".join(number_cell(best.get(m), digits(m), scale(m)) for m in metrics),
                str(len(comp.seeds)),
                *tests,
                target_cell(cost, comp.budget_by),
                number_cell(cost.seconds_per_step, 3),
                bytes_label(cost.optimizer_state_bytes),
            ]
        )
    return Rows(header, rows, tuple(drop))


def cards_title(comp: Comparison) -> str:
    arms = ", ".join(a.name for a in comp.arms[1:])
    shown = ", ".join(metric_name(m) for m in comp.metrics if m in PERCENT)
    scaled = f"{shown} ×100, " if shown else ""
    if not arms:
        return (
            f"{comp.baseline}: validation {scaled}mean ± std over "
            f"{plural(len(comp.seeds), 'seed')}, tuned with {budget_text(comp)}"
        )
    return (
        f"{arms} against {comp.baseline}: validation {scaled}mean ± std over "
        f"{plural(len(comp.seeds), 'paired seed')}, each arm tuned with {budget_text(comp)}"
    )


def budget_rows(comp: Comparison) -> Rows:
    """Each arm's finished trials, the ones judged (the budget) and the ones cut; on a
    compute axis, what the judged and the finished trials spent."""
    axis = axis_of(comp)
    header = ["arm", "study", "finished trials", "judged (first K)", "cut by the budget"]
    if axis.compute:
        header[3] = "judged (first that fit)"
        header += [f"judged {axis.label}", f"finished {axis.label}"]
    rows = []
    for a in comp.arms:
        row = [
            a.name,
            a.study,
            str(a.finished),
            f"{len(a.judged)}: trials {_numbers(a.judged)}",
            _numbers(a.cut) or "none",
        ]
        if axis.compute:
            row += [_amount(axis, a.judged_compute), _amount(axis, a.finished_compute)]
        rows.append(row)
    return Rows(header, rows)


def _amount(axis: Axis, value: float | None) -> str:
    return "–" if value is None else axis.amount(value)


def _numbers(numbers: Sequence[int]) -> str:
    """``0–5, 7, 9``: trial numbers with runs collapsed."""
    parts: list[str] = []
    start = prev = None
    for n in [*numbers, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
        start = prev = n
    return ", ".join(parts)


def space_table(rows: Sequence[SpaceRow], arms: Sequence[str]) -> Rows:
    """The search spaces side by side: a row per field, a column per arm."""
    body = []
    for row in rows:
        cells = []
        for arm in arms:
            c = row.cells[arm]
            cells.append(f"{c.text} (fixed)" if c.state == "fixed" else c.text)
        body.append([row.field, *cells])
    header = ["field", *arms]
    return Rows(header, body, wrap=frozenset(range(len(header))))


def curve_rows(comp: Comparison) -> Rows:
    """The tuning curves at k = 1, 2, 4, …, K: expected best with its 90% band, and the
    observed best of the first k trials, per arm; on a compute axis at the 1st, 2nd, 4th,
    … and last of the curves' budgets (1/32, 1/16, … of the comparison's), and the best of
    the first trials that fit within each ("–": below an arm's costliest trial; a budget
    where every cell would say so is left out)."""
    axis = axis_of(comp)
    header = [axis.label if axis.compute else "trials (k)"]
    observed = "best of first trials within" if axis.compute else "best of first k"
    drop = [KEEP]
    for c in comp.curves:
        band = f"{comp.curve_band[1] - comp.curve_band[0]:.0%}"
        header += [f"{c.arm} expected best [{band} band]", f"{c.arm} {observed}"]
        drop += [KEEP, 1]
    rows = []
    longest = max((len(c.points) for c in comp.curves), default=0)
    for k in table_ks(longest):
        budget = next((c.points[k - 1].budget for c in comp.curves if k <= len(c.points)), None)
        row = [str(k) if budget is None else budget_cell(comp, budget)]
        for c in comp.curves:
            if k > len(c.points):
                row += ["–", "–"]
                continue
            p = c.points[k - 1]
            band = f"[{number_cell(p.low)}, {number_cell(p.high)}]"
            row += [f"{number_cell(p.expected)} {band}", number_cell(p.observed)]
        if budget is None or any(c not in ("–", "– [–, –]") for c in row[1:]):
            rows.append(row)
    return Rows(header, rows, tuple(drop))


def curve_title(comp: Comparison) -> str:
    axis = axis_of(comp)
    if axis.compute:
        return (
            f"tuning curves: expected best {comp.metric} after a budget of {axis.label} "
            "(Dodge et al. 2019, trials drawn until the budget is spent)"
        )
    return f"tuning curves: expected best {comp.metric} after k trials (Dodge et al. 2019)"


def odds_rows(comp: Comparison) -> Rows:
    """P(best) (``--p-best``): a row per budget, each arm's probability of being the best
    arm there, in percent."""
    axis = axis_of(comp)
    header = [axis.label if axis.compute else "trials (k)", *(a.name for a in comp.arms)]
    rows = [
        [budget_cell(comp, o.budget), *(f"{o.p_best[a.name]:.1%}" for a in comp.arms)]
        for o in comp.best_odds
    ]
    return Rows(header, rows)


def odds_title(comp: Comparison) -> str:
    return (
        f"P(best): each arm's probability of the best {comp.metric} at a budget of "
        f"{axis_of(comp).label} (Sivaprasad et al. 2020)"
    )


def paired_rows(comp: Comparison) -> Rows:
    """Every arm against the baseline, per compared metric: the paired differences and
    their tests."""
    header = [
        "arm − baseline",
        "metric",
        "pairs",
        f"mean diff [{ci_label(comp)}]",
        "std",
        "effect size",
        "paired t (p)",
        "Wilcoxon W (p)",
        "Welch t (p)",
    ]
    rows = []
    for p in comp.paired:
        s, d = scale(p.metric), digits(p.metric)
        rows.append(
            [
                f"{p.arm} − {comp.baseline}",
                metric_name(p.metric) + (" ×100" if s != 1.0 else ""),
                str(len(p.differences)),
                _diff_cell(p),
                number_cell(p.std, d, s),
                number_cell(p.effect_size, 2),
                f"{number_cell(p.t_test.statistic, 2)} ({_test_p(p.t_test)})",
                f"{number_cell(p.wilcoxon.statistic, 1)} ({_test_p(p.wilcoxon)})",
                f"{number_cell(p.welch.statistic, 2)} ({p_cell(p.welch.p)})",
            ]
        )
    return Rows(header, rows, (KEEP, KEEP, 5, KEEP, 4, 3, 1, 2, 3))


def cost_rows(comp: Comparison) -> Rows:
    """What each arm's best config cost per run: medians over the seeds."""
    header = [
        "arm",
        "s/step",
        "samples/s",
        "training s",
        "wall s",
        "optimizer state",
        "peak memory",
        "time to target",
        "ran on",
    ]
    rows = [
        [
            c.arm,
            number_cell(c.seconds_per_step, 3),
            number_cell(c.samples_per_s, 1),
            number_cell(c.train_seconds, 1),
            number_cell(c.wall_time, 1),
            bytes_label(c.optimizer_state_bytes),
            bytes_label(c.peak_memory_bytes),
            target_cell(c, comp.budget_by),
            " / ".join(c.ran_on) or NOT_RECORDED,
        ]
        for c in comp.costs
    ]
    drop = (KEEP, 1, 4, 3, 2, 1, 2, 3, 5)
    if any(c.calibration_seconds is not None for c in comp.costs):
        header.append("calibration (share of search)")
        for row, c in zip(rows, comp.costs, strict=True):
            row.append(calibration_cell(c))
        drop += (4,)
    return Rows(header, rows, drop, frozenset({0, 8}))


def calibration_cell(cost: Cost) -> str:
    """``29.4 s (9%)``: the arm's probes (hpsearch calibrate), and their share of the
    wall seconds of its study's trials; ``–`` where it has none."""
    if cost.calibration_seconds is None:
        return "–"
    share = ""
    if cost.search_seconds:
        share = f" ({cost.calibration_seconds / cost.search_seconds:.0%})"
    return f"{seconds_cell(cost.calibration_seconds)}{share}"


def hardware_note(comp: Comparison) -> str | None:
    """A warning when the arms' runs trained on different devices or precisions (a study
    resumed on another machine, ``precision = "auto"`` resolving differently): their seconds
    then measure the hardware as much as the optimizer. None when they agree, or where runs
    recorded neither."""
    places = {p for c in comp.costs for p in c.ran_on} - {NOT_RECORDED}
    if len(places) < 2:
        return None
    return (
        'The runs trained on different devices or precisions (cost, column "ran on"): '
        "their times do not compare; steps and time to target in steps do."
    )


def cost_title(comp: Comparison) -> str:
    return (
        f"cost per run (medians over {plural(len(comp.seeds), 'seed')}) and time to {comp.metric} "
        f"{number_cell(comp.target)}"
    )


def config_rows(comp: Comparison, metrics: Sequence[str]) -> Rows:
    """Each re-run config: mean ± std and best-of-N of ``metrics`` over its seeds."""
    header = ["config", "arm", f"search {comp.metric}", "seeds"]
    drop = [KEEP, 6, 2, 7]
    for m in metrics:
        header += [f"{m} mean ± std", f"{m} best"]
        drop += [KEEP, 1] if m == comp.metric else [3, 4]
    rows = []
    for c in comp.configs:
        row = [config_label(c), c.arm, number_cell(c.search_value), str(len(c.runs))]
        for m in metrics:
            s = c.summary.get(m)
            row += ["–", "–"] if s is None else [pm_cell(s), number_cell(s.best)]
        rows.append(row)
    return Rows(header, rows, tuple(drop))


def config_title(comp: Comparison) -> str:
    return f"top {plural(comp.top, 'config')} of each arm over {plural(len(comp.seeds), 'seed')}"


def run_rows(comp: Comparison, metrics: Sequence[str]) -> Rows:
    """Every re-run: config, seed, the trial in the companion study, ``metrics``, where it
    trained (``(mixed)`` where its config's seeds trained on more than one device, precision
    or thread count), and, where a config was tuned under settings other than its study
    file's (``--allow-drift``), those settings."""
    drifted = any(c.drift for c in comp.configs)
    header = ["config", "seed", "re-run trial", *metrics, "ran on"]
    header += ["settings (where not the study file's)"] if drifted else []
    rows = []
    for c in comp.configs:
        mixed = len({run_place(r.cost) for r in c.runs}) > 1
        for r in c.runs:
            row = [config_label(c), str(r.seed), f"{c.reseed_study} #{r.trial}"]
            row += [number_cell(r.metrics.get(m)) for m in metrics]
            row.append(run_place(r.cost) + (" (mixed)" if mixed else ""))
            row += ["; ".join(c.drift) or "the study file's"] if drifted else []
            rows.append(row)
    return Rows(header, rows)


def sensitivity_rows(comp: Comparison) -> Rows:
    """Per arm, the lrs its judged trials tried, and the lr span of its complete trials
    that learned within the tolerance of its best, in decades (the sensitivity width)."""
    tolerance = comp.sensitivity[0].tolerance
    header = ["arm", "lr tried", "trials", f"best {comp.metric}", f"within {tolerance:g}"]
    header += ["lr span within", "width (decades)"]
    body = []
    for s in comp.sensitivity:
        if s.fixed_lr is not None:
            body.append([s.arm, f"fixed {s.fixed_lr:.3g}: nothing to plot", *["–"] * 5])
            continue
        lrs = [p.lr for p in s.points]
        pruned = sum(p.pruned for p in s.points)
        flat = sum(p.one_class for p in s.points)
        span = "–" if s.low is None or s.high is None else _span(s.low, s.high)
        body.append(
            [
                s.arm,
                _span(min(lrs), max(lrs)) if lrs else "–",
                f"{len(lrs)} ({pruned} pruned, {flat} one class)",
                number_cell(s.best),
                f"{s.near} of {s.counted} complete" if s.best is not None else "–",
                span,
                number_cell(s.decades, 2),
            ]
        )
    return Rows(header, body, (KEEP, 2, 3, KEEP, 1, KEEP, KEEP))


def _span(low: float, high: float) -> str:
    """``0.0001 – 0.001``; one lr as itself."""
    return f"{low:.3g}" if low == high else f"{low:.3g} – {high:.3g}"


def wilcoxon_note(comp: Comparison) -> str | None:
    """Why a Wilcoxon p-value of few pairs says nothing; None with enough pairs.

    The pairs are those the test ranks: a zero difference is dropped, so the note speaks of
    the comparison (arm and metric) with the fewest differences that are not zero.
    """
    few = [p for p in comp.paired if p.wilcoxon_floor > 0.05]
    if not few:
        return None
    worst = max(few, key=lambda p: p.wilcoxon_floor)
    n = wilcoxon_pairs(worst.differences)
    ties = len(worst.differences) - n
    which = ""
    if ties:
        which = (
            f" ({worst.arm} − {comp.baseline}, {metric_name(worst.metric)}: "
            f"{plural(len(worst.differences), 'seed')}, {plural(ties, 'tie')} dropped)"
        )
    return (
        f"With {plural(n, 'pair')}{which} the exact Wilcoxon signed-rank test cannot give a "
        f"two-sided p below {worst.wilcoxon_floor:.4g} (2 / 2^{n}, every difference of one "
        "sign): it cannot reach p < 0.05 below 6 pairs (ties not counted), so its p here is no "
        "evidence either way; run more seeds (--seeds 6 or more) for it to count."
    )
