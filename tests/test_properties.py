"""Property-based tests (hypothesis): the CSV reader and the model loader against any input.

Valid tables round-trip exactly; mutated CSV bytes and corrupted model files only
ever raise nncli's own errors, and a corrupted model cannot make the loader allocate
much more than the file is big.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import forge_declared_size
from nncli.csv_io import read_table
from nncli.errors import ModelFileError, NncliError, composed
from nncli.model_file import load_model
from nncli.workflow import DataOptions, load_training_data

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ALLOC_BOUND = 8 * 1024 * 1024  # a model file of a few kB may not make the loader allocate more


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=8)
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@st.composite
def tables(draw):
    header = draw(st.lists(names.map(str.strip).filter(bool), min_size=1, max_size=5, unique_by=composed))
    n_rows = draw(st.integers(1, 20))
    rows = draw(st.lists(st.lists(finite32, min_size=len(header), max_size=len(header)),
                         min_size=n_rows, max_size=n_rows))
    return header, np.asarray(rows, dtype=np.float32).reshape(n_rows, len(header))


def as_csv(header: list[str], values: np.ndarray, newline: str) -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline, quoting=csv.QUOTE_ALL).writerow(header)
    w = csv.writer(buf, lineterminator=newline)
    w.writerows([[repr(float(v)) for v in row] for row in values])
    return buf.getvalue().encode()


@FAST
@given(table=tables(), newline=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
def test_valid_numeric_tables_round_trip_exactly(tmp_path, table, newline, bom):
    header, values = table
    path = tmp_path / "t.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + as_csv(header, values, newline))
    t = read_table(str(path))
    header = [composed(h) for h in header]  # (names are compared with their combining marks composed)
    assert t.header == header
    got = np.column_stack([t.columns[c].values for c in header])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, values)
    assert t.lines.tolist() == list(range(2, 2 + len(values)))


VALID_CSVS = [b'a,b,label\n1.5,2,x\n-3,4e-2,y\n"5",6,"z,z"\n7,,x\n',
              b"id;color;size;price\n1;red;2.5;10\n2;blue;NA;12.5\n3;red;4;9\n4;;1e3;11\n"]


@FAST
@given(data=st.data())
def test_mutated_csv_bytes_raise_only_nncli_errors(tmp_path, data):
    raw = bytearray(data.draw(st.sampled_from(VALID_CSVS)))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        i = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        byte = data.draw(st.sampled_from(b'\0",;\n\r\xff\xc31.en-'))
        if op == "flip" and raw:
            raw[i] = byte
        elif op == "insert":
            raw.insert(i, byte)
        elif op == "delete" and raw:
            del raw[i]
        else:
            del raw[i:]
    path = tmp_path / "m.csv"
    path.write_bytes(bytes(raw))
    try:
        read_table(str(path), auto={"a", "b", "color", "size"})
    except NncliError:
        pass
    try:  # and all that fit does with a table before training
        load_training_data(str(path), DataOptions(), data.draw(st.sampled_from(["auto", "regression"])),
                           val_split=0.5)
    except NncliError:
        pass


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    from nncli.core.datagen import moons
    from nncli.model_file import save_model
    from nncli.workflow import ModelOptions, Training
    from nncli.core.training import TrainConfig
    from nncli.csv_write import write_columns

    d = tmp_path_factory.mktemp("prop")
    write_columns(str(d / "train.csv"), moons(np.random.default_rng(0), 60)[0])
    data = load_training_data(str(d / "train.csv"), DataOptions(), "auto")
    run = Training(data, ModelOptions(hidden=(3,)), TrainConfig(epochs=1), seed=0, dtype="float32")
    list(run)
    save_model(run.model(), str(d / "m.npz"))
    return (d / "m.npz").read_bytes()


def swap_members(raw: bytes, i: int, j: int) -> bytes:
    """The same archive with the contents of members i and j exchanged (names kept)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    infos = src.infolist()
    contents = [src.read(x) for x in infos]
    contents[i], contents[j] = contents[j], contents[i]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info, c in zip(infos, contents):
            z.writestr(info.filename, c)
    return out.getvalue()


def load_bounded(path) -> None:
    """Load `path`; only a ModelFileError may escape, and allocation stays under the bound."""
    tracemalloc.start()
    try:
        load_model(str(path))
    except ModelFileError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < ALLOC_BOUND, f"loading a {path.stat().st_size:,}-byte file allocated {peak:,} bytes"


@FAST
@given(data=st.data())
def test_corrupted_model_files_raise_only_model_file_errors_and_stay_small(tmp_path, model_bytes, data):
    raw = bytearray(model_bytes)
    kind = data.draw(st.sampled_from(["flip", "truncate", "swap", "size"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    elif kind == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)):]
    elif kind == "swap":
        n = len(zipfile.ZipFile(io.BytesIO(bytes(raw))).infolist())
        i, j = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
        raw = bytearray(swap_members(bytes(raw), i, j))
    else:  # a member claims a huge array, consistently in its .npy header and the zip directory
        member = data.draw(st.sampled_from(["meta", "params", "x_mean", "history_loss"]))
        raw = bytearray(forge_declared_size(bytes(raw), member, data.draw(st.integers(1 << 20, 500_000_000))))
    path = tmp_path / "m.npz"
    path.write_bytes(bytes(raw))
    load_bounded(path)


def test_the_unmodified_model_loads(tmp_path, model_bytes):
    (tmp_path / "m.npz").write_bytes(model_bytes)
    assert load_model(str(tmp_path / "m.npz")).network.sizes == [2, 3, 1]
