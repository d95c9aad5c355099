"""summary.md: the suite's tables (:mod:`hpsearch.compare.suite.tables`) as markdown, with
what each number means."""

from __future__ import annotations

from collections.abc import Mapping

from hpsearch.compare.markdown import markdown_table
from hpsearch.compare.suite.model import SuiteInfo, SuiteSummary
from hpsearch.compare.suite.tables import (
    profile_rows,
    profile_title,
    score_rows,
    score_title,
    verdict_rows,
)
from hpsearch.compare.tables import digits, number_cell, scale
from hpsearch.wording import plural

PROFILES_PLOT = "profiles.png"


def summary_markdown(summary: SuiteSummary, plots: Mapping[str, str | None]) -> str:
    """summary.md; ``plots``: each plot's file name → None if drawn, else why not."""
    suite = summary.suite
    lines = [
        f"# Suite {suite.name}",
        "",
        f"Suite file `{suite.suite_file}`; every study in `{suite.storage}`. "
        f"{plural(suite.seeds, 'paired seed')} per re-run config, the top {suite.top} "
        f"per arm; equal budgets in {suite.budget_by}{_topped_up(suite)}. "
        f"Written {summary.created}.",
        "",
        "## Per workload",
        "",
        markdown_table(verdict_rows(summary)),
        "",
        "Each workload is compared as `hpsearch compare` compares its arms (equal budgets, "
        "the top configs re-run on one seed list): mean ± std of the objective over the "
        "seeds of the arm's best config; Δ the arm minus the baseline over the same seeds, "
        "with the comparison's 95% paired t-interval; p the paired t-test's, and p (Holm) "
        f"Holm's step-down correction over the {plural(summary.holm_family, 'verdict')} of "
        "the suite (every arm against its baseline, on every workload). No Δ, CI or p where "
        "an arm or its baseline never learned within its space. s/step and peak memory: "
        "medians over the best config's seeds; to target: median training seconds and steps "
        "to the workload's target (a run that never reached it counts as infinitely slow), "
        "with the runs that reached it; "
        "compute: wall seconds of the judged tuning trials, the lr calibration's probes and "
        "every re-run.",
        "",
        *(
            f"- {w.name}: [{w.results}]({w.results}); target "
            f"{number_cell(w.target, digits(w.metric), scale(w.metric))} ({w.target_source})"
            for w in summary.workloads
        ),
        "",
        "## Performance profiles",
        "",
    ]
    skipped = plots.get(PROFILES_PLOT)
    lines += [f"![performance profiles]({PROFILES_PLOT})" if skipped is None else f"({skipped})"]
    lines += [
        "",
        "ρ_a(τ): the share of the workloads on which arm a's cost is within τ × the best "
        "arm's (Dolan & Moré 2002); ∞ where the arm never reached the target, never learned, "
        "or is not an arm of the workload. The score is AlgoPerf's: the area under ρ_a for τ "
        "from 1 to τ_max, over τ_max − 1 (docs/report.md).",
        "",
    ]
    if summary.profiles:
        lines += [f"**{score_title(summary)}**", "", markdown_table(score_rows(summary)), ""]
    for profile in summary.profiles:
        lines += [f"### {profile_title(profile)}", "", markdown_table(profile_rows(profile)), ""]
    if summary.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in summary.notes), ""]
    return "\n".join(lines)


def _topped_up(suite: SuiteInfo) -> str:
    if not suite.top_up:
        return ""
    return (
        ", each arm's study.n_trials its minimum: an arm whose trials cost less ran more of "
        f"them, until it had spent the {suite.budget_by} of the costliest arm's trials"
    )
