"""``hpsearch report``: re-run the best configs with several seeds, compare with the baseline."""

from __future__ import annotations

from typing import Annotated

import typer

from hpsearch.cli.options import StudyFile, output_console


def report(
    study_file: StudyFile,
    seeds: Annotated[
        int, typer.Option("--seeds", min=1, help="Seeds per config (re-runs, no pruning).")
    ] = 5,
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many best configs of each study to re-run.")
    ] = 1,
) -> None:
    """Re-run the top configs of a study and of its baseline with several seeds; compare them.

    Prints mean ± std and best-of-N of every metric, and the baseline comparison in the
    M-FAC model cards' format with a Welch t-test; writes report.md, report.csv, report.json
    and plots to results/<study name>/ beside the study file. The re-runs are trials of the
    companion study <name>-reseed: running the command again skips the seeds that finished.
    """
    # Imported here, not above, so that `hpsearch --help` does not pay for them.
    import optuna

    from hpsearch.cli.progress import RunProgress
    from hpsearch.cli.tables import terminal_tables
    from hpsearch.report.build import build_report, open_sources
    from hpsearch.report.files import write_report
    from hpsearch.spec.load import load_spec

    spec = load_spec(study_file)
    sources = open_sources(spec)  # every check, before anything is written
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our progress replaces its lines
    with RunProgress() as progress:
        data = build_report(sources, seeds=seeds, top=top, progress=progress)
    folder = spec.results_dir()
    written, plots = write_report(data, folder)
    out = output_console()
    for table in terminal_tables(data):
        out.print(table)
    for note in data.notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    names = ", ".join(p.name for p in written)
    out.print(f"wrote {folder}: {names}", markup=False, highlight=False, soft_wrap=True)
    for name, skipped in plots.items():
        if skipped:
            out.print(f"{name}: {skipped}", markup=False, highlight=False)
