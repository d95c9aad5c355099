"""``hpsearch calibrate``: one learning-rate range test per arm of a study, a table per
study, its plot, and what it cost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hpsearch.cli.options import Overrides, Storage, error_console, output_console, study_files
from hpsearch.spec.space import CALIBRATED
from hpsearch.wording import plural

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from hpsearch.cli.fit import FittedTable
    from hpsearch.search.calibration import Calibration, CalibrationCost
    from hpsearch.search.calibration.model import ArmCalibration
    from hpsearch.spec.schema import Spec

StudyFiles = study_files(
    "Study files (TOML); each is calibrated on its own task, model and storage."
)


def calibrate(
    study_files: StudyFiles,
    storage: Storage = None,
    overrides: Overrides = None,
    steps: Annotated[
        int,
        typer.Option(
            "--steps",
            min=2,
            metavar="N",
            help="Steps of each range test (at most one epoch of the study's training data).",
        ),
    ] = 100,
    redo: Annotated[
        bool, typer.Option("--redo", help="Run every range test again, stored or not.")
    ] = False,
) -> None:
    """Measure each arm's learning-rate range by one rule, before a study spends its budget.

    An arm is a study file's optimizer, or each optimizer kind of a study that searches
    optimizer.kind, and for M-FAC each num_grads choice. Each gets one learning-rate range
    test (Smith 2017, fastai's lr_find) on the study's own task and model, its other
    searched fields at their centre: the lr grows from 1e-7 to 10 over --steps steps, and
    the test stops where the smoothed loss diverges, turns NaN, or the classifier
    collapses to one class. The range is [lr*/100, lr*], lr* the lr at the least smoothed
    loss before that. Tests are kept in the study's storage (companion study
    <name>-calibration): running the command again runs only what is missing, and a test
    made under other settings than the study's now runs again. Writes
    results/<name>/calibration.png beside the study file. A study file whose
    [space.train] lr is "calibrated" searches these ranges (run calibrates first).
    """
    import optuna

    from hpsearch.search.calibration import RangeTestSettings
    from hpsearch.search.calibration import calibrate as run_calibration
    from hpsearch.search.interrupts import Interrupted
    from hpsearch.spec.load import load_spec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = RangeTestSettings(steps=steps)
    specs = [load_spec(f, overrides or []) for f in study_files]  # every file checked first
    out = output_console()
    for spec in specs:
        try:
            calibration = run_calibration(
                spec, storage_url=storage, settings=settings, redo=redo, say=_say
            )
        except Interrupted as stop:
            _print_interrupted(spec, storage, stop)
            raise typer.Exit(stop.exit_code) from None
        if not any(a.ran_now for a in calibration.arms):
            _say(
                f"study {spec.study.name}: every arm's range test is stored already, under "
                "the study's settings now: nothing ran (--redo measures again)"
            )
        out.print(calibration_table(calibration))
        out.print(cost_line(study_cost(spec, storage, calibration)), markup=False, highlight=False)
        _write_plot(calibration, spec.results_dir())


def calibrated_for_run(spec: Spec, storage: str | None) -> Spec:
    """``spec`` as ``run`` trains it: its calibrated fields (``[space.train] lr =
    "calibrated"``) searched in the ranges of its calibration, calibrating first what is
    missing (each line said), and the ranges said; any other spec as it is."""
    if not spec.calibrated:
        return spec
    from hpsearch.search.calibration.calibrating import calibrated_spec
    from hpsearch.search.interrupts import Interrupted
    from hpsearch.spec.space import param_text, space_key

    fields = ", ".join(spec.calibrated)

    def say(line: str) -> None:
        _say(f"calibrating first ({fields}: {CALIBRATED}): {line}")

    try:
        resolved = calibrated_spec(spec, storage_url=storage, say=say)
    except Interrupted as stop:
        _print_interrupted(spec, storage, stop)
        raise typer.Exit(stop.exit_code) from None
    calibrated = spec.calibrated
    entries = [(space_key(c.name), c.param) for c in resolved.space_when if c.field in calibrated]
    entries += [(f"space.{f}", resolved.space[f]) for f in calibrated if f in resolved.space]
    shown = "; ".join(f"{key} {param_text(param)}" for key, param in entries)
    _say(f"study {spec.study.name}: {fields} searched in its calibrated ranges: {shown}")
    return resolved


def _say(line: str) -> None:
    error_console().print(line, markup=False, highlight=False, soft_wrap=True)


def calibration_table(calibration: Calibration) -> FittedTable:
    """A row per arm: its range test's least-loss lr, where it failed and how, the chosen
    range (or why there is none), its steps and seconds."""
    from hpsearch.cli.fit import KEEP, FittedColumn, FittedTable

    columns = [
        FittedColumn("arm", wrap=True, justify="left"),
        FittedColumn("num_grads", drop=2),
        FittedColumn("lr at least loss", drop=3),
        FittedColumn("failed at", wrap=True, drop=1, justify="left"),
        FittedColumn("chosen lr range", wrap=True, drop=KEEP, justify="left"),
        FittedColumn("steps", drop=4),
        FittedColumn("seconds", drop=5),
    ]
    rows = [_row(a) for a in calibration.arms]
    return FittedTable(
        columns,
        rows,
        title=f"{calibration.study}: learning-rate range tests",
        caption="range: [lr*/100, lr*], lr* the lr at the least smoothed training loss "
        "before any failure (docs/search.md)",
        dropped_hint="a wider terminal shows them",
    )


def _row(a: ArmCalibration) -> list[str]:
    from hpsearch.optim import OPTIMIZERS

    entry = OPTIMIZERS.get(a.arm.kind)
    name = a.arm.kind if entry is None else entry.label
    test = a.test
    if test is None or a.state != "fresh":
        why = "not measured" if test is None else "stale: " + "; ".join(a.changes)
        num_grads = "–" if a.arm.num_grads is None else str(a.arm.num_grads)
        return [name, num_grads, "–", "–", why, "–", "–"]
    outcome = test.outcome
    failure = outcome.failure
    failed = "–" if failure is None else f"{failure.kind} at {failure.lr:.3g}"
    if outcome.low is not None and outcome.high is not None:
        chosen = f"{outcome.low:.3g} – {outcome.high:.3g}"
    else:
        chosen = f"none: {outcome.problem}"
    return [
        name,
        "–" if test.num_grads is None else str(test.num_grads),
        "–" if outcome.lr_at_min is None else f"{outcome.lr_at_min:.3g}",
        failed,
        chosen,
        f"{test.steps}/{test.planned}",
        f"{test.seconds:.1f}",
    ]


def study_cost(spec: Spec, storage: str | None, calibration: Calibration) -> CalibrationCost:
    """What ``calibration`` cost against the trials of ``spec``'s study so far."""
    from hpsearch.search.calibration import calibration_cost
    from hpsearch.search.storage import read_trials, storage_exists
    from hpsearch.search.study import resolve_storage_url

    url = resolve_storage_url(spec, storage)
    trials: Sequence = []
    if storage_exists(url):
        try:
            trials = read_trials(url, spec.study.name)
        except KeyError:  # calibrated before the study ran
            trials = []
    return calibration_cost(calibration, trials)


def calibration_lines(spec: Spec, storage: str | None, trials: Sequence[FrozenTrial]) -> list[str]:
    """What ``run``'s summary says of the study's calibration: what it cost against the
    study's ``trials``, and each range test made under other settings (neither charged nor
    used); nothing for a study never calibrated."""
    from hpsearch.search.calibration import calibration_cost, read_calibration

    calibration = read_calibration(spec, storage)
    if calibration is None:
        return []
    lines = [cost_line(calibration_cost(calibration, trials))] if calibration.tests else []
    for a in calibration.arms:
        if a.state == "stale":
            lines.append(
                f"calibration: the range test of {a.arm.label} ran under other settings "
                f"({'; '.join(a.changes)}): not counted; `hpsearch calibrate {spec.source}` "
                "measures again"
            )
    return lines


def cost_line(cost: CalibrationCost) -> str:
    """``calibration: 3 range tests, 41.2 s, 12% of the study's 340.0 s of trials``."""
    spent = f"calibration: {plural(cost.tests, 'range test')}, {cost.seconds:.1f} s"
    if cost.share is None or cost.study_seconds is None:
        return f"{spent} (no trial time yet to charge it to)"
    return f"{spent}, {cost.share:.0%} of the study's {cost.study_seconds:.1f} s of trials"


def _write_plot(calibration: Calibration, folder: Path) -> None:
    from hpsearch.compare.calibration_plot import CALIBRATION_PLOT, write_calibration_plot
    from hpsearch.compare.files import write_all

    _, plots = write_all(
        folder, lambda staging: write_calibration_plot(calibration.tests, staging), lambda _: {}
    )
    skipped = plots.get(CALIBRATION_PLOT)
    where = folder / CALIBRATION_PLOT
    _say(f"plot not drawn: {skipped}" if skipped else f"wrote {where}")


def _print_interrupted(spec: Spec, storage: str | None, stop: BaseException) -> None:
    from hpsearch.search.calibration import read_calibration
    from hpsearch.search.calibration.arms import calibration_arms

    kept = read_calibration(spec, storage)
    done = 0 if kept is None else len(kept.tests)
    error_console().print(
        f"{stop}: study {spec.study.name} keeps {done} of {len(calibration_arms(spec))} "
        "range tests (the one that was running is lost); run the same command to resume",
        markup=False,
        highlight=False,
        style="yellow",
        soft_wrap=True,
    )
