"""One clear line instead of a traceback or silence: an arm without a finished trial, an
unwritable results folder, a compare.json that is a folder, a read-only storage, Ctrl-C,
one study name in two folders, a different max_length (issue 29)."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState, create_trial

from hpsearch.compare.arms import plan_comparison, source
from hpsearch.spec.load import load_spec
from tests.commands import one_line
from tests.folders import read_only_folder
from tests.studies import QuoraStudies
from tests.trials import comparison_of, tuned

# ---- 5. clear lines instead of tracebacks or silence ------------------------------------------


@pytest.mark.parametrize("position", [0, 1])
def test_an_arm_with_no_finished_trial_is_named_for_itself(quora_study, cli, position):
    adam = quora_study("adam", set=["optimizer.kind=adamw"])
    tuned(adam, [0.6, 0.7])
    empty = quora_study("empty", set=["optimizer.kind=mfac", "optimizer.num_grads=4"])
    study = tuned(empty, [])
    study.add_trial(create_trial(state=TrialState.FAIL))
    files = [str(adam), str(empty)] if position else [str(empty), str(adam)]
    code, _, err = cli("compare", *files)
    assert code == 1
    line = one_line(err)
    assert "study 'empty' has no complete trial to report on yet" in line
    assert "AdamW" not in line


def test_an_unwritable_results_folder_is_found_before_any_rerun(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    results = tmp_path / "results"
    results.mkdir()
    with read_only_folder(results):
        code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 1
    assert f"results folder {results / 'adam-vs-mfac'} cannot be written: {results} is " in (
        one_line(err)
    )
    assert stand_in.calls == []


def test_a_compare_json_that_is_a_folder_is_one_line(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    folder = tmp_path / "results" / "adam-vs-mfac"
    (folder / "compare.json").mkdir(parents=True)
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 1
    assert "compare.json is a folder, where the file compare.json is to be written" in (
        one_line(err)
    )
    assert stand_in.calls == [] and (folder / "compare.json").is_dir()


def test_report_reads_a_read_only_storage_when_nothing_needs_running(
    quora_study, stand_in, cli, tmp_path
):
    store = tmp_path / "archive"
    store.mkdir()
    path = quora_study("solo", set=[f"study.storage=journal:///{store / 'solo.log'}"])
    tuned(path, [0.6, 0.7, 0.5])
    code, _, err = cli("report", str(path), "--seeds", "2")
    assert code == 0, err
    stand_in.calls = []
    with read_only_folder(store):
        code, out, err = cli("report", str(path), "--seeds", "2")
    assert code == 0, err
    assert stand_in.calls == [] and "wrote" in out
    with read_only_folder(store):  # one seed more needs a write: one line naming the storage
        code, _, err = cli("report", str(path), "--seeds", "3")
    assert code == 1 and f"storage journal:///{store / 'solo.log'}" in one_line(err)


def test_ctrl_c_of_compare_says_what_stopped_and_how_to_resume(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    stand_in.stop_at = 1
    again = ("compare", str(adam), str(mfac), "--seeds", "2", "--set", "train.eval_batch_size=128")
    code, out, err = cli(*again)
    assert code == 130, err
    said = " ".join(out.split())
    assert (
        "interrupted by SIGINT: compare stopped while re-running the configs of AdamW, M-FAC"
        in said
    )
    assert "kept in adam-reseed, mfac-reseed" in said and "queued to run again" in said
    assert (
        f"Resume with: hpsearch compare {adam} {mfac} --seeds 2 --top 1 --set "
        "train.eval_batch_size=128" in said
    )
    assert "Traceback" not in err and not (tmp_path / "results").exists()
    stand_in.stop_at = None
    code, _, err = cli(*again)
    assert code == 0, err


def test_arms_with_one_study_name_in_two_folders_are_told_apart(tmp_path, cs224n, stand_in, cli):
    a = QuoraStudies(tmp_path / "a")
    b = QuoraStudies(tmp_path / "b")
    for studies in (a, b):
        studies.folder.mkdir()
    first, second = a("adam"), b("adam")
    tuned(first, [0.6, 0.7])
    tuned(second, [0.65, 0.75])
    plan = plan_comparison([source(load_spec(p)) for p in (first, second)])
    assert [arm.name for arm in plan.arms] == [
        "adam AdamW (a/adam.toml)",
        "adam AdamW (b/adam.toml)",
    ]
    code, _, err = cli("compare", str(first), str(second), "--seeds", "2")
    assert code == 0, err
    comp = comparison_of(tmp_path / "a" / "results" / "a-adam-vs-b-adam")
    assert [arm.name for arm in comp.arms] == [arm.name for arm in plan.arms]
    assert len(comp.paired) >= 1 and len(comp.configs) == 2


def test_a_different_max_length_is_refused_like_other_task_differences(pair, cli, tmp_path):
    adam, _ = pair()
    short = adam.with_name("short.toml")
    text = adam.read_text().replace('name = "adam"', 'name = "short"')
    short.write_text(text.replace("max_length = 64", "max_length = 32"))
    assert load_spec(short).task.max_length == 32
    code, _, err = cli("compare", str(adam), str(short))
    assert code == 1
    assert "they differ in task.max_length (64 against 32)" in one_line(err)
    assert not (tmp_path / "results").exists()
