"""``hpsearch calibrate`` with the stand-in range test (nothing trains): a table of the arms,
the plot, the cost; run again, nothing runs and the table is drawn again; Ctrl-C keeps the
finished tests and the same command resumes; ``run``'s summary charges the calibration."""

from __future__ import annotations

import pytest

from tests.trials import add_trials, lr_trials

KINDS = (
    'space.optimizer.kind={ choices = ["adamw", "mfac"] }',
    "space.optimizer.num_grads={ choices = [4, 8] }",
)


@pytest.fixture
def study_file(quora_study):
    return quora_study("cal", set=list(KINDS))


def test_calibrate_prints_a_row_per_arm_and_writes_the_plot(study_file, cli, range_test):
    code, out, err = cli("calibrate", str(study_file))
    assert code == 0, err
    assert len(range_test.calls) == 3
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["AdamW", "M-FAC", "M-FAC"]
    assert [r.split("│")[2].strip() for r in rows] == ["–", "4", "8"]
    assert "calibration: 3 range tests, 4.5 s (no trial time yet to charge it to)" in out
    plot = study_file.parent / "results" / "cal" / "calibration.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert f"wrote {plot}" in " ".join(err.split())


def test_calibrating_again_runs_nothing_and_draws_the_table_again(study_file, cli, range_test):
    first = cli("calibrate", str(study_file))
    range_test.calls.clear()
    code, out, err = cli("calibrate", str(study_file))
    assert code == 0 and range_test.calls == []
    assert "nothing ran (--redo measures again)" in " ".join(err.split())
    assert out == first[1]


def test_ctrl_c_keeps_the_finished_tests_and_the_same_command_resumes(study_file, cli, range_test):
    range_test.stop_at = 2
    code, _, err = cli("calibrate", str(study_file))
    assert code == 130
    assert "study cal keeps 2 of 3 range tests" in " ".join(err.split())
    range_test.stop_at = None
    range_test.calls.clear()
    code, _, err = cli("calibrate", str(study_file))
    assert code == 0, err
    assert [(a.kind, a.num_grads) for a in range_test.calls] == [("mfac", 8)]


def test_runs_summary_charges_the_calibration_to_the_study(study_file, cli, range_test):
    add_trials(study_file, lr_trials(0.5, 0.6))  # the budget of 2 is spent: nothing trains
    cli("calibrate", str(study_file))
    code, out, err = cli("run", str(study_file))
    assert code == 0, err
    assert "calibration: 3 range tests, 4.5 s" in out
    # Under other settings the tests are not the study's: said, not charged.
    code, out, _ = cli("run", str(study_file), "--set", "train.batch_size=16", "--allow-drift")
    assert "calibration: 3 range tests" not in out
    assert (
        "calibration: the range test of AdamW ran under other settings (train.batch_size was "
        "32, now 16): not counted" in " ".join(out.split())
    )


def test_the_companion_study_is_listed_apart_and_leaves_the_study_alone(
    study_file, cli, range_test
):
    add_trials(study_file, lr_trials(0.5, 0.6))
    cli("calibrate", str(study_file))
    code, out, err = cli("leaderboard", str(study_file))
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 2  # the study's two trials, not the range tests
    code, out, err = cli("leaderboard", str(study_file), "--all")
    assert code == 0, err
    listed = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert {"cal", "cal-calibration"} <= set(listed)


def test_run_of_a_calibrated_lr_calibrates_first_and_says_the_ranges(quora_study, cli, range_test):
    path = quora_study("lr", set=[*KINDS, 'space.train.lr="calibrated"'])
    add_trials(path, lr_trials(0.5, 0.6))  # the budget is spent: no trial trains
    code, _, err = cli("run", str(path))
    assert code == 0, err
    said = " ".join(err.split())
    assert len(range_test.calls) == 3
    assert "calibrating first (train.lr: calibrated): AdamW: range test: 100 steps" in said
    ranges = "study lr: train.lr searched in its calibrated ranges: space.by_kind.adamw.train.lr"
    assert ranges in said
    assert "space.train.lr|optimizer.kind=mfac|optimizer.num_grads=4" in said
    range_test.calls.clear()
    code, _, err = cli("run", str(path))
    assert code == 0 and range_test.calls == []
    assert "calibrating first" not in err
