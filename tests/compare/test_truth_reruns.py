"""No stray work: a smaller ``--seeds`` does not run what an interrupted larger one queued,
and ``--seeds`` has a stated bound (issue 29)."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from hpsearch.compare.arms import CompareError
from hpsearch.compare.comparison import MAX_SEEDS, check_seeds
from hpsearch.search.reseed import reseed_name
from hpsearch.spec.load import load_spec
from tests.commands import one_line
from tests.trials import reruns

# ---- 2. no stray work ----------------------------------------------------------------------


def test_a_smaller_seeds_does_not_run_what_an_interrupted_larger_one_queued(pair, stand_in, cli):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    for path, name in ((adam, "adam"), (mfac, "mfac")):  # what --seeds 5, stopped, leaves
        companion = optuna.load_study(
            study_name=reseed_name(name), storage=load_spec(path).study.storage
        )
        for seed in (2, 3, 4):
            companion.enqueue_trial(
                {"train.seed": seed},
                user_attrs={"source_study": name, "source_trial": 1, "seed": seed},
            )
    stand_in.calls = []
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "3")
    assert code == 0, err
    assert sorted((c["kind"], c["seed"]) for c in stand_in.calls) == [("adamw", 2), ("mfac", 2)]
    assert (
        "2 re-runs queued by an earlier call with more seeds (trial 1 seed 3, trial 1 seed 4)"
        in (" ".join(out.split()))
    )
    dequeued = [t for t in reruns(adam) if t.state == TrialState.FAIL]
    assert sorted(t.user_attrs["seed"] for t in dequeued) == [3, 4]
    assert all(t.user_attrs["fail_reason"].startswith("dequeued") for t in dequeued)
    # Asked for later, they run.
    stand_in.calls = []
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "5")
    assert code == 0, err
    assert sorted(c["seed"] for c in stand_in.calls) == [3, 3, 4, 4]


def test_seeds_has_a_stated_bound(pair, stand_in, cli, tmp_path):
    check_seeds(1)
    check_seeds(MAX_SEEDS)
    for bad in (0, MAX_SEEDS + 1):
        with pytest.raises(CompareError, match=f"between 1 and 100, but got {bad}"):
            check_seeds(bad)
    adam, mfac = pair()
    for command in (("compare", str(adam), str(mfac)), ("report", str(mfac))):
        code, _, err = cli(*command, "--seeds", "1000000")
        assert code == 1
        assert one_line(err) == "error: --seeds must be between 1 and 100, but got 1000000"
    assert stand_in.calls == [] and not (tmp_path / "results").exists()
    assert reseed_name("adam") not in optuna.get_all_study_names(load_spec(adam).study.storage)
