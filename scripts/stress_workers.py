"""Stress test of many workers on one study, on each storage, and of a worker killed mid-trial.

    python scripts/stress_workers.py                       # all scenarios
    python scripts/stress_workers.py --only sqlite journal --trials 24

Scenarios (studies/quora-adam.toml made tiny with --set overrides; the shared Quora data):
- sqlite, journal: 4 local workers (``hpsearch run --workers 4``), 12 trials;
- postgres: 3 workers, 9 trials, on a throwaway server (scripts/postgres_server.py) or on
  --postgres-url;
- kill: a worker is killed with SIGKILL in the middle of a trial, then the run restarts.

For each it prints finished / failed / waiting trials, duplicate trial numbers, lock errors
in the workers' logs, and the wall time; it exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from optuna.trial import TrialState
from postgres_server import find_bindir, postgres_server
from quora_studies import TINY, quora_study_file, set_args
from rich.console import Console
from rich.table import Table

from hpsearch.search import read_trials

PRUNER = 'study.pruner={ name = "median", n_startup_trials = 4 }'


def write_study(folder: Path, name: str, n_trials: int, train: int = 64) -> tuple[Path, list[str]]:
    """The study file of a scenario in ``folder`` and the ``--set`` arguments that shrink it."""
    path, overrides = quora_study_file(folder, name)
    size = [f"study.n_trials={n_trials}", f"task.max_train_samples={train}"]
    return path, set_args([*overrides, *TINY, PRUNER, *size])


def hpsearch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hpsearch", *args], capture_output=True, text=True, check=False
    )


def check(url: str, name: str, budget: int, logs: Path | None, seconds: float) -> dict:
    trials = read_trials(url, name)
    states = [t.state for t in trials]
    numbers = [t.number for t in trials]
    log_text = "".join(p.read_text() for p in logs.glob("*.log")) if logs else ""
    row = {
        "finished": sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states),
        "pruned": states.count(TrialState.PRUNED),
        "failed": states.count(TrialState.FAIL),
        "waiting": states.count(TrialState.WAITING),
        "duplicates": len(numbers) - len(set(numbers)),
        "lock errors": log_text.count("database is locked"),
        "seconds": seconds,
    }
    row["ok"] = row["finished"] == budget and row["duplicates"] == 0 and not row["lock errors"]
    return row


def workers_scenario(folder: Path, kind: str, url: str, workers: int, budget: int) -> dict:
    path, shrink = write_study(folder, f"stress-{kind}", budget)
    start = time.monotonic()
    done = hpsearch("run", str(path), "--storage", url, "--workers", str(workers), *shrink)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    row = check(url, f"stress-{kind}", budget, folder / "results" / path.stem / "workers", seconds)
    row["ok"] = row["ok"] and row["failed"] == 0 and done.returncode == 0
    return row


def kill_scenario(folder: Path, budget: int) -> dict:
    """SIGKILL a lone worker once a trial has reported an evaluation; then run again."""
    url = f"sqlite:///{folder / 'killed.db'}"
    path, shrink = write_study(folder, "stress-kill", budget, train=512)
    start = time.monotonic()
    command = [sys.executable, "-m", "hpsearch", "run", str(path), "--storage", url, *shrink]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    victim = None
    while victim is None and proc.poll() is None:
        time.sleep(0.3)
        with contextlib.suppress(Exception):  # not created yet, or busy
            trials = read_trials(url, path.stem)
            running = [t for t in trials if t.state == TrialState.RUNNING]
            some_complete = any(t.state == TrialState.COMPLETE for t in trials)
            if some_complete and running and running[0].user_attrs.get("evals"):
                victim = running[0]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    completed_before = {
        t.number: t.value for t in read_trials(url, path.stem) if t.state == TrialState.COMPLETE
    }
    again = hpsearch("run", str(path), "--storage", url, *shrink)
    row = check(url, path.stem, budget, None, time.monotonic() - start)
    trials = {t.number: t for t in read_trials(url, path.stem)}
    retried = [t for t in trials.values() if t.user_attrs.get("retry_of") == victim.number]
    kept = all(trials[n].value == v for n, v in completed_before.items())
    row["ok"] = (
        row["ok"]
        and again.returncode == 0
        and trials[victim.number].state == TrialState.FAIL
        and len(retried) == 1
        and retried[0].params == victim.params
        and kept
    )
    row["note"] = (
        f"killed trial {victim.number}; re-run as trial "
        f"{retried[0].number if retried else '-'}; {len(completed_before)} completed kept"
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", default=["sqlite", "journal", "postgres", "kill"], help="scenarios"
    )
    parser.add_argument("--trials", type=int, default=None, help="budget (default 12, or 9)")
    parser.add_argument("--workers", type=int, default=None, help="workers (default 4, or 3)")
    parser.add_argument("--postgres-url", default=None, help="use this server, not a new one")
    args = parser.parse_args()
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="hpsearch-stress-") as tmp:
        folder = Path(tmp)
        for kind in args.only:
            print(f"running {kind} ...", file=sys.stderr, flush=True)
            if kind in ("sqlite", "journal"):
                file = folder / ("stress.db" if kind == "sqlite" else "stress.log")
                url = f"{kind}:///{file}"
                rows[kind] = workers_scenario(
                    folder, kind, url, args.workers or 4, args.trials or 12
                )
            elif kind == "postgres":
                if args.postgres_url is None and find_bindir() is None:
                    print("postgres: skipped, PostgreSQL is not installed", file=sys.stderr)
                    continue
                with contextlib.ExitStack() as stack:
                    url = args.postgres_url or stack.enter_context(postgres_server())
                    rows[kind] = workers_scenario(
                        folder, kind, url, args.workers or 3, args.trials or 9
                    )
            elif kind == "kill":
                rows[kind] = kill_scenario(folder, args.trials or 4)
    table = Table(title="hpsearch workers under stress")
    columns = ["finished", "pruned", "failed", "waiting", "duplicates", "lock errors"]
    for name in ["scenario", *columns, "seconds", "ok", "note"]:
        table.add_column(name)
    for kind, row in rows.items():
        cells = [str(row[c]) for c in columns]
        table.add_row(kind, *cells, f"{row['seconds']:.0f}", str(row["ok"]), row.get("note", ""))
    Console(width=160).print(table)
    return 0 if rows and all(r["ok"] for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
