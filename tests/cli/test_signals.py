"""Ctrl-C and SIGTERM reach every long-running command: the views stop even when started
from a shell that ignores SIGINT (a background job), and a run stopped while its data loads
says how to resume, as one stopped mid-trial does.

Each command runs in a process of its own started with SIGINT ignored, as a shell starts a
background job; Python then leaves SIGINT ignored unless the command installs its handlers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from tests import studies
from tests.studies import QUICKSTART, REPO

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals, select() on pipes")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_ignoring_sigint(command: list[str]) -> subprocess.Popen:
    """``command`` in a process that starts with SIGINT ignored (a background job's)."""
    return subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint,
    )


def stop(proc: subprocess.Popen, signum: int) -> tuple[str, str]:
    """Send ``signum``; the process's output once it exits (killed after 60 s: a failure)."""
    proc.send_signal(signum)
    try:
        return proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"the command ignored {signal.Signals(signum).name}") from None


@pytest.fixture
def finished_quickstart(tmp_path: Path) -> Path:
    """The quickstart's study file beside a study of one finished trial."""
    return studies.finished_quickstart(tmp_path)


def hpsearch(*args: str) -> list[str]:
    return [sys.executable, "-m", "hpsearch", *args]


@pytest.mark.parametrize(
    ("view", "ready"),
    [
        (("leaderboard", "--watch", "--interval", "0.5"), "Ctrl-C to stop"),
        (("dashboard", "--port", "0"), "optuna-dashboard on http://127.0.0.1:"),
    ],
    ids=["leaderboard-watch", "dashboard"],
)
def test_a_view_stops_on_ctrl_c_in_a_background_job(
    finished_quickstart, wait_for_line, view, ready
):
    command, *options = view
    proc = start_ignoring_sigint(hpsearch(command, str(finished_quickstart), *options))
    try:
        wait_for_line(proc, ready, 120)
        _, err = stop(proc, signal.SIGINT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err


# The run, with loading the data made to wait (the marker says it started): a signal then
# arrives while the data loads, whatever the machine's speed.
_SLOW_DATA = """
import sys, time
from hpsearch.data.encode import DataCache

def slow(self, task):
    print("loading the data now", file=sys.stderr, flush=True)
    time.sleep(120)
    raise AssertionError("the signal did not stop the run")

DataCache._load = slow
from hpsearch.cli import main
main(json.loads(sys.argv[1]))
"""


@pytest.mark.parametrize(
    ("signum", "workers"),
    [(signal.SIGTERM, "1"), (signal.SIGINT, "1"), (signal.SIGTERM, "0")],
    ids=["sigterm", "sigint-in-a-background-job", "sigterm-creating-the-study"],
)
def test_a_signal_while_the_data_loads_prints_the_resume_line(
    tmp_path, signum, workers, wait_for_line
):
    study_file = tmp_path / QUICKSTART.name
    shutil.copyfile(QUICKSTART, study_file)
    args = ["run", str(study_file), "--n-trials", "2", "--workers", workers]
    proc = start_ignoring_sigint(
        [sys.executable, "-c", "import json\n" + _SLOW_DATA, json.dumps(args)]
    )
    try:
        wait_for_line(proc, "loading the data now", 120)
        out, err = stop(proc, signum)
    finally:
        if proc.poll() is None:
            proc.kill()
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, err
    assert (
        f"interrupted by {name} while loading the data: study quickstart has 0/2 trials "
        "finished; no trial had started. Run the same command to resume."
    ) in " ".join(out.split())
    # Stopped before the study was written: nothing to clean up, the same command resumes.
    storage = f"sqlite:///{tmp_path / 'quickstart.db'}"
    assert optuna.get_all_study_names(storage) == []
