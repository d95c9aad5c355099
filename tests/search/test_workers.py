"""Scale-out and fault tolerance: many workers on SQLite, journal and PostgreSQL storages,
a budget that holds across them, stale trials of killed workers, signals, bad storages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import weakref
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from hpsearch.data.encode import DataCache
from hpsearch.search.interrupts import SignalGuard
from hpsearch.search.liveness import BEAT_ATTR, Heartbeat, Liveness
from hpsearch.search.objective import Objective
from hpsearch.search.runner import claims_place, give_back, run_trials
from hpsearch.search.storage import open_storage, read_trials
from scripts.postgres_server import find_bindir, postgres_server

# Small enough that a trial takes a second or two; several processes share 2 cores.
TINY = [
    "--set",
    "model.num_hidden_layers=1",
    "--set",
    "task.max_length=32",
    "--set",
    "study.heartbeat_interval=1",
    "--set",
    "study.heartbeat_grace=4",
]


def assert_exactly(trials: list[optuna.trial.FrozenTrial], budget: int) -> None:
    """``budget`` finished trials, no failure, and trial numbers 0, 1, ... once each."""
    states = [t.state for t in trials]
    finished = [s for s in states if s in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == budget, states
    assert TrialState.FAIL not in states, [t.user_attrs.get("fail_reason") for t in trials]
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(numbers)))


def assert_clean_logs(folder: Path) -> None:
    logs = sorted(folder.glob("worker-*.log"))
    assert logs
    for log in logs:
        text = log.read_text()
        for bad in ("locked", "Traceback", "error:"):
            assert bad not in text, f"{log.name}: {text[-2000:]}"


# ---- many local workers -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_four_workers_run_exactly_the_budget(kind, quora_study, cli_process, tmp_path):
    path = quora_study(name=f"w-{kind}", n_trials=12, train=32, eval=32)
    url = f"sqlite:///{tmp_path}/w.db" if kind == "sqlite" else f"journal:///{tmp_path}/w.log"
    done = cli_process("run", str(path), "--storage", url, "--workers", "4", *TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12/12 trials finished" in done.stdout
    assert_exactly(read_trials(url, f"w-{kind}"), 12)
    assert_clean_logs(tmp_path / "results" / f"w-{kind}" / "workers")


@pytest.fixture(scope="module")
def postgres_url() -> str:
    """A real PostgreSQL server on loopback (started here, or HPSEARCH_TEST_POSTGRES_URL)."""
    if os.environ.get("HPSEARCH_TEST_POSTGRES_URL"):
        yield os.environ["HPSEARCH_TEST_POSTGRES_URL"]
        return
    if find_bindir() is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)  # .ci/run installs it: its absence there is a defect
        pytest.skip(message)
    with postgres_server() as url:
        yield url


@pytest.mark.slow
def test_three_workers_on_postgresql(postgres_url, quora_study, cli_process, tmp_path):
    path = quora_study(name="w-postgres", n_trials=9, train=32, eval=32)
    done = cli_process("run", str(path), "--storage", postgres_url, "--workers", "3", *TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9/9 trials finished" in done.stdout
    assert_exactly(read_trials(postgres_url, "w-postgres"), 9)
    assert_clean_logs(tmp_path / "results" / "w-postgres" / "workers")


# ---- crashes and signals ------------------------------------------------------------------


def wait_for_trials(url: str, name: str, proc: subprocess.Popen, *, complete: int) -> None:
    """Wait until ``complete`` trials are COMPLETE and another has reported an evaluation."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
        try:
            trials = read_trials(url, name)
        except Exception:  # not created yet
            continue
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING and t.user_attrs.get("evals")]
        if len(done) >= complete and running:
            return
    raise AssertionError("the run did not get that far in time")


@pytest.mark.slow
def test_a_killed_worker_s_trial_is_failed_and_run_again(quora_study, cli_process, tmp_path):
    """SIGKILL in the middle of a trial; the restarted run finishes the budget exactly."""
    # 4,096 pairs: 128 steps a trial, so the half between its two evaluations lasts seconds
    # even on a fast, quiet machine (the kill must land inside a trial, after one evaluation).
    path = quora_study(name="killed", n_trials=4, train=4096, eval=32)
    url = f"sqlite:///{tmp_path}/killed.db"
    # Two evaluations per epoch: the victim has reported one when it is killed.
    proc = cli_process.start("run", str(path), "--storage", url, *TINY)
    wait_for_trials(url, "killed", proc, complete=1)
    proc.kill()
    proc.wait()
    before = {t.number: t for t in read_trials(url, "killed")}
    victim = next(t for t in before.values() if t.state == TrialState.RUNNING)
    completed = {n: t.value for n, t in before.items() if t.state == TrialState.COMPLETE}

    again = cli_process("run", str(path), "--storage", url, *TINY)
    assert again.returncode == 0, again.stderr
    trials = {t.number: t for t in read_trials(url, "killed")}
    assert trials[victim.number].state == TrialState.FAIL
    assert "no heartbeat" in trials[victim.number].user_attrs["fail_reason"]
    retries = [t for t in trials.values() if t.user_attrs.get("retry_of") == victim.number]
    assert len(retries) == 1
    assert retries[0].params == victim.params and retries[0].state == TrialState.COMPLETE
    assert len(retries[0].user_attrs["evals"]) == 2  # its own, not the dead run's one
    assert retries[0].user_attrs["fail_reason"] == ""  # the dead run's, not its own
    finished = [t for t in trials.values() if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 4
    for number, value in completed.items():  # none lost, none changed
        assert trials[number].state == TrialState.COMPLETE and trials[number].value == value


@pytest.mark.slow
def test_sigterm_fails_the_running_trial_and_exits_non_zero(quora_study, cli_process, tmp_path):
    path = quora_study(name="termed", n_trials=2, train=4096, eval=32)  # seconds a trial
    url = f"sqlite:///{tmp_path}/termed.db"
    proc = cli_process.start("run", str(path), "--storage", url, *TINY)
    wait_for_trials(url, "termed", proc, complete=0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in out and "Run the same command to resume" in out.replace(
        "\n", " "
    )
    assert "Traceback" not in err
    stopped, queued = read_trials(url, "termed")
    assert stopped.state == TrialState.FAIL and queued.state == TrialState.WAITING
    assert stopped.user_attrs["fail_reason"] == "interrupted by SIGTERM"
    assert stopped.user_attrs["evals"]  # what it had measured is kept

    # Its config is queued again: the next run redoes it first (an enqueued config, such as a
    # study's baseline, was lost before, in the testbed case study), then the budget's rest.
    again = cli_process("run", str(path), "--storage", url, *TINY)
    assert again.returncode == 0, again.stderr
    first, retry, last = read_trials(url, "termed")
    assert [t.state for t in (first, retry, last)] == [TrialState.FAIL, *[TrialState.COMPLETE] * 2]
    assert retry.params == stopped.params and retry.user_attrs["retry_of"] == stopped.number
    assert retry.user_attrs["retry_reason"] == "interrupted by SIGTERM"


# ---- the trial loop, without training -----------------------------------------------------


@pytest.fixture(params=["sqlite", "journal"])
def storage_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/loop.db"
    return f"journal:///{tmp_path}/loop.log"


def test_a_trial_that_loses_the_race_goes_back_unrun(storage_url):
    """Two workers ask at once for the last place: the higher number yields, and a trial
    given back keeps its queued params for the next ask."""
    storage = open_storage(storage_url)
    study = optuna.create_study(study_name="race", storage=storage)
    study.enqueue_trial({"x": 0.25})
    first = study.ask()  # worker A: the queued trial
    second = study.ask()  # worker B, at the same moment
    assert claims_place(study, first, budget=1)
    assert not claims_place(study, second, budget=1)
    give_back(study, second)
    give_back(study, first)  # (A too, here: to show what a queued trial keeps)
    ran: list[tuple[int, float]] = []

    def objective(trial: optuna.Trial) -> float:
        ran.append((trial.number, trial.suggest_float("x", 0, 1)))
        return 1.0

    run_trials(study, objective, budget=1, guard=SignalGuard())
    assert ran == [(0, 0.25)]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.WAITING]
    assert study.trials[1].params == {}  # never ran; the next ask takes it


def test_stale_trials_are_failed_with_a_reason_and_queued_again(storage_url):
    storage = open_storage(storage_url)
    study = optuna.create_study(study_name="stale", storage=storage)
    dead = study.ask()
    dead.suggest_float("x", 0, 1)
    alive = study.ask()
    alive.suggest_float("x", 0, 1)
    storage.set_trial_system_attr(dead._trial_id, BEAT_ATTR, time.time() - 100)
    storage.set_trial_system_attr(alive._trial_id, BEAT_ATTR, time.time())
    liveness = Liveness(storage, Heartbeat(interval=1, grace=10, max_retry=1))

    assert liveness.sweep(study) == [dead.number]
    assert liveness.sweep(study) == []  # swept once
    trials = study.trials
    assert trials[dead.number].state == TrialState.FAIL
    assert "no heartbeat for 10" in trials[dead.number].user_attrs["fail_reason"]
    assert trials[alive.number].state == TrialState.RUNNING
    (queued,) = study.get_trials(states=(TrialState.WAITING,))
    assert queued.params == trials[dead.number].params

    # The loop runs the retry, records whose it is, and the budget counts it once.
    study.tell(alive, 0.5)
    retried: list[int | None] = []

    def objective(trial: optuna.Trial) -> float:
        retried.append(trial.user_attrs.get("retry_of"))
        return trial.suggest_float("x", 0, 1)

    run_trials(study, objective, budget=2, guard=SignalGuard(), liveness=liveness)
    assert retried == [dead.number]
    assert [t.state for t in study.trials] == [
        TrialState.FAIL,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]
    # The retry completed: the dead run's failure, copied by Optuna, is not its own.
    retry = study.trials[2].user_attrs
    assert retry["fail_reason"] == "" and "no heartbeat" in retry["retry_reason"]


def test_a_live_trial_keeps_beating(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/beat.db")
    study = optuna.create_study(study_name="beat", storage=storage)
    trial = study.ask()
    liveness = Liveness(storage, Heartbeat(interval=1, grace=2, max_retry=1))
    with liveness.beating(trial._trial_id):
        time.sleep(3.5)  # longer than the grace: only the beats keep it alive
        assert liveness.sweep(study) == []
    last = storage.get_trial(trial._trial_id).system_attrs[BEAT_ATTR]
    assert time.time() - last < 2


def test_an_interrupt_fails_the_trial_with_the_reason_and_stops(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/stop.db")
    study = optuna.create_study(study_name="stop", storage=storage)

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("evals", [{"f1": 0.5}])
        raise KeyboardInterrupt("interrupted by SIGINT")

    with pytest.raises(KeyboardInterrupt):
        run_trials(study, objective, budget=3, guard=SignalGuard())
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs == {"evals": [{"f1": 0.5}], "fail_reason": "interrupted by SIGINT"}


def test_a_signal_inside_a_shielded_block_is_raised_after_it(tmp_path):
    guard = SignalGuard()
    done = []
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), guard.shielded():
        guard.handle(signal.SIGTERM, None)
        done.append("the block finished")
    assert done == ["the block finished"]
    with pytest.raises(KeyboardInterrupt, match="SIGINT"):
        guard.handle(signal.SIGINT, None)


def test_out_of_memory_fails_the_trial_frees_it_and_the_study_goes_on(
    quora_study, tmp_path, monkeypatch
):
    spec = quora_study.spec(name="oom", train=32, eval=32)
    held: list[weakref.ref] = []

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(64, 2**20))  # 256 MB

    def train_out_of_memory(spec, data, **kwargs):
        model = Model()
        held.append(weakref.ref(model))
        model.self_reference = [model]  # a cycle: only gc frees it, as with real models
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("hpsearch.search.objective.train", train_out_of_memory)
    storage = open_storage(spec.study.storage)
    study = optuna.create_study(study_name="oom", storage=storage, direction="maximize")
    objective = Objective(spec, DataCache())

    def objective_then_check(trial: optuna.Trial) -> float:
        if trial.number == 0:
            return objective(trial)  # runs out of memory
        assert held[0]() is None  # the model was freed before the next trial started
        return 0.5

    run_trials(study, objective_then_check, budget=1, guard=SignalGuard(), max_failures=3)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert "CUDA out of memory" in study.trials[0].user_attrs["fail_reason"]


# ---- storages that cannot be used ---------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nosuchdb://host/db", "cannot open storage nosuchdb://host/db"),
        ("study.db", "is not a URL; write sqlite:///study.db"),
        ("sqlite:////no/such/folder/x.db", "folder /no/such/folder does not exist"),
        ("journal:////no/such/folder/x.log", "folder /no/such/folder does not exist"),
    ],
)
def test_a_bad_storage_is_one_line_naming_it(url, expected, quora_study, cli):
    code, _, err = cli("run", str(quora_study(name="bad")), "--storage", url)
    assert code == 1
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_an_unreachable_database_is_one_line_without_the_password(quora_study, cli):
    url = f"postgresql://me:s3cret@127.0.0.1:{closed_port()}/studies"
    code, _, err = cli("run", str(quora_study(name="away")), "--storage", url)
    assert code == 1
    assert f"cannot open storage postgresql://me:***@127.0.0.1:{url.split(':')[3]}" in err
    assert "s3cret" not in err and err.strip().count("\n") == 0


def test_a_read_only_sqlite_database_is_one_line(quora_study, tmp_path, cli):
    path = quora_study(name="ro")
    db = tmp_path / "ro.db"
    open_storage(f"sqlite:///{db}")  # an existing, valid database
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    code, _, err = cli("run", str(path), "--storage", url)
    assert code == 1
    assert f"cannot open storage {url}" in err and "readonly database" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_sqlite_file_is_one_line(quora_study, tmp_path, cli):
    path = quora_study(name="ro")
    db = tmp_path / "ro.db"
    open_storage(f"sqlite:///{db}")
    db.chmod(0o444)
    code, _, err = cli("run", str(path), "--storage", f"sqlite:///{db}")
    assert code == 1 and "is read-only" in err and str(db) in err
