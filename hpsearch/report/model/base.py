"""What every part of the report data shares: ``to_dict()``, reading JSON back, the summary
of a metric over seeds, a statistical test's result, and a re-run config."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from optuna.distributions import CategoricalChoiceType

from hpsearch.search.runs import SeedRun

Role = Literal["study", "baseline"]
ParamValue = CategoricalChoiceType  # what Optuna stores as a param's value: None, bool, ...
Params = dict[str, ParamValue]


class Data:
    """``to_dict()`` for the report's dataclasses: nested dataclasses become dicts too."""

    def to_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Summary(Data):
    """One metric over N runs (seeds) of one config."""

    n: int
    mean: float
    std: float | None  # sample standard deviation (ddof=1); None for a single run
    best: float  # best-of-N: the max, or the min for a minimized metric (loss)
    worst: float


@dataclass(frozen=True)
class StatTest(Data):
    """A two-sided test's statistic and p-value; None where the test is undefined (too few
    values, no variance) and, for ``p_holm``, where there was nothing to adjust for."""

    statistic: float | None
    p: float | None
    p_holm: float | None = None  # Holm-adjusted over the arms compared with one baseline


@dataclass(frozen=True)
class ConfigResult(Data):
    """One re-run config: a trial of an arm's study, with its runs over the seeds."""

    arm: str  # the arm it belongs to (AdamW, M-FAC, or a study's name)
    role: Role  # "baseline" for the baseline arm's configs
    study: str
    metric: str  # the objective of its study
    optimizer: str  # optimizer kind of the trial's resolved spec
    trial: int  # number of the trial in the search
    params: Params  # the trial's searched params
    search_value: float | None  # the trial's value in the search
    reseed_study: str  # the companion study that holds the re-runs
    seeds: tuple[int, ...]
    runs: tuple[SeedRun, ...]  # in seed order
    summary: dict[str, Summary]  # per metric, over the runs
    best_run: SeedRun  # the run with the best objective


T = TypeVar("T")


def check_version(data: Mapping[str, Any], readable: tuple[int, ...], file: str) -> None:
    """Raise ValueError unless ``data["version"]`` is one of ``readable``."""
    version = data.get("version")
    if version not in readable:
        raise ValueError(f"{file} `version` must be one of {readable}, but got {version!r}")


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """A dataclass ``cls`` from plain data, converting each field by its type hint.

    The inverse of ``to_dict()`` followed by JSON: lists become the tuples the hints ask for,
    nested dicts become dataclasses, and null becomes NaN where the hint is a plain float
    (the JSON files write NaN, a diverged run, as null). A key the data lacks takes the
    field's default (a field added since the file was written).
    """
    hints = typing.get_type_hints(cls)
    assert dataclasses.is_dataclass(cls)
    values = {
        f.name: _decode(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)
        if f.name in data or f.default is dataclasses.MISSING
    }
    return cls(**values)


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return math.nan if hint is float else None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in args if a is not type(None)]
        # One arm (X | None) is decoded as X; a union of plain values is taken as it is.
        return _decode(arms[0], value) if len(arms) == 1 else value
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if origin is dict:
        return {k: _decode(args[1], v) for k, v in value.items()}
    return value
