"""Each package's ``__init__`` exports its entry points lazily (hpsearch/exports.py): every
name it lists imports, and a module's names given as a bare string are refused."""

from __future__ import annotations

import importlib

import pytest

from hpsearch.exports import lazy_exports

PACKAGES = (
    "spec",
    "data",
    "train",
    "search",
    "search.calibration",
    "compare",
    "compare.suite",
    "report",
)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_imports(package):
    module = importlib.import_module(f"hpsearch.{package}")
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_names_as_a_bare_string_are_refused():
    # ("run_study") is the string "run_study": its letters would become the exports.
    with pytest.raises(TypeError, match="must be a sequence"):
        lazy_exports("hpsearch.x", {"study": "run_study"})
