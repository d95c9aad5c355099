"""``hpsearch compare SUITE.toml``: a suite file told from study files by its [suite]
table; what it misses runs through ``hpsearch run``'s own path, then the comparisons and the
summary; run again with nothing missing, it trains nothing. Options the suite sets itself,
or a suite given with other files, are one line."""

from __future__ import annotations

import pytest

from tests.commands import one_line
from tests.studies import write_suite


@pytest.fixture
def suite(quora_study):
    """A suite of one workload, AdamW (adam.toml) against M-FAC (mfac.toml), 2 trials each,
    2 paired seeds, in journal:///suite.log beside it."""
    quora_study("adam", set=["optimizer.kind=adamw"])
    quora_study("mfac", set=["optimizer.kind=mfac", "optimizer.num_grads=4"])
    workloads = [{"name": "quora", "arms": ["adam.toml", "mfac.toml"]}]
    return write_suite(quora_study.folder, workloads, seeds=2)


@pytest.mark.slow
def test_a_suite_runs_what_is_missing_then_re_renders_without_training(
    suite, cli, study_stand_in, fake_objective
):
    code, out, err = cli("compare", str(suite))
    assert code == 0, err
    assert sorted(kind for kind, _ in study_stand_in.calls) == ["adamw"] * 2 + ["mfac"] * 2
    assert len(fake_objective.calls) == 2 * 2  # each arm's best config on 2 seeds
    said = " ".join(out.split())
    assert "quora: study adam has 0/2 trials: running it" in said
    assert "study adam: 2/2 trials finished (2 run now, 0 failed in all)" in said  # run's own
    assert "next: `hpsearch leaderboard" not in said  # the suite says what comes next
    folder = suite.parent / "results" / "suite"
    assert f"wrote {folder}: profiles.png, summary.json, summary.md" in said
    assert f"next: read {folder / 'summary.md'}" in said
    assert (folder / "quora" / "compare.md").is_file()
    summary = (folder / "summary.md").read_text()

    study_stand_in.calls.clear()
    fake_objective.calls.clear()
    code, out, err = cli("compare", str(suite))
    assert code == 0, err
    assert study_stand_in.calls == [] and fake_objective.calls == []
    said = " ".join(out.split())
    assert "quora: every study at its budget (adam 2/2, mfac 2/2): no trial to run" in said
    after = (folder / "summary.md").read_text()
    assert after.split("Written")[0] == summary.split("Written")[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seeds", "3"], "which sets --seeds itself"),
        (["--storage", "sqlite:///x.db", "--top", "2"], "which sets --top, --storage itself"),
        (["--set", "train.epochs=2"], "which sets --set itself"),
    ],
)
def test_options_a_suite_sets_itself_are_refused(suite, cli, extra, message):
    code, _, err = cli("compare", str(suite), *extra)
    assert code == 1
    line = one_line(err, wrapped=True)
    assert f"is a suite file, {message}" in line and line.endswith("give the suite file alone")
    assert not (suite.parent / "suite.log").exists()


def test_a_suite_is_compared_alone(suite, cli):
    code, _, err = cli("compare", str(suite.parent / "adam.toml"), str(suite))
    assert code == 1
    line = one_line(err, wrapped=True)
    assert f"{suite} is a suite file, which lists its workloads' study files itself" in line


def test_a_bad_suite_file_is_one_line(suite, cli):
    suite.write_text(suite.read_text().replace("seeds = 2", "seeds = 0"))
    code, _, err = cli("compare", str(suite))
    assert code == 1
    line = one_line(err, wrapped=True)
    assert line == (
        f"error: {suite}: `suite.seeds`: Input should be greater than or equal to 1, got 0"
    )


def test_no_train_of_study_files_is_one_line_and_of_an_unrun_suite_trains_nothing(suite, cli):
    adam = suite.parent / "adam.toml"
    code, _, err = cli("compare", str(adam), str(suite.parent / "mfac.toml"), "--no-train")
    assert code == 1
    assert one_line(err, wrapped=True).startswith("error: --no-train sums up a suite file's")
    code, out, err = cli("compare", str(suite), "--no-train")
    assert code == 0, err
    said = " ".join(out.split())
    assert "quora (adam has 0/2 trials): left out (--no-train)" in said
    assert "1 of 1 workloads not finished" in said
