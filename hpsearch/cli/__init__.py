"""The ``hpsearch`` command line. The root stays thin: one module per command."""

from __future__ import annotations

import sys

import typer

from hpsearch.cli import calibrate, compare, dashboard, leaderboard, registries, report, run
from hpsearch.cli.logs import configure_logging
from hpsearch.cli.options import Command
from hpsearch.errors import HpsearchError
from hpsearch.optim import OPTIMIZERS
from hpsearch.search.interrupts import Interrupted

_OPTIMIZER_LABELS = ", ".join(e.label for e in OPTIMIZERS.values())
_LISTINGS = ", ".join(f"hpsearch {listed.command}" for listed in registries.LISTED)

app = typer.Typer(
    name="hpsearch",
    help=(
        "Find the best way to finetune small BERT models: Optuna studies over learning "
        f"rate, batch size, dropout, optimizer ({_OPTIMIZER_LABELS}) and more.\n\n"
        "Examples:\n\n"
        "  hpsearch calibrate studies/quickstart.toml\n\n"
        "  hpsearch run studies/quickstart.toml\n\n"
        "  hpsearch run studies/quickstart.toml --n-trials 20 --set train.epochs=1\n\n"
        "  hpsearch leaderboard studies/quickstart.toml --top 5\n\n"
        "  hpsearch compare studies/quora-adam.toml studies/quora-mfac.toml --seeds 5\n\n"
        f"What a study can choose from: {_LISTINGS}.\n\n"
        "Set HPSEARCH_DEBUG=1 (or pass --debug first) for full tracebacks."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("calibrate", cls=Command)(calibrate.calibrate)
app.command("run", cls=Command)(run.run)
app.command("leaderboard", cls=Command)(leaderboard.leaderboard)
app.command("report", cls=Command)(report.report)
app.command("compare", cls=Command)(compare.compare)
app.command("dashboard", cls=Command)(dashboard.dashboard)
registries.add_commands(app)


def _print_version(value: bool) -> None:
    if value:
        import hpsearch

        typer.echo(f"hpsearch {hpsearch.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Show hpsearch's version and exit.",
    ),
) -> None:
    """hpsearch: hyperparameter search for finetuning small BERT models."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: one exit path for errors, a one-line message and exit code 1."""
    import os

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("HPSEARCH_DEBUG", "") not in ("", "0")
    configure_logging()
    try:
        app(args=args, prog_name="hpsearch")
    except (HpsearchError, KeyboardInterrupt) as e:
        if debug:
            raise
        from hpsearch.cli.options import error_console  # rich: only errors need it here

        message = str(e) or "interrupted"  # a bare Ctrl-C's KeyboardInterrupt has no text
        error_console().print(
            f"error: {message}", markup=False, highlight=False, style="red", soft_wrap=True
        )
        sys.exit(e.exit_code if isinstance(e, Interrupted) else 1)
