"""``hpsearch run``: create or resume a study and run it to its budget."""

from __future__ import annotations

from typing import Annotated

import optuna
import typer

from hpsearch.cli.options import Overrides, Storage, StudyFile, output_console
from hpsearch.leaderboard import leaderboard_rows, render_leaderboard
from hpsearch.progress import RunProgress
from hpsearch.spec import load_spec
from hpsearch.study import run_study


def run(
    study_file: StudyFile,
    storage: Storage = None,
    n_trials: Annotated[
        int | None,
        typer.Option("--n-trials", min=1, help="Total budget (complete + pruned trials)."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=1, help="Stop starting trials after S s.")
    ] = None,
    overrides: Overrides = None,
) -> None:
    """Create a study, or resume it, and run trials until its total budget is reached.

    Running the same command again resumes: finished trials are kept and only the rest of
    the budget runs.
    """
    spec = load_spec(study_file, overrides or [])
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress replaces its lines
    with RunProgress() as progress:
        summary = run_study(
            spec, storage_url=storage, n_trials=n_trials, timeout=timeout, progress=progress
        )
    out = output_console()
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in summary.study.trials)
    out.print(
        f"study {spec.study.name}: {summary.finished}/{summary.budget} trials finished "
        f"({summary.ran} run now, {failed} failed in all); storage {storage or spec.study.storage}",
        markup=False,
        highlight=False,
    )
    if summary.stopped_on_failures:
        out.print(
            f"stopped: {spec.study.max_failures} trials in a row failed (see their reasons "
            "above); fix the setup and run again",
            markup=False,
            style="red",
        )
    rows = leaderboard_rows(summary.study, spec.metric, top=10)
    if rows:
        out.print(render_leaderboard(rows, spec.metric, title=f"{spec.study.name}: top 10"))
    if summary.stopped_on_failures:
        raise typer.Exit(1)
