"""Notes said once: a trial line marks one class and the sentence comes once, as a legend;
a report's notes once each; a data set's warning once; the leaderboard marks a trial worse
than chance and gives a waiting trial no rank."""

from __future__ import annotations

import io
import logging

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from rich.console import Console

from hpsearch.cli.compare import notes_once
from hpsearch.cli.logs import OncePerProcess
from hpsearch.cli.progress import RunProgress
from hpsearch.cli.views import render_leaderboard
from hpsearch.search.leaderboard import leaderboard_rows

LR = {"train.lr": FloatDistribution(1e-5, 1e-2, log=True)}
FLAT = (
    "one class: the classifier predicted the same class for every validation example at the "
    "best evaluation (MCC 0), which the trainer takes as best only when every evaluation "
    "had a classifier that did; its accuracy is that class's share, not learning"
)


def add(study: optuna.Study, lr: float, f1: float, mcc: float, **attrs) -> None:
    metrics = {"f1": f1, "accuracy": 0.6, "mcc": mcc}
    if mcc == 0.0:
        attrs["one_class"] = FLAT
    study.add_trial(
        create_trial(
            params={"train.lr": lr},
            distributions=LR,
            value=f1,
            user_attrs={"metrics": metrics, **attrs},
        )
    )


def test_a_trial_line_marks_one_class_and_the_legend_comes_once():
    study = optuna.create_study(direction="maximize")
    add(study, 1e-4, 0.63, 0.0)
    add(study, 2e-4, 0.63, 0.0)
    add(study, 3e-4, 0.70, 0.2)
    out = io.StringIO()
    progress = RunProgress(Console(file=out, width=80))
    for trial in study.trials:
        progress.on_trial_end(study, trial)
    lines = out.getvalue().splitlines()
    trial_lines = [line for line in lines if line.startswith("trial ")]
    assert trial_lines == [
        "trial 0 complete 0.6300  lr=0.0001  (one class¹)",
        "trial 1 complete 0.6300  lr=0.0002  (one class¹)",
        "trial 2 complete 0.7000  lr=0.0003",
    ]
    assert [line for line in lines if line.startswith("¹")] == [f"¹ {FLAT}"]


def test_a_multitask_trial_line_names_its_one_class_tasks():
    from hpsearch.cli.progress import one_class_mark

    assert one_class_mark({"sst/mcc": 0.0, "quora/mcc": 0.3}) == "one class¹: sst"
    assert one_class_mark({"mcc": 0.0}) == "one class¹"


def test_notes_are_said_once_and_the_one_class_sentence_once():
    notes = [
        "With 3 pairs the exact Wilcoxon signed-rank test cannot give ...",
        f"AdamW trial 2: 2 of 3 seed re-runs: {FLAT}",
        f"M-FAC trial 1: 1 of 3 seed re-runs: {FLAT}",
        "adam: importances skipped: needs 2 or more parameters",
        "adam: importances skipped: needs 2 or more parameters",
    ]
    assert notes_once(notes) == [
        "note: With 3 pairs the exact Wilcoxon signed-rank test cannot give ...",
        "note: AdamW trial 2: 2 of 3 seed re-runs: one class¹",
        "note: M-FAC trial 1: 1 of 3 seed re-runs: one class¹",
        "note: adam: importances skipped: needs 2 or more parameters",
        f"¹ {FLAT}",
    ]


def test_the_plans_notes_said_before_the_re_runs_are_not_said_again():
    plan = ["study 'quickstart' searches optimizer.kind: its arms are its trials of each kind"]
    assert notes_once([*plan, "AdamW trial 9: 2 of 3 seed re-runs ..."], said=plan) == [
        "note: AdamW trial 9: 2 of 3 seed re-runs ..."
    ]


def test_a_trial_worse_than_chance_is_marked_where_it_ranks_above_one_class_trials():
    study = optuna.create_study(direction="maximize")
    add(study, 1e-4, 0.63, 0.0)  # one class: "duplicate" everywhere
    add(study, 2e-4, 0.40, -0.12)  # worse than chance, yet it ranks first
    rows = leaderboard_rows(study, "f1")
    assert [(r.trial, r.below_chance, r.one_class) for r in rows] == [
        (1, True, False),
        (0, False, True),
    ]
    text = _text(render_leaderboard(rows, "f1"))
    assert "complete²" in text and "complete¹" in text
    assert "² worse than chance: MCC below 0" in text


def test_a_waiting_trial_gets_no_rank():
    study = optuna.create_study(direction="maximize")
    add(study, 1e-4, 0.70, 0.2)
    study.enqueue_trial({"train.lr": 3e-4})  # WAITING: it has not run
    study.add_trial(
        create_trial(
            params={"train.lr": 5e-3},
            distributions=LR,
            state=TrialState.FAIL,
            user_attrs={"fail_reason": "NonFiniteLossError: loss is nan"},
        )
    )
    rows = leaderboard_rows(study, "f1")
    assert [(r.state, r.rank) for r in rows] == [
        ("complete", 1),
        ("waiting", None),
        ("failed", 2),
    ]
    waiting = next(
        line for line in _text(render_leaderboard(rows, "f1")).splitlines() if "waiting" in line
    )
    assert waiting.split("│")[1].strip() == "–"


def test_each_data_warning_is_said_once_per_process():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(OncePerProcess())
    log = logging.getLogger("hpsearch.data.load.test_said_once")
    log.addHandler(handler)
    log.propagate = False
    try:
        for _ in range(3):  # three arms of a comparison read the same file
            log.warning("%s: dropped %d of %d rows", "quora-train.tsv", 2, 14000)
        log.warning("%s: dropped %d of %d rows", "sst-train.tsv", 5, 8544)
    finally:
        log.removeHandler(handler)
    assert out.getvalue().splitlines() == [
        "quora-train.tsv: dropped 2 of 14000 rows",
        "sst-train.tsv: dropped 5 of 8544 rows",
    ]


def test_warnings_of_other_layers_are_never_held_back():
    once = OncePerProcess()
    record = logging.LogRecord("hpsearch.search.runner", logging.WARNING, "", 0, "x", (), None)
    assert once.filter(record) and once.filter(record)


def _text(renderable) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(renderable)
    return console.file.getvalue()
