"""Arguments and options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

StudyFile = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        help="Study file (TOML), e.g. studies/quickstart.toml.",
    ),
]
# The same name as hpsearch.search.storage.STORAGE_ENV (not imported: the command line's
# help must not import the search layer).
Storage = Annotated[
    str | None,
    typer.Option(
        "--storage",
        envvar="HPSEARCH_STORAGE",
        show_envvar=True,
        help="Optuna storage URL; overrides study.storage. In the environment, a password "
        "stays off the command line (which `ps` shows to everyone).",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a study-file field, e.g. --set train.epochs=1."),
]
Top = Annotated[int, typer.Option("--top", min=1, help="How many trials to show.")]


AllowDrift = Annotated[
    bool,
    typer.Option(
        "--allow-drift",
        help="Add trials to a study whose fixed settings changed in the study file; each "
        "trial records the settings it ran under.",
    ),
]


def output_console() -> Console:
    """The console for data on stdout; wide when piped, so tables are not cut to 80 columns.

    No emoji codes: text from files (``root:x:0:0``) must print as written, not as ❌.
    """
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 240, emoji=False)


def error_console() -> Console:
    """The console for diagnostics on stderr; prints text from files as written."""
    from rich.console import Console

    return Console(stderr=True, emoji=False)


Seeds = Annotated[
    int,
    typer.Option(
        "--seeds", min=1, help="Seeds per config (at most 100): the same list in every arm."
    ),
]
TopConfigs = Annotated[
    int, typer.Option("--top", min=1, help="How many best configs of each arm to re-run.")
]
Budget = Annotated[
    int | None,
    typer.Option(
        "--budget",
        min=1,
        help="Judge every arm on its first K finished trials (default: the smallest arm's).",
    ),
]
Target = Annotated[
    float | None,
    typer.Option(
        "--target",
        help="Time-to-target's target (default: the baseline arm's median best over seeds).",
    ),
]
