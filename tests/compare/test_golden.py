"""compare.json and report.json carry the same numbers as when the golden files were
written, for one fixed storage: the comparison layer's moves and splits change no number.

``golden/studies.log`` is an Optuna journal of two small Quora studies, ``adam`` (AdamW; 4
trials, one pruned) and ``mfac`` (M-FAC, baseline ``adam``; 4 trials), with the re-runs of
their top 2 configs on seeds 0-2 already finished (a stand-in objective's, which trained
nothing). ``golden/compare.json`` and ``golden/report.json`` are what ``hpsearch compare
adam.toml mfac.toml --seeds 3 --top 2`` and ``hpsearch report mfac.toml --seeds 3 --top 2``
wrote on it before ``hpsearch/compare/`` existed (commit 39c14ec), their study files'
folder written as ``<dir>``; since the paired CI became the t-interval, the comparison's
``ci_method`` is "paired t" and its ``resamples`` 0 (its CIs, of differences with no
spread, are unchanged); since compare marks an arm that never learned within its space,
each arm holds ``never_learned``, empty here (added to the files' arms, nothing else
changed); since compare measures lr sensitivity, the comparison holds ``sensitivity``, each
arm's judged trials by lr (added after ``calibrated``, nothing else changed). Nothing is
left to run,
so the commands train nothing and add no trial.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna

from hpsearch.search.storage import open_storage
from tests.trials import GOLDEN, golden_pair

SEEDS = ("--seeds", "3", "--top", "2")


def comparable(doc: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The document without its creation time, with the study files' folder as ``<dir>``."""
    text = json.dumps({k: v for k, v in doc.items() if k != "created"}, sort_keys=True)
    return json.loads(text.replace(str(folder), "<dir>"))


def golden(name: str) -> dict[str, Any]:
    """A golden file (written with its study files' folder as ``<dir>``)."""
    return comparable(json.loads((GOLDEN / name).read_text()), GOLDEN)


def trial_counts(url: str) -> dict[str, int]:
    """Each study's number of trials in the storage at ``url``."""
    storage = open_storage(url, write=False)
    return {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(storage)}


def test_compare_and_report_write_the_golden_numbers(quora_study, tmp_path, cli):
    adam, mfac, url = golden_pair(quora_study)
    before = trial_counts(url)

    code, _, err = cli("compare", str(adam), str(mfac), *SEEDS, "--storage", url)
    assert code == 0, err
    code, _, err = cli("report", str(mfac), *SEEDS, "--storage", url)
    assert code == 0, err
    assert trial_counts(url) == before  # nothing ran

    results = tmp_path / "results"
    compared = json.loads((results / "adam-vs-mfac" / "compare.json").read_text())
    assert comparable(compared, tmp_path) == golden("compare.json")
    reported = json.loads((results / "mfac" / "report.json").read_text())
    assert comparable(reported, tmp_path) == golden("report.json")
