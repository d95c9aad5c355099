"""``hpsearch leaderboard``: a study's best trials as a rich table, once or live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hpsearch.cli.options import (
    Overrides,
    Storage,
    StudyFile,
    Top,
    error_console,
    output_console,
)

if TYPE_CHECKING:
    from rich.console import RenderableType


def leaderboard(
    study_file: StudyFile,
    storage: Storage = None,
    top: Top = 10,
    overrides: Overrides = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh live while workers run; Ctrl-C stops.")
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval", min=0.5, metavar="S", help="Seconds between refreshes (--watch)."
        ),
    ] = 5.0,
    all_studies: Annotated[
        bool,
        typer.Option(
            "--all", help="Every study in the storage: trials by state, best value and params."
        ),
    ] = False,
) -> None:
    """Show the best trials of a study: rank, state, value, metrics, params and time."""
    # Imported here, not above, so that `hpsearch --help` does not pay for them.
    from rich.console import Group

    from hpsearch.cli.views import render_leaderboard, render_study_summary, watch_caption
    from hpsearch.cli.views import watch as watch_view
    from hpsearch.search.interrupts import stop_on_signals
    from hpsearch.search.leaderboard import leaderboard_rows, study_summary_rows
    from hpsearch.search.storage import display_url, open_storage, storage_exists
    from hpsearch.search.study import StudyNotFoundError, load_study
    from hpsearch.spec.load import load_spec

    spec = load_spec(study_file, overrides or [])
    url = storage or spec.study.storage
    assert url is not None
    if all_studies:
        shown = display_url(url)
        if not storage_exists(url):
            raise StudyNotFoundError(f"no studies in {shown}: the database does not exist yet")
        opened = open_storage(url, write=False)

        def render() -> RenderableType:
            return render_study_summary(study_summary_rows(opened), title=f"studies in {shown}")

        what = f"every study in {shown}"
    else:
        study = load_study(spec, storage)

        def render() -> RenderableType:
            rows = leaderboard_rows(study, spec.metric, top=top)
            return render_leaderboard(
                rows, spec.metric, title=spec.study.name, columns=spec.shown_metrics
            )

        what = f"study {spec.study.name}"
    out = output_console()
    if not watch:
        out.print(render())
        return
    # Its own handlers, as `hpsearch run` installs: started from a shell that ignores SIGINT
    # (a background job), Python inherits the ignore and Ctrl-C would never stop the watch.
    # Installed before the line that says Ctrl-C stops it.
    try:
        with stop_on_signals():
            error_console().print(
                f"watching {what} every {interval:g} s; Ctrl-C to stop",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            watch_view(lambda: Group(watch_caption(interval), render()), out, interval)
    except KeyboardInterrupt:
        pass  # Ctrl-C before the watch began: the same normal end (the watch ends so too)
