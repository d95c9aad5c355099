"""The package's exceptions: one root, so the CLI can turn any of them into a one-line message."""

from __future__ import annotations


class HpsearchError(Exception):
    """Root of every error hpsearch raises on purpose."""


class SpecError(HpsearchError):
    """A study file (or a ``--set`` override) is invalid.

    The message names the file, the key and what was expected.
    """

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        where = f"{source}: " if source else ""
        field = f"`{key}`: " if key else ""
        super().__init__(f"{where}{field}{message}")


class DataError(HpsearchError):
    """Task data cannot be loaded: a missing file, an unknown column, an empty split."""


class InsufficientMemoryError(HpsearchError, MemoryError):
    """An allocation would not fit the device's free memory; raised before allocating."""

    def __init__(self, what: str, needed: int, available: int, hint: str = "") -> None:
        self.needed = needed
        self.available = available
        msg = (
            f"{what} needs {needed:,} bytes ({needed / 2**30:.2f} GiB) but only "
            f"{available:,} bytes ({available / 2**30:.2f} GiB) are available"
        )
        super().__init__(f"{msg}; {hint}" if hint else msg)


class TrialFailed(HpsearchError):
    """A trial failed for a reason of its own (memory, divergence, ...); the study goes on."""
