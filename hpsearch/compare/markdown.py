"""compare.md, and the comparison's sections that report.md shares: the tables of
:mod:`hpsearch.compare.tables` as markdown, with what each number means."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hpsearch.compare.labels import config_label
from hpsearch.compare.model import CompareReport, Comparison, Params, ParamValue
from hpsearch.compare.tables import (
    Rows,
    axis_of,
    budget_rows,
    cards_rows,
    cards_title,
    ci_text,
    config_rows,
    config_title,
    cost_rows,
    curve_rows,
    hardware_note,
    number_cell,
    odds_rows,
    odds_title,
    paired_rows,
    run_rows,
    sensitivity_rows,
    space_table,
    wilcoxon_note,
)
from hpsearch.wording import plural

Section = list[str]  # markdown lines, starting with a "## " heading


def markdown_table(rows: Rows) -> str:
    """A markdown table: the first column left-aligned, the others right-aligned."""
    header, body = rows

    def cells(row: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    align = ["---", *(["---:"] * (len(header) - 1))]
    return "\n".join([cells(header), "| " + " | ".join(align) + " |", *map(cells, body)])


def config_metrics(comp: Comparison) -> tuple[str, ...]:
    """The metrics of the configs' tables: the objective, then every metric of the runs."""
    return tuple(dict.fromkeys([comp.metric, *(m for c in comp.configs for m in c.summary)]))


def cards_section(comp: Comparison) -> Section:
    """The model cards' table, with the comparison's columns and what they mean."""
    paired = (
        f"Δ: the arm minus the baseline ({comp.baseline}) over the same seeds, mean of the "
        f"per-seed differences with {ci_text(comp)}. Paired t-test and Wilcoxon signed-rank "
        "over those pairs; Welch's t-test as the unpaired view."
    )
    if len(comp.arms) > 2:
        paired += " Holm's correction over the arms compared with the baseline, in brackets."
    if any(a.never_learned for a in comp.arms):
        paired += (
            " No verdict where an arm never learned within its space (every judged trial, "
            "or its best config on every seed, answered one class for every validation "
            "example): its scores are the label shares, so a Δ, CI or p-value would measure "
            "its search space, not the optimizer (see the notes)."
        )
    lines = [
        f"## {cards_title(comp)}",
        "",
        f"Each arm's best config (by mean {comp.metric} over the seeds) among its top "
        f"{comp.top} of the search, re-run without pruning with seeds "
        f"{', '.join(map(str, comp.seeds))} in every arm. Best run: the seed with the best "
        f"{comp.metric}, all its metrics. "
        + (paired if len(comp.arms) > 1 else "One arm: no paired tests.")
        + f" Time to target: median training time (evaluations excluded) and steps until an "
        f"evaluation first reached {comp.metric} {number_cell(comp.target)} "
        f"({comp.target_source}); a run that never did counts as infinitely slow.",
        "",
        markdown_table(cards_rows(comp)),
        "",
    ]
    note = wilcoxon_note(comp)
    return lines + ([note, ""] if note else [])


def comparison_sections(
    comp: Comparison, metrics: Sequence[str] | None = None
) -> tuple[Section, list[Section]]:
    """The cards' section, and the others: budget, spaces, curves, P(best) (where asked
    for), paired seeds, cost, configs and runs. ``metrics``: the configs' tables' columns
    (default: every metric)."""
    shown = list(metrics or config_metrics(comp))
    sections = [budget_section(comp), spaces_section(comp), curves_section(comp)]
    if comp.sensitivity:  # a file written before compare measured it has none
        sections.append(sensitivity_section(comp))
    if comp.best_odds:
        sections.append(odds_section(comp))
    if comp.paired:
        sections.append(paired_section(comp))
    sections.append(cost_section(comp))
    sections.append(configs_section(comp, shown))
    sections.append(runs_section(comp, shown))
    return cards_section(comp), sections


def budget_section(comp: Comparison) -> Section:
    """The tuning budget: how many trials of each arm are judged, and why equal counts (or,
    on a compute axis, equal seconds or steps)."""
    axis = axis_of(comp)
    given = "" if comp.budget_requested is None else f", with --budget {comp.budget_requested:g}"
    if axis.compute and comp.axis_budget is not None:
        judged = (
            f"Every arm is judged on its first finished (complete or pruned) trials by trial "
            f"number whose {axis.label} add up to at most {axis.amount(comp.axis_budget)}: "
            f"the smallest arm's total{given} (--budget-by {axis.name}; a complete trial "
            "counts what its training spent, evaluations excluded, a pruned one what it spent "
            "until it was pruned). An arm whose trials cost more gets fewer of them: equal "
            "trials would give it more compute."
        )
    else:
        judged = (
            f"Every arm is judged on its first {comp.budget} finished (complete or pruned) "
            f"trials by trial number: the smallest arm's count{given}."
        )
    return [
        "## Tuning budget",
        "",
        judged + " The best of more trials beats the best of fewer of the same distribution "
        "most of the time, so a comparison at unequal budgets favours the larger one.",
        "",
        markdown_table(budget_rows(comp)),
        "",
    ]


def spaces_section(comp: Comparison) -> Section:
    """The arms' search spaces side by side, and the warnings where they differ."""
    lines = [
        "## Search spaces",
        "",
        "How each arm sets the dimensions every recipe has, and every other field an arm "
        "searches: a range or choices where searched, (fixed) where not, – where the field "
        "does not apply. Rankings of optimizers follow their search spaces (Choi et al. 2019).",
        "",
        markdown_table(space_table(comp.space, [a.name for a in comp.arms])),
        "",
    ]
    lines += [f"- warning: {w}" for w in comp.warnings] or [
        "The arms search and fix the shared dimensions alike."
    ]
    lines.append("")
    return lines


def curves_section(comp: Comparison) -> Section:
    """The tuning curves' table: the expected best after k trials (or a budget of seconds
    or steps), and the observed best."""
    axis = axis_of(comp)
    if axis.compute:
        heading = f"expected best {comp.metric} after a budget of {axis.label}"
        drawn = (
            f"Expected best validation {comp.metric} of the arm's judged trials drawn at "
            "random, with replacement, each with its value (pruned ones at their best "
            f"reported value) and its {axis.label}, until the budget is spent: the best of "
            f"those whose {axis.label} add up to at most the budget (a mean over "
            f"{comp.curve_draws or 0:,} seeded draw sequences), with a {_band(comp)} band "
            f"from {comp.curve_resamples:,} bootstrap resamples of those trials "
            f"({comp.curve_band_draws or 0:,} sequences each), next to the observed best of "
            "its first trials that fit within the budget. Below an arm's costliest trial a "
            "draw may hold no finished trial yet: no estimate there (–). With every trial "
            "costing the same, the curve is the one after k trials."
        )
    else:
        heading = f"expected best {comp.metric} after k trials"
        drawn = (
            "Expected best validation "
            f"{comp.metric} of k trials drawn at random from the arm's judged trials (pruned "
            f"ones at their best reported value), with a {_band(comp)} band from "
            f"{comp.curve_resamples:,} bootstrap resamples of those trials (seeded), next to "
            "the observed best of its first k trials."
        )
    return [
        f"## Tuning curves: {heading}",
        "",
        drawn + " The trials of a "
        "model-based sampler (TPE) are not independent draws: the curve estimates what "
        "random draws from them would give, the observed column is what the search did.",
        "",
        markdown_table(curve_rows(comp)),
        "",
    ]


def sensitivity_section(comp: Comparison) -> Section:
    """Each arm's lr sensitivity: the lrs tried and the span near its best, in decades."""
    tolerance = comp.sensitivity[0].tolerance
    return [
        "## Learning-rate sensitivity",
        "",
        f"Over each arm's judged trials: the lrs they tried, and the span of lrs whose "
        f"complete trials learned and came within {tolerance:g} of the best of them in "
        f"{comp.metric} (an absolute distance needs no chance level and is the same "
        "yardstick in every arm). Width: that span in decades, log10(high / low); an "
        "envelope, since a trial between its ends need not be near the best. Pruned trials "
        "are drawn but not counted: their values come from shorter training.",
        "",
        markdown_table(sensitivity_rows(comp)),
        "",
        f"`lr_sensitivity.png` (Plots): {comp.metric} of each judged trial at its lr, "
        "a panel per arm: ● complete, ▼ pruned (its last reported value), hollow where it "
        "answered one class (at chance); colour by num_grads where the trials have several; "
        "shaded: the calibrated lr range; bar: the span within the tolerance of the best.",
        "",
    ]


def odds_section(comp: Comparison) -> Section:
    """P(best) (``--p-best``): each arm's probability of being the best arm at a few
    budgets, and how it is drawn."""
    axis = axis_of(comp)
    spend = f"b {axis.label}" if axis.compute else "b trials"
    return [
        f"## {odds_title(comp)}",
        "",
        f"At budget b, each of {comp.best_odds_draws or 0:,} seeded rounds draws every arm's "
        f"judged trials at random, with replacement, until {spend} are spent, and takes "
        f"each arm's best {comp.metric} of them; the arm with the best of all wins the "
        "round, a tie shares it. P(best) is an arm's share of the rounds: it says how "
        "often the arm comes out on top of a search of that budget, not by how much. "
        + (
            "The budgets are those of the curves' table from every arm's costliest trial "
            "on (below it an arm may have no finished trial yet)."
            if axis.compute
            else "The budgets are those of the curves' table."
        ),
        "",
        markdown_table(odds_rows(comp)),
        "",
    ]


def paired_section(comp: Comparison) -> Section:
    """Each arm's best config minus the baseline's, seed by seed (a comparison with pairs)."""
    paired = [
        "## Paired seeds",
        "",
        "Per compared metric, each arm's best config minus the baseline's, seed by seed "
        f"({', '.join(map(str, comp.seeds))}). Effect size: mean difference over its "
        "standard deviation.",
        "",
        markdown_table(paired_rows(comp)),
        "",
    ]
    differences = [
        f"- {p.arm} − {comp.baseline}, {p.metric}: "
        + ", ".join(
            f"seed {s}: {number_cell(d, 4, sign=True)}"
            for s, d in zip(p.seeds, p.differences, strict=True)
        )
        for p in comp.paired
    ]
    return [*paired, *differences, ""]


def cost_section(comp: Comparison) -> Section:
    """The cost per run of each arm's best config: medians over the seeds."""
    measures = sorted({c.peak_memory for c in comp.costs})
    hardware = hardware_note(comp)
    return [
        f"## Cost per run: medians over {plural(len(comp.seeds), 'seed')}",
        "",
        "From the re-runs of each arm's best config. Training seconds exclude "
        "evaluations; optimizer state is what the optimizer keeps between steps at the "
        "end of training (AdamW: its two moments; M-FAC: the gradient buffer, GGᵀ and "
        "momentum), over the word embedding's rows the data uses. "
        f"Peak memory: {'; '.join(measures)}. Time to target: to "
        f"{comp.metric} {number_cell(comp.target)} ({comp.target_source})."
        + ("" if hardware is None else f" **{hardware}**"),
        "",
        markdown_table(cost_rows(comp)),
        "",
    ]


def configs_section(comp: Comparison, shown: Sequence[str]) -> Section:
    """The re-run configs' table over the ``shown`` metrics, and each config's params."""
    return [
        f"## Configs: {config_title(comp)}",
        "",
        markdown_table(config_rows(comp, shown)),
        "",
        "Params:",
        "",
        *(f"- {config_label(c)}: {params_text(c.params)}" for c in comp.configs),
        "",
    ]


def runs_section(comp: Comparison, shown: Sequence[str]) -> Section:
    """Every re-run with its ``shown`` metrics."""
    return ["## Runs", "", markdown_table(run_rows(comp, shown)), ""]


def _band(comp: Comparison) -> str:
    low, high = comp.curve_band
    return f"{high - low:.0%}"


def plots_section(plots: Mapping[str, str | None]) -> Section:
    """The plots, or why one was skipped."""
    lines = ["## Plots", ""]
    for name, skipped in plots.items():
        stem = name.rsplit(".", 1)[0]
        lines.append(f"- `{name}`: {skipped}" if skipped else f"![{stem}]({name})")
    return [*lines, ""]


def notes_section(notes: Sequence[str]) -> Section:
    return ["## Notes", "", *(f"- {n}" for n in notes), ""] if notes else []


def compare_markdown(doc: CompareReport, plots: Mapping[str, str | None] | None = None) -> str:
    """compare.md: every table of the comparison, the plots and the notes."""
    comp = doc.comparison
    arms = ", ".join(
        f"{a.name} (`{a.study}`, `{a.study_file}`)" + (", the baseline" if a.baseline else "")
        for a in comp.arms
    )
    intro = (
        f"Arms: {arms}. Objective: {comp.metric} ({comp.direction}). Top "
        f"{plural(comp.top, 'config')} of each arm re-run with "
        f"{plural(len(comp.seeds), 'shared seed')}. Created "
        f"{doc.created}."
    )
    cards, rest = comparison_sections(comp)
    parts = [f"# Comparison: {doc.name}", "", intro, "", *cards]
    for section in rest:
        parts += section
    if plots:
        parts += plots_section(plots)
    parts += notes_section(comp.notes)
    return "\n".join(parts)


def params_text(params: Params) -> str:
    shown = ", ".join(f"`{k}` = {_param(v)}" for k, v in params.items())
    return shown or "no searched params"


def _param(value: ParamValue) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
