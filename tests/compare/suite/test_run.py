"""Running a suite: only the studies that miss trials run (through the run path it is
given), re-runs that finished are read back, every workload's compare files and the summary
are written; with nothing missing it trains nothing and writes the same numbers again."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import optuna
import pytest

from hpsearch.compare.arms import CompareError
from hpsearch.compare.suite.file import load_suite
from hpsearch.compare.suite.run import run_suite
from hpsearch.search.storage import open_storage
from hpsearch.spec.load import load_spec
from tests.studies import write_suite
from tests.trials import tuned

KIND = {"adam": ["optimizer.kind=adamw"], "mfac": ["optimizer.kind=mfac", "optimizer.num_grads=4"]}


@pytest.fixture
def suite(quora_study):
    """A suite of two workloads (quora: adam-q, mfac-q; again: adam-a, mfac-a) in one
    journal; every study file asks for 2 trials. Nothing has run yet."""
    for workload in ("q", "a"):
        for kind, sets in KIND.items():
            quora_study(f"{kind}-{workload}", set=sets)
    workloads = [
        {"name": "quora", "arms": ["adam-q.toml", "mfac-q.toml"]},
        {"name": "again", "arms": ["adam-a.toml", "mfac-a.toml"]},
    ]
    return load_suite(write_suite(quora_study.folder, workloads, seeds=2))


class RunSpy:
    """The run path, spied on: records each (study file, storage) and gives the study
    made-up finished trials there, as a run to its budget leaves it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, file: Path, storage: str) -> None:
        self.calls.append((file.name, storage))
        values = [0.62, 0.71, 0.66] if "mfac" in file.name else [0.6, 0.7, 0.5]
        tuned(file, values, overrides=(f"study.storage={storage}",))


def trial_counts(storage: str) -> dict[str, int]:
    """Every study of the storage (searches and their re-runs) → its trials."""
    summaries = optuna.get_all_study_summaries(open_storage(storage), include_best_trial=False)
    return {s.study_name: s.n_trials for s in summaries}


def test_only_the_studies_missing_trials_run_then_every_file_is_written(suite, fake_objective):
    # One study already at its budget, in the suite's storage: it is not run again.
    storage = (f"study.storage={suite.storage}",)
    tuned(suite.workloads[0].files[0], [0.6, 0.7, 0.5], overrides=storage)
    spy = RunSpy()
    said: list[str] = []
    done = run_suite(suite, run_study=spy, say=said.append)
    assert spy.calls == [
        ("mfac-q.toml", suite.storage),
        ("adam-a.toml", suite.storage),
        ("mfac-a.toml", suite.storage),
    ]
    assert "quora: study mfac-q has 0/2 trials: running it" in said
    assert {w.workload.name: [f.name for f in w.ran] for w in done.workloads} == {
        "quora": ["mfac-q.toml"],
        "again": ["adam-a.toml", "mfac-a.toml"],
    }
    assert len(fake_objective.calls) == 2 * 2 * 2  # a config per arm, 2 seeds, 2 workloads
    folder = suite.folder
    for name in ("quora", "again"):
        assert {p.name for p in (folder / name).iterdir()} >= {"compare.md", "compare.json"}
    assert {p.name for p in done.written} == {"summary.md", "summary.json", "profiles.png"}
    data = json.loads((folder / "summary.json").read_text())
    assert [w["name"] for w in data["workloads"]] == ["quora", "again"]
    assert [p["basis"] for p in data["profiles"]] == ["seconds", "steps", "metric"]
    # Every study ran in the suite's storage, none in its study file's own.
    studies = trial_counts(suite.storage)
    assert set(studies) == {
        f"{kind}-{w}{tail}" for kind in KIND for w in "qa" for tail in ("", "-reseed")
    }
    for file in suite.workloads[0].files:
        assert not Path(load_spec(file).study.storage.removeprefix("sqlite:///")).exists()
    # Compute: the fake's re-runs take 3 s (AdamW) and 6 s (M-FAC) of wall time each.
    quora = data["workloads"][0]["arms"]
    assert [a["rerun_seconds"] for a in quora] == [6.0, 12.0]
    md = (folder / "summary.md").read_text()
    assert "| quora | F1 | M-FAC |" in md and "[quora/compare.md](quora/compare.md)" in md


def test_with_nothing_missing_the_suite_trains_nothing_and_writes_the_same_numbers(
    suite, fake_objective
):
    first = run_suite(suite, run_study=RunSpy())
    before = trial_counts(suite.storage)
    summary_before = json.loads((suite.folder / "summary.json").read_text())
    fake_objective.calls.clear()
    spy = RunSpy()
    said: list[str] = []
    again = run_suite(suite, run_study=spy, say=said.append)
    assert spy.calls == [] and fake_objective.calls == []
    assert trial_counts(suite.storage) == before  # no trial added, none re-run
    assert "quora: every study at its budget (adam-q 3/2, mfac-q 3/2): no trial to run" in said
    summary_after = json.loads((suite.folder / "summary.json").read_text())
    for data in (summary_before, summary_after):
        data.pop("created")
    assert summary_after == summary_before
    assert again.summary.workloads == first.summary.workloads


def test_a_study_that_does_not_search_the_optimizer_is_one_arm_and_refused(quora_study):
    quora_study("adam", set=KIND["adam"])
    path = write_suite(quora_study.folder, [{"name": "one", "study": "adam.toml"}])
    suite = load_suite(path)
    spy = RunSpy()
    with pytest.raises(CompareError) as e:
        run_suite(suite, run_study=spy)
    assert spy.calls == [("adam.toml", suite.storage)]
    assert str(e.value) == (
        f"{path}: `workloads[0]`: {quora_study.folder / 'adam.toml'} gives one arm (AdamW); a "
        "workload compares two: list two study files in `arms`, or give a `study` whose space "
        "searches optimizer.kind"
    )


def test_no_train_sums_up_the_finished_workloads_and_names_the_others(suite, fake_objective):
    """A suite still running (--no-train): the finished workload is summed up from its
    storage alone; one whose re-runs are missing, and one whose study misses trials, are
    left out of the summary and named; nothing trains."""
    run_suite(suite, run_study=RunSpy())  # both workloads finished
    before = trial_counts(suite.storage)
    fake_objective.calls.clear()
    # The second workload's re-runs now ask for more seeds than were run
    more = replace(suite, seeds=3)
    spy = RunSpy()
    said: list[str] = []
    done = run_suite(more, run_study=spy, say=said.append, train=False)
    assert spy.calls == [] and fake_objective.calls == []
    assert trial_counts(suite.storage) == before
    assert done.summary.workloads == ()
    (note,) = [n for n in done.summary.notes if "not finished" in n]
    assert note.startswith("2 of 2 workloads not finished")
    assert "quora (AdamW's re-runs on 3 seeds unfinished)" in note
    # At its own seeds, it is finished: summed up as a run would, without training.
    done = run_suite(suite, run_study=spy, train=False)
    assert [w.name for w in done.summary.workloads] == ["quora", "again"]
    assert spy.calls == [] and fake_objective.calls == []


def test_no_train_leaves_out_a_workload_whose_study_misses_trials(suite, fake_objective):
    spy = RunSpy()
    said: list[str] = []
    done = run_suite(suite, run_study=spy, say=said.append, train=False)
    assert spy.calls == [] and fake_objective.calls == []
    assert "quora (adam-q has 0/2 trials): left out (--no-train)" in said
    assert done.summary.workloads == ()
