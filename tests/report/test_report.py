"""``hpsearch report``: the study compared with its baseline (``compare``'s mechanism):
re-runs with one seed list in a companion study (resumable), statistics, the model-card
comparison, report files and plots, and bad input that writes nothing.

Two tiny finished studies on the shared Quora data (an AdamW baseline and an M-FAC study,
6 trials each) are built once for the module; the other tests need no training.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import optuna
import pytest
from matplotlib.image import imread
from optuna.trial import TrialState

from hpsearch.report.markdown import to_markdown
from hpsearch.report.model import Report, StudyTrials
from hpsearch.report.plots import importance_figure
from hpsearch.search.reseed import reseed_name
from hpsearch.search.study import run_study
from hpsearch.spec.load import load_spec
from tests.report.helpers import make_report
from tests.studies import write_study
from tests.trials import add_trials, assert_nothing_written, lr_trials


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> dict[str, Path]:
    """A finished AdamW study and a finished M-FAC study whose baseline it is."""
    folder = tmp_path_factory.mktemp("report")
    adam = write_study(folder, "adam", "adamw")
    mfac = write_study(folder, "mfac", "mfac", baseline="adam.toml")
    for path in (adam, mfac):
        assert run_study(load_spec(path)).finished == 6
    return {"adam": adam, "mfac": mfac, "folder": folder}


def run_cli(cli, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr with its lines joined (rich wraps long errors)."""
    code, out, err = cli(*args)
    return code, out, " ".join(err.split())


def companion_trials(path: Path) -> list[optuna.trial.FrozenTrial]:
    spec = load_spec(path)
    names = optuna.get_all_study_names(spec.study.storage)
    if reseed_name(spec.study.name) not in names:
        return []
    study = optuna.load_study(study_name=reseed_name(spec.study.name), storage=spec.study.storage)
    return study.get_trials()


def best_trial(path: Path) -> optuna.trial.FrozenTrial:
    spec = load_spec(path)
    return optuna.load_study(study_name=spec.study.name, storage=spec.study.storage).best_trial


def assert_picture(path: Path) -> None:
    """A real, non-blank picture: decodes as a PNG of a sensible size with drawn pixels."""
    image = imread(path)
    height, width = image.shape[:2]
    assert height >= 200 and width >= 300, (path.name, image.shape)
    rgb = image[..., :3]
    drawn = (rgb < 0.9).any(axis=-1).mean()  # share of pixels that are not (near) white
    assert 0.01 < drawn < 0.9, (path.name, drawn)
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 10  # more than a flat fill


@pytest.mark.slow
def test_report_reruns_the_best_configs_then_resumes_without_new_trials(studies, cli):
    mfac, adam = studies["mfac"], studies["adam"]
    code, out, err = run_cli(cli, "report", str(mfac), "--seeds", "3", "--top", "1")
    assert code == 0, err

    # The re-runs: one trial per seed in each companion study, params fixed, never pruned.
    for path in (mfac, adam):
        trials = companion_trials(path)
        source = best_trial(path)
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
        assert [t.params for t in trials] == [{"train.seed": s} for s in (0, 1, 2)]
        assert {t.user_attrs["source_trial"] for t in trials} == {source.number}
        assert {t.user_attrs["source_study"] for t in trials} == {load_spec(path).study.name}
        assert [t.user_attrs["seed"] for t in trials] == [0, 1, 2]
        # train.seed 0 is the search's own seed: the same config reproduces its value, so
        # the trial's params (lr, warmup, damp) were used as they are, not sampled again.
        assert trials[0].value == pytest.approx(source.value, abs=1e-6)

    # A second call runs nothing and reports the same numbers.
    before = {
        p: [(t.number, t.datetime_complete) for t in companion_trials(p)] for p in (mfac, adam)
    }
    report = json.loads((studies["folder"] / "results" / "mfac" / "report.json").read_text())
    code, out2, err2 = run_cli(cli, "report", str(mfac), "--seeds", "3", "--top", "1")
    assert code == 0, err2
    assert "M-FAC against AdamW" in out2
    after = {p: [(t.number, t.datetime_complete) for t in companion_trials(p)] for p in before}
    assert after == before
    assert "complete" not in err2  # no trial line from the progress display
    again = json.loads((studies["folder"] / "results" / "mfac" / "report.json").read_text())
    assert again["comparison"] == report["comparison"]

    # The terminal: the spaces before the re-runs, the comparison table and the configs.
    assert out.index("search spaces") < out.index("M-FAC against AdamW")
    assert "Welch p" in out and "paired t p" in out and "±" in out
    assert "M-FAC (mfac, trial" in out and "AdamW (adam, trial" in out

    results = studies["folder"] / "results" / "mfac"
    check_report_data(report, studies)
    check_markdown((results / "report.md").read_text(), report)
    check_csv((results / "report.csv").read_text(), report)
    for name in ("history.png", "intermediate.png", "seeds.png", "tuning.png", "seconds.png"):
        assert_picture(results / name)
    importance = results / "importance.png"
    if importance.exists():
        assert_picture(importance)
    else:  # both studies' values may be flat on 64 examples: then the reason is given
        assert "importance.png`: skipped" in (results / "report.md").read_text()
    # Rendering needs the report data only: report.json alone gives report.md again.
    plots = {p: None for p in ("history.png", "intermediate.png", "seeds.png", "tuning.png")}
    written = (results / "report.md").read_text()
    markdown = to_markdown(Report.from_dict(again), plots)
    assert markdown.split("## Plots")[0] == written.split("## Plots")[0]


def check_report_data(report: dict, studies: dict[str, Path]) -> None:
    assert report["study"] == "mfac" and report["baseline"] == "adam"
    assert report["seeds"] == 3 and report["metric"] == "f1"
    comp = report["comparison"]
    assert [(c["role"], c["optimizer"]) for c in comp["configs"]] == [
        ("baseline", "adamw"),
        ("study", "mfac"),
    ]
    for config in comp["configs"]:
        assert config["seeds"] == [0, 1, 2] and len(config["runs"]) == 3
        for metric in ("f1", "accuracy", "loss"):
            values = [r["metrics"][metric] for r in config["runs"]]
            summary = config["summary"][metric]
            assert summary["mean"] == pytest.approx(np.mean(values))
            assert summary["std"] == pytest.approx(np.std(values, ddof=1))
            pick = min if metric == "loss" else max  # best-of-N per metric's direction
            assert summary["best"] == pytest.approx(pick(values))
        f1s = [r["value"] for r in config["runs"]]
        assert config["best_run"]["value"] == max(f1s)
    assert comp["metrics"][0] == "f1" and "accuracy" in comp["metrics"]
    assert "loss" not in comp["metrics"]
    assert [(a["name"], a["optimizer"], a["baseline"]) for a in comp["arms"]] == [
        ("AdamW", "adamw", True),
        ("M-FAC", "mfac", False),
    ]
    assert comp["budget"] == 6 and comp["seeds"] == [0, 1, 2]
    # On 64 Quora pairs no trial of either arm learns past answering "not duplicate" for
    # every pair (F1 0, MCC 0), nor does any re-run: neither arm learned within its space,
    # so there is no verdict, no paired test (the statistics are checked against scipy in
    # tests/compare/test_stats.py and test_build.py), and the notes point to calibrate.
    for arm in comp["arms"]:
        assert arm["never_learned"] == ["every judged trial", "every seed re-run"]
    assert comp["paired"] == []
    assert any(n.startswith("M-FAC never learned within its space") for n in comp["notes"])
    # The cost of every arm, from its re-runs' recorded measurements.
    for cost in comp["costs"]:
        assert cost["seconds_per_step"] > 0 and cost["optimizer_state_bytes"] > 0
        assert len(cost["to_target"]) == 3
    assert {s["name"] for s in report["studies"]} == {"mfac", "adam"}
    assert all(len(s["trials"]) == 6 for s in report["studies"])


def check_markdown(text: str, report: dict) -> None:
    number = r"-?\d+\.\d\d"
    for label in (r"AdamW \(adam, trial \d+\)", r"M-FAC \(mfac, trial \d+\)"):
        row = rf"^\| {label} \| {number} ± {number} \| {number} ± {number} \|"
        assert re.search(row, text, re.MULTILINE), f"no row {label} with mean ± std"
    # M-FAC's row: no verdict after the seeds, where the paired difference would stand
    mfac_row = r"^\| M-FAC \(mfac, trial \d+\) \|.* \| 3 \| never learned: no verdict \|"
    assert re.search(mfac_row, text, re.MULTILINE)
    assert "## Paired seeds" not in text and "hpsearch calibrate" in text
    assert "| Welch p |" in text and "## Tuning curves" in text and "## Search spaces" in text
    base_f1 = report["comparison"]["arms"][0]["summary"]["f1"]
    assert f"{100 * base_f1['mean']:.2f} ± {100 * base_f1['std']:.2f}" in text  # ×100, as the cards
    assert "![history](history.png)" in text


def check_csv(text: str, report: dict) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["study"], r["optimizer"], r["n_seeds"]) for r in rows] == [
        ("adam", "adamw", "3"),
        ("mfac", "mfac", "3"),
    ]
    for row, config in zip(rows, report["comparison"]["configs"], strict=True):
        assert float(row["f1_mean"]) == pytest.approx(config["summary"]["f1"]["mean"])
        assert float(row["accuracy_best"]) == pytest.approx(config["summary"]["accuracy"]["best"])
        assert json.loads(row["params"]) == config["params"]


@pytest.mark.slow
def test_more_seeds_later_runs_only_the_missing_ones(studies, cli):
    """--seeds 4 after --seeds 3 shares the companion study and adds one seed per config."""
    mfac, adam = studies["mfac"], studies["adam"]
    code, _, err = run_cli(cli, "report", str(mfac), "--seeds", "3")
    assert code == 0, err
    before = {p: len(companion_trials(p)) for p in (mfac, adam)}
    code, _, err = run_cli(cli, "report", str(mfac), "--seeds", "4")
    assert code == 0, err
    for path in (mfac, adam):
        trials = companion_trials(path)
        assert len(trials) == before[path] + 1
        assert trials[-1].params == {"train.seed": 3} and trials[-1].state == TrialState.COMPLETE
    report = json.loads((studies["folder"] / "results" / "mfac" / "report.json").read_text())
    assert [len(c["runs"]) for c in report["comparison"]["configs"]] == [4, 4]


# Bad input: a clear one-line error, exit code 1, and nothing written anywhere.


def test_a_study_that_was_never_run(tmp_path, cli):
    path = write_study(tmp_path, "never", "adamw")
    code, _, err = run_cli(cli, "report", str(path), "--seeds", "2")
    assert code == 1 and err.startswith("error: ") and "no study 'never'" in err
    assert "hpsearch run" in err and "Traceback" not in err
    assert_nothing_written(tmp_path, set())


def test_a_study_without_complete_trials(tmp_path, cli):
    path = write_study(tmp_path, "empty", "adamw")
    study = optuna.create_study(study_name="empty", storage=load_spec(path).study.storage)
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, state=TrialState.FAIL))
    code, _, err = run_cli(cli, "report", str(path))
    assert code == 1 and "study 'empty' has no complete trial" in err
    assert_nothing_written(tmp_path, {tmp_path / "empty.db"})


def test_a_baseline_study_that_was_never_run(tmp_path, cli):
    """The baseline's file exists, its study does not: checked before any re-run starts."""
    write_study(tmp_path, "base", "adamw")
    path = write_study(tmp_path, "main", "mfac", baseline="base.toml")
    add_trials(path, lr_trials(0.5))  # one complete trial
    code, _, err = run_cli(cli, "report", str(path), "--seeds", "2")
    assert code == 1 and "baseline of study 'main' is missing" in err and "'base'" in err
    assert_nothing_written(tmp_path, {tmp_path / "main.db"})


def test_a_baseline_study_without_complete_trials(tmp_path, cli):
    base = write_study(tmp_path, "base", "adamw")
    optuna.create_study(study_name="base", storage=load_spec(base).study.storage)
    path = write_study(tmp_path, "main", "mfac", baseline="base.toml")
    add_trials(path, lr_trials(0.5))  # one complete trial
    code, _, err = run_cli(cli, "report", str(path))
    assert code == 1 and "baseline study 'base' has no complete trial" in err
    assert_nothing_written(tmp_path, {tmp_path / "main.db", tmp_path / "base.db"})


def test_seeds_must_be_positive(tmp_path, cli):
    path = write_study(tmp_path, "main", "adamw")
    code, _, err = run_cli(cli, "report", str(path), "--seeds", "0")
    assert code == 2 and "--seeds" in err


# A plot without data.


def test_importance_plot_is_skipped_with_the_reason():
    study = StudyTrials(
        name="a",
        role="study",
        metric="f1",
        direction="maximize",
        trials=(),
        importance=None,
        importance_note="needs at least 2 complete trials",
    )
    skipped = importance_figure(make_report(studies=(study,)))
    assert isinstance(skipped, str) and "a: needs at least 2 complete trials" in skipped


def test_report_without_a_baseline_has_no_comparison(tmp_path, fake_objective, cli):
    path = write_study(tmp_path, "alone", "adamw")
    add_trials(path, lr_trials(0.5))  # one complete trial
    code, out, err = run_cli(cli, "report", str(path), "--seeds", "2", "--top", "3")
    assert code == 0, err
    report = json.loads((tmp_path / "results" / "alone" / "report.json").read_text())
    comp = report["comparison"]
    assert [a["name"] for a in comp["arms"]] == ["AdamW"] and report["baseline"] is None
    assert comp["paired"] == []  # one arm: nothing to compare with
    assert any("names no baseline" in n for n in report["notes"])
    notes = comp["notes"]
    assert any("only 1 complete trial within the budget, fewer than --top 3" in n for n in notes)
    assert [len(c["runs"]) for c in comp["configs"]] == [2]
    text = (tmp_path / "results" / "alone" / "report.md").read_text()
    assert "against" not in text and "| AdamW (alone, trial 0) | AdamW | 0.5000 | 2 |" in text
    assert "Welch" not in out and "AdamW (alone, trial 0)" in out
    # one complete trial: no importances, said in the report instead of an empty picture
    assert not (tmp_path / "results" / "alone" / "importance.png").exists()
    assert "`importance.png`: skipped" in text
    assert_picture(tmp_path / "results" / "alone" / "seeds.png")
