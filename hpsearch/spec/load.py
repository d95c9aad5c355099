"""Reading a study file: TOML, ``--set`` overrides, then validation (:mod:`.validate`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomllib

from hpsearch.errors import SpecError
from hpsearch.optim import get_optimizer, list_optimizers
from hpsearch.spec.schema import APPLIES_WHEN, Spec
from hpsearch.spec.space import (
    BY_KIND,
    KIND,
    SEARCHABLE_SECTIONS,
)
from hpsearch.spec.validate import parse_spec


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> Spec:
    """Read, override (``--set key=value``) and validate a study file."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(source, "", "no such study file") from None
    except UnicodeDecodeError as e:
        raise SpecError(
            source,
            "",
            f"a study file is UTF-8 text (TOML), but byte {e.object[e.start]:#04x} at offset "
            f"{e.start} is not; is this the study's .toml file?",
        ) from None
    except OSError as e:
        raise SpecError(source, "", f"cannot read the study file: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(source, "", f"not valid TOML: {e}") from None
    overrides = tuple(overrides)
    for item in overrides:
        apply_override(raw, item)
    spec = parse_spec(raw, source=source, base_dir=path.resolve().parent)
    return spec.model_copy(update={"overrides": overrides})


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
    not take, so ``--set optimizer.kind=adamw`` narrows a study that compares optimizers,
    and makes that kind's own entries (``[space.by_kind.adamw]``) the space's, dropping the
    other kinds'; likewise fixing a field of ``APPLIES_WHEN`` drops the searched fields it
    rules out. A fixed field leaves every kind's entries too.
    """
    space = raw.get("space", {})
    if not isinstance(space, dict):
        return  # not a table: validation says so
    dropped = {f"{section}.{field}"}
    _pop(space, section, field)
    if (section, field) == ("optimizer", "kind") and value in list_optimizers():
        _fix_kind(raw, space, value)
        takes = get_optimizer(value).hparams
        for name in [n for n in space.get("optimizer", {}) if n not in takes]:
            space["optimizer"].pop(name)
            dropped.add(f"optimizer.{name}")
    # Fixing a field such as train.schedule drops the searched fields it excludes (cut_frac).
    for name, (decider, allowed) in APPLIES_WHEN.items():
        if decider == f"{section}.{field}" and value not in allowed:
            dep_section, dep_field = name.split(".", 1)
            if _pop(space, dep_section, dep_field):
                dropped.add(name)
    for trial in raw.get("study", {}).get("enqueue", []):
        for name in dropped & set(trial):
            del trial[name]


def _fix_kind(raw: dict[str, Any], space: dict[str, Any], kind: str) -> None:
    """``optimizer.kind`` fixed at ``kind``: its own entries become the space's and the other
    kinds' go. An enqueued trial of another kind loses its values of the fields that either
    kind searches in its own range: they were chosen for another range than the one now
    searched."""
    by_kind = space.pop(BY_KIND, {})
    if not isinstance(by_kind, dict):
        return  # not a table: validation would have said so, and nothing depends on it
    own = by_kind.get(kind, {})
    for section, entries in own.items() if isinstance(own, dict) else ():
        if isinstance(entries, dict) and isinstance(space.setdefault(section, {}), dict):
            space[section].update(entries)

    def fields(of: Any) -> set[str]:
        tables = of.items() if isinstance(of, dict) else ()
        return {f"{s}.{f}" for s, t in tables if isinstance(t, dict) for f in t}

    for trial in raw.get("study", {}).get("enqueue", []):
        other = trial.get(KIND, kind)
        if other != kind:
            for name in (fields(by_kind.get(other)) | fields(own)) & set(trial):
                del trial[name]


def _pop(space: dict[str, Any], section: str, field: str) -> bool:
    """Take ``section.field`` out of the space: its shared entry and every kind's own
    (``[space.by_kind.KIND.SECTION]``); whether there was one."""
    tables = [space.get(section)]
    by_kind = space.get(BY_KIND)
    if isinstance(by_kind, dict):
        tables += [k.get(section) for k in by_kind.values() if isinstance(k, dict)]
    found = False
    for table in tables:
        if isinstance(table, dict) and table.pop(field, None) is not None:
            found = True
    return found
