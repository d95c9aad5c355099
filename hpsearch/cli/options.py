"""Arguments and options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    from rich.console import Console


class Command(TyperCommand):
    """A command whose help names arguments by their metavar alone.

    Typer writes a required argument as ``{study_file}`` in the usage line and adds its type
    after the name in the list (``study_files... <list[Path]>``); with a metavar set, the
    usage reads ``hpsearch compare [OPTIONS] STUDY_FILE...`` and the list ``STUDY_FILE...``.
    Options already show their metavar (``--n-trials N``).
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if _named_argument(param):
                pieces.append(param.metavar)
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            if _named_argument(param):
                arguments.append((param.metavar, getattr(param, "help", None) or ""))
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                (arguments if param.param_type_name == "argument" else options).append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _named_argument(param: Any) -> bool:
    """An argument with a metavar (typer's parameters are its own click's, hence duck typing)."""
    return param.param_type_name == "argument" and bool(param.metavar) and not param.hidden


StudyFile = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="STUDY_FILE",
        help="Study file (TOML), e.g. studies/quickstart.toml.",
    ),
]


def study_files(help: str) -> Any:
    """The argument of several study files (``STUDY_FILE...``), each checked to exist, with
    the command's own ``help``."""
    return Annotated[
        list[Path],
        typer.Argument(
            exists=True, dir_okay=False, readable=True, metavar="STUDY_FILE...", help=help
        ),
    ]


# The same name as hpsearch.search.storage.STORAGE_ENV (not imported: the command line's
# help must not import the search layer).
Storage = Annotated[
    str | None,
    typer.Option(
        "--storage",
        metavar="URL",
        envvar="HPSEARCH_STORAGE",
        show_envvar=True,
        help="Optuna storage URL; overrides study.storage. In the environment, a password "
        "stays off the command line (which `ps` shows to everyone).",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a study-file field, e.g. --set train.epochs=1 (repeat for more).",
    ),
]
Top = Annotated[int, typer.Option("--top", min=1, metavar="N", help="How many trials to show.")]


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


def exit_stopped(stop: KeyboardInterrupt, line: str) -> NoReturn:
    """Say ``line`` (what a Ctrl-C or SIGTERM stopped, what was kept, the command that
    resumes), then exit with the signal's code (130 for Ctrl-C)."""
    from hpsearch.search.interrupts import Interrupted

    output_console().print(line, markup=False, highlight=False, style="yellow", soft_wrap=True)
    raise typer.Exit(stop.exit_code if isinstance(stop, Interrupted) else 130)


def error_console() -> Console:
    """The console for diagnostics on stderr; prints text from files as written."""
    from rich.console import Console

    return Console(stderr=True, emoji=False)


Seeds = Annotated[
    int,
    typer.Option(
        "--seeds",
        min=1,
        metavar="N",
        help="Seeds per config (at most 100): the same list in every arm.",
    ),
]
TopConfigs = Annotated[
    int,
    typer.Option("--top", min=1, metavar="K", help="How many best configs of each arm to re-run."),
]
Budget = Annotated[
    int | None,
    typer.Option(
        "--budget",
        min=1,
        metavar="K",
        help="Judge every arm on its first K finished trials (default: the smallest arm's).",
    ),
]
Target = Annotated[
    float | None,
    typer.Option(
        "--target",
        metavar="X",
        help="Time-to-target's target (default: the baseline arm's median best over seeds).",
    ),
]
