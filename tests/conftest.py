"""Shared fixtures: the real data in ../shared (read in place, never copied), small Quora
study files, studies with made-up trials, the stand-in objective of the re-runs, and the two
ways tests run the ``hpsearch`` command.

What tests import lives in plain modules beside this one: ``studies.py`` (the Quora study
files and specs), ``trials.py`` (made-up trials, the comparison's plan, reading what it
wrote), ``fakes.py`` (the stand-in objectives), ``commands.py`` (the command in a process
of its own, its one-line errors), ``folders.py`` (a read-only folder).
"""

from __future__ import annotations

import select
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.studies import CS224N, QuoraStudies

if TYPE_CHECKING:
    from tests.commands import CliProcess

# Plain assert statements in the helper modules report their values as a test's do.
pytest.register_assert_rewrite("tests.commands", "tests.trials")


@pytest.fixture(scope="session")
def cs224n() -> Path:
    """The cs224n folder of the shared data (Quora, SST, STS)."""
    if not (CS224N / "quora-train.tsv").is_file():
        pytest.fail(f"the tests read the shared data at {CS224N}; it is missing")
    return CS224N


@pytest.fixture
def quora_study(tmp_path: Path, cs224n: Path) -> QuoraStudies:
    """``quora_study(name=..., n_trials=..., train=..., eval=..., set=[...])``: a small
    Quora study file in tmp_path; ``quora_study.spec(...)``: the same as a spec."""
    return QuoraStudies(tmp_path)


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


@pytest.fixture
def cli_process() -> CliProcess:
    """``cli_process(*args)``: hpsearch in a subprocess (CompletedProcess);
    ``cli_process.start(*args)``: the same, left running (Popen)."""
    from tests.commands import CliProcess

    return CliProcess()


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


# ---- made-up trials and the stand-in objective of the re-runs ------------------------------


@pytest.fixture
def arms(quora_study):
    """``arms(name, kind, values, set=...)``: a study file with made-up finished trials;
    ``seconds``, ``steps``: what each one trained (:func:`tests.trials.add_trials`)."""
    from tests.trials import add_trials, lr_trials

    def make(name, kind, values, pruned=(), set=(), seconds=None, steps=None):
        extra = [f"optimizer.kind={kind}", *set]
        if kind == "mfac":
            extra.append("optimizer.num_grads=4")
        path = quora_study(name, set=extra)
        add_trials(path, lr_trials(*values, pruned=pruned), seconds=seconds, steps=steps)
        return path

    return make


@pytest.fixture
def fake_objective(monkeypatch):
    """The re-runs (``hpsearch.search.reseed``) run :class:`tests.fakes.FakeObjective`, and
    ``compare`` loads no data; set ``fake_objective.fail_seeds`` to fail chosen seeds."""
    from hpsearch.compare import comparison as compare_module
    from hpsearch.search import reseed as reseed_module
    from tests.fakes import FakeObjective, NoData

    monkeypatch.setattr(reseed_module, "Objective", FakeObjective)
    monkeypatch.setattr(compare_module, "DataCache", NoData)
    FakeObjective.calls = []
    FakeObjective.fail_seeds = set()
    return FakeObjective


@pytest.fixture
def probes(monkeypatch):
    """``hpsearch calibrate`` runs :class:`tests.fakes.StandInProbe` and loads no data; set
    ``probes.stop_at`` to interrupt a probe; ``probes.calls``: the (arm, lr) of each run."""
    from hpsearch.data import encode as encode_module
    from hpsearch.search.calibration import probe as probe_module
    from tests.fakes import NoData, StandInProbe

    monkeypatch.setattr(probe_module, "run_probe", StandInProbe.run)
    monkeypatch.setattr(encode_module, "DataCache", NoData)
    StandInProbe.calls = []
    StandInProbe.stop_at = None
    return StandInProbe


@pytest.fixture
def study_stand_in(monkeypatch):
    """A study's trials (``hpsearch run``, ``run_study``) run :class:`tests.fakes.StudyStandIn`
    and load no data; ``study_stand_in.calls``: the (kind, lr) of each trial."""
    from hpsearch.data import encode as encode_module
    from hpsearch.search import objective as objective_module
    from tests.fakes import NoData, StudyStandIn

    monkeypatch.setattr(objective_module, "Objective", StudyStandIn)
    monkeypatch.setattr(encode_module, "DataCache", NoData)
    StudyStandIn.calls = []
    return StudyStandIn
