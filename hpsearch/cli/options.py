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
Storage = Annotated[
    str | None, typer.Option("--storage", help="Optuna storage URL; overrides study.storage.")
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a study-file field, e.g. --set train.epochs=1."),
]
Top = Annotated[int, typer.Option("--top", min=1, help="How many trials to show.")]


def output_console() -> Console:
    """The console for data on stdout; wide when piped, so tables are not cut to 80 columns."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 240)


Seeds = Annotated[
    int, typer.Option("--seeds", min=1, help="Seeds per config: the same list in every arm.")
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
