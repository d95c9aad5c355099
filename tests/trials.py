"""Studies with made-up finished trials, added directly without training, for the tests of
``compare``, ``report`` and the re-runs; and what a refused command must leave as it was."""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from hpsearch.compare.arms import plan_comparison, source
from hpsearch.spec.load import load_spec

LR = FloatDistribution(5e-5, 5e-3, log=True)
KINDS = CategoricalDistribution(["adamw", "mfac"])


def add_trials(path: Path, trials: list[tuple[str, float, dict]]) -> optuna.Study:
    """Give the study of ``path`` finished trials without training: (state, value, params);
    a pruned trial reports ``value`` at its one evaluation, a failed one nothing."""
    spec = load_spec(path)
    study = optuna.create_study(
        study_name=spec.study.name,
        storage=spec.study.storage,
        direction=spec.direction,
        load_if_exists=True,
    )
    for state, value, params in trials:
        dists = {k: KINDS if k == "optimizer.kind" else LR for k in params}
        if state == "complete":
            trial = create_trial(params=params, distributions=dists, value=value)
        else:
            trial = create_trial(
                params=params,
                distributions=dists,
                state=TrialState.PRUNED if state == "pruned" else TrialState.FAIL,
                intermediate_values={0: value} if state == "pruned" else {},
                user_attrs={"evals": [{"index": 0, "metrics": {spec.metric: value}}]}
                if state == "pruned"
                else {},
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
