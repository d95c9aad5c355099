"""``hpsearch leaderboard``: a study's best trials as a rich table."""

from __future__ import annotations

from hpsearch.cli.options import Overrides, Storage, StudyFile, Top, output_console
from hpsearch.leaderboard import leaderboard_rows, render_leaderboard
from hpsearch.spec import load_spec
from hpsearch.study import load_study


def leaderboard(
    study_file: StudyFile, storage: Storage = None, top: Top = 10, overrides: Overrides = None
) -> None:
    """Show the best trials of a study: rank, state, value, metrics, params and time."""
    spec = load_spec(study_file, overrides or [])
    study = load_study(spec, storage)
    rows = leaderboard_rows(study, spec.metric, top=top)
    output_console().print(render_leaderboard(rows, spec.metric, title=f"{spec.study.name}"))
