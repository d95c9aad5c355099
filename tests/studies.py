"""The tests' small studies, derived from the shipped Quora study files, and reading a
study's trials: plain functions and classes that tests, ``conftest.py`` and scripts import.

The Quora setup lives once, in ``studies/quora-adam.toml`` and ``studies/quora-mfac.toml``;
tests derive theirs from the AdamW file with ``--set`` overrides (:func:`quora_spec`,
:class:`QuoraStudies`; ``--set optimizer.kind=mfac`` for M-FAC) and never write a study of
their own.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomllib

if TYPE_CHECKING:
    from hpsearch.spec.schema import Spec

REPO = Path(__file__).resolve().parents[1]
# HPSEARCH_TEST_DATA: another folder with the same files (the GPU check's bundle, which has
# no ../shared beside it).
CS224N = Path(os.environ.get("HPSEARCH_TEST_DATA") or REPO.parent / "shared" / "data" / "cs224n")
QUORA = REPO / "studies" / "quora-adam.toml"
QUICKSTART = REPO / "studies" / "quickstart.toml"


# ---- the shipped Quora studies -------------------------------------------------------------


def quora_spec(overrides: Iterable[str] = ()) -> Spec:
    """The spec of ``studies/quora-adam.toml`` with ``--set`` ``overrides``, for tests that
    train or encode directly: its storage and results stay where the file says (unused)."""
    from hpsearch.spec.load import load_spec

    return load_spec(QUORA, [*DATA_FILES, *overrides])


# The study's data files, read from CS224N: the same files as the study file names, unless
# HPSEARCH_TEST_DATA points elsewhere (the GPU check has no ../shared beside the checkout).
DATA_FILES = (
    f"task.train_file={CS224N / 'quora-train.tsv'}",
    f"task.validation_file={CS224N / 'quora-dev.tsv'}",
)


# Keys of [task] that say which data a task reads, as opposed to how much of it.
DATA_KEYS = ("name", "train_file", "validation_file", "text_fields", "label_field")
# Keys that hold a path relative to the study file.
PATH_KEYS = (("task", "train_file"), ("task", "validation_file"), ("study", "baseline"))


def quora_raw(overrides: Iterable[str] = ()) -> dict[str, Any]:
    """``studies/quora-adam.toml`` as a raw dict, its relative paths made absolute (so it
    works from any folder), with ``--set`` ``overrides`` applied as ``load_spec`` does."""
    from hpsearch.spec.load import apply_override

    raw = tomllib.loads(QUORA.read_text(encoding="utf-8"))
    for section, key in PATH_KEYS:
        if key in raw.get(section, {}):
            raw[section][key] = str((QUORA.parent / raw[section][key]).resolve())
    for item in [*DATA_FILES, *overrides]:
        apply_override(raw, item)
    return raw


def quora_data() -> dict[str, Any]:
    """The Quora task's data: local files (absolute paths), text and label columns."""
    task = quora_raw()["task"]
    return {key: task[key] for key in DATA_KEYS}


def toml_text(raw: Mapping[str, Any]) -> str:
    """A raw study dict as a study file: a ``[section]`` per table, inline values inside."""
    lines: list[str] = []
    for section, body in raw.items():
        if not isinstance(body, Mapping):
            raise TypeError(f"top-level {section!r} must be a table, got {body!r}")
        lines += [
            "",
            f"[{section}]",
            *(f"{_toml_key(k)} = {toml_value(v)}" for k, v in body.items()),
        ]
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """A TOML value as a study file or `--set` writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # 1e-05, inf and nan are TOML as Python writes them
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML for {value!r}")


def uncalibrated(study_file: Path, lr: float, low: float, high: float) -> list[str]:
    """``--set`` overrides that run a shipped study whose lr is ``"calibrated"`` without
    calibrating (real probes would train): its lr searched in [``low``, ``high``] (log)
    and each enqueued ``"calibrated"`` lr at ``lr``. Give them before any override that
    fixes a field its enqueued trials set (which takes the field out of them)."""
    raw = tomllib.loads(study_file.read_text(encoding="utf-8"))
    enqueue = [
        {k: lr if v == "calibrated" else v for k, v in trial.items()}
        for trial in raw["study"].get("enqueue", [])
    ]
    return [
        f"space.train.lr={toml_value({'low': low, 'high': high, 'log': True})}",
        f"study.enqueue={toml_value(enqueue)}",
    ]


# What makes a shipped Quora study a small test study, before its size: a fixed recipe
# (max length 64, batch 32, dropout 0.1, no warmup, one epoch, two evaluations), the
# learning rate alone searched, TPE after 2 random trials, no pruning, nothing enqueued.
TEST_STUDY = (
    'study.sampler={ name = "tpe", seed = 0, n_startup_trials = 2 }',
    'study.pruner={ name = "none" }',
    "study.enqueue=[]",
    "task.max_length=64",
    "train.batch_size=32",
    "train.hidden_dropout=0.1",
    "train.warmup_ratio=0.0",
    "train.epochs=1",
    "train.evals_per_epoch=2",
    "space.train.lr={ low = 5e-5, high = 5e-4, log = true }",
)


@dataclass(frozen=True)
class QuoraStudies:
    """Small test studies derived from ``studies/quora-adam.toml`` with ``--set``
    overrides: :data:`TEST_STUDY`, the size (name, budget, training and validation pairs),
    then the test's own ``set`` (later overrides win). Files and databases go in ``folder``.
    """

    folder: Path

    def __call__(self, name: str = "quora", **size: Any) -> Path:
        """Write the study file ``<folder>/<name>.toml`` (its database goes beside it, by
        default); for tests that need a file: the command line, reports, the dashboard."""
        raw = quora_raw(self.overrides(name, **size))
        path = self.folder / f"{name}.toml"
        path.write_text(toml_text(raw), encoding="utf-8")
        return path

    def spec(self, name: str = "quora", **size: Any) -> Spec:
        """The same study as a spec, through ``load_spec``, stored in ``<folder>/<name>.db``."""
        storage = f"study.storage=sqlite:///{(self.folder / f'{name}.db').resolve()}"
        return quora_spec([*self.overrides(name, **size), storage])

    @staticmethod
    def overrides(
        name: str, n_trials: int = 2, train: int = 200, eval: int = 200, set: Sequence[str] = ()
    ) -> list[str]:
        """The ``--set`` overrides of a test study: its name, budget, pairs, then ``set``."""
        size = [
            f"study.name={name}",
            f"study.n_trials={n_trials}",
            f"task.max_train_samples={train}",
            f"task.max_eval_samples={eval}",
        ]
        return [*TEST_STUDY, *size, *set]


def write_suite(
    folder: Path, workloads: Sequence[Mapping[str, Any]], name: str = "suite", **settings: Any
) -> Path:
    """The suite file ``<folder>/<name>.toml``: its ``[suite]`` table (``name``, its storage
    ``journal:///<name>.log`` beside it unless ``settings`` says, then ``settings``) and a
    ``[[workloads]]`` entry per mapping of ``workloads`` (study files relative to ``folder``)."""
    suite = {"name": name, "storage": f"journal:///{name}.log", **settings}
    lines = ["[suite]", *(f"{_toml_key(k)} = {toml_value(v)}" for k, v in suite.items())]
    for entry in workloads:
        lines += ["", "[[workloads]]"]
        lines += [f"{_toml_key(k)} = {toml_value(v)}" for k, v in entry.items()]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_study(folder: Path, name: str, kind: str, baseline: str = "") -> Path:
    """A study of 6 trials (minilm with 1 layer, 64 Quora pairs) searching lr and warmup,
    and damp for M-FAC (num_grads 4); ``baseline``: its baseline's study file."""
    overrides = [
        'study.sampler={ name = "tpe", seed = 0, n_startup_trials = 3 }',
        'study.pruner={ name = "median", n_startup_trials = 2, n_warmup_steps = 0 }',
        "task.max_length=32",
        "model.num_hidden_layers=1",
        "train.batch_size=16",
        f"optimizer.kind={kind}",
        "space.train.lr={ low = 5e-5, high = 5e-3, log = true }",
        "space.train.warmup_ratio={ low = 0.0, high = 0.3 }",
    ]
    if kind == "mfac":
        overrides += [
            "optimizer.num_grads=4",
            "space.optimizer.damp={ low = 1e-6, high = 1e-2, log = true }",
        ]
    if baseline:
        overrides.append(f"study.baseline={baseline}")
    return QuoraStudies(folder)(name, n_trials=6, train=64, eval=64, set=overrides)


# ---- reading a study's trials ----------------------------------------------------------------


def finished_quickstart(folder: Path) -> Path:
    """A copy of the quickstart's study file in ``folder``, beside its default storage
    holding one finished trial (no training: for the commands that only read a study)."""
    import optuna

    study_file = folder / QUICKSTART.name
    study_file.write_bytes(QUICKSTART.read_bytes())
    study = optuna.create_study(
        study_name="quickstart",
        storage=f"sqlite:///{folder / 'quickstart.db'}",  # the file's default: beside it
        direction="maximize",
    )
    lr = optuna.distributions.FloatDistribution(1.78e-4, 5.62e-4, log=True)  # the file's shared
    study.add_trial(
        optuna.trial.create_trial(
            params={"train.lr": 3e-4}, distributions={"train.lr": lr}, value=0.5
        )
    )
    return study_file
