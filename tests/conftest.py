"""Shared fixtures: the real data in ../shared (read in place, never copied) and study files."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

REPO = Path(__file__).resolve().parents[1]
# HPSEARCH_TEST_DATA: another folder with the same files (the GPU check's bundle, which has
# no ../shared beside it).
CS224N = Path(os.environ.get("HPSEARCH_TEST_DATA") or REPO.parent / "shared" / "data" / "cs224n")


@pytest.fixture(scope="session")
def cs224n() -> Path:
    """The cs224n folder of the shared data (Quora, SST, STS)."""
    if not (CS224N / "quora-train.tsv").is_file():
        pytest.fail(f"the tests read the shared data at {CS224N}; it is missing")
    return CS224N


QUORA_STUDY = """
[study]
name = "{name}"
n_trials = {n_trials}
sampler = {{ name = "tpe", seed = 0, n_startup_trials = 2 }}
pruner = {{ name = "none" }}

[task]
name = "local"
train_file = "{data}/quora-train.tsv"
validation_file = "{data}/quora-dev.tsv"
text_fields = ["sentence1", "sentence2"]
label_field = "is_duplicate"
max_length = 64
max_train_samples = {train}
max_eval_samples = {eval}

[model]
name = "minilm"
num_hidden_layers = 2

[train]
epochs = 1
batch_size = 32
evals_per_epoch = 2

[space.train]
lr = {{ low = 5e-5, high = 5e-4, log = true }}
"""


@pytest.fixture
def quora_study(tmp_path: Path, cs224n: Path):
    """Write a Quora study file into tmp_path; returns its path."""

    def write(
        name: str = "quora", n_trials: int = 2, train: int = 200, eval: int = 200, extra: str = ""
    ) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            QUORA_STUDY.format(name=name, n_trials=n_trials, data=cs224n, train=train, eval=eval)
            + extra
        )
        return path

    return write


def run_study_file(
    study_file: Path, folder: Path, shrink: list[str], n_trials: int
) -> tuple[list[str], optuna.Study]:
    """Run a study file of ``studies/`` through the command line, shrunk with ``--set``
    overrides and stored in ``folder``; the overrides (storage included) and the study."""
    from hpsearch.spec.load import load_spec

    overrides = [f"study.storage=sqlite:///{folder / 'study.db'}", *shrink]
    args = [sys.executable, "-m", "hpsearch", "run", str(study_file), "--n-trials", str(n_trials)]
    for item in overrides:
        args += ["--set", item]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert f"{n_trials}/{n_trials} trials finished" in done.stdout
    spec = load_spec(study_file, overrides)
    return overrides, optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)


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
