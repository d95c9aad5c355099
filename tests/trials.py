"""Studies with made-up finished trials, added directly without training, for the tests of
``compare``, ``report`` and the re-runs (:func:`add_trials`; :func:`tuned`, as ``run``
leaves a study: its spec and each trial's settings stored); reading what they wrote; and
what a refused command must leave as it was."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from hpsearch.compare.arms import plan_comparison, source
from hpsearch.compare.model import CompareReport
from hpsearch.search.reseed import reseed_name
from hpsearch.search.storage import open_storage
from hpsearch.search.study import prepare_study
from hpsearch.spec.load import load_spec
from tests.studies import QuoraStudies

LR = FloatDistribution(5e-5, 5e-3, log=True)
KINDS = CategoricalDistribution(["adamw", "mfac"])
# The params of add_trials' trials that are not an lr
CHOICES = {
    "optimizer.kind": KINDS,
    "optimizer.num_grads": CategoricalDistribution([4, 8, 16]),
    "finetune.mode": CategoricalDistribution(["full", "frozen", "adapter", "lora"]),
}


def add_trials(
    path: Path,
    trials: list[tuple[str, float | tuple[float, ...], dict]],
    *,
    seconds: Sequence[float] | None = None,
    steps: Sequence[int] | None = None,
) -> optuna.Study:
    """Give the study of ``path`` finished trials without training: (state, value, params);
    a pruned trial reports ``value`` at its one evaluation (a tuple: one value per
    evaluation, in order), a failed one nothing.

    ``seconds``, ``steps``: what each trial trained, as the objective records it: a
    complete trial in its cost attrs (``train_seconds``, ``steps``), a pruned one at its
    last evaluation, where it was pruned."""
    spec = load_spec(path)
    study = optuna.create_study(
        study_name=spec.study.name,
        storage=spec.study.storage,
        direction=spec.direction,
        load_if_exists=True,
    )
    for i, (state, value, params) in enumerate(trials):
        dists = {k: CHOICES.get(k, LR) for k in params}
        spent = {"train_seconds": seconds[i]} if seconds is not None else {}
        spent |= {"steps": steps[i]} if steps is not None else {}
        if state == "complete":
            assert not isinstance(value, tuple)  # a complete trial has one value
            trial = create_trial(params=params, distributions=dists, value=value, user_attrs=spent)
        else:
            values = value if isinstance(value, tuple) else (value,)
            evals = [{"index": i, "metrics": {spec.metric: v}} for i, v in enumerate(values)]
            if "steps" in spent:
                evals[-1]["step"] = spent.pop("steps")
            evals[-1] |= spent
            trial = create_trial(
                params=params,
                distributions=dists,
                state=TrialState.PRUNED if state == "pruned" else TrialState.FAIL,
                intermediate_values=dict(enumerate(values)) if state == "pruned" else {},
                user_attrs={"evals": evals} if state == "pruned" else {},
            )
        study.add_trial(trial)
    return study


def lr_trials(*values: float, pruned: tuple[int, ...] = ()) -> list[tuple[str, float, dict]]:
    """Trials whose lr is 1e-4 × (i + 1), complete unless their index is in ``pruned``."""
    return [
        ("pruned" if i in pruned else "complete", v, {"train.lr": 1e-4 * (i + 1)})
        for i, v in enumerate(values)
    ]


def plan_of(*paths: Path, **kwargs):
    """The comparison's plan of the study files ``paths``, as ``hpsearch compare`` makes it."""
    return plan_comparison([source(load_spec(p)) for p in paths], **kwargs)


def assert_nothing_written(folder: Path, dbs_before: set[Path] | None = None) -> None:
    """No results folder in ``folder`` and no re-run study in any of its databases; with
    ``dbs_before``, no database other than those either."""
    assert not (folder / "results").exists()
    if dbs_before is not None:
        assert set(folder.glob("*.db")) == dbs_before
    for db in folder.glob("*.db"):
        names = optuna.get_all_study_names(f"sqlite:///{db}")
        assert not any(n.endswith("-reseed") for n in names), names


# The test studies' lr space (tests.studies.TEST_STUDY); the seed of a re-run
TEST_LR = FloatDistribution(5e-5, 5e-4, log=True)
ONE_CLASS_F1 = 0.63  # F1 of answering "duplicate" for every Quora pair (MCC 0)
# F1 at chance where "duplicate" everywhere scores ONE_CLASS_F1: the duplicates' share p,
# from 2p / (1 + p) = 0.63 (hpsearch.metrics.chance_score)
CHANCE_F1 = 0.46


def tuned(
    path: Path,
    values: list[float],
    *,
    overrides: tuple[str, ...] = (),
    attrs: dict | None = None,
    one_class: tuple[int, ...] = (),
    at_chance: dict[int, float] | None = None,
    seconds: Sequence[float] | None = None,
    first: int = 0,
) -> optuna.Study:
    """The study of ``path`` created as ``run`` creates it (its spec and settings stored),
    with complete trials of lr 1e-4 × (i mod 5 + 1) and ``values``, each recording the settings it
    ran under; ``attrs``: more user attrs of every trial; the trials in ``one_class`` have an
    evaluation that answered one class. A trial in ``at_chance`` answered one class at
    every evaluation, as the objective records it: ``values[i]`` measured, and its value
    at chance, ``at_chance[i]``. ``seconds``: what each trained (its cost attr); ``first``:
    the index of the first, for its lr (to add more trials to a study that has some)."""
    spec = load_spec(path, list(overrides))
    prepared = prepare_study(spec, open_storage(spec.study.storage))
    at_chance = at_chance or {}
    for i, value in enumerate(values):
        mcc = 0.0 if i in at_chance else 0.2
        evals = [{"index": 0, "step": 8, "metrics": {"f1": value, "mcc": mcc}}]
        if i in one_class:
            evals.insert(0, {"index": 0, "step": 4, "metrics": {"f1": ONE_CLASS_F1, "mcc": 0.0}})
        user_attrs = {"spec_id": prepared.spec_id, "evals": evals, **(attrs or {})}
        if seconds is not None:
            user_attrs["train_seconds"] = seconds[i]
        if i in at_chance:
            user_attrs |= {
                "metrics": {"f1": value, "mcc": 0.0},
                "one_class": "one class: the classifier predicted the same class",
                "value_at_chance": at_chance[i],
            }
        prepared.study.add_trial(
            create_trial(
                params={"train.lr": 1e-4 * ((first + i) % 5 + 1)},  # within TEST_LR
                distributions={"train.lr": TEST_LR},
                value=at_chance.get(i, value),
                user_attrs=user_attrs,
            )
        )
    return prepared.study


def comparison_of(folder: Path):
    return CompareReport.from_dict(json.loads((folder / "compare.json").read_text())).comparison


def reruns(path: Path) -> list[optuna.trial.FrozenTrial]:
    spec = load_spec(path)
    name = reseed_name(spec.study.name)
    return optuna.load_study(study_name=name, storage=spec.study.storage).trials


GOLDEN = Path(__file__).parent / "compare" / "golden"  # see tests/compare/test_golden.py


def golden_pair(quora_study: QuoraStudies) -> tuple[Path, Path, str]:
    """The golden journal's two studies: a copy of the journal in the study files' folder,
    ``adam.toml`` (AdamW) and ``mfac.toml`` (M-FAC, baseline adam.toml) whose re-runs there
    have all finished; (adam, mfac, the journal's storage URL)."""
    journal = quora_study.folder / "studies.log"
    shutil.copy(GOLDEN / "studies.log", journal)
    adam = quora_study("adam", set=["optimizer.kind=adamw"])
    mfac = quora_study(
        "mfac", set=["optimizer.kind=mfac", "optimizer.num_grads=4", "study.baseline=adam.toml"]
    )
    return adam, mfac, f"journal:///{journal}"
