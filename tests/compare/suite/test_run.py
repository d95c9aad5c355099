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

    def __call__(self, file: Path, storage: str, n_trials: int | None) -> None:
        assert n_trials is None  # the trials axis never tops up
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


class CostlySpy:
    """The run path on a compute axis: each call gives the study complete trials up to its
    total (``n_trials``, else the study's own), trial i of an arm training ``seconds[i]``
    (the last entry repeats); records each (study file, total asked)."""

    def __init__(self, seconds: dict[str, list[float]]) -> None:
        self.seconds = seconds
        self.calls: list[tuple[str, int | None]] = []

    def __call__(self, file: Path, storage: str, n_trials: int | None) -> None:
        self.calls.append((file.name, n_trials))
        spec = load_spec(file, [f"study.storage={storage}"])
        costs = self.seconds["mfac" if "mfac" in file.name else "adam"]
        have = trial_counts(storage).get(spec.study.name, 0)
        new = range(have, n_trials or spec.study.n_trials)
        tuned(
            file,
            [0.6 + 0.01 * (i % 7) for i in new],
            overrides=(f"study.storage={storage}",),
            seconds=[costs[min(i, len(costs) - 1)] for i in new],
            first=have,
        )


@pytest.fixture
def by_seconds(quora_study):
    """One workload (adam-q, mfac-q; 2 trials each) judged on equal training seconds."""
    for kind, sets in KIND.items():
        quora_study(f"{kind}-q", set=sets)
    workloads = [{"name": "quora", "arms": ["adam-q.toml", "mfac-q.toml"]}]
    return load_suite(write_suite(quora_study.folder, workloads, seeds=2, budget_by="seconds"))


def test_on_seconds_the_cheaper_arm_runs_more_trials_until_it_spent_as_much(
    by_seconds, fake_objective
):
    """M-FAC's 2 trials train 80 s, AdamW's 20 s: AdamW runs more, an estimate at a time
    (its later trials, pruned early, cost less than its first), until it has trained 80 s;
    then each arm is judged on its whole search, not M-FAC on its first trial alone."""
    spy = CostlySpy({"adam": [10.0, 10.0, 2.0], "mfac": [40.0]})
    said: list[str] = []
    done = run_suite(by_seconds, run_study=spy, say=said.append)
    # 20 s, mean 10 s: 6 more (to 8; 32 s); mean 4 s: 12 more (to 20; 56 s); mean 2.8 s:
    # 9 more (to 29; 74 s); mean 2.55 s: 3 more (to 32; 80 s).
    assert spy.calls == [
        ("adam-q.toml", None),
        ("mfac-q.toml", None),
        ("adam-q.toml", 8),
        ("adam-q.toml", 20),
        ("adam-q.toml", 29),
        ("adam-q.toml", 32),
    ]
    assert said[2] == (
        "quora: study adam-q has spent 20.0 s in 2 trials, short of the 80.0 s that mfac-q's "
        "first 2 spent: running it to 8 trials"
    )
    (workload,) = done.workloads
    assert [len(a.judged) for a in workload.comparison.arms] == [32, 2]
    assert [f.name for f in workload.ran] == ["adam-q.toml", "mfac-q.toml"]
    assert done.summary.suite.top_up
    assert "ran more of them" in (by_seconds.folder / "summary.md").read_text()
    # Nothing is missing now: the same command trains nothing.
    spy.calls.clear()
    run_suite(by_seconds, run_study=spy)
    assert spy.calls == []


def test_a_top_up_that_ends_short_of_its_total_stops_with_one_line(by_seconds, fake_objective):
    """A run that returned without the trials asked (each failed) is not asked again and
    again: the suite stops, naming the study."""
    spy = CostlySpy({"adam": [10.0], "mfac": [40.0]})

    def failing(file: Path, storage: str, n_trials: int | None) -> None:
        if n_trials is None:
            spy(file, storage, None)

    with pytest.raises(CompareError) as e:
        run_suite(by_seconds, run_study=failing)
    assert str(e.value) == (
        f"{by_seconds.file}: `workloads[0]`: study adam-q was run to more trials to catch up "
        "on seconds, but ended short of them: see its failed trials"
    )


def test_no_train_leaves_out_a_workload_whose_cheaper_arm_has_not_caught_up(
    by_seconds, fake_objective
):
    spy = CostlySpy({"adam": [10.0], "mfac": [40.0]})
    for file in by_seconds.workloads[0].files:
        spy(file, by_seconds.storage, None)  # both at their budget of 2; AdamW 20 s of 80
    said: list[str] = []
    done = run_suite(by_seconds, run_study=spy, say=said.append, train=False)
    assert len(spy.calls) == 2 and fake_objective.calls == []
    assert done.summary.workloads == ()
    assert (
        "quora (study adam-q has spent 20.0 s in 2 trials, short of the 80.0 s that mfac-q's "
        "first 2 spent): left out (--no-train)"
    ) in said


def test_top_up_off_judges_within_the_cheaper_arms_compute(quora_study, fake_objective):
    for kind, sets in KIND.items():
        quora_study(f"{kind}-q", set=sets)
    workloads = [{"name": "quora", "arms": ["adam-q.toml", "mfac-q.toml"]}]
    path = write_suite(quora_study.folder, workloads, seeds=2, budget_by="seconds", top_up=False)
    spy = CostlySpy({"adam": [10.0], "mfac": [15.0]})
    done = run_suite(load_suite(path), run_study=spy)
    assert spy.calls == [("adam-q.toml", None), ("mfac-q.toml", None)]
    (workload,) = done.workloads
    # Within AdamW's 20 s: M-FAC's first trial (15 s) of its 2
    assert [len(a.judged) for a in workload.comparison.arms] == [2, 1]
    assert not done.summary.suite.top_up


def test_the_summary_names_the_suite_file_and_journal_from_the_working_directory(
    suite, fake_objective, monkeypatch
):
    """Re-rendered from a clone in another folder, summary.json names the same files."""
    monkeypatch.chdir(suite.file.parent.parent)
    done = run_suite(suite, run_study=RunSpy())
    folder = suite.file.parent.name
    assert done.summary.suite.suite_file == f"{folder}/suite.toml"
    assert done.summary.suite.storage == f"journal:///{folder}/suite.log"
    assert f"Suite file `{folder}/suite.toml`" in (suite.folder / "summary.md").read_text()
