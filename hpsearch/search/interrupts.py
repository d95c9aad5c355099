"""SIGINT and SIGTERM as an exception, so a run can stop cleanly.

While :func:`stop_on_signals` is active, either signal raises :class:`Interrupted` in the
main thread (SIGINT already does so as KeyboardInterrupt; SIGTERM would kill the process
without a word). Code that must not be cut half-way, such as telling the storage a
trial's result, runs inside :meth:`SignalGuard.shielded`: a signal that arrives there is
raised when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signum`` says which, ``during`` what it stopped
    when that was not a trial ("loading the data")."""

    def __init__(self, signum: int, during: str = "") -> None:
        self.signum = signum
        self.during = during
        while_ = f" while {during}" if during else ""
        super().__init__(f"interrupted by {signal.Signals(signum).name}{while_}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


class SignalGuard:
    def __init__(self) -> None:
        self._shield_depth = 0
        self._pending: int | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._shield_depth:
            self._pending = self._pending or signum
            return
        raise Interrupted(signum)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        self._shield_depth += 1
        try:
            yield
        finally:
            self._shield_depth -= 1
        if not self._shield_depth and self._pending is not None:
            signum, self._pending = self._pending, None
            raise Interrupted(signum)


@contextmanager
def interrupted_while(during: str) -> Iterator[None]:
    """Say what an :class:`Interrupted` raised inside the block stopped (``during``)."""
    try:
        yield
    except Interrupted as stop:
        raise Interrupted(stop.signum, stop.during or during) from None


@contextmanager
def stop_on_signals() -> Iterator[SignalGuard]:
    """Install the guard's handlers for SIGINT and SIGTERM; restore the old ones after.

    Outside the main thread signals cannot be handled; the guard then only shields.
    """
    guard = SignalGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = {s: signal.signal(s, guard.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield guard
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
