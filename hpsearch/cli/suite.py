"""``hpsearch compare SUITE.toml``: a workload suite run or resumed (only what is missing),
each workload compared, and the summary written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from hpsearch.cli.options import exit_stopped, output_console

if TYPE_CHECKING:
    from hpsearch.compare.suite.run import Compare, SuiteRun

# compare's options that a suite file sets itself (or that have no meaning for a suite)
SUITE_SETS = ("seeds", "top", "budget", "target", "baseline", "name", "storage", "overrides")


def suite_file(files: list[Path]) -> Path | None:
    """The suite file among compare's ``files`` (a TOML file with a ``[suite]`` table);
    None where they are study files.

    Raises:
        CompareError: a suite file given with other files.
    """
    from hpsearch.compare.arms import CompareError
    from hpsearch.compare.suite.file import is_suite_file

    suites = [f for f in files if is_suite_file(f)]
    if not suites:
        return None
    if len(files) > 1:
        raise CompareError(
            f"{suites[0]} is a suite file, which lists its workloads' study files itself: "
            f"compare it alone (`hpsearch compare {suites[0]}`), not with {len(files) - 1} "
            "other file(s)"
        )
    return suites[0]


def suite_options_given(ctx: typer.Context) -> list[str]:
    """compare's options given on the command line that a suite file sets itself, as the
    command line names them (``--seeds``); an option from the environment
    (``HPSEARCH_STORAGE``) is not given here."""
    return [
        param.opts[0]
        for param in ctx.command.params
        if param.name in SUITE_SETS
        and getattr(ctx.get_parameter_source(param.name), "name", None) == "COMMANDLINE"
    ]


def compare_suite(
    suite_file: Path,
    *,
    compare: Compare,
    given: list[str],
    allow_drift: bool = False,
    train: bool = True,
) -> None:
    """Run what the suite misses, as ``hpsearch run`` and ``hpsearch compare`` would, then
    write each workload's compare files and the summary. ``compare``: a workload's re-runs
    and comparison as ``hpsearch compare`` makes them (the plan shown, then progress);
    ``given``: compare's options given with the suite file (:func:`suite_options_given`)."""
    import optuna

    from hpsearch.compare.arms import CompareError
    from hpsearch.compare.suite.file import load_suite
    from hpsearch.compare.suite.run import run_suite

    if given:
        raise CompareError(
            f"{suite_file} is a suite file, which sets {', '.join(given)} itself (its [suite] "
            "table, and each workload's target); give the suite file alone"
        )
    suite = load_suite(suite_file)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress replaces its lines

    def run_study(file: Path, storage: str, n_trials: int | None) -> None:
        from hpsearch.cli.run import run_study_file

        run_study_file(
            file, storage=storage, n_trials=n_trials, allow_drift=allow_drift, say_next=False
        )

    try:
        done = run_suite(
            suite,
            run_study=run_study,
            compare=compare,
            allow_drift=allow_drift,
            say=_say,
            train=train,
        )
    except KeyboardInterrupt as stop:
        _print_interrupted(stop, suite_file, allow_drift)
    _show(done)


def _say(line: str) -> None:
    output_console().print(line, markup=False, highlight=False, soft_wrap=True)


def _print_interrupted(stop: KeyboardInterrupt, suite_file: Path, allow_drift: bool) -> NoReturn:
    import shlex

    again = shlex.join(["hpsearch", "compare", str(suite_file)] + ["--allow-drift"] * allow_drift)
    exit_stopped(
        stop,
        f"{stop or 'interrupted'}: the suite stopped; the trials and re-runs that finished are "
        f"kept in its storage, and nothing more was written. Resume with: {again}",
    )


def _show(done: SuiteRun) -> None:
    """The summary's tables, where each workload's files went, and what to read next."""
    from hpsearch.cli.tables import rich_table
    from hpsearch.compare.suite.tables import score_rows, score_title, verdict_rows

    out = output_console()
    summary = done.summary
    out.print(
        rich_table(verdict_rows(summary), f"{summary.suite.name}: per workload", "summary.md")
    )
    if summary.profiles:
        out.print(rich_table(score_rows(summary), score_title(summary), "summary.md"))
    for note in summary.notes:
        out.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    for w in done.workloads:
        names = ", ".join(p.name for p in w.written)
        out.print(f"wrote {w.folder}: {names}", markup=False, highlight=False, soft_wrap=True)
    names = ", ".join(p.name for p in done.written)
    out.print(f"wrote {done.suite.folder}: {names}", markup=False, highlight=False, soft_wrap=True)
    for plot, skipped in done.plots.items():
        if skipped:
            out.print(f"{plot}: {skipped}", markup=False, highlight=False, soft_wrap=True)
    out.print(
        f"next: read {done.suite.folder / 'summary.md'} (every column, and what each number "
        "means), and each workload's compare.md",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
