"""Shared fixtures: the real data in ../shared (read in place, never copied), small studies
derived from the shipped Quora studies, and the two ways tests run the ``hpsearch`` command.

The Quora setup lives once, in ``studies/quora-adam.toml`` and ``studies/quora-mfac.toml``;
tests derive theirs from the AdamW file with ``--set`` overrides (:func:`quora_spec`,
:class:`QuoraStudies`; ``--set optimizer.kind=mfac`` for M-FAC) and never write a study of
their own.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import pytest
import tomllib

if TYPE_CHECKING:
    from hpsearch.spec.schema import Spec

REPO = Path(__file__).resolve().parents[1]
# HPSEARCH_TEST_DATA: another folder with the same files (the GPU check's bundle, which has
# no ../shared beside it).
CS224N = Path(os.environ.get("HPSEARCH_TEST_DATA") or REPO.parent / "shared" / "data" / "cs224n")
QUORA = REPO / "studies" / "quora-adam.toml"


@pytest.fixture(scope="session")
def cs224n() -> Path:
    """The cs224n folder of the shared data (Quora, SST, STS)."""
    if not (CS224N / "quora-train.tsv").is_file():
        pytest.fail(f"the tests read the shared data at {CS224N}; it is missing")
    return CS224N


# ---- the shipped Quora studies -------------------------------------------------------------


def quora_spec(overrides: Iterable[str] = ()) -> Spec:
    """The spec of ``studies/quora-adam.toml`` with ``--set`` ``overrides``, for tests that
    train or encode directly: its storage and results stay where the file says (unused)."""
    from hpsearch.spec.load import load_spec

    return load_spec(QUORA, [*DATA_FILES, *overrides])


# The study's data files, read from CS224N: the same files as the study file names, unless
# HPSEARCH_TEST_DATA points elsewhere (the GPU check has no ../shared beside the checkout).
DATA_FILES = (
    f"task.train_file={CS224N / 'quora-train.tsv'}",
    f"task.validation_file={CS224N / 'quora-dev.tsv'}",
)


# Keys of [task] that say which data a task reads, as opposed to how much of it.
DATA_KEYS = ("name", "train_file", "validation_file", "text_fields", "label_field")
# Keys that hold a path relative to the study file.
PATH_KEYS = (("task", "train_file"), ("task", "validation_file"), ("study", "baseline"))


def quora_raw(overrides: Iterable[str] = ()) -> dict[str, Any]:
    """``studies/quora-adam.toml`` as a raw dict, its relative paths made absolute (so it
    works from any folder), with ``--set`` ``overrides`` applied as ``load_spec`` does."""
    from hpsearch.spec.load import apply_override

    raw = tomllib.loads(QUORA.read_text(encoding="utf-8"))
    for section, key in PATH_KEYS:
        if key in raw.get(section, {}):
            raw[section][key] = str((QUORA.parent / raw[section][key]).resolve())
    for item in [*DATA_FILES, *overrides]:
        apply_override(raw, item)
    return raw


def quora_data() -> dict[str, Any]:
    """The Quora task's data: local files (absolute paths), text and label columns."""
    task = quora_raw()["task"]
    return {key: task[key] for key in DATA_KEYS}


def toml_text(raw: Mapping[str, Any]) -> str:
    """A raw study dict as a study file: a ``[section]`` per table, inline values inside."""
    lines: list[str] = []
    for section, body in raw.items():
        if not isinstance(body, Mapping):
            raise TypeError(f"top-level {section!r} must be a table, got {body!r}")
        lines += [
            "",
            f"[{section}]",
            *(f"{_toml_key(k)} = {toml_value(v)}" for k, v in body.items()),
        ]
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """A TOML value as a study file or `--set` writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # 1e-05, inf and nan are TOML as Python writes them
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML for {value!r}")


# What makes a shipped Quora study a small test study, before its size: a fixed recipe
# (max length 64, batch 32, dropout 0.1, no warmup, one epoch, two evaluations), the
# learning rate alone searched, TPE after 2 random trials, no pruning, nothing enqueued.
TEST_STUDY = (
    'study.sampler={ name = "tpe", seed = 0, n_startup_trials = 2 }',
    'study.pruner={ name = "none" }',
    "study.enqueue=[]",
    "task.max_length=64",
    "train.batch_size=32",
    "train.hidden_dropout=0.1",
    "train.warmup_ratio=0.0",
    "train.epochs=1",
    "train.evals_per_epoch=2",
    "space.train.lr={ low = 5e-5, high = 5e-4, log = true }",
)


@dataclass(frozen=True)
class QuoraStudies:
    """Small test studies derived from ``studies/quora-adam.toml`` with ``--set``
    overrides: :data:`TEST_STUDY`, the size (name, budget, training and validation pairs),
    then the test's own ``set`` (later overrides win). Files and databases go in ``folder``.
    """

    folder: Path

    def __call__(self, name: str = "quora", **size: Any) -> Path:
        """Write the study file ``<folder>/<name>.toml`` (its database goes beside it, by
        default); for tests that need a file: the command line, reports, the dashboard."""
        raw = quora_raw(self.overrides(name, **size))
        path = self.folder / f"{name}.toml"
        path.write_text(toml_text(raw), encoding="utf-8")
        return path

    def spec(self, name: str = "quora", **size: Any) -> Spec:
        """The same study as a spec, through ``load_spec``, stored in ``<folder>/<name>.db``."""
        storage = f"study.storage=sqlite:///{(self.folder / f'{name}.db').resolve()}"
        return quora_spec([*self.overrides(name, **size), storage])

    @staticmethod
    def overrides(
        name: str, n_trials: int = 2, train: int = 200, eval: int = 200, set: Sequence[str] = ()
    ) -> list[str]:
        """The ``--set`` overrides of a test study: its name, budget, pairs, then ``set``."""
        size = [
            f"study.name={name}",
            f"study.n_trials={n_trials}",
            f"task.max_train_samples={train}",
            f"task.max_eval_samples={eval}",
        ]
        return [*TEST_STUDY, *size, *set]


@pytest.fixture
def quora_study(tmp_path: Path, cs224n: Path) -> QuoraStudies:
    """``quora_study(name=..., n_trials=..., train=..., eval=..., set=[...])``: a small
    Quora study file in tmp_path; ``quora_study.spec(...)``: the same as a spec."""
    return QuoraStudies(tmp_path)


# ---- reading a study's trials ----------------------------------------------------------------


def trials_of(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    """The trials of study ``name`` in ``url``, read on connections closed before returning:
    a test or script that polls a running study opens the storage many times, and connections
    left open would pile up (and, on SQLite, could keep a stale WAL index)."""
    from hpsearch.search.storage import open_storage

    storage = open_storage(url, write=False)
    try:
        return optuna.load_study(study_name=name, storage=storage).trials
    finally:
        engine = getattr(storage, "engine", None)
        if engine is not None:
            engine.dispose()


# ---- running the command ---------------------------------------------------------------------


@pytest.fixture
def cli(capsys):
    """``cli(*args)``: run the hpsearch command in this process; (exit code, stdout, stderr)."""
    from hpsearch.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        return info.value.code or 0, out, err

    return run


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


@pytest.fixture
def cli_process() -> CliProcess:
    """``cli_process(*args)``: hpsearch in a subprocess (CompletedProcess);
    ``cli_process.start(*args)``: the same, left running (Popen)."""
    return CliProcess()


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


@pytest.fixture
def wait_for_line():
    """``wait_for_line(proc, needle, timeout)``: the first stderr line of a running command
    that contains ``needle``; fails after ``timeout`` s or if the command exits first."""

    def wait(proc: subprocess.Popen, needle: str, timeout: float) -> str:
        assert proc.stderr is not None
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 0.5)
            if ready:
                line = proc.stderr.readline()
                seen.append(line)
                if needle in line:
                    return line
                if not line and proc.poll() is not None:
                    break
            elif proc.poll() is not None:
                break
        raise AssertionError(f"no {needle!r} on stderr in {timeout} s; got {''.join(seen)!r}")

    return wait
