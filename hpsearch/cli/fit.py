"""Tables that fit the terminal: the least important columns drop, and no number is cut.

Left to itself, rich squeezes every column of a table wider than the terminal until each
number reads ``0…``. A :class:`FittedTable` instead works out its columns' widths for the
width it is drawn at:

1. every column at its natural width (its widest cell or header), if that fits;
2. otherwise each column at its least: a text column (``wrap``) as wide as its longest
   word, any other column as wide as its widest cell, a header as its longest word (a
   header wraps between words); then columns drop, the largest ``drop`` number first
   (ties: the rightmost first), until the table fits. A column of ``drop`` 0 is never
   dropped;
3. if the kept columns still do not fit, their cells may wrap between words too: a number
   is still never cut.

What width is left goes to the columns that wrapped, left to right. The caption names the
dropped columns. The table is built when drawn, for the console's width, so the same
renderable fits an 80-column terminal, a 240-column pipe and a live ``--watch`` view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# A table's frame in a column of content: a border and a space on either side, shared
# borders between columns (rich's default box, padding (0, 1)).
_PER_COLUMN = 3
_EDGE = 1

Cell = str | Text  # a plain string is drawn as written, never as rich markup
KEEP = 0  # a column's ``drop`` when it never drops (as hpsearch.compare.tables.KEEP)


@dataclass(frozen=True)
class FittedColumn:
    """A column: its header, how soon it drops, whether its cells are text that wraps."""

    header: str
    drop: int = KEEP  # larger numbers drop sooner
    wrap: bool = False  # text: cells wrap between words; otherwise each cell stays whole
    justify: str = "right"
    style: str | None = None


@dataclass(frozen=True)
class FittedTable:
    """A rich renderable: a table of ``columns`` and ``rows`` that fits the width it is
    drawn at (see the module docstring). ``caption``: a note below the table, before the
    one that names the dropped columns; ``dropped_hint`` ends that one (where the full
    table is)."""

    columns: Sequence[FittedColumn]
    rows: Sequence[Sequence[Cell]]
    title: str = ""
    caption: str = ""
    dropped_hint: str = "a wider terminal shows them"
    _texts: list[list[Text]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        texts = [[c if isinstance(c, Text) else Text(c) for c in row] for row in self.rows]
        object.__setattr__(self, "_texts", texts)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = _table_width(self._natural(range(len(self.columns))))
        return Measurement(min(width, options.max_width), min(width, options.max_width))

    def kept(self, width: int) -> list[int]:
        """The indices of the columns drawn at ``width``."""
        kept = list(range(len(self.columns)))
        while _table_width(self._least(kept, whole=True)) > width:
            droppable = [i for i in kept if self.columns[i].drop > 0]
            if not droppable:
                break
            kept.remove(max(droppable, key=lambda i: (self.columns[i].drop, i)))
        return kept

    def table(self, width: int) -> Table:
        """The rich table for ``width`` columns of terminal."""
        kept = self.kept(width)
        widths = self._widths(kept, width)
        dropped = [self.columns[i].header for i in range(len(self.columns)) if i not in kept]
        notes = [self.caption] if self.caption else []
        if dropped:
            notes.append(
                f"{len(dropped)} column{'s' if len(dropped) > 1 else ''} left out to fit "
                f"{width} columns: {', '.join(dropped)} ({self.dropped_hint})"
            )
        table = Table(
            title=Text(self.title) if self.title else None,
            title_justify="left",
            caption=Text("\n".join(notes)) if notes else None,
            caption_justify="left",
        )
        for i, w in zip(kept, widths, strict=True):
            c = self.columns[i]
            table.add_column(
                Text(c.header), justify=c.justify, style=c.style, width=w, overflow="fold"
            )
        for row in self._texts:
            table.add_row(*(row[i] for i in kept))
        return table

    def _widths(self, kept: list[int], width: int) -> list[int]:
        natural = self._natural(kept)
        if _table_width(natural) <= width:
            return natural
        least = self._least(kept, whole=True)
        if _table_width(least) > width:
            least = self._least(kept, whole=False)  # the last resort: wrap between words
        spare = width - _table_width(least)
        widths = []
        for low, high in zip(least, natural, strict=True):
            extra = max(0, min(spare, high - low))
            widths.append(low + extra)
            spare -= extra
        return widths

    def _cells(self, i: int) -> Iterable[Text]:
        return (row[i] for row in self._texts)

    def _natural(self, kept: Iterable[int]) -> list[int]:
        return [
            max([Text(self.columns[i].header).cell_len, *(c.cell_len for c in self._cells(i))])
            for i in kept
        ]

    def _least(self, kept: Iterable[int], *, whole: bool) -> list[int]:
        """Each column's least width: its longest word, or for a column of numbers
        (``whole``) its widest cell; at least its header's longest word."""
        widths = []
        for i in kept:
            wrap = self.columns[i].wrap or not whole
            cells = [_longest_word(c) if wrap else c.cell_len for c in self._cells(i)]
            widths.append(max([_longest_word(Text(self.columns[i].header)), *cells, 1]))
        return widths


def _longest_word(text: Text) -> int:
    return max((Text(word).cell_len for word in text.plain.split()), default=0)


def _table_width(widths: Sequence[int]) -> int:
    return sum(widths) + _PER_COLUMN * len(widths) + _EDGE
