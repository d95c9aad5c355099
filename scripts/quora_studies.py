"""The scripts' Quora setup: ``studies/quora-adam.toml`` and ``studies/quora-mfac.toml``,
changed with ``--set`` overrides (:func:`hpsearch.spec.load.load_spec`), never written out
again here.

``--data`` points a script at another folder of the Quora files: overrides that name them by
absolute path (as a study file copied elsewhere needs, too).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpsearch.spec.schema import Spec

STUDIES = Path(__file__).resolve().parents[1] / "studies"
# The study file of each optimizer; both read the same data with the same model.
STUDY_FILES = {"adamw": STUDIES / "quora-adam.toml", "mfac": STUDIES / "quora-mfac.toml"}


def _data_files() -> dict[str, Path]:
    """The Quora files the study files name, resolved but not checked: a script pointed at
    another folder with ``--data`` must start where ``../shared`` does not exist."""
    import tomllib

    from hpsearch.spec.paths import resolve_data_path  # "$HPSEARCH_DATA/..." paths

    task = tomllib.loads(STUDY_FILES["adamw"].read_text(encoding="utf-8"))["task"]
    return {key: resolve_data_path(task[key], STUDIES) for key in ("train_file", "validation_file")}


def data_folder() -> Path:
    """The folder of the Quora files that the study files read (``cs224n`` in the data
    folder, ``$HPSEARCH_DATA``: ``../shared/data`` beside the repository by default),
    resolved."""
    return _data_files()["train_file"].parent


def data_overrides(data: Path) -> list[str]:
    """``--set`` overrides that read the Quora files of the study files' names from ``data``,
    by absolute path."""
    return [
        f"task.{key}={json.dumps(str(data.resolve() / path.name))}"
        for key, path in _data_files().items()
    ]


def quora_spec(kind: str, overrides: Iterable[str] = (), data: Path | None = None) -> Spec:
    """The spec of the Quora study of optimizer ``kind`` (``adamw`` or ``mfac``) with
    ``overrides``; ``data``: a folder of the Quora files to read instead of the study's."""
    from hpsearch.spec.load import load_spec

    moved = [] if data is None else data_overrides(data)
    return load_spec(STUDY_FILES[kind], [*moved, *overrides])


def quora_study_file(folder: Path, name: str, kind: str = "adamw") -> tuple[Path, list[str]]:
    """The Quora study of ``kind`` copied to ``<folder>/<name>.toml``, so that what a run
    writes beside its study file (the workers' logs, under ``results/``) goes there, and the
    ``--set`` overrides that keep its data files and name its study ``name``."""
    path = folder / f"{name}.toml"
    shutil.copyfile(STUDY_FILES[kind], path)
    return path, [*data_overrides(data_folder()), f"study.name={name}"]


def set_args(overrides: Iterable[str]) -> list[str]:
    """``--set`` arguments of the command line for ``overrides``."""
    return [arg for item in overrides for arg in ("--set", item)]
