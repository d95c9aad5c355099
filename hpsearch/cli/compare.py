"""``hpsearch compare``: arms on equal tuning budgets, tuning curves, paired seeds, cost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from hpsearch.cli.options import (
    AllowDrift,
    Overrides,
    Seeds,
    Storage,
    Target,
    TopConfigs,
    exit_stopped,
    output_console,
    study_files,
)
from hpsearch.wording import plural, shown_path

if TYPE_CHECKING:
    from hpsearch.compare.arms import Plan
    from hpsearch.compare.comparison import Reruns
    from hpsearch.compare.model import Comparison
    from hpsearch.compare.png import PlotResult
    from hpsearch.search.estimate import Estimate

StudyFiles = study_files(
    "Study files (TOML), one arm each; the first is the baseline. One file whose "
    "space searches optimizer.kind gives an arm per kind. Or one suite file (a [suite] "
    "table and its [[workloads]]; docs/report.md)."
)
# Not hpsearch.compare.axes.AXES: the command line's help must not import the compare layer
BudgetBy = Annotated[
    str,
    typer.Option(
        "--budget-by",
        metavar="AXIS",
        help="What the equal budget counts: trials, seconds (training seconds) or steps "
        "(optimizer steps); each arm is judged on its first trials that fit within the "
        "smallest arm's total.",
    ),
]
AxisBudget = Annotated[
    float | None,
    typer.Option(
        "--budget",
        metavar="B",
        help="Judge every arm within B of --budget-by's unit: its first B finished trials, "
        "or the first trials whose seconds or steps add up to at most B (default: the "
        "smallest arm's total).",
    ),
]
PBest = Annotated[
    bool,
    typer.Option(
        "--p-best",
        help="Add each arm's probability of being the best arm at a few budgets on "
        "--budget-by's axis (bootstrapped from its judged trials): a table and p_best.png.",
    ),
]


def compare(
    ctx: typer.Context,
    study_files: StudyFiles,
    seeds: Seeds = 5,
    top: TopConfigs = 1,
    budget: AxisBudget = None,
    budget_by: BudgetBy = "trials",
    p_best: PBest = False,
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
    allow_drift: AllowDrift = False,
    no_train: Annotated[
        bool,
        typer.Option(
            "--no-train",
            help="A suite file only: train nothing; sum up the workloads whose trials and "
            "re-runs have all finished, and name the others (a suite still running).",
        ),
    ] = False,
) -> None:
    """Compare tuned optimizers: is one better once both are tuned, and at what cost?

    Every arm is judged on the same number of finished trials (the first K by trial number),
    or with --budget-by seconds or steps on the same compute: its first trials whose
    training seconds or optimizer steps fit within the smallest arm's total. Its search
    space is shown beside the others' before anything runs. Then the top configs of every
    arm are re-run without pruning on one shared seed list, and each arm is compared with
    the baseline seed by seed (paired t-test and its CI, Wilcoxon), with tuning curves
    (expected best after k trials, or after a budget of seconds or steps), cost (time per
    step, optimizer memory, time-to-target) and, with --p-best, each arm's probability of
    being the best arm at a few budgets. Writes compare.md, compare.csv, compare.json and
    plots to results/<name>/ beside the first study file. Re-runs are kept in each study's
    companion <name>-reseed: running the command again runs nothing new. Each config is
    re-run under the settings it was tuned with: a study file (or --set) whose fixed
    settings differ from its judged trials' is refused, naming each field, unless
    --allow-drift.

    Given a suite file instead (docs/report.md), runs or resumes what each of its
    workloads misses (trials as `hpsearch run` would, then re-runs), writes each
    workload's files and one summary across them: results/<suite name>/ beside it;
    --no-train sums up only what has finished.
    """
    from hpsearch.cli.suite import compare_suite, suite_file, suite_options_given

    suite = suite_file(study_files)
    if suite is not None:
        given = suite_options_given(ctx)
        return compare_suite(
            suite,
            compare=shown_comparison,
            given=given,
            allow_drift=allow_drift,
            train=not no_train,
        )
    import datetime as dt

    from hpsearch.compare.arms import CompareError, plan_comparison, results_folder, source

    if no_train:
        raise CompareError(
            "--no-train sums up a suite file's finished workloads; study files are compared "
            "by re-running their top configs: give a suite file, or leave --no-train out"
        )
    from hpsearch.compare.axes import check_axis, check_budget
    from hpsearch.compare.comparison import check_seeds
    from hpsearch.compare.files import COMPARE_FILES, check_results_folder, write_compare
    from hpsearch.compare.model import CompareReport, compare_version
    from hpsearch.compare.settings import checked
    from hpsearch.compare.target import check_target
    from hpsearch.spec.load import load_spec

    sets = overrides or []
    check_seeds(seeds)
    axis = check_axis(budget_by)
    budget = check_budget(budget, axis)
    sources = [source(load_spec(f, sets), overrides=sets, storage=storage) for f in study_files]
    check_target(target, sources[0].spec.metric)
    if name is not None and (not name or "/" in name or name.startswith(".")):
        raise CompareError(f"--name must be a plain folder name, but got {name!r}")
    # every check first
    plan = plan_comparison(sources, baseline=baseline, budget=budget, axis=axis)
    if len(plan.arms) < 2:
        # A study that searches optimizer.kind whose other kinds were left out says why.
        left_out = [n for n in plan.notes if n.startswith("left out of the comparison")]
        why = f" ({'; '.join(left_out)})" if left_out else ""
        raise CompareError(
            f"{sources[0].file} is one arm ({plan.arms[0].name}){why}; compare needs two: "
            "give another study file, or one whose space searches optimizer.kind"
        )
    plan = checked(plan, allow_drift=allow_drift)
    given = name
    name, folder = results_folder(sources, name)
    check_results_folder(folder, COMPARE_FILES)  # before any re-run trains
    from hpsearch.compare.comparison import planned_reruns

    show_plan(plan, rerun_estimate(plan, planned_reruns(plan, top), seeds))
    try:
        comparison = run_comparison(plan, seeds=seeds, top=top, target=target, p_best=p_best)
    except KeyboardInterrupt as stop:
        args = [*map(str, study_files), "--seeds", str(seeds), "--top", str(top)]
        args += given_options(budget=budget, target=target, baseline=baseline, name=given)
        args += ["--budget-by", axis] if axis != "trials" else []
        args += ["--p-best"] if p_best else []
        args += [a for item in sets for a in ("--set", item)]
        args += ["--allow-drift"] if allow_drift else []
        print_interrupted(stop, "compare", args, plan, folder, storage is not None)
    doc = CompareReport(
        version=compare_version(comparison),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        name=name,
        study_files=tuple(shown_path(Path(s.file).resolve()) for s in sources),
        comparison=comparison,
    )
    written, plots = write_compare(doc, folder)
    from hpsearch.cli.tables import comparison_notes, comparison_tables

    show_results(
        comparison_tables(comparison),
        comparison_notes(comparison),
        folder,
        written,
        plots,
        stored=where_reruns(plan),
        said=plan.notes,
    )


def given_options(**options: object) -> list[str]:
    """``--budget 8 --target 0.8``: the options given (not None), as the command line."""
    return [a for k, v in options.items() if v is not None for a in (f"--{k}", str(v))]


def print_interrupted(
    stop: KeyboardInterrupt,
    command: str,
    args: list[str],
    plan: Plan,
    folder: Path,
    storage: bool,
) -> NoReturn:
    """What a Ctrl-C (or SIGTERM) stopped, and the command that resumes, as `run` says it;
    then exit with the signal's code (130 for Ctrl-C)."""
    import shlex

    from hpsearch.search.reseed import reseed_name

    companions = ", ".join(dict.fromkeys(reseed_name(a.spec.study.name) for a in plan.arms))
    again = shlex.join(["hpsearch", command, *args])
    if storage:
        again += " with the same --storage (or HPSEARCH_STORAGE)"
    exit_stopped(
        stop,
        f"{stop or 'interrupted'}: {command} stopped while re-running the configs of "
        f"{', '.join(a.name for a in plan.arms)}; the re-runs that finished are kept in "
        f"{companions}, a re-run that was running is recorded as failed, with the reason, "
        f"and queued to run again; nothing was written to {folder}. Resume with: {again}",
    )


def notes_once(notes: Sequence[str], said: Sequence[str] = ()) -> list[str]:
    """``note: ...`` lines, each note once and none of those ``said`` already (the plan's,
    before the re-runs); the one-class sentence that several notes end with (``... seed
    re-runs: one class: the classifier predicted ...``) is a mark on each and the sentence
    once, as a legend after them."""
    from hpsearch.cli.progress import ONE_CLASS_MARK

    lines, legend = [], None
    for note in dict.fromkeys(n for n in notes if n not in said):
        head, found, tail = note.partition(": one class: ")
        if found and legend in (None, tail):
            legend = tail
            note = f"{head}: one class{ONE_CLASS_MARK}"
        lines.append(f"note: {note}")
    if legend is not None:
        lines.append(f"{ONE_CLASS_MARK} one class: {legend}")
    return lines


def rerun_estimate(plan: Plan, reruns: Reruns, seeds: int) -> Estimate:
    """How long the ``reruns`` of ``plan`` take, with ``seeds`` seeds each."""
    from hpsearch.search.estimate import rerun_estimate as estimate
    from hpsearch.search.reseed import shared_seeds

    return estimate(reruns, shared_seeds(plan.baseline.spec, seeds))


def where_reruns(plan: Plan) -> str:
    """``re-runs in adam-reseed, mfac-reseed (sqlite:///…/studies.db)``."""
    from hpsearch.search.reseed import reseed_name
    from hpsearch.search.storage import display_url

    names = ", ".join(dict.fromkeys(reseed_name(a.spec.study.name) for a in plan.arms))
    urls = " / ".join(dict.fromkeys(display_url(a.spec.study.storage or "") for a in plan.arms))
    return f"re-runs in {names} ({urls})"


def show_plan(plan: Plan, estimate: Estimate | None = None) -> None:
    """What will be compared, before anything runs: the spaces, their warnings, the budget,
    and how long the re-runs take."""
    from hpsearch.cli.tables import space_tables
    from hpsearch.compare.spaces import space_rows, space_warnings

    out = output_console()
    rows = space_rows(plan.arms)
    out.print(space_tables(rows, [a.name for a in plan.arms]))
    for warning in space_warnings(rows, plan.arms):
        out.print(f"warning: {warning}", markup=False, highlight=False, style="yellow")
    out.print(f"budget: {budget_line(plan)}", markup=False, highlight=False)
    for note in plan.notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    if estimate is not None:
        from hpsearch.cli.estimates import estimate_line

        line = estimate_line(estimate, noun="re-run")
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def shown_comparison(
    plan: Plan, *, seeds: int, top: int, target: float | None, p_best: bool
) -> Comparison:
    """The plan shown, then the re-runs and the comparison with their progress: a suite's
    workload, compared as this command compares."""
    from hpsearch.compare.comparison import planned_reruns

    show_plan(plan, rerun_estimate(plan, planned_reruns(plan, top), seeds))
    return run_comparison(plan, seeds=seeds, top=top, target=target, p_best=p_best)


def budget_line(plan: Plan) -> str:
    """``every arm is judged on its first 8 finished trials``, or within the plan's seconds
    or steps."""
    from hpsearch.compare.axes import AXES

    axis = AXES[plan.axis]
    if not axis.compute:
        return f"every arm is judged on its first {plural(int(plan.budget), 'finished trial')}"
    return (
        f"every arm is judged on its first finished trials that fit within "
        f"{axis.amount(plan.budget)} ({axis.label})"
    )


def run_comparison(
    plan: Plan,
    *,
    seeds: int,
    top: int,
    target: float | None,
    shown: list[str] | None = None,
    p_best: bool = False,
) -> Comparison:
    """The re-runs and the comparison, with the run's progress on stderr."""
    import optuna

    from hpsearch.cli.progress import RunProgress
    from hpsearch.compare.comparison import build_comparison

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress replaces its lines
    with RunProgress() as progress:
        return build_comparison(
            plan,
            seeds=seeds,
            top=top,
            target=target,
            shown=shown,
            progress=progress,
            p_best=p_best,
        )


def show_results(
    tables: list,
    notes: list[str],
    folder: Path,
    written: list[Path],
    plots: PlotResult,
    *,
    stored: str = "",
    said: Sequence[str] = (),
) -> None:
    """The summary tables and notes (each once, but for those ``said`` with the plan), then
    what was written where, and what to read next. ``stored``: where the re-runs are kept."""

    out = output_console()
    for table in tables:
        out.print(table)
    for note in notes_once(notes, said):
        out.print(note, markup=False, highlight=False, soft_wrap=True)
    names = ", ".join(p.name for p in written)
    out.print(f"wrote {folder}: {names}", markup=False, highlight=False, soft_wrap=True)
    for plot, skipped in plots.items():
        if skipped:
            out.print(f"{plot}: {skipped}", markup=False, highlight=False, soft_wrap=True)
    markdown = next((p for p in written if p.suffix == ".md"), None)
    if stored:
        out.print(stored, markup=False, highlight=False, soft_wrap=True)
    if markdown is not None:
        out.print(
            f"next: read {markdown} (every column, and what each number means)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
