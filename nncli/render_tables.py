"""Tables for people whose numbers stay whole at any window width.

Used by `nncli.render` for eval's report, fit's columns and summary, and show's
features. Imports rich and the standard library only.
"""

from __future__ import annotations

from typing import Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


# Headers and labels fold as a last resort, but a word this short never splits: a confusion matrix's
# class `11` over counts of one digit read as classes 1 and 1, and a row of class `10` as `1`.
SHORT_WORD = 4


class WholeNumbers:
    """A table whose number columns never lose a digit, however narrow the window.

    Rich narrows every column alike when a table is wider than the window, numbers too (`0…` for
    0.998, `5…` for 586). Here, at each render, the label columns give way first, wrapping down to
    their longest word; then the number columns' headers, down to their widest number (words of up
    to SHORT_WORD characters stay whole); then the columns move closer (one space apart); then the
    labels fold, down to one character (but for such short words). Should the
    numbers alone be wider than the window, the lines run past its edge (print with crop=False)
    rather than drop digits. For tables without box or edge padding, as all of nncli's are.
    """

    def __init__(self, table: Table, labels: Sequence[int] = (0,)) -> None:
        self.table, self.labels, self.padding = table, set(labels), table.padding
        for i, column in enumerate(table.columns):
            column.no_wrap = i not in self.labels
            if i in self.labels:
                column.overflow = "fold"

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table, columns = self.table, self.table.columns
        table.padding = self.padding
        for column in columns:
            column.width = None
        top, right, bottom, left = self.padding
        gaps = (left + right) * (len(columns) - 1)

        def cells(column) -> list:
            return [*([column.header] if table.show_header else []), *column.cells]

        widths = [max(map(_cell_width, cells(column)), default=0) for column in columns]
        excess = sum(widths) + gaps - options.max_width
        if excess > 0:
            labels = [i for i in range(len(columns)) if i in self.labels]
            numbers = [i for i in range(len(columns)) if i not in self.labels]
            words = [max(map(_longest_word, cells(column)), default=0) for column in columns]
            digits = [max(max(map(_cell_width, column.cells), default=0),
                          min(_longest_word(column.header), SHORT_WORD) if table.show_header else 0)
                      for column in columns]
            excess = _narrow(widths, labels, words, excess)
            excess = _narrow(widths, numbers, digits, excess)
            if excess > 0 and left + right > 1:
                table.padding = (top, 1, bottom, 0)
                excess -= gaps - (len(columns) - 1)
                gaps = len(columns) - 1
            excess = _narrow(widths, labels, [min(w, SHORT_WORD) for w in words], excess)
            for column, width in zip(columns, widths):
                column.width = width
            options = options.update_width(max(options.max_width, sum(widths) + gaps))
        yield from console.render(table, options)


def _cell_width(cell: object) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


def _longest_word(cell: object) -> int:
    return max(map(cell_len, str(cell).split()), default=0)


def _narrow(widths: list[int], indices: list[int], floor: list[int], excess: int) -> int:
    """Take up to `excess` cells off the widest of these columns, none below its floor; the excess left."""
    while excess > 0:
        wide = [i for i in indices if widths[i] > floor[i]]
        if not wide:
            break
        widths[max(wide, key=lambda i: widths[i])] -= 1
        excess -= 1
    return excess


# A confusion matrix's row labels are taken to fold down to this many cells when `ConfusionMatrix`
# decides whether the class names can head its columns.
LABEL_ROOM = 20


class ConfusionMatrix:
    """eval's confusion matrix (rows: true classes, columns: predicted), laid out for the window at
    each render. The columns are headed by the class names where those fit whole; where they do not
    and numbers would be narrower, by the classes' numbers 1..k, after a key of numbers and names.
    Columns that together are wider than the window go in blocks, each with the row labels again.
    (30 classes named like `class 07 — …` over ~60 characters were one table 154 cells wide: every
    line wrapped, each name folded over 15 lines, 1,098 lines in all.)
    """

    def __init__(self, classes: Sequence[Text], matrix: Sequence[Sequence[int]]) -> None:
        self.classes = list(classes)
        self.matrix = [[str(v) for v in row] for row in matrix]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        k, room = len(self.classes), options.max_width
        counts = [max(len(row[j]) for row in self.matrix) for j in range(k)]
        named = [max(c.cell_len, n) for c, n in zip(self.classes, counts)]
        numbered = [max(len(str(j + 1)), n) for j, n in enumerate(counts)]
        label = min(max(c.cell_len for c in self.classes), LABEL_ROOM)
        numbers = _row_width(label, named) > room and sum(numbered) < sum(named)
        if numbers:
            key = Table(box=None, show_header=False, pad_edge=False)
            key.add_column(justify="right")
            key.add_column()
            for j, c in enumerate(self.classes):
                key.add_row(str(j + 1), c)
            yield WholeNumbers(key, labels=(1,))
            yield Text("")
            label = len(str(k))
        widths = numbered if numbers else named
        blocks: list[list[int]] = [[]]
        for j in range(k):
            if blocks[-1] and _row_width(label, [widths[i] for i in [*blocks[-1], j]]) > room:
                blocks.append([])
            blocks[-1].append(j)
        for b, columns in enumerate(blocks):
            if b:
                yield Text("")
            table = Table(box=None, pad_edge=False, header_style="bold")
            table.add_column("")
            for j in columns:
                header = Text(str(j + 1)) if numbers else self.classes[j].copy()
                header.overflow, header.no_wrap = "fold", False  # (never `Iris-v…` for two classes)
                table.add_column(header, justify="right")
            for i, row in enumerate(self.matrix):
                table.add_row(Text(str(i + 1)) if numbers else self.classes[i], *(row[j] for j in columns))
            yield WholeNumbers(table)


def _row_width(label: int, columns: Sequence[int]) -> int:
    """A line of a table without edge padding: the label column, then these columns, two spaces apart."""
    return label + sum(columns) + 2 * len(columns)
