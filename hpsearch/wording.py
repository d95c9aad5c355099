"""How counts and paths read in messages, titles and notes: ``1 pair``, ``3 pairs``,
``docs/x.toml``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is 1 (``many``, or the noun
    and an s).

    In "k of N" and "k/N" the noun counts N: ``f"{k} of {plural(n, 'trial')}"``.

    >>> plural(1, "pair"), plural(3, "pair"), plural(0, "seed")
    ('1 pair', '3 pairs', '0 seeds')
    >>> plural(2, "study", "studies")
    '2 studies'
    """
    return f"{n} {noun if n == 1 else many or noun + 's'}"


def listed(noun: str, items: Sequence[object], many: str | None = None) -> str:
    """``noun`` and ``items``, the noun in the plural unless there is one item.

    >>> listed("seed", [2]), listed("seed", [0, 1])
    ('seed 2', 'seeds 0, 1')
    """
    word = noun if len(items) == 1 else many or noun + "s"
    return f"{word} {', '.join(map(str, items))}"


def shown_path(path: str | Path) -> str:
    """``path`` relative to the working directory where it lies within it, so that files
    rendered from a clone elsewhere name the same paths; else as given."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
