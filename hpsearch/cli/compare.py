"""``hpsearch compare``: arms on equal tuning budgets, tuning curves, paired seeds, cost."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hpsearch.cli.options import Budget, Overrides, Seeds, Storage, Target, TopConfigs

if TYPE_CHECKING:
    from hpsearch.compare.arms import Plan
    from hpsearch.compare.model import Comparison
    from hpsearch.compare.png import PlotResult

StudyFiles = Annotated[
    list[Path],
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="STUDY_FILE...",
        help="Study files (TOML), one arm each; the first is the baseline. One file whose "
        "space searches optimizer.kind gives an arm per kind.",
    ),
]


def compare(
    study_files: StudyFiles,
    seeds: Seeds = 5,
    top: TopConfigs = 1,
    budget: Budget = None,
    target: Target = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", metavar="NAME", help="The baseline arm by name (default: the first)."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="Results folder name (default: the studies' joined)."
        ),
    ] = None,
    storage: Storage = None,
    overrides: Overrides = None,
) -> None:
    """Compare tuned optimizers: is one better once both are tuned, and at what cost?

    Every arm is judged on the same number of finished trials (the first K by trial number).
    Its search space is shown beside the others' before anything runs. Then the top configs
    of every arm are re-run without pruning on one shared seed list, and each arm is compared
    with the baseline seed by seed (paired t-test, Wilcoxon, bootstrap CI), with tuning
    curves (expected best after k trials) and cost (time per step, optimizer memory,
    time-to-target). Writes compare.md, compare.csv, compare.json and plots to
    results/<name>/ beside the first study file. Re-runs are kept in each study's
    companion <name>-reseed: running the command again runs nothing new.
    """
    import datetime as dt

    from hpsearch.compare.arms import CompareError, plan_comparison, results_folder, source
    from hpsearch.compare.files import write_compare
    from hpsearch.compare.model import COMPARE_VERSION, CompareReport
    from hpsearch.spec.load import load_spec

    sets = overrides or []
    sources = [source(load_spec(f, sets), overrides=sets, storage=storage) for f in study_files]
    if name is not None and (not name or "/" in name or name.startswith(".")):
        raise CompareError(f"--name must be a plain folder name, but got {name!r}")
    plan = plan_comparison(sources, baseline=baseline, budget=budget)  # every check first
    if len(plan.arms) < 2:
        raise CompareError(
            f"{sources[0].file} is one arm ({plan.arms[0].name}); compare needs two: give "
            "another study file, or one whose space searches optimizer.kind"
        )
    name, folder = results_folder(sources, name)
    show_plan(plan)
    comparison = run_comparison(plan, seeds=seeds, top=top, target=target)
    doc = CompareReport(
        version=COMPARE_VERSION,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        name=name,
        study_files=tuple(str(Path(s.file).resolve()) for s in sources),
        comparison=comparison,
    )
    written, plots = write_compare(doc, folder)
    from hpsearch.cli.tables import comparison_notes, comparison_tables

    show_results(
        comparison_tables(comparison), comparison_notes(comparison), folder, written, plots
    )


def show_plan(plan: Plan) -> None:
    """What will be compared, before anything runs: the spaces, their warnings, the budget."""
    from hpsearch.cli.options import output_console
    from hpsearch.cli.tables import space_tables
    from hpsearch.compare.spaces import space_rows, space_warnings

    out = output_console()
    rows = space_rows(plan.arms)
    out.print(space_tables(rows, [a.name for a in plan.arms]))
    for warning in space_warnings(rows, plan.arms):
        out.print(f"warning: {warning}", markup=False, highlight=False, style="yellow")
    out.print(
        f"budget: every arm is judged on its first {plan.budget} finished trials",
        markup=False,
        highlight=False,
    )
    for note in plan.notes:
        out.print(f"note: {note}", markup=False, highlight=False)


def run_comparison(
    plan: Plan,
    *,
    seeds: int,
    top: int,
    target: float | None,
    shown: list[str] | None = None,
) -> Comparison:
    """The re-runs and the comparison, with the run's progress on stderr."""
    import optuna

    from hpsearch.cli.progress import RunProgress
    from hpsearch.compare.comparison import build_comparison

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress replaces its lines
    with RunProgress() as progress:
        return build_comparison(
            plan, seeds=seeds, top=top, target=target, shown=shown, progress=progress
        )


def show_results(
    tables: list, notes: list[str], folder: Path, written: list[Path], plots: PlotResult
) -> None:
    """The summary tables and notes, then what was written where."""
    from hpsearch.cli.options import output_console

    out = output_console()
    for table in tables:
        out.print(table)
    for note in notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    names = ", ".join(p.name for p in written)
    out.print(f"wrote {folder}: {names}", markup=False, highlight=False, soft_wrap=True)
    for plot, skipped in plots.items():
        if skipped:
            out.print(f"{plot}: {skipped}", markup=False, highlight=False)
