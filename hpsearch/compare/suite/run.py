"""Running a suite: each workload's arm studies to their budget (only what is missing), its
paired re-runs, its compare files, then the summary.

What trains goes through two callables the caller gives, so that the suite runs exactly
what ``hpsearch run`` and ``hpsearch compare`` run, with their progress: ``run_study``
(a study file run or resumed to its ``study.n_trials``, or to a total the suite gives, in
the suite's storage, calibration first where its lr is ``"calibrated"``) and ``compare``
(the re-runs and the comparison: :func:`~hpsearch.compare.comparison.build_comparison` or
the command line's, with a progress bar). A study at its budget is not run, and re-runs
that finished are read back, so with nothing missing the suite trains nothing and only
writes its files again. On a compute axis a suite that tops up
(:mod:`~hpsearch.compare.top_up`) runs the cheaper arms past their ``n_trials`` until
each has spent the costliest arm's compute; until then the workload is missing trials.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hpsearch.compare.arms import CompareError, Plan, plan_comparison, source
from hpsearch.compare.axes import AXES
from hpsearch.compare.budget import trial_compute
from hpsearch.compare.comparison import MAX_SEEDS, build_comparison
from hpsearch.compare.files import COMPARE_FILES, check_results_folder, write_compare
from hpsearch.compare.model import COMPARE_VERSION, CompareReport, Comparison
from hpsearch.compare.png import PlotResult
from hpsearch.compare.settings import checked
from hpsearch.compare.suite.file import FILE_SCHEMES, Suite, Workload
from hpsearch.compare.suite.files import SUMMARY_FILES, write_summary
from hpsearch.compare.suite.model import SuiteInfo, SuiteSummary
from hpsearch.compare.suite.summary import WorkloadResult, build_summary
from hpsearch.compare.target import metric_range
from hpsearch.compare.top_up import ArmSpend, goal, more_trials
from hpsearch.errors import SpecError
from hpsearch.search.calibration.calibrating import trial_seconds
from hpsearch.search.record import top_trials
from hpsearch.search.reseed import reruns_finished, shared_seeds
from hpsearch.search.runner import BUDGET_STATES, count_finished
from hpsearch.search.storage import display_url
from hpsearch.search.study import StudyNotFoundError, load_study
from hpsearch.spec.load import load_spec
from hpsearch.spec.schema import Spec
from hpsearch.wording import plural, shown_path

# (study file, storage URL, total trials or None for its study.n_trials) → run it as `run` does
RunStudy = Callable[[Path, str, int | None], None]
Say = Callable[[str], None]


class Compare(Protocol):
    """The re-runs and the comparison of a plan, as
    :func:`~hpsearch.compare.comparison.build_comparison` makes them."""

    def __call__(
        self, plan: Plan, *, seeds: int, top: int, target: float | None, p_best: bool
    ) -> Comparison: ...


@dataclass(frozen=True)
class WorkloadRun:
    """A workload once run and compared: what ran, its comparison and its files."""

    workload: Workload
    ran: tuple[Path, ...]  # the study files run (or resumed) now
    comparison: Comparison
    folder: Path
    written: tuple[Path, ...]
    plots: PlotResult
    # Each arm's judged trials' wall seconds (the comparison keeps their numbers, not times)
    tuning_seconds: dict[str, float | None]


@dataclass(frozen=True)
class SuiteRun:
    """A suite once run: its workloads and its summary, with the files written."""

    suite: Suite
    workloads: tuple[WorkloadRun, ...]
    summary: SuiteSummary
    written: tuple[Path, ...]
    plots: PlotResult


def run_suite(
    suite: Suite,
    *,
    run_study: RunStudy,
    compare: Compare = build_comparison,
    allow_drift: bool = False,
    say: Say | None = None,
    train: bool = True,
) -> SuiteRun:
    """Run what ``suite`` misses, workload by workload, and write every workload's compare
    files and the summary. With ``train`` False nothing trains: a workload whose studies
    miss trials or whose re-runs have not all finished is left out, and the summary says
    which (a suite that is still running, summed up so far).

    Every check comes first, before anything trains: the suite's seeds, every study file
    (its own errors), one study name per study file, each workload's target against its
    metric, and every results folder.

    Raises:
        SpecError: a study file is invalid, or the suite asks what its studies cannot give.
        CompareError: a workload's arms cannot be compared.
        KeyboardInterrupt: stopped (Ctrl-C or SIGTERM); what finished is kept in the
            storage, and the same call resumes.
    """
    specs = check_suite(suite)
    runs: list[WorkloadRun] = []
    unfinished_lines: list[str] = []
    for w in suite.workloads:
        plan = None
        if not train:
            missing, plan = unfinished(suite, w, specs, allow_drift)
            if missing is not None:
                unfinished_lines.append(missing)
                if say is not None:
                    say(f"{missing}: left out (--no-train)")
                continue
        runs.append(
            run_workload(
                suite, w, specs, run_study, compare, allow_drift=allow_drift, say=say, plan=plan
            )
        )
    info = SuiteInfo(
        name=suite.name,
        suite_file=shown_path(suite.file),
        storage=_shown_storage(suite.storage),
        seeds=suite.seeds,
        top=suite.top,
        budget_by=suite.budget_by,
        tau_max=suite.tau_max,
        top_up=suite.top_up,
    )
    results = [
        WorkloadResult(
            name=r.workload.name,
            comparison=r.comparison,
            results=f"{r.workload.name}/compare.md",
            tuning_seconds=r.tuning_seconds,
        )
        for r in runs
    ]
    summary = build_summary(info, results, _now(), unfinished_lines)
    written, plots = write_summary(summary, suite.folder)
    return SuiteRun(suite, tuple(runs), summary, tuple(written), plots)


def check_suite(suite: Suite) -> dict[Path, Spec]:
    """Every check of :func:`run_suite` that needs no training; the study files' specs.

    Raises:
        SpecError: one line naming the suite file (or the study file) and the key.
        ResultsFolderError: a results folder cannot be written.
    """
    where = str(suite.file)
    if suite.seeds > MAX_SEEDS:
        raise SpecError(where, "suite.seeds", f"must be at most {MAX_SEEDS}, but got {suite.seeds}")
    specs: dict[Path, Spec] = {}
    names: dict[str, tuple[Path, str]] = {}
    for w in suite.workloads:
        for i, file in enumerate(w.files):
            key = f"{w.key}.study" if w.by_kind else f"{w.key}.arms[{i}]"
            spec = specs.setdefault(file, load_spec(file))
            first = names.setdefault(spec.study.name, (file, key))
            if first[0] != file:
                raise SpecError(
                    where,
                    key,
                    f"{file.name} names its study {spec.study.name!r}, as {first[0].name} "
                    f"({first[1]}) does; in the suite's one storage each study file needs a "
                    "study.name of its own",
                )
        _check_target(w, specs[w.files[0]], where)
    for w in suite.workloads:
        check_results_folder(suite.workload_folder(w), COMPARE_FILES)
    check_results_folder(suite.folder, SUMMARY_FILES)
    return specs


def _check_target(w: Workload, spec: Spec, where: str) -> None:
    if w.target is None:
        return
    low, high = metric_range(spec.metric)
    if not low <= w.target <= high:
        raise SpecError(
            where,
            f"{w.key}.target",
            f"must lie within the values {spec.metric} can take, [{low:g}, {high:g}], but "
            f"got {w.target:g}",
        )


def in_storage(spec: Spec, storage: str) -> Spec:
    """``spec`` with its study in ``storage`` (the suite's, over the study file's own)."""
    return spec.model_copy(update={"study": spec.study.model_copy(update={"storage": storage})})


def missing_trials(spec: Spec, storage: str) -> tuple[int, int]:
    """(finished, budget): the study's finished trials in ``storage`` (0 where it was never
    run) and its ``study.n_trials``."""
    try:
        study = load_study(in_storage(spec, storage))
    except StudyNotFoundError:
        return 0, spec.study.n_trials
    return count_finished(study), spec.study.n_trials


def unfinished(
    suite: Suite, w: Workload, specs: dict[Path, Spec], allow_drift: bool
) -> tuple[str | None, Plan | None]:
    """What ``w`` still misses (a study's trials, or its re-runs) as one line, None where
    everything has finished and comparing it would only read; and its checked plan, where
    its studies are at their budget (None before)."""
    for file in w.files:
        finished, budget = missing_trials(specs[file], suite.storage)
        if finished < budget:
            return f"{w.name} ({specs[file].study.name} has {finished}/{budget} trials)", None
    short = _short_of_goal(suite, w, specs)
    if short is not None:
        return f"{w.name} ({short})", None
    plan = _checked_plan(suite, w, specs, allow_drift)
    seeds = shared_seeds(plan.baseline.spec, suite.seeds)
    for arm in plan.arms:
        trials = top_trials(arm.judged, suite.top, plan.maximize)
        if not reruns_finished(arm.spec, arm.study, trials, seeds):
            return f"{w.name} ({arm.name}'s re-runs on {suite.seeds} seeds unfinished)", plan
    return None, plan


def _checked_plan(suite: Suite, w: Workload, specs: dict[Path, Spec], allow_drift: bool) -> Plan:
    """``w``'s arms, cut to equal budgets on the suite's axis and checked for drift.

    Raises:
        CompareError: the workload gives one arm.
    """
    sources = [source(specs[f], storage=suite.storage) for f in w.files]
    plan = plan_comparison(sources, axis=suite.budget_by)
    if len(plan.arms) < 2:
        raise CompareError(
            f"{suite.file}: `{w.key}`: {w.files[0]} gives one arm ({plan.arms[0].name}); a "
            "workload compares two: list two study files in `arms`, or give a `study` whose "
            "space searches optimizer.kind"
        )
    return checked(plan, allow_drift=allow_drift)


def run_workload(
    suite: Suite,
    w: Workload,
    specs: dict[Path, Spec],
    run_study: RunStudy,
    compare: Compare,
    *,
    allow_drift: bool = False,
    say: Say | None = None,
    plan: Plan | None = None,
) -> WorkloadRun:
    """Run ``w``'s studies that miss trials, then its re-runs and comparison; write its
    compare files. ``plan``: its checked plan, made already where nothing was left to run
    (``--no-train``)."""
    ran = []
    counts = []
    for file in w.files:
        spec = specs[file]
        finished, budget = missing_trials(spec, suite.storage)
        counts.append(f"{spec.study.name} {finished}/{budget}")
        if finished < budget:
            if say is not None:
                say(f"{w.name}: study {spec.study.name} has {finished}/{budget} trials: running it")
            run_study(file, suite.storage, None)
            ran.append(file)
    if not ran and say is not None:
        say(f"{w.name}: every study at its budget ({', '.join(counts)}): no trial to run")
    for file in top_up(suite, w, specs, run_study, say):
        if file not in ran:
            ran.append(file)
    if plan is None or ran:
        plan = _checked_plan(suite, w, specs, allow_drift)
    comparison = compare_workload(plan, suite, w, compare)
    doc = CompareReport(
        version=COMPARE_VERSION,
        created=_now(),
        name=w.name,
        study_files=tuple(shown_path(f) for f in w.files),
        comparison=comparison,
    )
    folder = suite.workload_folder(w)
    written, plots = write_compare(doc, folder)
    tuning = {a.name: trial_seconds(a.judged) for a in plan.arms}
    return WorkloadRun(w, tuple(ran), comparison, folder, tuple(written), plots, tuning)


def arm_spends(suite: Suite, w: Workload, specs: dict[Path, Spec]) -> list[ArmSpend]:
    """What each arm study of ``w`` has spent on the suite's axis, in the suite's storage."""
    spends = []
    for file in w.files:
        spec = specs[file]
        name = spec.study.name
        try:
            trials = load_study(in_storage(spec, suite.storage)).get_trials(
                deepcopy=False, states=BUDGET_STATES
            )
        except StudyNotFoundError:
            trials = []
        ordered = sorted(trials, key=lambda t: t.number)
        costs = tuple(trial_compute(t, suite.budget_by, name) for t in ordered)
        spends.append(ArmSpend(name, spec.study.n_trials, costs))
    return spends


def _tops_up(suite: Suite, w: Workload) -> bool:
    # One study searching the kind is one budget for both kinds: no arm can run alone.
    return suite.top_up and not w.by_kind


def _short_of_goal(suite: Suite, w: Workload, specs: dict[Path, Spec]) -> str | None:
    """The first arm of ``w`` that has not yet spent the costliest arm's compute, as the
    words of a line; None where every arm has (or the suite does not top up)."""
    if not _tops_up(suite, w):
        return None
    spends = arm_spends(suite, w, specs)
    target = goal(spends)
    short = next((s for s in spends if more_trials(s, target)), None)
    return None if short is None else _shortfall(suite, short, spends, target)


def _shortfall(suite: Suite, arm: ArmSpend, spends: list[ArmSpend], target: float) -> str:
    """``study adam-q has spent 40 s in 2 trials, short of the 90 s that mfac-q's first 2
    spent``."""
    unit = AXES[suite.budget_by]
    costliest = max(spends, key=lambda s: s.at_budget)
    return (
        f"study {arm.name} has spent {unit.amount(arm.total)} in "
        f"{plural(len(arm.costs), 'trial')}, short of the {unit.amount(target)} that "
        f"{costliest.name}'s first {costliest.n_trials} spent"
    )


def top_up(
    suite: Suite, w: Workload, specs: dict[Path, Spec], run_study: RunStudy, say: Say | None
) -> list[Path]:
    """Run each arm of ``w`` that spent less than the costliest arm's first ``n_trials``
    trials, a few trials at a time, until it has spent as much; the files run."""
    ran: list[Path] = []
    if not _tops_up(suite, w):
        return ran
    asked: dict[Path, int] = {}  # each file's total asked for in the last round
    while True:
        spends = arm_spends(suite, w, specs)
        target = goal(spends)
        short = [(f, s) for f, s in zip(w.files, spends, strict=True) if more_trials(s, target)]
        if not short:
            return ran
        stuck = [s.name for f, s in short if len(s.costs) < asked.get(f, 0)]
        if stuck:
            # A run that returns short of its total (every trial failed): asking again would
            # loop; the study's own failures say why.
            raise CompareError(
                f"{suite.file}: `{w.key}`: study {stuck[0]} was run to more trials to catch "
                f"up on {suite.budget_by}, but ended short of them: see its failed trials"
            )
        for file, spend in short:
            total = len(spend.costs) + more_trials(spend, target)
            if say is not None:
                why = _shortfall(suite, spend, spends, target)
                say(f"{w.name}: {why}: running it to {total} trials")
            run_study(file, suite.storage, total)
            asked[file] = total
            if file not in ran:
                ran.append(file)


def compare_workload(plan: Plan, suite: Suite, w: Workload, compare: Compare) -> Comparison:
    """The one place where the suite's settings reach compare (``suite.budget_by`` reached
    the plan: its equal budgets). Each workload gets P(best) on that axis (``--p-best``)."""
    return compare(plan, seeds=suite.seeds, top=suite.top, target=w.target, p_best=True)


def _shown_storage(url: str) -> str:
    """The storage as the summary names it: a journal or SQLite file under the working
    directory by its relative URL (``journal:///docs/x.log``), any other URL as shown
    (a password hidden)."""
    for scheme in FILE_SCHEMES:
        absolute = scheme + "////"
        if url.startswith(absolute) and "?" not in url:
            return f"{scheme}///{shown_path(Path('/' + url.removeprefix(absolute)))}"
    return display_url(url)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
