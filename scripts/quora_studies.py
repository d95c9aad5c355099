"""The scripts' Quora setup: ``studies/quora-adam.toml`` and ``studies/quora-mfac.toml``,
changed with ``--set`` overrides (:func:`hpsearch.spec.load_spec`), never written out
again here; :data:`TINY`, the overrides that make one tiny; reading a study's trials.

``--data`` points a script at another folder of the Quora files: overrides that name them by
absolute path (as a study file copied elsewhere needs, too).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpsearch.spec import Spec

STUDIES = Path(__file__).resolve().parents[1] / "studies"
# The study file of each optimizer; both read the same data with the same model.
STUDY_FILES = {"adamw": STUDIES / "quora-adam.toml", "mfac": STUDIES / "quora-mfac.toml"}
# The Quora study made tiny, for the scripts that run many whole studies (stress_workers.py,
# stress_faults.py): minilm with 1 layer, 32 tokens, one epoch of batches of 32, two
# evaluations on 64 pairs, lr alone searched, TPE after 4 random trials, heartbeats every
# second (stale after 5 s). Each script adds its pruner and its number of training pairs.
TINY = (
    "study.heartbeat_interval=1",
    "study.heartbeat_grace=5",
    'study.sampler={ name = "tpe", seed = 0, n_startup_trials = 4 }',
    "study.enqueue=[]",
    "task.max_length=32",
    "task.max_eval_samples=64",
    "model.num_hidden_layers=1",
    "train.epochs=1",
    "train.batch_size=32",
    "train.hidden_dropout=0.1",
    "train.warmup_ratio=0.0",
    "train.evals_per_epoch=2",
    "space.train.lr={ low = 5e-5, high = 5e-4, log = true }",
)


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


def add_data_args(parser: argparse.ArgumentParser, train: int = 0, eval: int = 0) -> None:
    """``--data`` (the folder of the Quora files) and, given their defaults,
    ``--train-samples`` and ``--eval-samples`` (the seeded subsets' sizes)."""
    parser.add_argument("--data", type=Path, default=data_folder(), help="folder of quora-*.tsv")
    if train:
        parser.add_argument("--train-samples", type=int, default=train, help="training pairs")
    if eval:
        parser.add_argument("--eval-samples", type=int, default=eval, help="validation pairs")


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
    from hpsearch.spec import load_spec

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
