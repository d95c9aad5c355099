"""``hpsearch run --workers N``: N local worker processes on one study.

The launcher checks the data, creates the study once (so workers never race to create it
or its schema), then starts N ``hpsearch run --worker-index K`` processes on the same
storage and watches the storage until they are done. Each worker's output goes to
``results/<study>/workers/worker-K.log`` beside the study file. SIGINT and SIGTERM are
passed on to the workers, which record their running trials as failed and stop.

The storage URL reaches the workers in their environment (``HPSEARCH_STORAGE``), never on
their command lines, which any user of the machine can read (``ps``): a database password
stays private.

On a cluster, start the same ``hpsearch run`` command once per node or GPU instead, after
``hpsearch run ... --workers 0`` has created the study (see scripts/slurm_array.sh).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
import torch
from optuna.trial import TrialState

from hpsearch.data.encode import DataCache
from hpsearch.errors import HpsearchError
from hpsearch.search.interrupts import Interrupted, interrupted_while, stop_on_signals
from hpsearch.search.progress import Progress, Wait
from hpsearch.search.runner import count_finished
from hpsearch.search.storage import STORAGE_ENV, open_storage
from hpsearch.search.study import RunSummary, check_space, prepare_study, resolve_storage_url
from hpsearch.spec.schema import Spec

SHUTDOWN_GRACE_S = 60  # how long stopped workers get to record their trials before SIGKILL


@dataclass(frozen=True)
class Worker:
    index: int
    process: subprocess.Popen
    log: Path


class WorkersFailed(HpsearchError):
    """Some workers exited with an error; the message names them and their logs."""


def create_study(
    spec: Spec,
    storage_url: str | None = None,
    *,
    budget: int | None = None,
    allow_drift: bool = False,
) -> optuna.Study:
    """Check the data and create the study with its queued trials, without running any.

    Raises:
        Interrupted: on SIGINT or SIGTERM while the data loads (``during`` says so); one
            that arrives while the study is written is raised once it is whole.
    """
    check_space(spec, budget or spec.study.n_trials)
    url = resolve_storage_url(spec, storage_url)
    with stop_on_signals() as guard:
        with interrupted_while("loading the data"):
            DataCache().encoded_tasks(spec)
        with guard.shielded():
            return prepare_study(spec, open_storage(url), allow_drift=allow_drift).study


def worker_command(
    study_file: Path,
    index: int,
    *,
    n_trials: int,
    timeout: float | None,
    overrides: list[str],
    allow_drift: bool = False,
) -> list[str]:
    """The command line of worker ``index``; the storage goes in its environment
    (:func:`worker_env`), and so does a ``--set study.storage=...`` override."""
    command = [sys.executable, "-m", "hpsearch", "run", str(study_file)]
    command += ["--n-trials", str(n_trials), "--worker-index", str(index)]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    if allow_drift:
        command += ["--allow-drift"]
    for override in overrides:
        if override.partition("=")[0].strip() != "study.storage":
            command += ["--set", override]
    return command


def worker_env(index: int, n_workers: int, storage_url: str) -> dict[str, str]:
    """The environment of worker ``index``: the storage URL, its share of the CPU threads,
    and its own GPU.

    The URL travels here because a process's environment is readable only by its user,
    unlike its command line. Without a limit each worker's PyTorch takes every core, and N
    workers thrash. With several GPUs and no CUDA_VISIBLE_DEVICES set, worker K gets GPU K
    mod the count. What the user set is kept.
    """
    env = dict(os.environ)
    env[STORAGE_ENV] = storage_url
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n_workers)))
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus > 1 and "CUDA_VISIBLE_DEVICES" not in env:
        env["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
    return env


def run_workers(
    spec: Spec,
    study_file: Path,
    n_workers: int,
    *,
    storage_url: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    overrides: list[str] | None = None,
    progress: Progress | None = None,
    log_dir: Path | None = None,
    poll_interval: float = 1.0,
    allow_drift: bool = False,
) -> RunSummary:
    """Run the study with ``n_workers`` local processes until its budget is reached.

    Raises:
        WorkersFailed: a worker exited with an error (after all of them stopped).
        Interrupted: on SIGINT or SIGTERM, after the workers stopped.
    """
    url = resolve_storage_url(spec, storage_url)
    budget = n_trials or spec.study.n_trials
    study = create_study(spec, url, budget=budget, allow_drift=allow_drift)
    if log_dir is None:
        log_dir = spec.results_dir() / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    if progress is not None:
        progress.start_run(study, budget, count_finished(study))
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    before = set(seen)  # finished before the workers started
    workers: list[Worker] = []
    with stop_on_signals() as guard:
        try:
            with guard.shielded():  # a half-started set of workers is not left behind
                for index in range(n_workers):
                    log = log_dir / f"worker-{index}.log"
                    command = worker_command(
                        study_file,
                        index,
                        n_trials=budget,
                        timeout=timeout,
                        overrides=overrides or [],
                        allow_drift=allow_drift,
                    )
                    env = worker_env(index, n_workers, url)
                    with log.open("w") as out:
                        # Own session: a Ctrl-C reaches the workers once, from here, not
                        # also straight from the terminal.
                        process = subprocess.Popen(
                            command,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            env=env,
                            start_new_session=True,
                        )
                    workers.append(Worker(index, process, log))
            while any(w.process.poll() is None for w in workers):
                time.sleep(poll_interval)
                seen |= _report_new_trials(study, seen, progress)
        except Interrupted as stop:
            _stop(workers, stop.signum, progress)
            raise
        finally:
            _stop(workers, signal.SIGTERM, progress)
    _report_new_trials(study, seen, progress)
    failed = [w for w in workers if w.process.returncode != 0]
    if failed:
        raise WorkersFailed(
            "; ".join(
                f"worker {w.index} exited with code {w.process.returncode}: {_last_line(w.log)} "
                f"(log: {w.log})"
                for w in failed
            )
        )
    # The trials the workers ran: those finished now that were not before. Counting every
    # trial instead took an enqueued trial, already in the study, as one the workers added.
    ran = sum(
        t.state.is_finished() and t.number not in before for t in study.get_trials(deepcopy=False)
    )
    return RunSummary(study, budget, ran, count_finished(study))


def _report_new_trials(study: optuna.Study, seen: set[int], progress: Progress | None) -> set[int]:
    """Show the trials that finished since the last look; their numbers."""
    new = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished() and t.number not in seen
    ]
    if progress is not None:
        for trial in new:
            progress.on_trial_end(study, trial)
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        progress.set_running(running)
    return {t.number for t in new}


def _stop(workers: list[Worker], signum: int, progress: Progress | None = None) -> None:
    """Pass ``signum`` to running workers, give them time to record their trials, then kill."""
    alive = [w for w in workers if w.process.poll() is None]
    for w in alive:
        w.process.send_signal(signum)
    if alive and progress is not None:
        progress.waiting(
            Wait(
                f"{len(alive)} worker{'s' if len(alive) > 1 else ''} to record their running "
                f"trials and stop; killed after {SHUTDOWN_GRACE_S} s",
                time.time() + SHUTDOWN_GRACE_S,
            )
        )
    deadline = time.monotonic() + SHUTDOWN_GRACE_S
    for w in alive:
        try:
            w.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.process.kill()
            w.process.wait()


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else "(no output)"
