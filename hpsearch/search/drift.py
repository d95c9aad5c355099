"""Spec drift: what changed between the settings a study's trials ran with and its study
file now, and the spec each trial ran under.

A study is created with its resolved spec (the study attr ``spec``). Run again after an
edit of the study file (``train.epochs``, ``task.max_train_samples``, ...), its new trials
would be ranked with the old ones under one "best" although they cannot be compared, so
:func:`check_drift` refuses, naming every field that differs, unless the user allows it
(``--allow-drift``). Every trial records the fingerprint of the fixed settings it ran under
(the trial attr ``spec_id``; the settings themselves are the study attr ``spec:<id>``), so
:func:`spec_of_trial` gives any trial's own spec: a re-run of a config (``report``) uses
the settings the config ran with, never the file's newer ones. A kind's own ranges
(``[space.by_kind]``) count among the settings: trials searched in another kind range are
another experiment; a study file without them keeps the fingerprint it always had.

An edit of the space is checked too (:func:`space_conflicts`): Optuna keeps one
distribution per parameter name in a study, and a range made linear, or a choice added,
would fail every trial it asks for.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    check_distribution_compatibility,
)
from optuna.trial import FrozenTrial

from hpsearch.errors import HpsearchError
from hpsearch.optim import OPTIMIZERS
from hpsearch.search.record import NO_COST, read_record
from hpsearch.spec.schema import (
    CONDITIONAL_SPACE,
    MULTITASK_ONLY,
    SECTIONS,
    TASKS_ARRAY,
    Spec,
    TaskEntry,
)
from hpsearch.spec.space import field_of, space_key
from hpsearch.wording import plural

log = logging.getLogger(__name__)

SPEC_ATTR = "spec"  # study attr: the resolved spec the study was created with
# The settings that make trials comparable: what a trial trains on, and how. The study
# section's other fields (budget, sampler, pruner, storage) change how a study searches,
# not what a trial measures; its metric is compared on its own.
TRIAL_SECTIONS = ("task", "model", "train", "finetune", "optimizer", *MULTITASK_ONLY)
# Also stored with a trial's settings where the spec has them: the entries of some trials
# only (a kind's own lr range), so that a changed range is drift. A spec without any
# stores, and fingerprints, the same settings as before they existed.
SETTINGS_KEYS = (*TRIAL_SECTIONS, TASKS_ARRAY, CONDITIONAL_SPACE)


class SpecDriftError(HpsearchError):
    """The study file's fixed settings or space differ from those its trials ran with."""


@dataclass(frozen=True)
class Change:
    """One fixed setting that differs: its dotted name, and its value then and now."""

    field: str
    stored: Any
    now: Any

    def __str__(self) -> str:
        return f"{self.field} was {_shown(self.stored)}, now {_shown(self.now)}"


def trial_settings(spec: Spec) -> dict[str, Any]:
    """What a trial of ``spec`` trains with, as plain JSON-able data: the trial sections
    (``tasks`` for a multitask study), the conditional entries (where it has any) and the
    study's metric."""
    resolved = spec.to_dict()
    settings = {name: resolved[name] for name in SETTINGS_KEYS if name in resolved}
    settings["metric"] = spec.metric
    return json.loads(json.dumps(settings))  # as stored: tuples become lists


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A short, stable name for a set of trial settings (the same settings, the same name)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def settings_attr(spec_id: str) -> str:
    """The study attr that holds the settings whose fingerprint is ``spec_id``."""
    return f"{SPEC_ATTR}:{spec_id}"


def fixed_changes(stored: Mapping[str, Any], spec: Spec) -> list[Change]:
    """The fixed settings of ``spec`` that differ from the stored spec's, in file order.

    Fields searched in either space are left out: a trial's params set them, and a field
    fixed now (or before) at one value is a point of the space that searches it. The
    entries of some trials only (``[space.by_kind]``) are compared as settings, by their
    keys. A stored spec of a multitask study compares its tasks by key.
    """
    stored_space = [*stored.get("space", {}), *stored.get(CONDITIONAL_SPACE, {})]
    searched = {field_of(n) for n in stored_space} | set(spec.searched())
    old = _flatten(_settings_of(stored))
    new = _flatten(trial_settings(spec))
    changes = []
    for name in dict.fromkeys([*old, *new]):
        if name in searched or old.get(name) == new.get(name):
            continue
        default = _default(name, new.get("optimizer.kind"))
        if old.get(name, default) == new.get(name, default):
            # Unset on one side, its default on the other: a field added to hpsearch since
            # (its default is how trials ran), or an optimizer hyperparameter written down.
            continue
        changes.append(Change(name, old.get(name), new.get(name)))
    return changes


def _default(name: str, kind: Any) -> Any:
    """The default of ``section.field``: the schema's, or for a hyperparameter of optimizer
    ``kind`` (a study file stores only those it sets) the registry's; where ``kind`` does not
    take it, that of the optimizers that do, if they agree. A marker that equals nothing if
    none."""
    section, _, field = name.partition(".")
    if section == "optimizer" and field != "kind":
        takers = OPTIMIZERS.takers(field)
        takers = [e for e in takers if e.name == kind] or takers
        defaults = {repr(e.options[field]): e.options[field] for e in takers}
        return next(iter(defaults.values())) if len(defaults) == 1 else object()
    model = SECTIONS.get(section)
    info = model.model_fields.get(field) if model is not None else None
    return info.default if info is not None else object()


def _settings_of(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The trial settings in a stored spec (``Spec.to_dict``) or settings attr."""
    settings = {k: stored[k] for k in SETTINGS_KEYS if k in stored}
    settings["metric"] = stored.get("metric", stored.get("study", {}).get("metric"))
    return settings


def _flatten(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``{"train.epochs": 1, "tasks.sst.max_train_samples": 500, "metric": "f1", ...}``."""
    flat: dict[str, Any] = {}
    for section, body in settings.items():
        if section == TASKS_ARRAY:
            for task in body:
                for key, value in task.items():
                    flat[f"{TASKS_ARRAY}.{task.get('key')}.{key}"] = value
        elif section == CONDITIONAL_SPACE:  # by parameter name: as the study file names it
            flat.update({space_key(name): entry for name, entry in body.items()})
        elif isinstance(body, Mapping):
            for key, value in body.items():
                flat[f"{section}.{key}"] = value
        else:
            flat[section] = body
    return flat


def _shown(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)


def check_drift(
    study: optuna.Study, spec: Spec, *, allow_drift: bool = False, source: str = ""
) -> list[Change]:
    """Refuse to add trials to ``study`` under settings other than its own.

    Raises:
        SpecDriftError: the fixed settings differ (unless ``allow_drift``), or the space
            asks for a parameter in a way that Optuna cannot mix with the stored trials'.

    Returns:
        The fixed settings that differ (allowed): the new trials record their own.
    """
    where = f"{source}: " if source else ""
    conflicts = space_conflicts(study, spec)
    if conflicts:
        raise SpecDriftError(
            f"{where}study {spec.study.name!r}: {conflicts[0]}; Optuna keeps one distribution "
            "per parameter in a study, so give the new space a new study.name (or restore "
            "the old one); --allow-drift cannot mix them"
        )
    stored = study.user_attrs.get(SPEC_ATTR)
    if not isinstance(stored, Mapping):
        return []  # a study from before hpsearch saved its spec, or one still being created
    changes = resolved_precision(fixed_changes(stored, spec), study.get_trials(deepcopy=False))
    if not changes:
        return []
    listed = "; ".join(str(c) for c in changes)
    if not allow_drift:
        n = len(study.get_trials(deepcopy=False))
        raise SpecDriftError(
            f"{where}study {spec.study.name!r}: "
            f"{_drift_cause(changes, spec.overrides, plural(n, 'trial'))}, "
            "and new trials could not be compared with them: "
            f"{_drift_remedy(changes, spec.overrides)}, or pass --allow-drift to add trials "
            "anyway (each records the settings it ran under)"
        )
    log.warning(
        "study %r: adding trials under settings that differ from the study's (%s): "
        "--allow-drift; each trial records its own settings",
        spec.study.name,
        listed,
    )
    return changes


def set_by(change: Change, overrides: Sequence[str]) -> str | None:
    """The ``--set`` override that gave ``change`` its value now (the last one of its key
    wins); None when the study file did."""
    for item in reversed(overrides):
        key = item.partition("=")[0].strip()
        name = "metric" if key == "study.metric" else key  # the metric is stored on its own
        # A field, a field within it (--set task.label_map.3=1), or a table holding it.
        if f"{change.field}.".startswith(f"{name}.") or name.startswith(f"{change.field}."):
            return item
    return None


def _drift_cause(changes: Sequence[Change], overrides: Sequence[str], trials: str) -> str:
    """What made the settings differ, and how: the study file, ``--set`` overrides, or both."""
    by_file = "; ".join(str(c) for c in changes if set_by(c, overrides) is None)
    by_set = "; ".join(str(c) for c in changes if set_by(c, overrides) is not None)
    items = [set_by(c, overrides) for c in changes]
    sets = list(dict.fromkeys(f"--set {item}" for item in items if item is not None))
    differ = f"differ from those its {trials} ran with"
    if not by_set:
        return f"the study file's fixed settings {differ} ({by_file})"
    one = len(sets) == 1
    if not by_file:
        return f"{', '.join(sets)} make{'s' if one else ''} the fixed settings {differ} ({by_set})"
    return (
        f"the study file's fixed settings {differ} ({by_file}), and {', '.join(sets)} "
        f"change{'s' if one else ''} more ({by_set})"
    )


def _drift_remedy(changes: Sequence[Change], overrides: Sequence[str]) -> str:
    """How to run anyway without mixing the trials, by what made the settings differ."""
    by_set = any(set_by(c, overrides) is not None for c in changes)
    by_file = any(set_by(c, overrides) is None for c in changes)
    if not by_set:
        return "give the study a new study.name, put the settings back"
    if not by_file:
        return "give them a study of their own (--set study.name=NEW_NAME), drop the --set"
    return (
        "give the study a new study.name (or --set study.name=NEW_NAME), put the file's "
        "settings back and drop the --set"
    )


def record_settings(study: optuna.Study, spec: Spec) -> str:
    """Store the trial settings of ``spec`` with ``study`` (once) and return their id,
    for each trial run under them to record (``spec_id`` of
    :class:`~hpsearch.search.record.TrialRecord`)."""
    settings = trial_settings(spec)
    spec_id = fingerprint(settings)
    if settings_attr(spec_id) not in study.user_attrs:
        # Workers that start together may both write it: the same value, so no race.
        study.set_user_attr(settings_attr(spec_id), settings)
    return spec_id


def spec_of_trial(spec: Spec, study: optuna.Study, trial: FrozenTrial) -> Spec:
    """The spec that ``trial`` of ``study`` ran under: ``spec`` (the study file now) with
    the trial sections and metric it recorded. For re-running a trial's config (``report``
    over seeds): its own settings, not the study file's newer ones.

    A trial from before hpsearch recorded settings gets the study's creation spec; a study
    from before hpsearch saved a spec gets ``spec`` itself.
    """
    spec_id = read_record(trial).spec_id
    stored = study.user_attrs.get(settings_attr(spec_id)) if spec_id else None
    if stored is None:
        stored = study.user_attrs.get(SPEC_ATTR)
    if not isinstance(stored, Mapping):
        return spec
    return with_settings(spec, _settings_of(stored))


def with_settings(spec: Spec, settings: Mapping[str, Any]) -> Spec:
    """``spec`` with the trial sections (and metric) of stored ``settings``."""
    updates: dict[str, Any] = {}
    for name in TRIAL_SECTIONS:
        if name in settings:
            updates[name] = SECTIONS[name].model_validate(settings[name])
    if TASKS_ARRAY in settings:
        updates[TASKS_ARRAY] = tuple(TaskEntry.model_validate(t) for t in settings[TASKS_ARRAY])
    if settings.get("metric"):
        updates["study"] = spec.study.model_copy(update={"metric": settings["metric"]})
    return spec.model_copy(update=updates)


PRECISION = "train.precision"
AUTO = "auto"  # the precision that resolves by machine (hpsearch.train.trainer)


def resolved_precision(changes: Sequence[Change], trials: Sequence[FrozenTrial]) -> list[Change]:
    """``changes`` without ``train.precision`` from ``"auto"`` to the precision that "auto"
    resolved to for every one of ``trials`` that recorded one (the trial attr
    ``precision``): a study file that writes down what its trials ran as is not drift."""
    recorded = {(read_record(t).cost or NO_COST).precision for t in trials} - {None}
    return [
        c
        for c in changes
        if not (c.field == PRECISION and c.stored == AUTO and recorded == {c.now})
    ]


def ran_with(study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
    """The stored settings ``trial`` of ``study`` ran under, as :func:`fixed_changes` reads
    them: its own (``spec_id``), else the study's creation spec; with ``space`` the fields
    the study searched (its creation spec's space and the trial's params). None where
    neither was stored (a study from before hpsearch saved its spec)."""
    attrs = study.user_attrs
    created = attrs.get(SPEC_ATTR)
    spec_id = read_record(trial).spec_id
    stored = attrs.get(settings_attr(spec_id)) if spec_id else None
    if not isinstance(stored, Mapping):
        stored = created
    if not isinstance(stored, Mapping):
        return None
    space = dict.fromkeys(created.get("space", {}) if isinstance(created, Mapping) else {})
    space.update(dict.fromkeys(field_of(name) for name in trial.params))
    return {**_settings_of(stored), "space": space}


def trial_changes(spec: Spec, study: optuna.Study, trial: FrozenTrial) -> list[Change]:
    """The fixed settings of ``spec`` (a study file now, ``--set`` applied) that differ from
    those ``trial`` of ``study`` ran under (:func:`ran_with`); none where those are unknown.
    Each :class:`Change` reads "was (the trial's), now (the file's)"; a precision written
    down since is left to :func:`resolved_precision`, over the trials that recorded theirs."""
    stored = ran_with(study, trial)
    return [] if stored is None else fixed_changes(stored, spec)


def space_conflicts(study: optuna.Study, spec: Spec) -> list[str]:
    """For each searched parameter that the stored trials sampled from a distribution
    Optuna cannot mix with the space's now, a line that names it and says how it changed."""
    wanted = {name: param.distribution() for name, param in spec.entries().items()}
    conflicts: dict[str, str] = {}
    for trial in study.get_trials(deepcopy=False):
        for name, old in trial.distributions.items():
            new = wanted.get(name)
            if new is None or name in conflicts:
                continue
            try:
                check_distribution_compatibility(old, new)
            except ValueError:
                conflicts[name] = (
                    f"{space_key(name)} was searched as {describe(old)} by trial {trial.number}, "
                    f"and the study file now searches it as {describe(new)}"
                )
    return list(conflicts.values())


def describe(distribution: BaseDistribution) -> str:
    """A distribution as a study file's space would say it."""
    if isinstance(distribution, CategoricalDistribution):
        return f"choices {_list(distribution.choices)}"
    if isinstance(distribution, (FloatDistribution, IntDistribution)):
        kind = "float" if isinstance(distribution, FloatDistribution) else "int"
        scale = "log" if distribution.log else "linear"
        return f"a {scale} {kind} range [{distribution.low:g}, {distribution.high:g}]"
    return type(distribution).__name__


def _list(values: Sequence[Any]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"
