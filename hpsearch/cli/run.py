"""``hpsearch run``: create or resume a study and run it to its budget, with one or more
workers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hpsearch.cli.options import AllowDrift, Overrides, Storage, StudyFile, output_console
from hpsearch.wording import plural

if TYPE_CHECKING:
    from hpsearch.search.interrupts import Interrupted
    from hpsearch.search.study import RunSummary
    from hpsearch.spec.schema import Spec


def run(
    study_file: StudyFile,
    storage: Storage = None,
    n_trials: Annotated[
        int | None,
        typer.Option(
            "--n-trials",
            min=1,
            metavar="N",
            help="Total budget (complete + pruned trials, all workers).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, metavar="S", help="Stop starting trials after S s."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            metavar="N",
            help="Local worker processes; 0 only creates the study (for a cluster's workers).",
        ),
    ] = 1,
    worker_index: Annotated[
        int | None,
        typer.Option(
            "--worker-index",
            min=0,
            metavar="K",
            help="This worker's number when several start together; offsets the sampler seed.",
        ),
    ] = None,
    overrides: Overrides = None,
    allow_drift: AllowDrift = False,
) -> None:
    """Create a study, or resume it, and run trials until its total budget is reached.

    Running the same command again resumes: finished trials are kept and only the rest of
    the budget runs. The same command started on several machines (with a shared
    --storage) joins one study, and the budget holds across all of them. A study whose
    fixed settings changed in the study file is refused, naming what changed, unless
    --allow-drift.
    """
    run_study_file(
        study_file,
        storage=storage,
        n_trials=n_trials,
        timeout=timeout,
        workers=workers,
        worker_index=worker_index,
        overrides=overrides or [],
        allow_drift=allow_drift,
    )


def run_study_file(
    study_file: Path,
    *,
    storage: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    workers: int = 1,
    worker_index: int | None = None,
    overrides: list[str] | None = None,
    allow_drift: bool = False,
    say_next: bool = True,
) -> None:
    """What ``hpsearch run`` does, for the commands that run a study as it does (``compare``
    of a suite file): calibrate first where the lr is ``"calibrated"``, run or resume the
    study to its budget with the progress bar, then say what ran. ``say_next``: end with
    the commands to run next (a suite says its own)."""
    # Imported here, not above, so that `hpsearch --help` does not pay for them.
    import optuna

    from hpsearch.cli.calibrate import calibrated_for_run
    from hpsearch.cli.progress import RunProgress
    from hpsearch.search.estimate import study_estimate
    from hpsearch.search.interrupts import Interrupted
    from hpsearch.search.storage import display_url
    from hpsearch.search.study import resolve_storage_url, run_study
    from hpsearch.search.workers import create_study, run_workers
    from hpsearch.spec.load import load_spec

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress replaces its lines
    # A study searching train.lr = "calibrated" gets its ranges here (calibrating first).
    spec = calibrated_for_run(load_spec(study_file, overrides or []), storage)
    if workers == 0:
        try:
            study = create_study(spec, storage, budget=n_trials, allow_drift=allow_drift)
        except Interrupted as stop:
            _print_interrupted(spec, storage, n_trials, stop)
            raise typer.Exit(stop.exit_code) from None
        url = resolve_storage_url(spec, storage)
        shown = display_url(url)
        # The URL in the hint is the shown one: a password is never printed.
        where = f" with HPSEARCH_STORAGE={shown}" if storage else ""
        if shown != url:
            where += " (password hidden: set it there, or in PGPASSWORD or ~/.pgpass)"
        output_console().print(
            f"study {spec.study.name} ready in {shown} ({plural(len(study.trials), 'trial')}); "
            f"start workers with `hpsearch run {study_file}`{where}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    budget = n_trials or spec.study.n_trials

    def estimate(trials):  # said when the run starts, from the study's trials so far
        return study_estimate(spec, trials, budget, workers)

    try:
        with RunProgress(workers=workers, estimate=estimate) as progress:
            if workers == 1:
                summary = run_study(
                    spec,
                    storage_url=storage,
                    n_trials=n_trials,
                    timeout=timeout,
                    progress=progress,
                    worker_index=worker_index,
                    on_wait=progress.waiting,
                    allow_drift=allow_drift,
                )
            else:
                summary = run_workers(
                    spec,
                    study_file,
                    workers,
                    storage_url=storage,
                    n_trials=n_trials,
                    timeout=timeout,
                    overrides=overrides or [],
                    progress=progress,
                    allow_drift=allow_drift,
                )
    except Interrupted as stop:
        _print_interrupted(spec, storage, n_trials, stop)
        raise typer.Exit(stop.exit_code) from None
    _print_summary(spec, storage, summary, n_trials)
    if say_next:
        _print_next(study_file, storage, overrides or [], summary)
    if summary.stopped_on_failures:
        raise typer.Exit(1)


def _print_next(
    study_file: Path, storage: str | None, overrides: list[str], summary: RunSummary
) -> None:
    """Where the study is, and the commands that read it next, with the same ``--set``
    overrides (another study name, say) and storage."""
    import shlex

    from hpsearch.search.storage import display_url

    note = ""
    flag = "".join(f" --set {shlex.quote(item)}" for item in overrides)
    if storage:  # the same storage for the next commands; a password is never printed
        shown = display_url(storage)
        if shown == storage:
            flag += f" --storage {shlex.quote(storage)}"
        else:
            note = " (with the same --storage; its password is not shown)"
    if summary.finished < summary.budget:
        line = f"next: `hpsearch run {study_file}{flag}` runs the rest of the budget"
    else:
        line = (
            f"next: `hpsearch leaderboard {study_file}{flag}` shows every trial; "
            f"`hpsearch report {study_file}{flag}` re-runs the best configs over seeds "
            "and writes the report"
        )
    output_console().print(line + note, markup=False, highlight=False, soft_wrap=True)


def _print_summary(
    spec: Spec, storage: str | None, summary: RunSummary, n_trials: int | None
) -> None:
    import optuna

    from hpsearch.cli.calibrate import calibration_lines
    from hpsearch.cli.views import render_leaderboard
    from hpsearch.search.leaderboard import leaderboard_rows
    from hpsearch.search.record import ran_on, read_record
    from hpsearch.search.storage import display_url
    from hpsearch.search.study import resolve_storage_url

    out = output_console()
    trials = summary.study.trials
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in trials)
    # train.precision = "auto" resolves by machine: say what the finished trials ran on.
    costs = [read_record(t).cost for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    places = sorted(
        {ran_on(c.device, c.precision) for c in costs if c is not None and c.device is not None}
    )
    trained = f"; trained on {' / '.join(places)}" if places else ""
    if summary.ran == 0 and summary.finished >= summary.budget:
        # Nothing ran because the budget was already spent: "7/2 trials finished" read as
        # an error; say what the budget is and how to run more.
        given = f"--n-trials {n_trials}" if n_trials else f"study.n_trials = {summary.budget}"
        done = (
            f"{plural(summary.finished, 'trial')} finished already, at or past its budget of "
            f"{summary.budget} ({given}: the study's total, not trials to add), so none ran "
            f"now ({failed} failed in all); pass --n-trials {summary.finished + 1} or more to "
            "run more"
        )
    else:
        done = (
            f"{summary.finished}/{summary.budget} trials finished "
            f"({summary.ran} run now, {failed} failed in all)"
        )
    out.print(
        f"study {spec.study.name}: {done}{trained}; "
        f"storage {display_url(resolve_storage_url(spec, storage))}",
        markup=False,
        highlight=False,
    )
    for line in calibration_lines(spec, storage, trials):
        out.print(line, markup=False, highlight=False)
    if summary.stopped_on_failures:
        out.print(
            f"stopped: {plural(spec.study.max_failures, 'trial')} in a row failed (see their "
            "reasons above); fix the setup and run again",
            markup=False,
            style="red",
        )
    rows = leaderboard_rows(summary.study, spec.metric, top=10)
    if rows:
        title = f"{spec.study.name}: top 10"
        out.print(render_leaderboard(rows, spec.metric, title=title, columns=spec.shown_metrics))


def _print_interrupted(
    spec: Spec, storage: str | None, n_trials: int | None, stop: Interrupted
) -> None:
    from hpsearch.search.runner import count_finished
    from hpsearch.search.study import StudyNotFoundError, load_study

    try:
        finished = count_finished(load_study(spec, storage))
    except StudyNotFoundError:  # stopped while loading the data, before the study was written
        finished = 0
    budget = n_trials or spec.study.n_trials
    what = (
        "no trial had started"
        if stop.during
        else "a trial that was running is recorded as failed, with the reason, and queued to "
        "run again"
    )
    output_console().print(
        f"{stop}: study {spec.study.name} has {finished}/{budget} trials finished; "
        f"{what}. Run the same command to resume.",
        markup=False,
        highlight=False,
        style="yellow",
    )
