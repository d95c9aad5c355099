"""The trial record: what the writer writes, the reader reads back; a trial written before
hpsearch recorded some attrs reads them as None; the stored attrs keep their keys and
shapes (the golden journal and older studies read the same)."""

from __future__ import annotations

from dataclasses import fields

import optuna
from optuna.trial import TrialState, create_trial

from hpsearch.search.record import (
    NO_COST,
    Evaluation,
    RunCost,
    StoredTrial,
    TrialRecord,
    read_record,
    seed_run,
    write_record,
)

EVAL = Evaluation(
    index=0,
    epoch=0.5,
    step=10,
    metrics={"f1": 0.5, "loss": 0.6},
    train_loss=0.7,
    samples_per_s=100.0,
    elapsed=3.0,
    train_seconds=2.5,
    trainable_params=1000,
)
COST = RunCost(20, 4.0, 0.2, 160.0, 6.0, 800, None, "process peak RSS", "cpu", "bf16")
FULL = TrialRecord(
    spec_id="abc123",
    evals=(EVAL,),
    epochs_done=0.5,
    metrics={"f1": 0.5, "loss": 0.6},
    best_eval=0,
    num_params=2000,
    trainable_params=1000,
    cost=COST,
    joint_metrics={"mean": 0.4},
    ensemble_metrics={"mean": 0.5},
    ensemble_best_eval={"sst": 0},
    ensemble_evals={"sst": (Evaluation(index=0, step=5, metrics={"sst/accuracy": 0.5}),)},
    ensemble_wall_time=9.0,
    diverged="diverged: validation loss 594",
    one_class="predicted one class",
    value_at_chance=0.5,
    fail_reason="",
    retry_of=3,
    retry_reason="no heartbeat for 200 s",
)


def written(record: TrialRecord) -> optuna.trial.FrozenTrial:
    """A trial of an in-memory study that ``record`` was written into."""
    study = optuna.create_study()
    trial = study.ask()
    write_record(trial, record)
    study.tell(trial, 0.5)
    return study.trials[0]


def test_what_the_writer_writes_the_reader_reads_back():
    assert read_record(written(FULL)) == FULL
    assert read_record(written(TrialRecord())) == TrialRecord()


def test_the_stored_attrs_keep_their_keys_and_shapes():
    attrs = written(FULL).user_attrs
    assert attrs["evals"] == [
        {
            "index": 0,
            "epoch": 0.5,
            "step": 10,
            "metrics": {"f1": 0.5, "loss": 0.6},
            "train_loss": 0.7,
            "samples_per_s": 100.0,
            "elapsed": 3.0,
            "train_seconds": 2.5,
            "trainable_params": 1000,
        }
    ]
    # The cost is stored one attr per field, null where not measured, as always.
    assert {k: attrs[k] for k in ("steps", "peak_memory_bytes", "peak_memory", "precision")} == {
        "steps": 20,
        "peak_memory_bytes": None,
        "peak_memory": "process peak RSS",
        "precision": "bf16",
    }
    assert "cost" not in attrs
    assert attrs["ensemble_evals"] == {
        "sst": [{"index": 0, "step": 5, "metrics": {"sst/accuracy": 0.5}}]
    }
    cost_keys = {f.name for f in fields(RunCost)}
    record_keys = {f.name for f in fields(TrialRecord)} - {"cost"}
    assert set(attrs) == cost_keys | record_keys
    assert not cost_keys & record_keys  # one attr, one field


def test_the_writer_leaves_what_it_is_not_given():
    """Each write adds its own fields: the evaluations do not drop the spec id, and a
    failure adds its reason only."""
    study = optuna.create_study()
    trial = study.ask()
    write_record(trial, TrialRecord(spec_id="abc"))
    write_record(trial, TrialRecord(evals=(EVAL,), epochs_done=0.5))
    write_record(trial, TrialRecord(fail_reason="RuntimeError: out of luck"))
    study.tell(trial, state=TrialState.FAIL)
    assert study.trials[0].user_attrs.keys() == {"spec_id", "evals", "epochs_done", "fail_reason"}
    assert read_record(study.trials[0]) == TrialRecord(
        spec_id="abc", evals=(EVAL,), epochs_done=0.5, fail_reason="RuntimeError: out of luck"
    )


def test_a_stored_trial_is_written_through_its_storage():
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    write_record(StoredTrial(storage, trial._trial_id), TrialRecord(fail_reason="no heartbeat"))
    assert read_record(storage.get_trial(trial._trial_id)).fail_reason == "no heartbeat"


def test_an_old_trial_reads_the_attrs_it_lacks_as_none():
    """A re-run from before hpsearch kept device and precision, with evaluations that had
    no index (as in the golden journal); an evaluation entry without metrics."""
    old = create_trial(
        value=0.55,
        user_attrs={
            "metrics": {"f1": 0.55, "accuracy": 1},
            "evals": [{"step": 10, "train_seconds": 2.0, "metrics": {"f1": 0.55}}, {"f1": 0.5}],
            "steps": 20,
            "seconds_per_step": 0.2,
            "peak_memory_bytes": 1_000_000_000,
        },
    )
    record = read_record(old)
    assert record.metrics == {"f1": 0.55, "accuracy": 1.0}
    assert record.evals == (
        Evaluation(step=10, train_seconds=2.0, metrics={"f1": 0.55}),
        Evaluation(),
    )
    assert record.cost == RunCost(20, None, 0.2, None, None, None, 1_000_000_000, None, None)
    assert record.cost.precision is None
    assert (record.spec_id, record.epochs_done, record.fail_reason, record.retry_of) == (
        None,
        None,
        None,
        None,
    )
    assert record.joint_metrics is None and record.ensemble_evals is None

    run = seed_run(old, seed=0, metric="f1")
    assert [(p.step, p.train_seconds, p.value) for p in run.evals] == [(10, 2.0, 0.55)]
    assert run.cost.device is None and run.cost.steps == 20

    bare = read_record(create_trial(value=0.5))
    assert bare == TrialRecord()
    assert seed_run(create_trial(value=0.5), seed=0, metric="f1").cost == NO_COST
