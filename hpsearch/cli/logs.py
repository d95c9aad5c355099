"""The command line's log lines: each of the data layer's warnings said once per process."""

from __future__ import annotations

import logging


class OncePerProcess(logging.Filter):
    """Lets each distinct warning of the loggers under ``prefix`` through once.

    A data set is read again by another arm of a comparison, a multitask study's second task
    on the same files, or a study whose searched field changes what is loaded: what it
    dropped (``quora-train.tsv: dropped 2 of 14000 rows with a missing label``) is the same
    each time, and said the first time only.
    """

    def __init__(self, prefix: str = "hpsearch.data") -> None:
        super().__init__()
        self.prefix = prefix
        self._seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefix):
            return True
        key = (record.name, record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def configure_logging() -> None:
    """Warnings and errors to stderr as ``WARNING hpsearch.data.load: ...``, the data
    layer's once each (:class:`OncePerProcess`). Where the root logger has handlers already
    (a host program's, pytest's), they are left as they are."""
    root = logging.getLogger()
    if root.handlers:
        return
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    once = OncePerProcess()
    for handler in root.handlers:
        handler.addFilter(once)
