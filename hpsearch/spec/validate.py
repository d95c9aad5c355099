"""Validating a raw study dict into a :class:`~hpsearch.spec.schema.Spec`.

Unknown keys, wrong types, bad ranges and unknown tasks or optimizers are
:class:`~hpsearch.errors.SpecError`\\ s that name the file, the key and what was expected;
nothing touches storage before a spec is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

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
from hpsearch.spec.paths import missing_file_hint, resolve_data_path
from hpsearch.spec.schema import (
    APPLIES_WHEN,
    MULTITASK_ONLY,
    SECTIONS,
    TASKS_ARRAY,
    TOP_LEVEL,
    FieldError,
    Spec,
    TaskEntry,
    TaskSpec,
)
from hpsearch.spec.space import (
    BY_KIND,
    CALIBRATED,
    CALIBRATED_FIELDS,
    KIND,
    SEARCHABLE_SECTIONS,
    Categorical,
    Condition,
    ConditionalParam,
    Param,
    candidate_values,
    contains,
    parse_param,
)
from hpsearch.spec.tasks import LOCAL, TASKS

if TYPE_CHECKING:
    from hpsearch.metrics import LabelKind


T = TypeVar("T", bound=TaskSpec)


def parse_spec(raw: Mapping[str, Any], *, source: str = "", base_dir: Path | None = None) -> Spec:
    """Validate a raw study dict; relative paths are taken from ``base_dir``."""
    base_dir = base_dir or Path.cwd()
    unknown = sorted(set(raw) - set(TOP_LEVEL))
    if unknown:
        raise SpecError(source, unknown[0], f"unknown section; valid sections are {TOP_LEVEL}")
    if "study" not in raw:
        raise SpecError(source, "study", "missing section; it needs at least `name`")
    sections: dict[str, Any] = {}
    for name, model in SECTIONS.items():
        try:
            sections[name] = model.model_validate(raw.get(name, {}))
        except ValidationError as e:
            raise spec_error(source, name, model, e) from None
    tasks = _parse_tasks(raw, source, base_dir)
    spec = Spec(**sections, tasks=tasks, source=source)
    if not tasks:
        spec = spec.model_copy(update={"task": _resolve_task(spec.task, "task", source, base_dir)})
    raw_space, calibrated = _calibrated(raw.get("space", {}), source)
    space = _parse_space(raw_space, spec, source)
    spec = spec.model_copy(update={"space": space, "calibrated": calibrated})
    if isinstance(raw_space, Mapping) and BY_KIND in raw_space:
        entries, keys = _parse_by_kind(raw_space[BY_KIND], spec, source)
        spec = with_conditional_ranges(spec, entries, source=source, keys=keys)
        for entry, key in zip(entries, keys, strict=True):
            if entry.field in calibrated:
                raise SpecError(
                    source,
                    key,
                    f'{entry.field} is "{CALIBRATED}": its ranges per kind (and num_grads) are '
                    "the calibration's; remove this entry, or give the field a range",
                )
    _check_optimizer(spec, source)
    _check_conditions(spec, source)
    return _resolve_study(spec, source, base_dir)


def spec_error(source: str, section: str, model: type[BaseModel], e: ValidationError) -> SpecError:
    """One SpecError for a pydantic error: the first problem, then any others."""
    problems = []
    for err in e.errors():
        loc = [str(p) for p in err["loc"]]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key; valid keys are {_fields_at(model, err['loc'][:-1])}"
        elif err["type"] == "missing":
            msg = "required"
        else:
            msg = _message(err)
            rule = err.get("ctx", {}).get("error")
            if isinstance(rule, FieldError):  # a section's rule, broken by one of its fields
                loc.append(rule.field)
        problems.append((".".join([section, *loc]), msg))
    key, msg = problems[0]
    others = "".join(f"\n  also `{k}`: {m}" for k, m in problems[1:])
    return SpecError(source, key, msg + others)


def _message(err: Mapping[str, Any]) -> str:
    """What a pydantic error says: our validators' own words (they name the value), or
    pydantic's followed by the value."""
    if err["type"] == "value_error":
        return str(err["ctx"]["error"])
    return f"{err['msg']}, got {err.get('input')!r}"


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
    if TASKS_ARRAY not in raw:
        space = raw.get("space", {})
        for name in MULTITASK_ONLY:
            if name in raw or (isinstance(space, Mapping) and name in space):
                key = name if name in raw else f"space.{name}"
                raise SpecError(
                    source, key, f"only applies to a multitask study ([[{TASKS_ARRAY}]])"
                )
        return ()
    if "task" in raw:
        raise SpecError(
            source, "task", f"a study has either [task] or [[{TASKS_ARRAY}]] (multitask), not both"
        )
    items = raw[TASKS_ARRAY]
    if not isinstance(items, list) or not all(isinstance(t, Mapping) for t in items):
        raise SpecError(
            source, TASKS_ARRAY, f"expected an array of tables [[{TASKS_ARRAY}]], got {items!r}"
        )
    if len(items) < 2:
        raise SpecError(
            source, TASKS_ARRAY, f"a multitask study needs two or more tasks, got {len(items)}"
        )
    tasks = []
    for i, item in enumerate(items):
        where = f"{TASKS_ARRAY}[{i}]"
        try:
            task = TaskEntry.model_validate(item)
        except ValidationError as e:
            raise spec_error(source, where, TaskEntry, e) from None
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
            raise SpecError(
                source, f"{TASKS_ARRAY}[{i}].key", f"{key!r} is the key of another task"
            )
    return tuple(tasks)


def _task_kind(task: TaskSpec) -> LabelKind:
    return task.label_kind if task.name == LOCAL else TASKS[task.name].kind


def _resolve_task(task: T, where: str, source: str, base_dir: Path) -> T:
    """``task`` (its fields checked by its model) with its local files found and made
    absolute (relative to the study file's folder, or under the data folder for a
    ``$HPSEARCH_DATA/`` path: :mod:`hpsearch.spec.paths`); ``where`` names it in errors
    (``task``, ``tasks[1]``)."""
    if task.name != LOCAL:
        return task
    files = {}
    for key in ("train_file", "validation_file"):
        text = getattr(task, key)
        if text is None:  # no validation file: train_file is split (task.validation_fraction)
            continue
        try:
            path = resolve_data_path(text, base_dir)
        except ValueError as e:
            raise SpecError(source, f"{where}.{key}", str(e)) from None
        if not path.is_file():
            hint = missing_file_hint(text, base_dir)
            raise SpecError(source, f"{where}.{key}", f"no such file: {path}; {hint}")
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
    model = SECTIONS[section]
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
        if section == BY_KIND:
            continue  # the entries of one kind's trials: _parse_by_kind, once the space is known
        if section not in SEARCHABLE_SECTIONS:
            raise SpecError(
                source,
                key,
                f"only sections {list(SEARCHABLE_SECTIONS)} can be searched, and "
                f"[space.{BY_KIND}.KIND.SECTION] gives one optimizer kind's trials their own",
            )
        if not field:
            raise SpecError(source, key, "expected a table of fields")
        spec_now = spec.model_copy(update={"space": space})
        name = f"{section}.{field}"
        space[name] = _parse_entry(spec_now, name, value, source, key)
    return space


def _calibrated(raw: Any, source: str) -> tuple[Any, tuple[str, ...]]:
    """The ``[space]`` tables without their ``"calibrated"`` entries, and the fields those
    name (``[space.train] lr = "calibrated"``: the range ``hpsearch calibrate`` measures)."""
    if not isinstance(raw, Mapping):
        return raw, ()
    kept: dict[str, Any] = {}
    calibrated = []
    for section, table in raw.items():
        if not isinstance(table, Mapping) or section == BY_KIND:
            kept[section] = table
            continue
        kept[section] = {}
        for field, value in table.items():
            name = f"{section}.{field}"
            if value != CALIBRATED:
                kept[section][field] = value
            elif name in CALIBRATED_FIELDS:
                calibrated.append(name)
            else:
                raise SpecError(
                    source,
                    f"space.{name}",
                    f'only {", ".join(CALIBRATED_FIELDS)} can be "{CALIBRATED}" (the learning '
                    "rate's range, measured by hpsearch calibrate); give a range or choices",
                )
    return kept, tuple(calibrated)


def _parse_by_kind(raw: Any, spec: Spec, source: str) -> tuple[list[ConditionalParam], list[str]]:
    """``[space.by_kind.KIND.SECTION]`` tables: entries for the trials of one optimizer kind,
    each with the key that names it in errors (checked again by
    :func:`with_conditional_ranges`, as entries made in code are)."""
    where = f"space.{BY_KIND}"
    shape = f"expected tables [{where}.KIND.SECTION], such as [{where}.mfac.train]"
    if not isinstance(raw, Mapping):
        raise SpecError(source, where, f"{shape}, got {raw!r}")
    entries, keys = [], []
    for kind, sections in raw.items():
        when = ((KIND, kind),)
        _check_when(spec, "", when, source, f"{where}.{kind}")
        if not isinstance(sections, Mapping):
            raise SpecError(source, f"{where}.{kind}", f"{shape}, got {sections!r}")
        for section, fields in sections.items():
            if section not in SEARCHABLE_SECTIONS:
                raise SpecError(
                    source,
                    f"{where}.{kind}.{section}",
                    f"only sections {list(SEARCHABLE_SECTIONS)} can be searched",
                )
            if not isinstance(fields, Mapping):
                raise SpecError(source, f"{where}.{kind}.{section}", "expected a table of fields")
            for field, value in fields.items():
                key = f"{where}.{kind}.{section}.{field}"
                param = _parse_entry(spec, f"{section}.{field}", value, source, key)
                entries.append(ConditionalParam(f"{section}.{field}", when, param))
                keys.append(key)
    return entries, keys


def with_conditional_ranges(
    spec: Spec,
    entries: Iterable[ConditionalParam],
    *,
    source: str = "",
    keys: Iterable[str] | None = None,
) -> Spec:
    """``spec`` searching each entry's field in the trials that meet its conditions.

    The one way conditional entries join a spec: ``[space.by_kind]`` tables and code (a
    range per kind and ``num_grads``) alike. An entry replaces one of the same field and
    conditions; every condition's field must be searched as choices (not a field that
    applies only sometimes, and not a field with conditional entries of its own), the value
    among them; an optimizer field must be taken by the entry's kind; the range is checked
    as a ``[space]`` entry of its field is; two entries of a field that could both hold for
    one trial need different numbers of conditions (the one with more wins).

    Args:
        spec: a validated spec (its ``space`` set).
        entries: the new entries.
        source: the study file, for errors.
        keys: how errors name each entry (default: :attr:`ConditionalParam.key`).

    Raises:
        SpecError: an entry breaks a rule; the message names the file and the entry's key.

    Example::

        spec = with_conditional_ranges(
            load_spec("studies/quickstart.toml"),
            [
                ConditionalParam(
                    "train.lr",
                    (("optimizer.kind", "mfac"), ("optimizer.num_grads", n)),
                    FloatRange(low, high, log=True),
                )
                for n, (low, high) in {8: (1e-3, 1e-2), 16: (2e-3, 3e-2)}.items()
            ],
        )
    """
    new = list(entries)
    named = list(keys) if keys is not None else [c.key for c in new]
    checked = {c.name: c for c in spec.space_when}
    key_of = {c.name: c.key for c in spec.space_when}
    for entry, key in zip(new, named, strict=True):
        checked[entry.name] = _check_entry(spec, entry, source, key)
        key_of[entry.name] = key
    result = spec.model_copy(update={"space_when": tuple(checked.values())})
    _check_together(result, key_of, source)
    _check_conditions(result, source)
    return result


def _check_entry(spec: Spec, entry: ConditionalParam, source: str, key: str) -> ConditionalParam:
    """One conditional entry, its range parsed again against its field (as a file's is)."""
    section, _, field = entry.field.partition(".")
    if section not in SEARCHABLE_SECTIONS or not field:
        raise SpecError(
            source, key, f"expected section.field of sections {list(SEARCHABLE_SECTIONS)}"
        )
    _check_when(spec, entry.field, entry.when, source, key)
    param = _parse_entry(spec, entry.field, entry.param.to_dict(), source, key)
    return ConditionalParam(entry.field, entry.when, param)


def _check_when(spec: Spec, field: str, when: Condition, source: str, key: str) -> None:
    """The conditions ``when`` of an entry of ``field``: fields every trial searches as
    choices before ``field``, each value among them, and ``field`` taken by the kind."""
    if field == KIND:
        raise SpecError(source, key, f"{KIND} decides the other fields; it has no conditions")
    if not when:
        raise SpecError(source, key, "a conditional entry needs at least one condition")
    deciders = [f for f, _ in when]
    if len(set(deciders)) < len(deciders):
        raise SpecError(source, key, f"a field is named twice in its conditions {deciders}")
    conditional = {c.field for c in spec.space_when} | {field}
    for decider, value in when:
        searched = spec.space.get(decider)
        if not isinstance(searched, Categorical):
            how = "searched as a range" if searched is not None else "not searched"
            if decider == KIND and searched is None:
                how += f" (fixed at {spec.optimizer.kind!r})"
            section, _, name = decider.partition(".")
            raise SpecError(
                source,
                key,
                f"depends on {decider}, which the space must search as choices "
                f"([space.{section}] {name} = {{ choices = [...] }}); it is {how}",
            )
        if decider in APPLIES_WHEN or decider in conditional:
            raise SpecError(
                source,
                key,
                f"depends on {decider}, which only some trials search (or search this way); "
                "a condition must be a field that every trial searches alike",
            )
        if not contains(searched, value):
            raise SpecError(
                source,
                key,
                f"{value!r} is not among space.{decider}'s choices {list(searched.choices)}",
            )
    section, _, name = field.partition(".")
    kind = dict(when).get(KIND)
    if section == "optimizer" and kind is not None:
        takes = get_optimizer(str(kind)).hparams
        if name not in takes:
            raise SpecError(
                source,
                key,
                f"the {kind!r} optimizer does not take {name!r}; it takes {sorted(takes)}",
            )


def _parse_entry(spec: Spec, field: str, raw: Any, source: str, key: str) -> Param:
    """A ``[space]`` entry of ``field``, its values checked as if written in its section."""
    section, name = field.split(".", 1)
    value_type = _field_type(spec, section, name, source, key)
    try:
        param = parse_param(raw, value_type)
    except ValueError as e:
        raise SpecError(source, key, str(e)) from None
    for candidate in candidate_values(param):
        _check_value(spec, section, name, candidate, source, key)
    return param


def _check_together(spec: Spec, key_of: Mapping[str, str], source: str) -> None:
    """What no entry shows alone: a field that decides some entries and has entries of its
    own, and two entries of one field with as many conditions that can both hold for one
    trial (no field of theirs set to two values), which leave its range undecided."""
    entries = spec.space_when
    for entry in entries:
        if entry.field in spec.deciders():
            raise SpecError(
                source,
                key_of[entry.name],
                f"{entry.field} decides other entries, so it must be searched alike in every "
                "trial, without entries of its own",
            )
    for i, a in enumerate(entries):
        for b in entries[:i]:
            if a.field != b.field or len(a.when) != len(b.when) or a.rules_out(dict(b.when)):
                continue
            raise SpecError(
                source,
                key_of[a.name],
                f"a trial can meet both its conditions and those of {key_of[b.name]}, "
                "with as many; add the other's conditions to the one that should win",
            )


def _check_value(spec: Spec, section: str, field: str, value: Any, source: str, key: str) -> None:
    """Validate one value a searched field can take, as if it were written in its section."""
    if section == "optimizer":
        if field == "kind" and value not in list_optimizers():
            raise SpecError(
                source, key, f"unknown optimizer {value!r}; choose from {list_optimizers()}"
            )
        if field != "kind":
            _check_choice(_optimizer_kinds(spec, spec.space), field, value, source, key)
        return
    model = SECTIONS[section]
    try:
        model.model_validate({**getattr(spec, section).model_dump(), field: value})
    except ValidationError as e:
        raise SpecError(source, key, _message(e.errors()[0])) from None


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
        _check_choice(kinds, field, value, source, f"optimizer.{field}")


def _check_choice(kinds: list[str], field: str, value: Any, source: str, key: str) -> None:
    """A hyperparameter that takes one of a few names (``choices`` of the optimizers'
    entries, M-FAC's ``weight_decay_mode``) must be given one of them."""
    names = [n for k in kinds for n in get_optimizer(k).choices.get(field, ())]
    if names and value not in names:
        raise SpecError(source, key, f"must be one of {list(dict.fromkeys(names))}, got {value!r}")


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
        conditional = [c.key for c in spec.space_when if c.field == name]
        if name in spec.space:
            key = f"space.{name}"
        elif conditional:
            key = conditional[0]
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
    for i, trial in enumerate(study.enqueue):
        for name in trial:
            if name not in spec.searched():
                raise SpecError(
                    source,
                    f"study.enqueue[{i}].{name}",
                    f"not a searched parameter; the space has {sorted(spec.searched())}",
                )
        for name, value in trial.items():
            if value == CALIBRATED and name not in spec.calibrated:
                raise SpecError(
                    source,
                    f"study.enqueue[{i}].{name}",
                    f'"{CALIBRATED}" (the best lr of its calibration) only enqueues a field '
                    f'whose space is "{CALIBRATED}"; give a value',
                )
        try:
            # A calibrated field's ranges are known once the study is calibrated: checked then.
            spec.enqueued({k: v for k, v in trial.items() if k not in spec.calibrated})
        except FieldError as e:
            raise SpecError(source, f"study.enqueue[{i}].{e.field}", e.message) from None
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
