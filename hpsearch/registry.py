"""Registries: every extensible choice of a study (optimizer, pruner, sampler, schedule).

Each choice is a frozen entry (name, display label, one-line description, options with their
defaults, a factory) in a :class:`Registry`, the one place that knows its names. Spec
validation, the trainer, the study and the command line all read the same registry, so
adding a choice is one entry in one file: :mod:`hpsearch.optim.registry` (optimizers),
:mod:`hpsearch.pruners` (pruners and samplers), :mod:`hpsearch.schedules` (lr schedules).

Below the registries (and :mod:`hpsearch.spec`, which validates study files against them),
above only the leaves :mod:`hpsearch.errors` and :mod:`hpsearch.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from hpsearch.errors import HpsearchError


class Entry(Protocol):
    """What every registry entry has (and ``hpsearch <registry>`` lists)."""

    @property
    def name(self) -> str: ...  # lower-case name used in study files

    @property
    def label(self) -> str: ...  # how the name reads in reports ("M-FAC")

    @property
    def description(self) -> str: ...  # one line for listings and error messages

    @property
    def options(self) -> Mapping[str, Any]: ...  # option -> default; the default's type rules


E = TypeVar("E", bound=Entry)
T = TypeVar("T")


@dataclass(frozen=True)
class Choice(Generic[T]):
    """An entry whose factory takes its options (a pruner, a sampler, a schedule).

    Args:
        name: Lower-case name used in study files.
        label: How the name reads in reports and help.
        description: One line for listings.
        factory: ``factory(*args, **options) -> T``; ``args`` are what the caller knows
            (a schedule's total steps, a sampler's seed), ``options`` what the study file sets.
        options: The options the factory takes, with their defaults. They are spec fields
            (``study.pruner.percentile``, ``train.cut_frac``): setting one that the chosen
            entry does not list is an error in a study file.
    """

    name: str
    label: str
    description: str
    factory: Callable[..., T]
    options: Mapping[str, Any] = field(default_factory=dict)

    def create(self, *args: Any, **options: Any) -> T:
        """The factory's product; options not given take their defaults, unknown ones are
        an error."""
        return self.factory(*args, **resolve_options(repr(self.name), self.options, options))


class Registry(Mapping[str, E], Generic[E]):
    """The entries of one choice by name, in the order given (the order listings show).

    Args:
        kind: What an entry is, for messages: ``"optimizer"``, ``"pruner"``.
        entries: The entries; two with one name are a programming error.

    Example::

        >>> from hpsearch.optim import OPTIMIZERS
        >>> OPTIMIZERS.entry("mfac").label, OPTIMIZERS.entry("mfac").options["num_grads"]
        ('M-FAC', 1024)
    """

    def __init__(self, kind: str, entries: Iterable[E]) -> None:
        self.kind = kind
        self._entries: dict[str, E] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise ValueError(f"two {kind}s are called {entry.name!r}")
            self._entries[entry.name] = entry

    def __getitem__(self, name: str) -> E:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        """Every name, sorted."""
        return sorted(self._entries)

    def entry(self, name: str) -> E:
        """The entry called ``name``; an unknown name lists the valid ones."""
        try:
            return self._entries[name]
        except KeyError:
            raise HpsearchError(self.unknown(name)) from None

    def unknown(self, name: str) -> str:
        """The message for a name that is not registered."""
        return f"unknown {self.kind} {name!r}; choose one of {self.names()}"

    def option_names(self) -> list[str]:
        """Every option some entry takes, in the order the entries list them."""
        return list(dict.fromkeys(o for e in self._entries.values() for o in e.options))

    def takers(self, option: str) -> list[E]:
        """The entries that take ``option``."""
        return [e for e in self._entries.values() if option in e.options]

    def default(self, option: str) -> Any:
        """The default of ``option``, for a registry whose options are spec fields.

        One field holds the option for every entry that takes it, so they must agree on
        its default (optimizers need not: their hyperparameters are no spec fields).
        """
        defaults = {repr(e.options[option]): e.options[option] for e in self.takers(option)}
        if len(defaults) != 1:
            raise ValueError(
                f"{self.kind}s must give option {option!r} exactly one default, "
                f"but got {list(defaults)}"
            )
        return next(iter(defaults.values()))


def resolve_options(
    what: str, defaults: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """``given`` over ``defaults``; an option that is not among the defaults is an error.

    Nothing is silently ignored: an option the entry would drop is a mistake upstream.
    ``what`` names the entry in the message (``"optimizer 'sgd'"``).
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise HpsearchError(f"{what} does not take {unknown}; it takes {sorted(defaults)}")
    return {**defaults, **given}
