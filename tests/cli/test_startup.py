"""Commands start without the heavy libraries they do not use.

Every command used to import torch, transformers, scipy and scikit-learn before parsing its
arguments (seconds, even for ``--help``). These tests pin the property itself, not a time:
each runs a command in a fresh interpreter and checks which libraries it imported. How fast
start-up is lives in ``scripts/bench_startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.studies import finished_quickstart

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "studies" / "quickstart.toml"

# Training, data and report libraries: no command that only reads needs them.
HEAVY = ("torch", "transformers", "datasets", "peft", "scipy", "sklearn", "matplotlib")
# What --help of any command has no use for either (a leaderboard needs these three).
STORAGE = ("optuna", "optuna_dashboard", "sqlalchemy", "numpy")

# Runs `code` in a fresh interpreter, then writes the names in `watched` that it imported.
_PROBE = """
import json, sys
watched, out = json.loads(sys.argv[1]), sys.argv[2]
try:
    exec(sys.argv[3])
finally:
    with open(out, "w") as f:
        json.dump(sorted(name for name in watched if name in sys.modules), f)
"""


def imported(code: str, watched: tuple[str, ...], tmp_path: Path) -> list[str]:
    """Which of ``watched`` a fresh interpreter has imported after running ``code``."""
    out = tmp_path / "imported.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(watched), str(out), code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.is_file(), done.stderr
    return json.loads(out.read_text())


def run_command(*args: str) -> str:
    """Code that runs ``hpsearch ARGS`` as the console script does, and expects success."""
    return (
        "from hpsearch.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
    )


def test_importing_the_command_line_imports_no_heavy_library(tmp_path: Path) -> None:
    assert imported("import hpsearch.cli", HEAVY + STORAGE, tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", "--help"],
        ["leaderboard", "--help"],
        ["report", "--help"],
        ["compare", "--help"],
        ["dashboard", "--help"],
        ["optimizers"],
    ],
    ids=" ".join,
)
def test_help_and_optimizers_import_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    assert imported(run_command(*args), HEAVY + STORAGE, tmp_path) == []


def test_loading_a_spec_imports_no_heavy_library(tmp_path: Path) -> None:
    code = f"from hpsearch.spec.load import load_spec\nload_spec({str(QUICKSTART)!r})"
    assert imported(code, HEAVY + STORAGE, tmp_path) == []


def test_the_leaderboard_imports_no_training_library(tmp_path: Path) -> None:
    study_file = finished_quickstart(tmp_path)

    found = imported(run_command("leaderboard", str(study_file)), HEAVY + STORAGE, tmp_path)

    assert [name for name in found if name in HEAVY] == []
    assert "optuna" in found  # the probe sees what a command imports
