"""A package's public names, imported when first used.

Each package's ``__init__`` names its entry points (``from hpsearch.search import
run_study``) without importing the modules behind them, so that ``import hpsearch.search``
(which every ``hpsearch.search.*`` import runs first) stays as light as the module asked
for: the command line starts without torch, optuna or matplotlib until a command needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], list[str]]:
    """A module ``__getattr__`` (PEP 562) for ``package`` and its ``__all__``: each name
    listed in ``modules`` (a module of the package → the public names it defines) is
    imported from that module on first use.

    Example::

        __getattr__, __all__ = lazy_exports(__name__, {"study": ("run_study",)})
    """
    for module, names in modules.items():
        if isinstance(names, str):  # ("name") is a string, not a tuple: each letter a name
            raise TypeError(f"the names of {package}.{module} must be a sequence, got {names!r}")
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__, sorted(where)
