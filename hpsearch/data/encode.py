"""Tokenized data: encoded splits with their lengths, and a per-run cache of them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hpsearch.data.load import Split, TaskData, load_task
from hpsearch.data.pretrained import load_tokenizer
from hpsearch.metrics import LabelKind
from hpsearch.spec.schema import Spec, TaskSpec


@dataclass(frozen=True)
class EncodedSplit:
    """A tokenized split, stored flat: row ``i`` is ``ids[offsets[i]:offsets[i + 1]]``.

    Flat arrays make a batch a few slices instead of a Python object per token.
    """

    ids: torch.Tensor  # int64 token ids of all rows, concatenated
    type_ids: torch.Tensor  # int64 segment ids (0 first text, 1 second), same layout
    offsets: torch.Tensor  # int64 [n + 1]
    labels: torch.Tensor  # int64 (classification) or float32 (regression) [n]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    def batch(self, rows: torch.Tensor, pad_id: int) -> dict[str, torch.Tensor]:
        """Rows ``rows`` padded to the longest of them (dynamic padding)."""
        lengths = self.lengths[rows]
        positions = torch.arange(int(lengths.max()))
        padding = positions[None, :] >= lengths[:, None]
        # One gather for the whole batch (a copy per row was ~250 small ops a batch); a
        # padding position reads index 0 and is overwritten.
        index = (self.offsets[rows][:, None] + positions[None, :]).masked_fill_(padding, 0)
        return {
            "input_ids": self.ids[index].masked_fill_(padding, pad_id),
            "token_type_ids": self.type_ids[index].masked_fill_(padding, 0),
            "attention_mask": (~padding).long(),
            "labels": self.labels[rows],
        }


@dataclass(frozen=True)
class EncodedTask:
    kind: LabelKind
    num_labels: int
    pad_id: int
    train: EncodedSplit
    validation: EncodedSplit


def encode_split(split: Split, tokenizer, max_length: int, kind: LabelKind) -> EncodedSplit:
    """Tokenize a split without padding; pairs are truncated longest-first to ``max_length``."""
    first = [t[0] for t in split.texts]
    second = [t[1] for t in split.texts] if split.texts and len(split.texts[0]) > 1 else None
    enc = tokenizer(
        first,
        second,
        truncation=True,
        max_length=max_length,
        return_token_type_ids=True,
        return_attention_mask=False,
    )
    lengths = np.fromiter((len(x) for x in enc["input_ids"]), dtype=np.int64, count=len(first))
    offsets = np.zeros(len(first) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = [tok for row in enc["input_ids"] for tok in row]
    flat_types = [t for row in enc["token_type_ids"] for t in row]
    label_dtype = torch.float32 if kind == "regression" else torch.long
    return EncodedSplit(
        ids=torch.tensor(flat, dtype=torch.long),
        type_ids=torch.tensor(flat_types, dtype=torch.long),
        offsets=torch.from_numpy(offsets),
        labels=torch.as_tensor(split.labels, dtype=label_dtype),
    )


@dataclass
class DataCache:
    """Loaded tasks and tokenized splits, kept for the life of one run.

    Keyed by task, tokenizer and max length, so trials of a study tokenize once; a search
    over ``model.name`` or ``task.max_length`` adds one entry per value.
    """

    _tasks: dict[str, TaskData] = field(default_factory=dict)
    _encoded: dict[tuple[str, str, int], EncodedTask] = field(default_factory=dict)

    def task(self, spec: Spec) -> TaskData:
        """The raw data of a single-task study."""
        return self._load(spec.task)

    def encoded(self, spec: Spec) -> EncodedTask:
        """The tokenized data of a single-task study."""
        return self._encode(spec.task, spec.model.name)

    def encoded_tasks(self, spec: Spec) -> dict[str, EncodedTask]:
        """The tokenized data of every task of a study, by task key: ``{"": data}`` for a
        single-task study (its metrics keep their plain names), ``{"sst": ..., "sts": ...}``
        for a multitask one."""
        if not spec.is_multitask:
            return {"": self.encoded(spec)}
        return {t.key: self._encode(t, spec.model.name) for t in spec.tasks}

    def _load(self, task: TaskSpec) -> TaskData:
        key = _data_key(task, "max_length")
        if key not in self._tasks:
            self._tasks[key] = load_task(task)
        return self._tasks[key]

    def _encode(self, task: TaskSpec, model_name: str) -> EncodedTask:
        key = (_data_key(task), model_name, task.max_length)
        if key not in self._encoded:
            data = self._load(task)
            tokenizer = load_tokenizer(model_name)
            self._encoded[key] = EncodedTask(
                kind=data.kind,
                num_labels=data.num_labels,
                pad_id=tokenizer.pad_token_id or 0,
                train=encode_split(data.train, tokenizer, task.max_length, data.kind),
                validation=encode_split(data.validation, tokenizer, task.max_length, data.kind),
            )
        return self._encoded[key]


def _data_key(task: TaskSpec, *exclude: str) -> str:
    """What decides a task's data: its ``[task]`` fields (not a multitask entry's key or
    metric, so two entries on the same files share it), less ``exclude``."""
    fields = set(TaskSpec.model_fields) - set(exclude)
    return task.model_dump_json(include=fields)
