"""``hpsearch report``: compare a study with its baseline (``hpsearch compare`` of the two),
plus the study's own tables: learning schemes, a multitask study's tasks, its trials."""

from __future__ import annotations

from hpsearch.cli.options import (
    AllowDrift,
    Budget,
    Overrides,
    Seeds,
    Storage,
    StudyFile,
    Target,
    TopConfigs,
)


def report(
    study_file: StudyFile,
    seeds: Seeds = 5,
    top: TopConfigs = 1,
    budget: Budget = None,
    target: Target = None,
    storage: Storage = None,
    overrides: Overrides = None,
    allow_drift: AllowDrift = False,
) -> None:
    """Compare a study with its baseline as `hpsearch compare` does, and report on it.

    The baseline is the study file named by study.baseline (none: the study alone, or its
    optimizers when its space searches optimizer.kind). Both are judged on equal tuning
    budgets and their top configs re-run with one shared seed list; prints the model cards'
    table (mean ± std, best run, paired difference with its CI and tests, time-to-target,
    step time, optimizer memory), the learning schemes and every config, and writes
    report.md, report.csv, report.json and plots to results/<study name>/ beside the study
    file. The re-runs are trials of the companion study <name>-reseed: running the command
    again skips the seeds that finished (and, when none is left to run, only reads the
    storage). Each config is re-run under the settings it was tuned with: a study file (or
    --set) whose fixed settings differ from its judged trials' is refused unless
    --allow-drift.
    """
    # Imported here, not above, so that `hpsearch --help` does not pay for them.
    import optuna

    from hpsearch.cli.compare import (
        given_options,
        print_interrupted,
        rerun_estimate,
        show_plan,
        show_results,
        where_reruns,
    )
    from hpsearch.cli.progress import RunProgress
    from hpsearch.cli.tables import comparison_notes, terminal_tables
    from hpsearch.compare.arms import Plan
    from hpsearch.compare.comparison import check_seeds
    from hpsearch.compare.files import check_results_folder
    from hpsearch.compare.target import check_target
    from hpsearch.report.build import planned_reruns, report_study
    from hpsearch.report.files import REPORT_FILES, write_report
    from hpsearch.spec.load import load_spec

    sets = overrides or []
    check_seeds(seeds)
    spec = load_spec(study_file, sets)
    check_target(target, spec.metric)
    folder = spec.results_dir()
    check_results_folder(folder, REPORT_FILES)  # before any re-run trains
    planned: list[Plan] = []

    def on_plan(plan: Plan) -> None:  # every input checked; the spaces shown before re-runs
        planned.append(plan)
        show_plan(plan, rerun_estimate(plan, planned_reruns(spec, plan, top), seeds))

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress replaces its lines
    try:
        with RunProgress() as progress:
            data = report_study(
                spec,
                seeds=seeds,
                top=top,
                budget=budget,
                target=target,
                overrides=sets,
                storage=storage,
                progress=progress,
                on_plan=on_plan,
                allow_drift=allow_drift,
            )
    except KeyboardInterrupt as stop:
        if not planned:
            raise
        args = [str(study_file), "--seeds", str(seeds), "--top", str(top)]
        args += given_options(budget=budget, target=target)
        args += [a for item in sets for a in ("--set", item)]
        args += ["--allow-drift"] if allow_drift else []
        print_interrupted(stop, "report", args, planned[0], folder, storage is not None)
    written, plots = write_report(data, folder)
    notes = comparison_notes(data.comparison) + list(data.notes)
    plan = planned[0]
    stored, said = where_reruns(plan), plan.notes
    show_results(terminal_tables(data), notes, folder, written, plots, stored=stored, said=said)
