"""Where a study file's data paths point: relative to the study file's folder, or under the
data folder when they start with ``$HPSEARCH_DATA/``.

The data folder is ``HPSEARCH_DATA`` when that is set, else ``shared/data`` beside the
repository (the CS224N files that the shipped studies read). A study file that says
``train_file = "$HPSEARCH_DATA/cs224n/quora-train.tsv"`` reads that file from whichever
folder the environment names, so the same file works on a machine whose data lies
elsewhere; a path without the prefix is the study file's own business.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "HPSEARCH_DATA"  # another data folder
DATA_PREFIX = f"${DATA_ENV}"  # how a study file names a path under the data folder
# Without HPSEARCH_DATA: `shared/data` beside the repository (this file is
# <repository>/hpsearch/spec/paths.py).
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def data_folder() -> Path:
    """The folder that ``$HPSEARCH_DATA/...`` paths point into."""
    named = os.environ.get(DATA_ENV, "").strip()
    return (Path(named).expanduser() if named else DEFAULT_DATA).resolve()


def under_data_folder(text: str) -> str | None:
    """The part of ``text`` after ``$HPSEARCH_DATA/`` (``cs224n/quora-train.tsv``); None
    for a path that does not start with the prefix."""
    if text == DATA_PREFIX:
        return ""
    if text.startswith(DATA_PREFIX + "/"):
        return text[len(DATA_PREFIX) + 1 :]
    return None


def resolve_data_path(text: str, base_dir: Path) -> Path:
    """``text`` as an absolute path: under :func:`data_folder` for a ``$HPSEARCH_DATA/``
    path, else relative to ``base_dir`` (the study file's folder). Nothing is checked.

    Raises:
        ValueError: the path starts with another ``$NAME``: only ``$HPSEARCH_DATA`` is
            expanded, and a file named ``$HOME/x.tsv`` is surely not what was meant.
    """
    inside = under_data_folder(text)
    if inside is not None:
        return (data_folder() / inside).resolve()
    if text.startswith("$"):
        raise ValueError(
            f"only {DATA_PREFIX} is expanded in a path (the data folder, {data_folder()}), "
            f"got {text!r}"
        )
    return (base_dir / text).resolve()


def missing_file_hint(text: str, base_dir: Path) -> str:
    """Where a missing file was looked for, and how to point elsewhere: one line's tail."""
    inside = under_data_folder(text)
    if inside is None:
        if Path(text).is_absolute():
            return "give the path of an existing file"
        return f"the path is relative to the study file's folder, {base_dir.resolve()}"
    named = os.environ.get(DATA_ENV, "").strip()
    where = (
        f"{DATA_ENV}={named}"
        if named
        else f"{DATA_ENV} is unset, so the default, shared/data beside the repository"
    )
    return (
        f"{DATA_PREFIX}/ is the data folder, {data_folder()} ({where}): put the file there "
        f"(README, Data), or set {DATA_ENV} to a folder that holds {inside}"
    )
