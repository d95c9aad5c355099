"""``hpsearch compare`` end to end, training for real: two arms of two trials each on tiny
Quora settings, through the command line."""

from __future__ import annotations

import json
import math

import optuna
import pytest

from hpsearch.data.encode import DataCache
from hpsearch.spec.load import load_spec
from hpsearch.train.vocab import used_tokens


@pytest.mark.slow
def test_compare_end_to_end_on_tiny_quora(quora_study, tmp_path, cli):
    """Two arms, two trials each, two seeds; then the same command again runs nothing."""
    tiny = ["model.num_hidden_layers=1", "task.max_length=32", "train.batch_size=16"]
    adam = quora_study("adam", n_trials=2, train=64, eval=64, set=tiny)
    mfac = quora_study(
        "mfac",
        n_trials=2,
        train=64,
        eval=64,
        set=[*tiny, "optimizer.kind=mfac", "optimizer.num_grads=4"],
    )
    for path in (adam, mfac):
        code, _, err = cli("run", str(path))
        assert code == 0, err
    code, out, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err
    assert "M-FAC against AdamW" in out and "paired" in out
    folder = tmp_path / "results" / "adam-vs-mfac"
    for name in (
        "compare.md",
        "compare.csv",
        "compare.json",
        "tuning.png",
        "seconds.png",
        "steps.png",
        "seeds.png",
    ):
        assert (folder / name).stat().st_size > 0, name
    data = json.loads((folder / "compare.json").read_text())
    comp = data["comparison"]
    assert comp["seeds"] == [0, 1] and comp["budget"] == 2
    for cost in comp["costs"]:
        assert cost["seconds_per_step"] > 0 and cost["optimizer_state_bytes"] > 0
        assert cost["peak_memory"].startswith("process peak RSS")
    # AdamW keeps two float32 moments per trained number (and a step count per tensor), but
    # for the word embedding's rows the data does not use (hpsearch.train.vocab).
    adam_rerun = optuna.load_study(
        study_name="adam-reseed", storage=f"sqlite:///{tmp_path / 'adam.db'}"
    )
    kept = len(used_tokens([DataCache().encoded(load_spec(adam))], 30_522))
    trained = adam_rerun.trials[0].user_attrs["trainable_params"] - (30_522 - kept) * 384
    adam_state = comp["costs"][0]["optimizer_state_bytes"]
    assert 8 * trained <= adam_state < 8 * trained + 10_000
    for config in comp["configs"]:
        for run in config["runs"]:
            assert [e["step"] for e in run["evals"]] == [2, 4]  # 64 pairs, batch 16, 2 evals
            assert all(e["train_seconds"] > 0 for e in run["evals"])
    before = {
        name: [
            (t.number, t.state)
            for t in optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / db}").trials
        ]
        for name, db in (("adam-reseed", "adam.db"), ("mfac-reseed", "mfac.db"))
    }
    assert all(len(v) == 2 for v in before.values())
    code, _, err = cli("compare", str(adam), str(mfac), "--seeds", "2")
    assert code == 0, err and "trial" not in err
    after = {
        name: [
            (t.number, t.state)
            for t in optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / db}").trials
        ]
        for name, db in (("adam-reseed", "adam.db"), ("mfac-reseed", "mfac.db"))
    }
    assert after == before
    assert (
        json.loads((folder / "compare.json").read_text())["comparison"]["configs"]
        == comp["configs"]
    )
    # The default target is the median best of the baseline's seeds that learned; a seed that
    # answered one class learned nothing, and with no seed left there is no target (null).
    baseline_runs = [r for c in comp["configs"] if c["role"] == "baseline" for r in c["runs"]]
    if all(r["one_class"] for r in baseline_runs):
        assert comp["target"] is None and "answered one class" in comp["target_source"]
    else:
        assert not math.isnan(comp["target"])
