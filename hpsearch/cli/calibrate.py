"""``hpsearch calibrate``: a ladder of fixed-lr probes per arm of a study, a table per study,
its plot, and what it cost."""

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
    from hpsearch.search.calibration.model import ArmCalibration, Probe
    from hpsearch.spec.schema import Spec

StudyFiles = study_files(
    "Study files (TOML); each is calibrated on its own task, model and storage."
)


def calibrate(
    study_files: StudyFiles,
    storage: Storage = None,
    overrides: Overrides = None,
    epochs: Annotated[
        int,
        typer.Option(
            "--epochs",
            min=1,
            metavar="N",
            help="Epochs of each probe (at most the study's train.epochs).",
        ),
    ] = 1,
    eval_samples: Annotated[
        int,
        typer.Option(
            "--eval-samples",
            min=1,
            metavar="N",
            help="Validation examples that score each probe, at most (the study's subset).",
        ),
    ] = 1000,
    redo: Annotated[
        bool, typer.Option("--redo", help="Run every probe again, stored or not.")
    ] = False,
) -> None:
    """Measure each arm's learning-rate range by one rule, before a study spends its budget.

    An arm is a study file's optimizer, or each optimizer kind of a study that searches
    optimizer.kind, and for M-FAC each num_grads choice; where the study searches
    finetune.mode, each of those per mode too (what trains sets the lr's scale: a frozen
    encoder, adapters or LoRA want another lr than full finetuning), so the arms multiply:
    kinds × num_grads choices × modes. Each gets a ladder of probes on the study's own task
    and model, its other searched fields at their centre: a probe is one run at a fixed lr
    of the half-decade grid (1e-6 to 1), with the study's schedule, for --epochs epochs,
    judged as a trial is judged (learned, one class or diverged). The ladder starts at 1e-3
    (M-FAC's next num_grads, in the same mode, at the previous best lr × m_prev/m) and walks
    up and down while probes learn. The range: the learned lrs around the best probe, each
    at least halfway from the worst probe's metric to the best's. Probes are kept in the
    study's storage (companion study <name>-calibration): running the command again runs
    only what is missing, and a probe made under other settings than the study's now runs
    again. Writes results/<name>/calibration.png beside the study file. A study file whose
    [space.train] lr is "calibrated" searches these ranges (run calibrates first).
    """
    import optuna

    from hpsearch.search.calibration import ProbeSettings
    from hpsearch.search.calibration import calibrate as run_calibration
    from hpsearch.search.interrupts import Interrupted
    from hpsearch.spec.load import load_spec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = ProbeSettings(epochs=epochs, eval_samples=eval_samples)
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
                f"study {spec.study.name}: every arm's probes are stored already, under "
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
    """A row per arm: its probes as a ladder (each lr and what it did), the chosen range
    (or why there is none), and what the probes cost."""
    from hpsearch.cli.fit import KEEP, FittedColumn, FittedTable

    columns = [
        FittedColumn("arm", wrap=True, justify="left"),
        FittedColumn("probes: lr and result", wrap=True, drop=1, justify="left"),
        FittedColumn("chosen lr range", wrap=True, drop=KEEP, justify="left"),
        FittedColumn("probes", drop=2),
        FittedColumn("seconds", drop=3),
    ]
    return FittedTable(
        columns,
        [_row(a) for a in calibration.arms],
        title=f"{calibration.study}: learning-rate probes",
        caption="each probe: one run at that lr, judged as a trial: its metric where it "
        "learned, 1c one class, div diverged; range: the learned lrs around the best "
        "(docs/search.md)",
        dropped_hint="a wider terminal shows them",
    )


def _row(a: ArmCalibration) -> list[str]:
    from hpsearch.search.calibration.rule import short_lr

    ladder = ladder_text(a.probes) or "–"
    counts = [str(len(a.probes)), f"{a.seconds:.1f}"] if a.probes else ["–", "–"]
    if a.state == "missing":
        return [a.arm.label, ladder, "not measured", *counts]
    if a.state == "stale":
        return [a.arm.label, ladder, "stale: " + "; ".join(a.changes), *counts]
    if a.state == "partial":
        return [a.arm.label, ladder, "unfinished: calibrate resumes it", *counts]
    outcome = a.outcome
    if outcome is None or outcome.low is None or outcome.high is None:
        chosen = "none" if outcome is None else f"none: {outcome.problem}"
    else:
        assert outcome.best_lr is not None and outcome.best_metric is not None
        chosen = (
            f"{outcome.low:.3g} – {outcome.high:.3g} (best {short_lr(outcome.best_lr)}: "
            f"{outcome.best_metric:.2f})"
        )
    return [a.arm.label, ladder, chosen, *counts]


def ladder_text(probes: Sequence[Probe]) -> str:
    """``1e-4 1c · 3e-4 0.71 · 1e-3 0.75 · 3e-3 div``: each probe by lr, its metric where it
    learned."""
    from hpsearch.search.calibration.rule import short_lr

    shown = {"one class": "1c", "constant": "const", "diverged": "div"}
    cells = []
    for p in sorted(probes, key=lambda p: p.lr):
        result = shown.get(p.verdict) or ("?" if p.metric is None else f"{p.metric:.2f}")
        cells.append(f"{short_lr(p.lr)} {result}")
    return " · ".join(cells)


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
    study's ``trials``, and each arm probed under other settings (neither charged nor
    used); nothing for a study never calibrated."""
    from hpsearch.search.calibration import calibration_cost, read_calibration

    calibration = read_calibration(spec, storage)
    if calibration is None:
        return []
    lines = [cost_line(calibration_cost(calibration, trials))] if calibration.probes else []
    for a in calibration.arms:
        if a.state == "stale":
            lines.append(
                f"calibration: the probes of {a.arm.label} ran under other settings "
                f"({'; '.join(a.changes)}): not counted; `hpsearch calibrate {spec.source}` "
                "measures again"
            )
    return lines


def cost_line(cost: CalibrationCost) -> str:
    """``calibration: 14 probes, 1316 steps, 41.2 s, 12% of the study's 340.0 s of
    trials``."""
    spent = (
        f"calibration: {plural(cost.probes, 'probe')}, {plural(cost.steps, 'step')}, "
        f"{cost.seconds:.1f} s"
    )
    if cost.share is None or cost.study_seconds is None:
        return f"{spent} (no trial time yet to charge it to)"
    return f"{spent}, {cost.share:.0%} of the study's {cost.study_seconds:.1f} s of trials"


def _write_plot(calibration: Calibration, folder: Path) -> None:
    from hpsearch.compare.calibration_plot import CALIBRATION_PLOT, write_calibration_plot
    from hpsearch.compare.files import write_all

    _, plots = write_all(
        folder, lambda staging: write_calibration_plot(calibration.fresh, staging), lambda _: {}
    )
    skipped = plots.get(CALIBRATION_PLOT)
    where = folder / CALIBRATION_PLOT
    _say(f"plot not drawn: {skipped}" if skipped else f"wrote {where}")


def _print_interrupted(spec: Spec, storage: str | None, stop: BaseException) -> None:
    from hpsearch.search.calibration import read_calibration
    from hpsearch.search.calibration.arms import calibration_arms

    kept = read_calibration(spec, storage)
    probes = 0 if kept is None else sum(len(a.probes) for a in kept.arms if a.state != "stale")
    done = 0 if kept is None else len(kept.fresh)
    arms = len(calibration_arms(spec))
    error_console().print(
        f"{stop}: study {spec.study.name} keeps {plural(probes, 'probe')} ({done} of {arms} "
        "arms whole; the probe that was running is lost); run the same command to resume",
        markup=False,
        highlight=False,
        style="yellow",
        soft_wrap=True,
    )
