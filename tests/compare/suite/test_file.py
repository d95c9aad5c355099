"""The suite file: read and validated as a study file is, each error one line naming the
suite file and the key; storages and study files relative to the suite file's folder."""

from __future__ import annotations

import pytest

from hpsearch.compare.suite.file import is_suite_file, load_suite
from hpsearch.compare.suite.run import check_suite
from hpsearch.errors import SpecError
from tests.studies import write_suite

ARMS = {"name": "quora", "arms": ["adam.toml", "mfac.toml"]}


@pytest.fixture
def arm_files(quora_study):
    """AdamW and M-FAC study files (adam.toml, mfac.toml) beside the suite file."""
    quora_study("adam", set=["optimizer.kind=adamw"])
    quora_study("mfac", set=["optimizer.kind=mfac", "optimizer.num_grads=4"])
    return quora_study.folder


def test_a_suite_file_reads_as_its_settings_with_paths_made_absolute(arm_files):
    path = write_suite(arm_files, [ARMS], seeds=10, budget_by="seconds")
    suite = load_suite(path)
    assert (suite.name, suite.seeds, suite.top, suite.budget_by, suite.tau_max) == (
        "suite",
        10,
        1,
        "seconds",
        4.0,
    )
    assert suite.top_up  # on by default on a compute axis
    assert not load_suite(write_suite(arm_files, [ARMS])).top_up  # never on the trials axis
    assert suite.storage == f"journal:///{arm_files / 'suite.log'}"
    (workload,) = suite.workloads
    assert workload.files == (arm_files / "adam.toml", arm_files / "mfac.toml")
    assert not workload.by_kind and workload.target is None
    assert suite.workload_folder(workload) == arm_files / "results" / "suite" / "quora"
    assert is_suite_file(path) and not is_suite_file(arm_files / "adam.toml")


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("journal:///runs/suite.log", "journal:///{folder}/runs/suite.log"),
        ("sqlite:///suite.db", "sqlite:///{folder}/suite.db"),
        ("journal:////elsewhere/suite.log", "journal:////elsewhere/suite.log"),
        ("postgresql://me@db/hp", "postgresql://me@db/hp"),
    ],
)
def test_a_file_storage_is_relative_to_the_suite_file(arm_files, storage, expected):
    suite = load_suite(write_suite(arm_files, [ARMS], storage=storage))
    assert suite.storage == expected.format(folder=arm_files)


def test_one_study_searching_the_optimizer_is_a_workload(arm_files):
    suite = load_suite(write_suite(arm_files, [{"name": "kinds", "study": "adam.toml"}]))
    assert suite.workloads[0].by_kind and suite.workloads[0].files == (arm_files / "adam.toml",)


BAD = [
    ({"seed": 3}, [ARMS], "`suite.seed`: unknown key; valid keys are"),
    ({"seeds": "10"}, [ARMS], "`suite.seeds`: Input should be a valid integer, got '10'"),
    ({"seeds": 0}, [ARMS], "`suite.seeds`: Input should be greater than or equal to 1"),
    ({"budget_by": "wall"}, [ARMS], "`suite.budget_by`: Input should be 'trials', 'seconds' or"),
    ({"tau_max": 1}, [ARMS], "`suite.tau_max`: Input should be greater than 1"),
    (
        {"top_up": True},
        [ARMS],
        '`suite.top_up`: tops up compute, so it needs budget_by = "seconds" or "steps"',
    ),
    ({"name": "a.b"}, [ARMS], "`suite.name`: names a results folder"),
    ({"storage": "suite.log"}, [ARMS], "`suite.storage`: must be an Optuna storage URL"),
    ({}, [], "`workloads`: a suite needs at least one [[workloads]] entry"),
    ({}, [{"name": "q", "arms": ["adam.toml"]}], "`workloads[0].arms`: List should have at"),
    (
        {},
        [{**ARMS, "study": "adam.toml"}],
        "`workloads[0].arms`: give `arms` (two study files or more, the first the baseline) or "
        "`study` (one study file whose space searches optimizer.kind), not both",
    ),
    ({}, [{"name": "q"}], "`workloads[0].arms`: give `arms`"),
    ({}, [{**ARMS, "arm": 1}], "`workloads[0].arm`: unknown key; valid keys are"),
    (
        {},
        [ARMS, {"name": "x", "arms": ["adam.toml", "sgd.toml"]}],
        "`workloads[1].arms[1]`: no such study file: {folder}/sgd.toml (a path is relative "
        "to the suite file's folder)",
    ),
    ({}, [{"name": "q", "arms": ["adam.toml", "adam.toml"]}], "`workloads[0].arms[1]`: 'adam"),
    ({}, [ARMS, ARMS], "`workloads[1].name`: 'quora' is also the name of workloads[0]"),
    ({}, [{**ARMS, "target": float("nan")}], "`workloads[0].target`: must be a finite number"),
]


@pytest.mark.parametrize(("suite", "workloads", "message"), BAD)
def test_a_bad_suite_file_is_one_line_naming_the_file_and_key(arm_files, suite, workloads, message):
    path = write_suite(arm_files, workloads, **suite)
    with pytest.raises(SpecError) as e:
        load_suite(path)
    text = str(e.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message.format(folder=arm_files) in text


def test_an_unknown_table_is_named(arm_files):
    path = write_suite(arm_files, [ARMS])
    path.write_text(path.read_text() + "\n[study]\nname = 'x'\n")
    with pytest.raises(SpecError, match=r"`study`: unknown section; a suite file has \[suite\]"):
        load_suite(path)


@pytest.mark.parametrize(
    ("suite", "workloads", "message"),
    [
        ({"seeds": 101}, [ARMS], "`suite.seeds`: must be at most 100, but got 101"),
        (
            {},
            [{**ARMS, "target": 1.5}],
            "`workloads[0].target`: must lie within the values f1 can take, [0, 1], but got 1.5",
        ),
        (
            {},
            [ARMS, {"name": "again", "arms": ["mfac.toml", "copy.toml"]}],
            "`workloads[1].arms[1]`: copy.toml names its study 'mfac', as mfac.toml "
            "(workloads[0].arms[1]) does; in the suite's one storage each study file needs a "
            "study.name of its own",
        ),
    ],
)
def test_what_the_studies_cannot_give_is_refused_before_anything_runs(
    arm_files, suite, workloads, message
):
    (arm_files / "copy.toml").write_text((arm_files / "mfac.toml").read_text())
    path = write_suite(arm_files, workloads, **suite)
    with pytest.raises(SpecError) as e:
        check_suite(load_suite(path))
    assert str(e.value) == f"{path}: {message}"
    assert not (arm_files / "results").exists() and not (arm_files / "suite.log").exists()
