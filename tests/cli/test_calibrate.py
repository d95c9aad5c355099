"""``hpsearch calibrate`` with the stand-in probe (nothing trains): a table of the arms, the
plot, the cost; run again, nothing runs and the table is drawn again; Ctrl-C keeps the
finished probes and the same command resumes; ``run``'s summary charges the calibration."""

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


def test_calibrate_prints_a_row_per_arm_and_writes_the_plot(study_file, cli, probes):
    code, out, err = cli("calibrate", str(study_file))
    assert code == 0, err
    assert len(probes.calls) == 16
    rows = [line for line in out.splitlines() if line.startswith("│")]
    arms = [r.split("│")[1].strip() for r in rows if r.split("│")[1].strip()]
    assert arms == ["AdamW", "M-FAC m=4", "M-FAC m=8"]
    said = " ".join(err.split())
    assert "AdamW: probes of 1 epoch each at fixed lrs" in said
    assert "AdamW: lr 3e-5: one class, f1 0.5000 (10 steps, 1.5 s)" in said
    assert "calibration: 16 probes, 160 steps, 24.0 s (no trial time yet to charge it to)" in out
    plot = study_file.parent / "results" / "cal" / "calibration.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert f"wrote {plot}" in " ".join(err.split())


def test_calibrating_again_runs_nothing_and_draws_the_table_again(study_file, cli, probes):
    first = cli("calibrate", str(study_file))
    probes.calls.clear()
    code, out, err = cli("calibrate", str(study_file))
    assert code == 0 and probes.calls == []
    assert "nothing ran (--redo measures again)" in " ".join(err.split())
    assert out == first[1]


def test_ctrl_c_keeps_the_finished_tests_and_the_same_command_resumes(study_file, cli, probes):
    probes.stop_at = 2
    code, _, err = cli("calibrate", str(study_file))
    assert code == 130
    assert "study cal keeps 2 probes (0 of 3 arms whole;" in " ".join(err.split())
    probes.stop_at = None
    probes.calls.clear()
    code, _, err = cli("calibrate", str(study_file))
    assert code == 0, err
    assert "AdamW: resuming its ladder (2 probes kept)" in " ".join(err.split())
    assert len(probes.calls) == 14


def test_runs_summary_charges_the_calibration_to_the_study(study_file, cli, probes):
    add_trials(study_file, lr_trials(0.5, 0.6))  # the budget of 2 is spent: nothing trains
    cli("calibrate", str(study_file))
    code, out, err = cli("run", str(study_file))
    assert code == 0, err
    assert "calibration: 16 probes, 160 steps, 24.0 s" in out
    # Under other settings the probes are not the study's: said, not charged.
    code, out, _ = cli("run", str(study_file), "--set", "train.batch_size=16", "--allow-drift")
    assert "calibration: 16 probes" not in out
    assert (
        "calibration: the probes of AdamW ran under other settings (train.batch_size was "
        "32, now 16): not counted" in " ".join(out.split())
    )


def test_the_companion_study_is_listed_apart_and_leaves_the_study_alone(study_file, cli, probes):
    add_trials(study_file, lr_trials(0.5, 0.6))
    cli("calibrate", str(study_file))
    code, out, err = cli("leaderboard", str(study_file))
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 2  # the study's two trials, not the probes
    code, out, err = cli("leaderboard", str(study_file), "--all")
    assert code == 0, err
    listed = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert {"cal", "cal-calibration"} <= set(listed)


def test_run_of_a_calibrated_lr_calibrates_first_and_says_the_ranges(quora_study, cli, probes):
    path = quora_study("lr", set=[*KINDS, 'space.train.lr="calibrated"'])
    add_trials(path, lr_trials(0.5, 0.6))  # the budget is spent: no trial trains
    code, _, err = cli("run", str(path))
    assert code == 0, err
    said = " ".join(err.split())
    assert len(probes.calls) == 16
    assert "calibrating first (train.lr: calibrated): AdamW: probes of 1 epoch" in said
    ranges = "study lr: train.lr searched in its calibrated ranges: space.by_kind.adamw.train.lr"
    assert ranges in said
    assert "space.train.lr|optimizer.kind=mfac|optimizer.num_grads=4" in said
    probes.calls.clear()
    code, _, err = cli("run", str(path))
    assert code == 0 and probes.calls == []
    assert "calibrating first" not in err


def test_a_study_searching_finetune_mode_gets_a_row_per_mode_and_a_column_of_the_plot_each(
    quora_study, cli, probes
):
    from hpsearch.compare.calibration_plot import calibration_figure
    from hpsearch.search.calibration import read_calibration
    from hpsearch.spec.load import load_spec

    modes = 'space.finetune.mode={ choices = ["full", "frozen", "lora"] }'
    path = quora_study("modes", set=[modes])
    code, out, err = cli("calibrate", str(path))
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("│")]
    arms = [r.split("│")[1].strip() for r in rows if r.split("│")[1].strip()]
    assert arms == ["AdamW full", "AdamW frozen", "AdamW lora"]
    assert "AdamW frozen: lr 1e-2: learned, f1 0.8000" in " ".join(err.split())
    calibration = read_calibration(load_spec(path))
    figure = calibration_figure(calibration.fresh)
    titles = [ax.get_title() for ax in figure.axes[:3]]
    assert titles == ["finetune.mode full", "finetune.mode frozen", "finetune.mode lora"]
