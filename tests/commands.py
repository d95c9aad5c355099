"""The hpsearch command in a process of its own, and a shipped study file run through it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna


@dataclass(frozen=True)
class CliProcess:
    """The hpsearch command in a process of its own (``python -m hpsearch``), for what needs
    a real process: local workers, signals, a server. Call it to run a command to its end
    (at most ``timeout`` s; output captured); ``start`` one to signal or query it while it runs.
    """

    timeout: float = 900

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(args), capture_output=True, text=True, timeout=self.timeout
        )

    def start(self, *args: str) -> subprocess.Popen:
        """The running command, stdout and stderr piped as text; the caller ends it.

        SIGINT reaches it as Ctrl-C would however the tests were started: a shell starts a
        background job (``pytest &``) with SIGINT ignored, every process it starts inherits
        that, and a Python started so leaves it ignored."""
        return subprocess.Popen(
            self.command(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_sigint if os.name == "posix" else None,
        )

    @staticmethod
    def command(args: Sequence[str]) -> list[str]:
        return [sys.executable, "-m", "hpsearch", *args]


def _default_sigint() -> None:
    """In the child before it runs the command: SIGINT's default action, not an ignore."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_study_file(
    study_file: Path, folder: Path, shrink: list[str], n_trials: int
) -> tuple[list[str], optuna.Study]:
    """Run a study file of ``studies/`` through the command line, shrunk with ``--set``
    overrides and stored in ``folder``; the overrides (storage included) and the study."""
    from hpsearch.spec.load import load_spec

    overrides = [f"study.storage=sqlite:///{folder / 'study.db'}", *shrink]
    args = ["run", str(study_file), "--n-trials", str(n_trials)]
    for item in overrides:
        args += ["--set", item]
    done = CliProcess()(*args)
    assert done.returncode == 0, done.stderr
    assert f"{n_trials}/{n_trials} trials finished" in done.stdout
    spec = load_spec(study_file, overrides)
    return overrides, optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)


def one_line(err: str, *, wrapped: bool = False) -> str:
    """The one line a refused command printed on stderr (``error: ...``), no traceback.
    ``wrapped``: rich may have folded it over lines (a long path): joined again."""
    assert err.startswith("error: ") and "Traceback" not in err, err
    if wrapped:
        return " ".join(err.split())
    assert err.strip().count("\n") == 0, err
    return err.strip()
