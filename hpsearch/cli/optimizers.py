"""``hpsearch optimizers``: the optimizer registry, with each optimizer's hyperparameters."""

from __future__ import annotations

from hpsearch.cli.options import output_console


def optimizers() -> None:
    """List the optimizers a study can name (`optimizer.kind`) and their defaults."""
    from rich.table import Table

    from hpsearch.optim import OPTIMIZERS

    table = Table("kind", "hyperparameters (defaults)", "description")
    for name, entry in sorted(OPTIMIZERS.items()):
        params = ", ".join(f"{k}={v!r}" for k, v in entry.hparams.items())
        table.add_row(name, params, entry.description)
    output_console().print(table)
