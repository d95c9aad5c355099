"""Re-runs train under the settings each config was tuned with, or ``compare`` refuses
naming the field (``--allow-drift``: every seed of an arm at one setting); precision and
threads recorded, and an explicit precision that "auto" ran as is not drift (issue 29)."""

from __future__ import annotations

import re

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import create_trial

from hpsearch.compare.arms import plan_comparison, source
from hpsearch.compare.comparison import build_comparison
from hpsearch.compare.settings import checked
from hpsearch.search.drift import (
    SpecDriftError,
    record_settings,
    settings_attr,
    spec_of_trial,
    trial_settings,
)
from hpsearch.search.reseed import reseed_name
from hpsearch.search.storage import open_storage
from hpsearch.search.study import prepare_study
from hpsearch.spec.load import load_spec
from tests.commands import one_line
from tests.trials import comparison_of

SEED = IntDistribution(0, 2**31 - 1)


# ---- 1. re-runs under the settings each config was tuned with --------------------------------


def test_an_edited_study_file_or_set_is_refused_naming_each_field(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    folder = tmp_path / "results" / "adam-vs-mfac"
    before = (folder / "compare.json").read_text()
    stand_in.calls = []

    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2", "--set", "train.epochs=2")
    assert code == 1
    line = one_line(err)
    assert f"{adam}: study 'adam': the study file's fixed settings differ from those its 3 " in line
    assert "judged trials ran with (train.epochs was 1, now 2)" in line
    assert f"{mfac}: study 'mfac'" in line and "--allow-drift" in line
    # The file itself edited: the same rule.
    text = adam.read_text().replace("epochs = 1", "epochs = 2")
    assert text != adam.read_text()
    adam.write_text(text)
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 1 and "train.epochs was 1, now 2" in one_line(err)
    assert f"{mfac}" not in err  # only the edited arm is named
    assert stand_in.calls == []  # nothing re-ran
    assert (folder / "compare.json").read_text() == before  # nothing written


def test_allow_drift_reruns_each_config_at_the_settings_it_was_tuned_with(
    pair, stand_in, cli, tmp_path
):
    adam, mfac = pair()
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    assert {c["epochs"] for c in stand_in.calls} == {1}
    stand_in.calls = []
    args = ("compare", str(adam), str(mfac), "--seeds", "3", "--set", "train.epochs=2")
    code, out, err = cli(*args, "--allow-drift")
    assert code == 0, err
    # Only the new seed ran, at the epochs its config was tuned with.
    assert sorted((c["kind"], c["seed"], c["epochs"]) for c in stand_in.calls) == [
        ("adamw", 2, 1),
        ("mfac", 2, 1),
    ]
    comp = comparison_of(tmp_path / "results" / "adam-vs-mfac")
    for config in comp.configs:
        assert [r.cost.steps for r in config.runs] == [8, 8, 8]  # every seed: one step count
        assert config.drift == ("train.epochs 1 (study file: 2)",)
    assert any(
        "AdamW: --allow-drift: its 3 judged trials ran under settings" in n for n in comp.notes
    )
    text = (tmp_path / "results" / "adam-vs-mfac" / "compare.md").read_text()
    assert "settings (where not the study file's)" in text
    assert "train.epochs 1 (study file: 2)" in text
    assert "--allow-drift" in out
    # Every re-run records the settings it ran under, as a search's trials do.
    spec = load_spec(adam, ["train.epochs=2"])
    companion = optuna.load_study(study_name="adam-reseed", storage=spec.study.storage)
    for rerun in companion.trials:
        assert spec_of_trial(spec, companion, rerun).train.epochs == 1


def test_earlier_reruns_under_other_settings_are_left_out_and_run_again(pair, stand_in):
    """Re-runs that an earlier version made under the study file's newer settings (epochs 2)
    for a config tuned at 1 epoch: not mixed in, said, and their seeds run again."""
    adam, mfac = pair()
    spec = load_spec(adam)
    companion = optuna.create_study(
        study_name=reseed_name("adam"), storage=spec.study.storage, direction="maximize"
    )
    other = record_settings(companion, load_spec(adam, ["train.epochs=2"]))
    companion.add_trial(
        create_trial(
            params={"train.seed": 0},
            distributions={"train.seed": SEED},
            value=0.99,
            user_attrs={
                "source_study": "adam",
                "source_trial": 1,
                "seed": 0,
                "spec_id": other,
                "metrics": {"f1": 0.99},
            },
        )
    )
    plan = plan_comparison([source(load_spec(p)) for p in (adam, mfac)])
    comp = build_comparison(plan, seeds=2)
    adam_runs = next(c for c in comp.configs if c.arm == "AdamW").runs
    assert [r.value for r in adam_runs] == [pytest.approx(0.52), pytest.approx(0.53)]
    assert ("adamw", 0) in {(c["kind"], c["seed"]) for c in stand_in.calls}
    assert any(
        "study 'adam' trial 1: left out 1 earlier re-run (seed 0) made under other settings "
        "than the trial was tuned with (train.epochs 2, not 1)" in n
        for n in comp.notes
    ), comp.notes


# ---- 6. precision and threads ---------------------------------------------------------------


@pytest.mark.parametrize(("ran_as", "refused"), [("fp32", False), ("bf16", True)])
def test_an_explicit_precision_that_auto_ran_as_is_not_drift(pair, ran_as, refused):
    adam, mfac = pair(adam={"attrs": {"precision": ran_as}}, mfac={"attrs": {"precision": "fp32"}})
    sources = [source(load_spec(p, ['train.precision="fp32"'])) for p in (adam, mfac)]
    plan = plan_comparison(sources)
    if refused:
        drift = re.escape('train.precision was "auto", now "fp32"')
        with pytest.raises(SpecDriftError, match=drift):
            checked(plan)
    else:
        assert checked(plan) is plan
    # `run` follows the same rule.
    spec = load_spec(adam, ['train.precision="fp32"'])
    if refused:
        with pytest.raises(SpecDriftError):
            prepare_study(spec, open_storage(spec.study.storage))
    else:
        prepare_study(spec, open_storage(spec.study.storage))


def test_seeds_of_mixed_precision_are_flagged(pair, stand_in, cli, tmp_path):
    adam, mfac = pair()
    stand_in.precision = {2: "bf16"}  # "auto" resolved otherwise on resume
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "3")
    assert code == 0, err
    comp = comparison_of(tmp_path / "results" / "adam-vs-mfac")
    assert [r.cost.precision for r in comp.configs[0].runs] == ["fp32", "fp32", "bf16"]
    assert [r.cost.threads for r in comp.configs[0].runs] == [2, 2, 2]
    text = (tmp_path / "results" / "adam-vs-mfac" / "compare.md").read_text()
    assert (
        "AdamW (adam, trial 1): its seeds ran on different devices, precisions or threads "
        "(seeds 0, 1: cpu, fp32, 2 threads; seed 2: cpu, bf16, 2 threads;" in text
    )
    assert "cpu, bf16, 2 threads (mixed)" in text and "its mean ± std mixes them" in out


def test_settings_attr_is_what_the_rerun_records(pair, stand_in):
    """The fingerprint a re-run records names settings stored in its companion."""
    adam, mfac = pair()
    plan = plan_comparison([source(load_spec(p)) for p in (adam, mfac)])
    build_comparison(plan, seeds=1)
    companion = optuna.load_study(study_name="adam-reseed", storage=load_spec(adam).study.storage)
    (rerun,) = companion.trials
    stored = companion.user_attrs[settings_attr(rerun.user_attrs["spec_id"])]
    assert stored == trial_settings(load_spec(adam))
