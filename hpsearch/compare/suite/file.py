"""A suite file: TOML → a frozen, validated :class:`Suite`. Nothing is opened or run here.

A suite lists workloads, each a set of arm study files (the first is the baseline) or one
study whose space searches ``optimizer.kind``, and one storage that every arm's study runs
in::

    [suite]
    name = "cards-offline"                       # names the results folder
    storage = "journal:///suite/journal.log"     # relative to the suite file's folder
    seeds = 10                                   # paired seeds per config (compare --seeds)
    top = 1                                      # configs re-run per arm (compare --top)
    budget_by = "trials"                         # trials | seconds | steps
    # top_up = true                              # seconds, steps: cheaper arms run more trials
    tau_max = 4.0                                # the profiles' and the score's upper τ

    [[workloads]]
    name = "quora-tiny"
    arms = ["suite/quora-tiny-adamw.toml", "suite/quora-tiny-mfac.toml"]
    # or: study = "suite/x.toml"
    # target = 0.6                               # time-to-target's target (compare --target)

Errors are :class:`~hpsearch.errors.SpecError` lines, as a study file's are: the rule, then
the value, naming the suite file and the key (``workloads[1].arms[0]``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hpsearch.errors import SpecError
from hpsearch.spec.schema import FieldError
from hpsearch.spec.validate import spec_error

BudgetBy = Literal["trials", "seconds", "steps"]
SUITE = "suite"  # the table that makes a TOML file a suite file
WORKLOADS = "workloads"
# Storages whose URL names a file: a relative one is taken from the suite file's folder.
FILE_SCHEMES = ("journal:", "sqlite:")
# A workload's name names its results folder; no dot, so it never takes a summary file's name.
_FOLDER_NAME = re.compile(r"\w[\w\-]*")


class _Table(BaseModel):
    # As a study file's sections: unknown keys are errors, "10" is not 10.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SuiteTable(_Table):
    """``[suite]``."""

    name: str = Field(min_length=1)  # names the results folder: results/<name>/
    storage: str | None = None  # Optuna storage URL; default journal:///<name>.log beside it
    seeds: int = Field(5, ge=1)  # paired seeds per re-run config, as compare's --seeds
    top: int = Field(1, ge=1)  # configs re-run per arm, as compare's --top
    budget_by: BudgetBy = "trials"  # the axis of equal budgets, as compare's --budget-by
    tau_max: float = Field(4.0, gt=1)  # AlgoPerf's r_max: the profiles' and score's upper τ
    # On a compute axis, an arm whose trials spent less than the costliest arm's runs more
    # (hpsearch.compare.top_up); None: on whenever budget_by is seconds or steps.
    top_up: bool | None = None

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        return _check_folder_name(name)

    @model_validator(mode="after")
    def _top_up_on_a_compute_axis(self) -> SuiteTable:
        if self.top_up and self.budget_by == "trials":
            raise FieldError(
                "top_up",
                'tops up compute, so it needs budget_by = "seconds" or "steps"; on the '
                "trials axis every arm already runs its study.n_trials, but got top_up = true "
                'with budget_by = "trials"',
            )
        return self


class WorkloadTable(_Table):
    """A ``[[workloads]]`` entry."""

    name: str = Field(min_length=1)  # names its results folder: results/<suite>/<name>/
    arms: list[str] | None = Field(None, min_length=2)  # study files; the first the baseline
    study: str | None = None  # one study file whose space searches optimizer.kind
    target: float | None = None  # time-to-target's target; default: compare's

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        return _check_folder_name(name)

    @field_validator("target")
    @classmethod
    def _finite(cls, target: float | None) -> float | None:
        if target is not None and not math.isfinite(target):
            raise ValueError(f"must be a finite number, but got {target}")
        return target

    @model_validator(mode="after")
    def _arms_or_study(self) -> WorkloadTable:
        if (self.arms is None) == (self.study is None):
            raise FieldError(
                "arms",
                "give `arms` (two study files or more, the first the baseline) or `study` "
                "(one study file whose space searches optimizer.kind), not "
                + ("both" if self.arms is not None else "neither"),
            )
        return self


def _check_folder_name(name: str) -> str:
    if not _FOLDER_NAME.fullmatch(name):
        raise ValueError(
            "names a results folder: letters, digits, `_` and `-`, starting with a letter, "
            f"digit or `_`; got {name!r}"
        )
    return name


@dataclass(frozen=True)
class Workload:
    """A workload: its arms' study files (absolute), the baseline's first."""

    name: str
    files: tuple[Path, ...]  # the arms' study files, or the one study searching the kind
    by_kind: bool  # one study whose space searches optimizer.kind: an arm per kind
    target: float | None  # time-to-target's target; None: compare's default
    key: str  # where it is in the suite file: "workloads[0]"


@dataclass(frozen=True)
class Suite:
    """A validated suite file."""

    file: Path  # the suite file, absolute
    name: str
    storage: str  # the storage URL every arm's study runs in, a file's path made absolute
    seeds: int
    top: int
    budget_by: BudgetBy
    tau_max: float
    workloads: tuple[Workload, ...]
    # Whether the cheaper arms run more trials, until they spent the costliest arm's compute
    top_up: bool = False

    @property
    def folder(self) -> Path:
        """Where the results go: ``results/<name>/`` beside the suite file."""
        return self.file.parent / "results" / self.name

    def workload_folder(self, workload: Workload) -> Path:
        return self.folder / workload.name


def is_suite_file(path: Path) -> bool:
    """Whether ``path`` is a TOML file with a ``[suite]`` table; False for anything that
    cannot be read as TOML (a study file's own errors then say what is wrong)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return SUITE in raw


def load_suite(path: Path) -> Suite:
    """Read and validate a suite file; its study files must exist (they are read later).

    Raises:
        SpecError: one line naming the suite file and the key.
    """
    path = path.resolve()
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(source, "", "no such suite file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(source, "", f"cannot read the suite file: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(source, "", f"not valid TOML: {e}") from None
    return parse_suite(raw, path)


def parse_suite(raw: Mapping[str, Any], path: Path) -> Suite:
    """Validate a suite file's data; ``path`` (absolute) names it and anchors its paths."""
    source = str(path)
    unknown = sorted(set(raw) - {SUITE, WORKLOADS})
    if unknown:
        raise SpecError(
            source, unknown[0], f"unknown section; a suite file has [{SUITE}] and [[{WORKLOADS}]]"
        )
    if SUITE not in raw:
        raise SpecError(source, SUITE, "missing section; it needs at least `name`")
    suite = _validated(SuiteTable, raw[SUITE], source, SUITE)
    entries = raw.get(WORKLOADS)
    if not isinstance(entries, list) or not entries:
        raise SpecError(
            source,
            WORKLOADS,
            f"a suite needs at least one [[{WORKLOADS}]] entry (a name and its arms), "
            f"but got {entries!r}",
        )
    workloads = [
        _workload(_validated(WorkloadTable, entry, source, f"{WORKLOADS}[{i}]"), i, path)
        for i, entry in enumerate(entries)
    ]
    seen: dict[str, str] = {}
    for w in workloads:
        if w.name in seen:
            raise SpecError(
                source,
                f"{w.key}.name",
                f"{w.name!r} is also the name of {seen[w.name]}; each workload needs its own "
                "(it names the workload's results folder)",
            )
        seen[w.name] = w.key
    storage = suite.storage or f"journal:///{suite.name}.log"
    return Suite(
        file=path,
        name=suite.name,
        storage=_storage(storage, path, source),
        seeds=suite.seeds,
        top=suite.top,
        budget_by=suite.budget_by,
        tau_max=suite.tau_max,
        workloads=tuple(workloads),
        top_up=suite.budget_by != "trials" if suite.top_up is None else suite.top_up,
    )


def _validated(model: type[_Table], raw: Any, source: str, key: str) -> Any:
    if not isinstance(raw, Mapping):
        raise SpecError(source, key, f"must be a table, but got {raw!r}")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise spec_error(source, key, model, e) from None


def _workload(table: WorkloadTable, i: int, path: Path) -> Workload:
    key = f"{WORKLOADS}[{i}]"
    names = table.arms if table.arms is not None else [table.study]
    where = "arms" if table.arms is not None else "study"
    files = []
    for k, name in enumerate(names):
        at = f"{key}.{where}[{k}]" if table.arms is not None else f"{key}.study"
        assert name is not None  # the validator asked for one of the two
        file = (path.parent / name).resolve()
        if not file.is_file():
            raise SpecError(
                str(path),
                at,
                f"no such study file: {file} (a path is relative to the suite file's folder)",
            )
        if file in files:
            raise SpecError(
                str(path), at, f"{name!r} is already an arm of this workload; give each once"
            )
        files.append(file)
    return Workload(table.name, tuple(files), table.arms is None, table.target, key)


def _storage(url: str, path: Path, source: str) -> str:
    """``url`` with a journal or SQLite file's relative path taken from the suite file's
    folder (``journal:///x.log`` → ``journal:////abs/x.log``); another URL as it is."""
    if "://" not in url:
        raise SpecError(
            source,
            f"{SUITE}.storage",
            "must be an Optuna storage URL (journal:///suite.log, sqlite:///suite.db, "
            f"postgresql://user@host/db), but got {url!r}",
        )
    scheme = next((s for s in FILE_SCHEMES if url.startswith(s + "///")), None)
    if scheme is None:
        return url
    rest = url.removeprefix(scheme + "///")
    # An absolute path (four slashes), SQLite's in-memory or URI forms, or a query: as given.
    if not rest or rest.startswith(("/", ":memory:", "file:")) or "?" in rest:
        return url
    return f"{scheme}///{(path.parent / rest).resolve()}"
