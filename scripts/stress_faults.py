"""Replay the faults of issue 14 against real hpsearch processes and count what survives.

    python scripts/stress_faults.py                        # every scenario
    python scripts/stress_faults.py --only torn-journal first-runs

Scenarios (studies/quora-adam.toml made tiny with --set overrides; the shared Quora data;
heartbeats every second, stale after 5 s):

- kill-run: ``kill -9`` of ``run`` in the middle of a trial, then the same command again: it
  must say what it waits for, fail the orphan as stale, run its params again, finish the
  budget;
- kill-report: ``kill -9`` of ``report --seeds 2`` in the middle of a re-run, then the same
  ``report`` again: it must finish (re-runs need the liveness of trials: issue 13);
- torn-journal: a journal whose last line is cut as by a crash mid-write: ``leaderboard``
  reads it, the next ``run`` sets the line aside and finishes the budget;
- first-runs: two ``run`` commands started at once on a new SQLite file, several times.

Every command runs under a time limit (``--limit``): one that passes it is killed and counted
as a hang. The table gives per scenario the finished trials against the expected count,
configs finished twice (duplicates), hangs and tracebacks; the script exits 1 unless every
scenario is as expected.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.trial import TrialState
from quora_studies import TINY, quora_study_file, set_args
from rich.console import Console
from rich.table import Table

from hpsearch.search import read_trials

# 256 pairs (8 steps) a trial, no pruning.
SCENARIO = ('study.pruner={ name = "none" }', "task.max_train_samples=256")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass
class Row:
    """One scenario's counts; ``ok`` when they are what the scenario expects."""

    finished: int = 0
    expected: int = 0
    duplicates: int = 0  # configs that finished twice (a retry counted beside its origin)
    hangs: int = 0  # commands killed at the time limit
    tracebacks: int = 0  # in any command's output
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.finished == self.expected
            and not self.duplicates
            and not self.hangs
            and not self.tracebacks
        )


class Runner:
    """Runs hpsearch commands under the time limit and keeps the score of a scenario."""

    def __init__(self, limit: float, row: Row) -> None:
        self.limit = limit
        self.row = row

    def __call__(self, *args: str) -> subprocess.CompletedProcess | None:
        """Run ``hpsearch ARGS`` to its end; None (a hang) if it passes the limit."""
        proc = self.start(*args)
        return self.finish(proc)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "hpsearch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, proc: subprocess.Popen) -> subprocess.CompletedProcess | None:
        try:
            out, err = proc.communicate(timeout=self.limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.row.hangs += 1
            self.row.notes.append(f"killed after {self.limit:.0f} s: {_last(err)}")
            self.row.tracebacks += (out + err).count("Traceback")
            return None
        self.row.tracebacks += (out + err).count("Traceback")
        if proc.returncode != 0:
            self.row.notes.append(f"exit {proc.returncode}: {_last(err)}")
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def kill_when(self, proc: subprocess.Popen, ready: Callable[[], bool]) -> bool:
        """SIGKILL ``proc`` once ``ready()``; False if it ended or timed out first."""
        deadline = time.monotonic() + self.limit
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
            with contextlib.suppress(Exception):  # the storage is not there yet, or busy
                if ready():
                    proc.send_signal(signal.SIGKILL)
                    proc.communicate()
                    return True
        proc.kill()
        proc.communicate()
        return False


def _last(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip()[:160] if lines else "(no output)"


def duplicates(trials: list[optuna.trial.FrozenTrial]) -> int:
    """Finished trials beyond one per config: a retry that finished beside its origin."""
    origins = Counter(t.user_attrs.get("retry_of", t.number) for t in trials if t.state in FINISHED)
    numbers = Counter(t.number for t in trials)
    return sum(n - 1 for n in origins.values()) + sum(n - 1 for n in numbers.values())


def running_with_evals(url: str, name: str, complete: int = 0) -> Callable[[], bool]:
    """Ready once ``complete`` trials are COMPLETE and a running one has an evaluation."""

    def ready() -> bool:
        trials = read_trials(url, name)
        done = sum(t.state == TrialState.COMPLETE for t in trials)
        running = any(t.state == TrialState.RUNNING and t.user_attrs.get("evals") for t in trials)
        return done >= complete and running

    return ready


def kill_run(folder: Path, run: Runner) -> None:
    budget = 3
    study_args, url = study(folder, "kill-run", budget)
    proc = run.start("run", *study_args)
    # Killed in the budget's last trial: the rerun has nothing else to start, so it must
    # wait for the victim to go stale, and say so.
    if not run.kill_when(proc, running_with_evals(url, "kill-run", complete=budget - 1)):
        run.row.notes.append("never caught the last trial running")
    again = run("run", *study_args)
    if again is not None and "waiting for" not in again.stderr:
        run.row.notes.append("the rerun waited without saying so")
    trials = count(run.row, read_trials(url, "kill-run"), budget)
    stale = [
        t
        for t in trials
        if t.state == TrialState.FAIL and "no heartbeat" in t.user_attrs.get("fail_reason", "")
    ]
    retried = [t for t in trials if t.user_attrs.get("retry_of") is not None]
    run.row.notes.append(f"failed as stale: {len(stale)}, re-run: {len(retried)}")


def kill_report(folder: Path, run: Runner) -> None:
    budget, seeds = 2, 2
    # 2,048 pairs (64 steps): a re-run lasts seconds, long enough to be caught between its
    # two evaluations (8 steps were over before a poll saw them).
    study_args, url = study(folder, "kill-report", budget, extra=["task.max_train_samples=2048"])
    if run("run", *study_args) is None:
        return
    report = ["report", *study_args, "--seeds", str(seeds), "--top", "1"]
    proc = run.start(*report)
    if not run.kill_when(proc, running_with_evals(url, "kill-report-reseed")):
        run.row.notes.append("never caught a re-run running")
    run(*report)
    trials = read_trials(url, "kill-report-reseed")
    run.row.expected = seeds
    run.row.finished = sum(t.state == TrialState.COMPLETE for t in trials)
    keys = Counter(
        (t.user_attrs.get("source_trial"), t.user_attrs.get("seed"))
        for t in trials
        if t.state == TrialState.COMPLETE
    )
    run.row.duplicates = sum(n - 1 for n in keys.values())
    stale = [t for t in trials if "no heartbeat" in t.user_attrs.get("fail_reason", "")]
    run.row.notes.append(f"re-runs failed as stale and redone: {len(stale)}")
    left = sum(t.state == TrialState.RUNNING for t in trials)
    if left:
        run.row.notes.append(f"{left} re-run left RUNNING (re-runs need heartbeats: issue 13)")


def torn_journal(folder: Path, run: Runner) -> None:
    budget = 3
    log = folder / "torn.log"
    study_args, url = study(folder, "torn-journal", budget, storage=f"journal:///{log}")
    if run("run", *study_args, "--n-trials", "2") is None:
        return
    data = log.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    log.write_bytes(data[: last + (len(data) - last) // 2])  # a crash in mid-write
    board = run("leaderboard", *study_args)
    if board is not None and board.returncode != 0:
        run.row.notes.append("leaderboard failed on the torn journal")
    run("run", *study_args)
    count(run.row, read_trials(url, "torn-journal"), budget)
    aside = log.with_name(log.name + ".torn")
    run.row.notes.append(f"torn line set aside: {aside.is_file()}")


def first_runs(folder: Path, run: Runner, tries: int = 3) -> None:
    budget = 2
    run.row.expected = budget * tries
    for i in range(tries):
        name = f"first-{i}"
        study_args, url = study(folder, name, budget)
        procs = [run.start("run", *study_args) for _ in range(2)]
        done = [run.finish(p) for p in procs]
        failed = [d for d in done if d is not None and d.returncode != 0]
        if failed:
            run.row.notes.append(f"try {i}: {len(failed)} of 2 runs failed")
        with contextlib.suppress(KeyError):
            trials = read_trials(url, name)
            run.row.finished += sum(t.state in FINISHED for t in trials)
            run.row.duplicates += duplicates(trials)


def count(row: Row, trials: list[optuna.trial.FrozenTrial], expected: int) -> list:
    """Score the finished trials against ``expected``, and the duplicates; ``trials`` back."""
    row.expected = expected
    row.finished = sum(t.state in FINISHED for t in trials)
    row.duplicates = duplicates(trials)
    return trials


def study(
    folder: Path, name: str, budget: int, storage: str = "", extra: Sequence[str] = ()
) -> tuple[list[str], str]:
    """The scenario's study: the Quora study file copied into ``folder`` with the ``--set``
    arguments that make it tiny (then ``extra``), as a command's arguments, and its storage
    URL (``<folder>/<name>.db`` unless ``storage``)."""
    url = storage or f"sqlite:///{folder / f'{name}.db'}"
    path, overrides = quora_study_file(folder, name)
    size = [f"study.n_trials={budget}", f"study.storage={url}"]
    return [str(path), *set_args([*overrides, *TINY, *SCENARIO, *size, *extra])], url


SCENARIOS: dict[str, Callable[[Path, Runner], None]] = {
    "kill-run": kill_run,
    "kill-report": kill_report,
    "torn-journal": torn_journal,
    "first-runs": first_runs,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument(
        "--limit", type=float, default=300, help="seconds a command may take (default 300)"
    )
    args = parser.parse_args()
    rows: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix="hpsearch-faults-") as tmp:
        for name in args.only:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            row = rows[name] = Row()
            start = time.monotonic()
            SCENARIOS[name](Path(tmp), Runner(args.limit, row))
            row.seconds = time.monotonic() - start
    table = Table(title="hpsearch under faults (issue 14)")
    for column in ["scenario", "finished", "expected", "duplicates", "hangs", "tracebacks"]:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for column in ["seconds", "ok", "notes"]:
        table.add_column(column)
    for name, row in rows.items():
        table.add_row(
            name,
            str(row.finished),
            str(row.expected),
            str(row.duplicates),
            str(row.hangs),
            str(row.tracebacks),
            f"{row.seconds:.0f}",
            "yes" if row.ok else "NO",
            "; ".join(row.notes),
        )
    Console(width=200, emoji=False).print(table)
    return 0 if rows and all(r.ok for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
