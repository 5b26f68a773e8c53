"""Output cells formatted in NumPy (`csv_format`) and the writer that uses them (`csv_write._format_rows`).

The text must be exactly what the `%` operator writes, value for value: the reference here is `%` itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nncli import csv_format, csv_write
from nncli.csv_format import d_cells, g_cells, join_rows, text_cells

FAST = settings(max_examples=200, deadline=None)


def cell_texts(cells: np.ndarray) -> list[str]:
    return [bytes(row).replace(b"\0", b"").decode() for row in cells]  # (join_rows drops every NUL)


def hard_values(rng: np.random.Generator, p: int) -> np.ndarray:
    """Magnitudes from subnormal to the largest float, and the values whose rounding is hardest to get right."""
    powers = 10.0 ** np.arange(-60, 40)
    return np.concatenate([
        rng.normal(size=3000) * 10.0 ** rng.uniform(-60, 40, size=3000),
        (rng.normal(size=2000) * 10.0 ** rng.uniform(-44, 38, size=2000)).astype(np.float32),
        [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 5e-324, 1e-320, 1.7976931348623157e308, 1.17549435e-38, 1e-45],
        [0.5, 1.5, 2.5, -2.5, 1234567.5, 9999999.5, 99999995.0, 0.00001, 0.0001, 0.001, 1e16, 1e22, 1e23, 1e100],
        powers, -powers, np.nextafter(powers, 0), np.nextafter(powers, np.inf),
        # halves at the p-th digit, exact or not, at every scale: where `%` rounds half to even
        (rng.integers(0, 10 ** p, 1000) + 0.5) * 10.0 ** rng.integers(-50, 30, 1000),
        (rng.integers(0, 10 ** p, 1000) + 0.5) / 10.0 ** rng.integers(0, 50, 1000),
        # nines that round up to one more digit before the point
        (10.0 ** p - 0.5 + rng.uniform(-1e-3, 1e-3, 200)) * 10.0 ** rng.integers(-30, 30, 200),
    ])


@pytest.mark.parametrize("p", range(1, csv_format.MOST_DIGITS + 1))
def test_g_cells_write_each_value_as_percent_g_does(p):
    values = hard_values(np.random.default_rng(p), p)
    assert cell_texts(g_cells(values, p)) == ["%.*g" % (p, v) for v in values.tolist()]


@pytest.mark.parametrize("p", [6, 7])
def test_g_cells_write_float32_values_as_percent_g_does(p):
    # (what predict writes: a float32 network's outputs, probabilities near 0 and 1 among them)
    rng = np.random.default_rng(7)
    z = rng.normal(size=20000).astype(np.float32) * np.float32(12)
    values = np.concatenate([1 / (1 + np.exp(-z)), 1 / (1 + np.exp(z)), z, np.float32(1e-30) * z]).astype(np.float32)
    assert cell_texts(g_cells(values, p)) == ["%.*g" % (p, v) for v in values.tolist()]


@FAST
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=50),
       p=st.integers(1, csv_format.MOST_DIGITS))
def test_g_cells_match_percent_g_for_any_float(values, p):
    assert join_rows([g_cells(np.array(values), p)]) == "".join("%.*g\n" % (p, v) for v in values)


def test_a_block_of_columns_is_formatted_at_once_and_written_row_by_row():
    values = np.random.default_rng(3).normal(size=(500, 3)) * [1e-5, 1.0, 1e9]
    cells = g_cells(values, 6)
    assert cells.shape[:2] == (500, 3)
    assert join_rows([cells]) == "".join("%.6g,%.6g,%.6g\n" % tuple(row) for row in values.tolist())


def test_d_cells_write_every_integer_as_percent_d_does():
    rng = np.random.default_rng(0)
    ints = np.concatenate([rng.integers(-10 ** 18, 10 ** 18, 2000), rng.integers(-1000, 1000, 2000),
                           [0, -1, 1, 9, 10, -10, 99, 100, -100, 2 ** 63 - 1, -2 ** 63]])
    assert cell_texts(d_cells(ints)) == ["%d" % i for i in ints.tolist()]
    assert cell_texts(d_cells(np.array([True, False]))) == ["1", "0"]
    assert cell_texts(d_cells(np.array([7, 0, 255], dtype=np.uint8))) == ["7", "0", "255"]
    assert cell_texts(d_cells(np.array([2 ** 64 - 1, 3], dtype=np.uint64))) == [str(2 ** 64 - 1), "3"]
    assert join_rows([d_cells(np.arange(6).reshape(3, 2))]) == "0,1\n2,3\n4,5\n"


def test_text_cells_keep_each_text_and_refuse_what_they_cannot_hold():
    texts = ["a", "", '"x,y"', "é", "longer text", "日本"]
    assert join_rows([text_cells(texts), d_cells(np.arange(6))]) == "".join(f"{t},{i}\n" for i, t in enumerate(texts))
    assert join_rows([text_cells(["", ""])]) == "\n\n"
    assert text_cells([]).shape[0] == 0
    assert text_cells(["a\0b", "c"]) is None  # (NUL is the padding)
    assert text_cells(["\udcff"]) is None  # (a lone surrogate does not encode)
    assert text_cells(["x" * 100_000] + ["y"] * 1000) is None  # (a 100 MB array for 101 kB of text)


def reference_rows(cols: list[tuple[str, list]]) -> str:
    return "".join(",".join(fmt % v for (fmt, _), v in zip(cols, row)) + "\n" for row in zip(*(v for _, v in cols)))


@pytest.mark.parametrize("texts", [["a", "b", "c"], ["a\0", "b", "c"]])  # (the second: NUL, so `%` writes it all)
@pytest.mark.parametrize("value_format", ["%.7g", "%.13g"])  # (13 digits: beyond csv_format, so `%` again)
def test_format_rows_writes_what_percent_writes_whichever_way_it_goes(texts, value_format):
    x = np.array([0.1, -2.5e-7, 123456.789])
    block = np.array([[0.5, 1e-30], [np.nan, 2.0], [-0.0, 1e22]], dtype=np.float32)
    Column = csv_write._Column
    cols = [Column("%s", texts), Column("%d", np.array([1, -2, 3])), Column(value_format, x),
            Column("%.6g", block[:, 0]), Column("%.6g", block)]
    expected = reference_rows([("%s", texts), ("%d", [1, -2, 3]), (value_format, x.tolist()),
                               ("%.6g", block[:, 0].tolist()), ("%.6g", block[:, 0].tolist()),
                               ("%.6g", block[:, 1].tolist())])
    assert csv_write._format_rows(cols) == expected


@FAST
@given(texts=st.lists(st.text(alphabet=st.sampled_from(list('ab ,"\r\n\t\x1c\u00a0\u2003\0é')), max_size=4),
                      max_size=8))
# each reason to quote alone in its column (any other text's reason would quote them all)
@example(texts=["a\rb", "c"])
@example(texts=["a ", "b"])  # (a space at the end, not the last text's)
@example(texts=["a", " b"])  # (a space at the start, not the first text's)
@example(texts=["a", "\u2003b"])
@example(texts=["a,b", "c"])
@example(texts=['a"b'])
@example(texts=["a\nb"])
def test_quote_all_quotes_as_quote_does_each_text(texts):
    assert csv_write._quote_all(texts) == [csv_write.quote(t) for t in texts]


@pytest.mark.parametrize("mean, scale", [(0.0, 1.0), (-2.5, 1.0), (150.0, 3.0), (-4e4, 0.02), (1e6, 1.0), (3e7, 3.0),
                                         (5e5, 700.0)])
def test_predicted_values_keep_seven_digits_of_the_spread_however_far_the_mean_is(mean, scale):
    """`predict` writes a regression's values to the 7th significant digit of the target's spread, plus
    as many digits as the mean's offset needs: a format a digit short (150 +- 3 at "%.8g": 150.12346)
    rounded away the last digit a float32 network resolves, and only a mean of a power of ten was tested."""
    fmt = csv_write._value_format(mean, scale)
    values = mean + scale * np.random.default_rng(0).uniform(-0.5, 0.5, 500)
    error = max(abs(float(fmt % v) - v) for v in values.tolist())
    assert error <= 0.5 * 10.0 ** (np.floor(np.log10(scale)) - 6) * (1 + 1e-9)
