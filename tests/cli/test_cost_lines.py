"""What a run, a comparison and a report say about cost: an estimate before (from the
record, or "no time estimate yet" until the first trial gives one), the time left while
trials run, and at the end where things are and the command to run next."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from types import SimpleNamespace

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from hpsearch.cli.estimates import duration_text, estimate_line
from hpsearch.cli.progress import RunProgress
from hpsearch.search.estimate import Estimate, MfacBuffer
from tests.trials import golden_pair

LR = {"train.lr": FloatDistribution(1e-5, 1e-2, log=True)}


def test_durations_read_as_estimates():
    assert [duration_text(s) for s in (0.2, 45, 89, 240, 5300, 7500)] == [
        "1 s",
        "45 s",
        "89 s",
        "4 min",
        "88 min",
        "2 h 05 min",
    ]


def test_an_estimate_line_says_time_basis_place_and_memory():
    estimate = Estimate(
        runs=6,
        seconds=186.0,
        basis="median of 2 finished trials, 31 s each",
        workers=2,
        ran_on=("cpu, bf16",),
        mfac=MfacBuffer(2**30, 16, "as trial 1's buffer of 8 gradients"),
        peak_memory_bytes=3 * 2**29,
    )
    assert estimate_line(estimate) == (
        "estimate: 6 trials ≈ 3 min with 2 workers (median of 2 finished trials, 31 s each, "
        "on cpu, bf16); M-FAC buffer up to 1.0 GiB at 16 gradients (as trial 1's buffer of "
        "8 gradients); peak memory so far 1.5 GiB"
    )
    fresh = Estimate(runs=8, seconds=None, basis="no finished trial yet")
    assert estimate_line(fresh) == (
        "estimate: 8 trials to run, no time estimate yet (no finished trial yet: the first "
        "to finish gives one)"
    )
    done = Estimate(runs=0, seconds=0.0, basis="every re-run finished already")
    assert estimate_line(done, noun="re-run") == (
        "estimate: no re-run left to run (every re-run finished already)"
    )


def finished(number: int, seconds: float) -> FrozenTrial:
    start = dt.datetime(2026, 1, 1, 12, 0, number)
    return FrozenTrial(
        number=number,
        state=TrialState.COMPLETE,
        value=0.7,
        datetime_start=start,
        datetime_complete=start + dt.timedelta(seconds=seconds),
        params={"train.lr": 1e-4},
        distributions=LR,
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=number,
    )


def test_a_new_study_says_its_estimate_after_the_first_trial(quora_study):
    """Nothing to go on at the start; the first finished trial gives the estimate, said
    once, and the run bar counts down from it."""
    from hpsearch.search.estimate import study_estimate

    spec = quora_study.spec()
    study = optuna.create_study(direction="maximize")
    out = io.StringIO()
    progress = RunProgress(
        Console(file=out, width=120),
        estimate=lambda trials: study_estimate(spec, trials, 4),
    )
    progress.start_run(study, 4, 0)
    for seconds in (30.0, 50.0):
        study.add_trial(finished(len(study.trials), seconds))
        progress.on_trial_end(study, study.trials[-1])
    progress.__exit__(None, None, None)
    said = [line for line in out.getvalue().splitlines() if line.startswith("estimate:")]
    assert said == [
        "estimate: 4 trials to run, no time estimate yet (no finished trial yet: the first to "
        "finish gives one)",
        "estimate: 3 trials ≈ 2 min (median of 1 finished trial, 30 s each)",
    ]
    assert "left" in out.getvalue()  # the run bar's time left


def test_the_end_of_a_run_says_what_to_run_next(capsys):
    from hpsearch.cli.run import _print_next

    done = SimpleNamespace(finished=8, budget=8)
    _print_next(Path("studies/quickstart.toml"), None, [], done)
    assert capsys.readouterr().out.split() == [
        "next:",
        "`hpsearch",
        "leaderboard",
        "studies/quickstart.toml`",
        "shows",
        "every",
        "trial;",
        "`hpsearch",
        "report",
        "studies/quickstart.toml`",
        "re-runs",
        "the",
        "best",
        "configs",
        "over",
        "seeds",
        "and",
        "writes",
        "the",
        "report",
    ]
    _print_next(
        Path("q.toml"), "postgresql://me:secret@db/hp", [], SimpleNamespace(finished=3, budget=8)
    )
    out = capsys.readouterr().out
    assert "next: `hpsearch run q.toml` runs the rest of the budget" in out
    assert "secret" not in out and "same --storage" in out
    # The next commands carry the run's --set overrides: another study name reads that study.
    _print_next(Path("q.toml"), "sqlite:///my db.db", ["study.name=q fp32"], done)
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "`hpsearch leaderboard q.toml --set 'study.name=q fp32' --storage 'sqlite:///my db.db'`"
        in out
    )


def test_compare_says_its_re_runs_cost_where_they_are_and_what_to_read(quora_study, tmp_path, cli):
    """On the golden journal every re-run has finished: the estimate says so, and the end
    names the companion studies and compare.md."""
    adam, mfac, url = golden_pair(quora_study)
    code, out, err = cli(
        "compare", str(adam), str(mfac), "--seeds", "3", "--top", "2", "--storage", url
    )
    assert code == 0, err
    text = " ".join(out.split())
    assert "estimate: no re-run left to run (every re-run finished already)" in text
    assert f"re-runs in adam-reseed, mfac-reseed ({url})" in text
    assert f"next: read {tmp_path / 'results' / 'adam-vs-mfac' / 'compare.md'}" in text


def test_the_run_bar_counts_the_time_left_down_beside_its_info():
    import time

    from hpsearch.cli.progress import InfoColumn

    task = SimpleNamespace(fields={"info": "best 0.8123 (trial 7)", "done_at": time.time() + 185})
    assert InfoColumn().render(task).plain == "best 0.8123 (trial 7)  ≈3 min left"
    trial = SimpleNamespace(fields={"info": "loss 0.6950"})  # a trial's row: no countdown
    assert InfoColumn().render(trial).plain == "loss 0.6950"
