"""``hpsearch optimizers``, ``pruners``, ``samplers``, ``schedules``: what a study can name.

One command per registry, all made by :func:`listing`: each entry's name, label, options
with their defaults, and description.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import typer
from rich.markup import escape
from rich.table import Table

from hpsearch.cli.options import output_console
from hpsearch.optim import OPTIMIZERS
from hpsearch.pruners import PRUNERS, SAMPLERS
from hpsearch.registry import Registry
from hpsearch.schedules import SCHEDULES


class Listed(NamedTuple):
    """A registry as the command line lists it."""

    command: str  # the command's name
    registry: Registry[Any]
    key: str  # the study-file key that names an entry
    options: str  # what the entries' options are, and where a study file sets them
    # Options that every entry takes (no entry's own): the section's model in
    # hpsearch.spec.schema, which holds their defaults, and each option with its meaning.
    always: tuple[str, tuple[tuple[str, str], ...]] | None = None


LISTED = (
    Listed("optimizers", OPTIMIZERS, "optimizer.kind", "[optimizer] hyperparameters"),
    Listed(
        "pruners",
        PRUNERS,
        "study.pruner.name",
        "[study.pruner] options",
        (
            "PrunerSpec",
            (
                (
                    "patience",
                    "> 0: wrapped in Optuna's PatientPruner, which prunes only after "
                    "that many evaluations without progress",
                ),
                (
                    "signal",
                    '"loss": compare the validation loss at each evaluation instead of '
                    "the study's metric",
                ),
            ),
        ),
    ),
    Listed(
        "samplers",
        SAMPLERS,
        "study.sampler.name",
        "[study.sampler] options",
        ("SamplerSpec", (("seed", "offset by the trials already run, so a resume differs"),)),
    ),
    Listed("schedules", SCHEDULES, "train.schedule", "[train] fields"),
)


def listing(listed: Listed) -> Callable[[], None]:
    """The command that prints ``listed.registry`` as a table."""

    def command() -> None:
        # escape: "[train]" and the like are text here, not rich markup
        header = [listed.key, "label", f"{listed.options} (defaults)", "description"]
        table = Table(*map(escape, header))
        for entry in listed.registry.values():
            options = ", ".join(f"{k}={v!r}" for k, v in entry.options.items())
            table.add_row(*map(escape, (entry.name, entry.label, options, entry.description)))
        out = output_console()
        out.print(table)
        if listed.always is not None:
            out.print(_always_line(listed), markup=False, highlight=False)

    return command


def _always_line(listed: Listed) -> str:
    """``Every pruner also takes: patience=0 (...); signal='metric' (...).``, the defaults
    read from the section's model (imported here: only this listing needs pydantic)."""
    from hpsearch.spec import schema

    assert listed.always is not None
    model_name, options = listed.always
    fields = getattr(schema, model_name).model_fields
    taken = "; ".join(f"{name}={fields[name].default!r} ({meaning})" for name, meaning in options)
    return f"Every {listed.registry.kind} also takes: {taken}."


def add_commands(app: typer.Typer) -> None:
    """One listing command per registry of :data:`LISTED`."""
    for listed in LISTED:
        kind = listed.registry.kind
        app.command(
            listed.command,
            help=f"List the {kind}s a study can name (`{listed.key}`), "
            f"with their {listed.options} and defaults.",
        )(listing(listed))
