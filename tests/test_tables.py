"""Real-world tables: categorical columns, missing cells, id columns, delimiters, gzip, --keep."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import run_nncli
from nncli.model_file import load_model, save_model
from nncli.workflow import DataOptions, load_training_data


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """A mixed table (ids, numbers, categories, 10% missing cells) and a model fitted on it."""
    d = tmp_path_factory.mktemp("messy")
    train, test = d / "train.csv", d / "test.csv"
    assert run_nncli("gen-data", "mixed", "-n", "600", "--seed", "1", "-o", train).returncode == 0
    assert run_nncli("gen-data", "mixed", "-n", "200", "--seed", "2", "-o", test).returncode == 0
    model = d / "m.npz"
    r = run_nncli("fit", train, "--ignore", "id", "-o", model, "--epochs", "30")
    assert r.returncode == 0, r.stderr
    return train, test, model, r.stderr.decode()


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def write_rows(path, rows, delimiter=",", line_end="\r\n"):
    with open(path, "w", newline="") as f:
        csv.writer(f, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    return path


def test_fit_reports_the_columns_it_used(messy):
    _, _, _, stderr = messy
    lines = {l.split()[0]: l.split()[1:] for l in stderr.splitlines() if l.split() and l.split()[0] in
             ("id", "x1", "color", "x2", "size", "label")}
    assert lines["id"][0] == "ignored"
    assert lines["color"][0] == "categorical" and lines["color"][-1] == "5"  # 4 colours + missing
    assert lines["x1"][0] == "numeric" and int(lines["x1"][1]) > 0  # it had missing cells
    assert lines["label"][0] == "target"
    assert "imputed missing cells: 'x1' (" in stderr  # names quoted, as predict's notice quotes them


def test_schema_is_stored_and_round_trips(messy, tmp_path):
    _, _, model, _ = messy
    m = load_model(str(model))
    kinds = {f.name: f.kind for f in m.pre.features}
    assert kinds == {"x1": "numeric", "color": "categorical", "x2": "numeric", "size": "categorical"}
    color = next(f for f in m.pre.features if f.name == "color")
    assert color.categories == ["blue", "green", "red", "yellow", "<missing>"]
    x1 = next(f for f in m.pre.features if f.name == "x1")
    assert np.isfinite(x1.fill) and x1.missing > 0
    save_model(m, str(tmp_path / "copy.npz"))
    again = load_model(str(tmp_path / "copy.npz"))
    assert [vars(f) for f in again.pre.features] == [vars(f) for f in m.pre.features]
    assert again.target.classes == ["no", "yes"]


def test_predictions_ignore_column_order_and_extra_columns(messy, tmp_path):
    _, test, model, _ = messy
    rows = read_rows(test)
    order = [4, 0, 3, 1, 2]  # size, id, x2, x1, color; label dropped; plus an extra column
    shuffled = write_rows(tmp_path / "shuffled.csv",
                          [[r[i] for i in order] + [("extra" if k == 0 else "junk!")] for k, r in enumerate(rows)])
    a = run_nncli("predict", model, test, "--proba")
    b = run_nncli("predict", model, shuffled, "--proba")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout and len(a.stdout.splitlines()) == 201


def test_unseen_categories_encode_as_zeros_with_one_notice(messy, tmp_path):
    _, test, model, _ = messy
    rows = read_rows(test)
    rows[1][2] = "purple"
    rows[2][2] = "purple"
    rows[3][4] = "XXL"
    r = run_nncli("predict", model, write_rows(tmp_path / "t.csv", rows))
    assert r.returncode == 0
    notices = [l for l in r.stderr.decode().splitlines() if "not seen in training" in l]
    assert len(notices) == 1 and "'color' (2)" in notices[0] and "'size' (1)" in notices[0]


def test_missing_cells_at_predict_time_are_imputed(messy, tmp_path):
    _, test, model, _ = messy
    rows = read_rows(test)
    rows[1][1] = ""   # x1
    rows[1][2] = "NA"  # color
    r = run_nncli("predict", model, write_rows(tmp_path / "t.csv", rows))
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 201
    assert "imputed missing cells" in r.stderr.decode()
    # -q: errors only (the notice came on every run, and only 2>/dev/null, errors too, hid it)
    q = run_nncli("predict", model, tmp_path / "t.csv", "-q")
    assert q.returncode == 0 and q.stdout == r.stdout and q.stderr == b""
    e = run_nncli("eval", model, tmp_path / "t.csv", "--json", "-q")
    assert e.returncode == 0 and e.stderr == b"" and json.loads(e.stdout)["rows"] == 200
    e = run_nncli("eval", model, tmp_path / "t.csv", "-q")
    assert e.returncode == 0 and "accuracy" in e.stderr.decode() and "imputed" not in e.stderr.decode()


def test_a_missing_numeric_cell_changes_no_other_rows_prediction(tmp_path):
    """A missing cell is predicted as a cell holding the training median, and the other rows of its
    chunk keep their predictions to the last digit (they used to be computed another way then).
    (Lines end in LF, as gen-data's: the rows are then read and predicted by the fast path.)"""
    data = tmp_path / "d.csv"
    assert run_nncli("gen-data", "moons", "-n", "3000", "--seed", "4", "-o", data).returncode == 0
    model = tmp_path / "m.npz"
    assert run_nncli("fit", data, "-o", model, "--epochs", "3", "--hidden", "16", "-q").returncode == 0
    rows = read_rows(data)
    clean = run_nncli("predict", model, data, "--proba")
    rows[100][0] = ""
    r = run_nncli("predict", model, write_rows(tmp_path / "na.csv", rows, line_end="\n"), "--proba")
    assert r.returncode == 0 and "imputed missing cells: 'x1' (1)" in r.stderr.decode()
    rows[100][0] = repr(load_model(str(model)).pre.features[0].fill)
    filled = run_nncli("predict", model, write_rows(tmp_path / "filled.csv", rows, line_end="\n"), "--proba")
    before, after, median = (p.stdout.decode().splitlines() for p in (clean, r, filled))
    assert len(after) == 3001 and after[:100] + after[101:] == before[:100] + before[101:]
    assert after == median


def test_a_missing_category_that_training_never_saw_is_said_to_encode_as_zeros(tmp_path):
    """A categorical column with no missing cell in training has no `<missing>` category: a missing
    cell then encodes as all zeros, as an unseen category does, and the notice says so (not
    "imputed")."""
    rows = [["color", "x", "label"]] + [[f"c{i % 3}", f"{i % 7}", "yes" if i % 2 else "no"] for i in range(300)]
    model = tmp_path / "m.npz"
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", model, "--epochs", "2", "--hidden", "4",
                  "--progress", "plain")
    assert r.returncode == 0, r.stderr
    new = [rows[0], ["NA", "1", "yes"], ["", "1", "yes"], ["never-seen", "1", "yes"], ["c1", "", "no"]]
    r = run_nncli("predict", model, write_rows(tmp_path / "new.csv", new), "--proba")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "of categorical columns that had none in training were encoded as all zeros: 'color' (2)" in err
    assert "not seen in training were encoded as all zeros: 'color' (1)" in err
    assert "imputed missing cells: 'x' (1)" in err and "'color' (2)" not in err.split("imputed")[1].splitlines()[0]
    probs = r.stdout.decode().splitlines()[1:4]
    assert probs[0] == probs[1] == probs[2]  # all three rows encode the same: color all zeros, x = 1


def test_unseen_and_missing_categories_are_counted_over_every_chunk(tmp_path, cli, monkeypatch):
    """predict reads a file a chunk at a time: mutants that kept a column's count of unseen categories, or
    of missing cells (as `<missing>`, or as zeros where training had none), from the last chunk only said
    (4) for 30, and passed; only the imputed numeric cells' count was checked over several chunks."""
    from nncli import csv_io

    rows = [["color", "size", "x", "label"]] + [[f"c{i % 3}", "NA" if i % 50 == 0 else f"s{i % 2}", str(i % 7),
                                                  "yes" if i % 2 else "no"] for i in range(300)]
    model = tmp_path / "m.npz"
    assert cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", model, "--epochs", "1", "-q").exit_code == 0
    new = [rows[0]] + [["purple" if i % 10 == 0 else "NA" if i % 10 == 5 else "c1", "NA" if i % 20 == 0 else "s1",
                        "1", "no"] for i in range(300)]
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 64)  # (5 chunks, the last of 44 rows)
    r = cli("predict", model, write_rows(tmp_path / "new.csv", new))
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 301
    assert "not seen in training were encoded as all zeros: 'color' (30)" in r.stderr
    assert "had none in training were encoded as all zeros: 'color' (30)" in r.stderr
    assert "imputed missing cells: 'size' (15)" in r.stderr


def test_eval_refuses_a_missing_target(messy, tmp_path):
    _, test, model, _ = messy
    rows = read_rows(test)
    rows[5][5] = ""
    r = run_nncli("eval", model, write_rows(tmp_path / "t.csv", rows))
    assert r.returncode == 1 and r.stdout == b""
    assert ":6:6 (column 'label'): the target is missing" in r.stderr.decode()


def test_eval_names_the_first_unseen_class_label_and_counts_the_rows_like_it(messy, tmp_path):
    """A mutant that always said "(1 row like this)" passed: every test's file had one unseen label."""
    _, test, model, _ = messy
    rows = read_rows(test)
    for i in (3, 7, 9):
        rows[i][5] = "maybe"
    r = run_nncli("eval", model, write_rows(tmp_path / "t.csv", rows))
    assert r.returncode == 1 and r.stdout == b""
    assert ":4:6 (column 'label'): class label 'maybe' was not seen in training (3 rows like this)" in r.stderr.decode()
    rows[7][5] = rows[9][5] = "no"
    r = run_nncli("eval", model, write_rows(tmp_path / "t.csv", rows))
    assert r.returncode == 1 and "class label 'maybe' was not seen in training (1 row like this)" in r.stderr.decode()


def test_rows_with_a_missing_target_are_dropped_at_fit(tmp_path):
    rows = [["a", "y"]] + [[str(i), str(i % 2)] for i in range(40)]
    rows[3][1] = "?"
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "2",
                  "--val-split", "0")
    assert r.returncode == 0 and "dropped 1 row whose target is missing" in r.stderr.decode()
    assert load_model(str(tmp_path / "m.npz")).info["rows"] == 39



def test_a_missing_target_is_dropped_from_a_val_file_as_from_the_training_file(tmp_path, cli):
    # It was an error worded for eval ("evaluating a model needs a target value on every row")
    rows = [["a", "y"]] + [[str(i), str(i % 2)] for i in range(40)]
    train = write_rows(tmp_path / "d.csv", rows)
    rows[3][1] = ""
    val = write_rows(tmp_path / "v.csv", rows)
    r = cli("fit", train, "--val", val, "-o", tmp_path / "m.npz", "--epochs", "2", "--progress", "plain")
    assert r.exit_code == 0 and "dropped 1 row in the validation file whose target is missing" in r.stderr
    nothing = write_rows(tmp_path / "n.csv", [["a", "y"], ["1", ""], ["2", "NA"]])
    r = cli("fit", train, "--val", nothing, "-o", tmp_path / "m.npz", "--epochs", "2")
    assert r.exit_code == 1 and "n.csv: no rows with a target value" in r.stderr


def test_rows_dropped_from_a_val_file_are_counted_over_all_its_chunks(tmp_path, cli, monkeypatch):
    """The count of a validation file's rows dropped for a missing target is the whole file's, not the last
    chunk's."""
    from nncli import csv_io

    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 256)  # (700 rows: three chunks)
    rows = [["a", "y"]] + [[str(i), str(i % 2)] for i in range(700)]
    train = write_rows(tmp_path / "d.csv", rows[:41])
    for i in (10, 300, 301, 650):
        rows[i][1] = ""
    r = cli("fit", train, "--val", write_rows(tmp_path / "v.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "2",
            "--progress", "plain")
    assert r.exit_code == 0 and "dropped 4 rows in the validation file whose target is missing" in r.stderr
    assert load_model(str(tmp_path / "m.npz")).info["val_rows"] == 696


@pytest.mark.parametrize("where", ["training", "validation"])
def test_missing_error_refuses_a_missing_target_too(tmp_path, cli, where):
    # --missing error ("refuse") dropped such rows with a notice, as impute does
    rows = [["a", "y"]] + [[str(i), str(i % 2)] for i in range(40)]
    good = write_rows(tmp_path / "d.csv", rows)
    rows[3][1] = "NA"
    bad = write_rows(tmp_path / "b.csv", rows)
    files = (bad,) if where == "training" else (good, "--val", bad)
    r = cli("fit", *files, "-o", tmp_path / "m.npz", "--epochs", "2", "--missing", "error")
    assert r.exit_code == 1 and "b.csv:4:2 (column 'y'): the target is missing" in r.stderr
    assert "hint: --missing error refuses it (without it, the row is dropped)" in r.stderr


def test_a_target_error_says_which_rows_were_dropped_and_why(tmp_path, cli):
    # --na-values 0 blanked one of two classes: "a single class ('1')" of a file that plainly had two
    rows = [["a", "y"]] + [[str(i), str(i % 2)] for i in range(40)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--na-values", "0")
    assert r.exit_code == 1 and "the target column 'y' has a single class ('1')" in r.stderr
    assert ("hint: classification needs at least two different labels; 20 rows whose target is missing were "
            "dropped (--na-values 0 makes cells missing)") in r.stderr


def test_keeping_a_feature_echoes_its_cells_as_written(tmp_path):
    rng = np.random.default_rng(4)
    rows = [["a", "b", "y"]] + [[f"{x:.10f}", f"{x * 3:.3f}", str(int(x > 0))] for x in rng.normal(size=60)]
    rows[5][0] = "NA"
    path = write_rows(tmp_path / "d.csv", rows)
    assert run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1").returncode == 0
    r = run_nncli("predict", tmp_path / "m.npz", path, "--keep", "b,a")
    out = list(csv.reader(io.StringIO(r.stdout.decode())))
    assert r.returncode == 0 and out[0] == ["b", "a", "prediction"]
    assert [row[:2] for row in out[1:]] == [[b, a] for a, b, _ in rows[1:]]  # not float32 through "%.7g"


@pytest.mark.parametrize("quote", [False, True], ids=["blocks", "csv module"])
def test_a_long_text_cell_is_a_category_and_is_echoed_as_it_is(tmp_path, quote):
    """A text column holding one long cell among short ones is read as Python strings (a str array,
    every cell as wide as the longest, took 2.8 GB for `fit` on 2,000 rows and one 100 KB cell):
    each command must treat it as text all the same."""
    long = "Q" * 50_000
    rows = [["city", "x", "label"], [long, "0.1", "yes"]]
    rows += [[f"c{i % 3}", f"{i / 100}", "yes" if i % 2 else "no"] for i in range(1500)]
    if quote:
        rows[2][0] = "c,0"  # a quoted cell: the chunk goes through the csv module
    path = write_rows(tmp_path / "d.csv", rows)
    model = tmp_path / "m.npz"
    r = run_nncli("fit", path, "-o", model, "--epochs", "2", "--hidden", "4", "--progress", "plain")
    assert r.returncode == 0, r.stderr
    assert long in load_model(str(model)).pre.features[0].categories
    r = run_nncli("predict", model, path, "--keep", "city,x")
    out = list(csv.reader(io.StringIO(r.stdout.decode())))
    assert r.returncode == 0 and [row[:2] for row in out[1:]] == [row[:2] for row in rows[1:]]
    assert run_nncli("eval", model, path).returncode == 0
    rows[1][0] = "R" * 50_000  # a long category unseen in training
    r = run_nncli("predict", model, write_rows(tmp_path / "new.csv", rows))
    assert r.returncode == 0 and "not seen in training were encoded as all zeros: 'city' (1)" in r.stderr.decode()


def test_predictions_of_many_columns_are_written_a_few_rows_at_a_time(tmp_path, monkeypatch):
    """--proba of 1,500 classes: a chunk's probabilities as Python floats took 2 GB."""
    import tracemalloc
    from types import SimpleNamespace

    from nncli import csv_write
    from nncli.core.preprocessing import Target
    from nncli.csv_columns import Column, Table

    n, k = 600, 1000
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(k), n).astype(np.float32)
    model = SimpleNamespace(target=Target(["y"], "classification", classes=[f"c{i}" for i in range(k)]))
    chunk = Table("d.csv", ["id", "x"], {"id": Column("id", np.array([f"r{i}" for i in range(n)]), True)},
                  np.arange(2, n + 2))
    texts, peaks = [], []
    for cells in (csv_write.WRITE_CELLS, 1 << 40):  # in slices, and whole, as before
        monkeypatch.setattr(csv_write, "WRITE_CELLS", cells)
        path = tmp_path / f"out{cells}.csv"
        tracemalloc.start()
        csv_write.write_predictions(str(path), model, [(chunk, P.argmax(axis=1), P)], ["id"], True)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        texts.append(path.read_text())
        peaks.append(peak)
    assert texts[0] == texts[1] and texts[0].count("\n") == n + 1
    assert peaks[0] < 15e6 < 2 * 15e6 < peaks[1], peaks


def test_fit_lists_the_columns_with_something_to_say_when_there_are_many(tmp_path):
    """100,000 columns, one row each, took 22 s to print."""
    header = [f"x{j}" for j in range(60)] + ["colour", "y"]
    rows = [header] + [[str((i * j) % 7) for j in range(60)] + ["rgb"[i % 3], str(i % 2)] for i in range(30)]
    rows[3][7] = ""  # a missing cell in x7
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1",
                  "--progress", "plain")
    assert r.returncode == 0, r.stderr
    table = r.stderr.decode().split("epoch=")[0].splitlines()
    table = table[[line.split()[0] for line in table].index("column"):]  # (after the notices)
    assert [line.split()[0] for line in table] == ["column", "x7", "colour", "y", "…"]
    assert table[-1] == "… and 59 numeric columns with no missing cell"
    # x0, x7, x14 ... x56 are 0 on every row: one notice for the nine (a wide file's margins: a line each)
    assert "nncli: 9 features are the same on every row (or missing on every row) and teach nothing: 'x0', " \
        "'x7', 'x14', …\n" in r.stderr.decode() and "has the same value" not in r.stderr.decode()


def test_a_target_of_more_than_1000_classes_is_refused(tmp_path):
    """An id column as the target: 15,000 rows of as many labels made one-hot targets of 15,000 x
    15,000 (1.86 GB from a 304 KB file)."""
    rows = [["x", "id"]] + [[f"{i / 1001:.4f}", f"u{i}"] for i in range(1001)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 1 and not (tmp_path / "m.npz").exists()
    assert r.stderr.decode().startswith("nncli: error: ") and "the target 'id' has 1,001 classes (nncli trains at " \
        "most 1,000)\nhint: an id-like column? give another --target\n" in r.stderr.decode()  # (text: no --task regression)
    rows = [["x", "n"]] + [[f"{i / 1001:.4f}", str(i)] for i in range(1001)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "-q", "--task", "classification")
    assert r.returncode == 1 and "hint: an id-like column? give another --target; numbers to predict: --task " \
        "regression\n" in r.stderr.decode()


def test_a_target_of_exactly_1000_classes_is_taken(tmp_path):
    """The limit is inclusive: 1,000 classes train (a refusal there would say "has 1,000 classes (nncli
    trains at most 1,000)")."""
    rows = [["x", "id"]] + [[f"{i / 1000:.4f}", f"u{i}"] for i in range(1000)]
    data = load_training_data(str(write_rows(tmp_path / "d.csv", rows)), DataOptions(), "auto")
    assert data.target.task == "classification" and len(data.target.classes) == 1000 and data.Y.shape == (1000, 1000)


def test_the_data_digest_is_of_the_targets_as_well_as_the_features(tmp_path):
    """`show` gives the digest of the encoded training rows (the same digest, the same rows trained): the same
    features under other labels are other rows, and hashing the features alone gave them one digest."""
    def digest(labels, name):
        rows = [["x", "y"]] + [[str(i), label] for i, label in enumerate(labels)]
        return load_training_data(str(write_rows(tmp_path / name, rows)), DataOptions(), "auto").sha256

    labels = ["a", "b"] * 5
    assert digest(labels, "d.csv") == digest(labels, "copy.csv")
    assert digest(labels[::-1], "flipped.csv") != digest(labels, "d.csv")


def test_a_feature_float32_rounds_coarsely_gets_a_notice(tmp_path):
    rng = np.random.default_rng(0)
    rows = [["a", "b", "c", "y"]] + [[f"{1e6 + x:.4f}", f"{x:.4f}", "2e6", str(int(x > 0))] for x in rng.normal(size=60)]
    path = write_rows(tmp_path / "d.csv", rows)
    r = run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1")
    err = r.stderr.decode()
    assert r.returncode == 0 and "float32 rounds 'a' (values near 1e+06" in err and "--dtype float64" in err
    assert "float32 rounds 'b'" not in err and "float32 rounds 'c'" not in err  # (c is constant: nothing lost)
    r = run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1", "--dtype", "float64")
    assert r.returncode == 0 and "float32 rounds" not in r.stderr.decode()


def test_a_feature_missing_on_every_row_is_said_to_be_missing(tmp_path, cli):
    path = write_rows(tmp_path / "d.csv", [["a", "b", "y"]] + [["", str(i), str(i % 2)] for i in range(8)])
    err = cli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1").stderr
    assert "'a' is missing on every row: it teaches nothing" in err and "'a' has the same value" not in err


def test_a_feature_that_is_the_same_on_every_row_gets_a_notice(tmp_path, cli):
    # Also one that only float32 made constant: 1e7 + U(0, 0.4) all read as 1e7, and the
    # feature that decides the label silently dropped out (accuracy 0.55; 0.998 in float64).
    rng = np.random.default_rng(0)
    u = rng.uniform(0, 0.4, 100)
    rows = [["x", "c", "y"]] + [[repr(1e7 + a), "3", str(int(a > 0.2))] for a in u.tolist()]
    path = write_rows(tmp_path / "d.csv", rows)
    err = cli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1").stderr
    hint = " (if its values differ beyond float32's 7 significant digits, --dtype float64 keeps them)"
    assert "'x' has the same value on every row (1e+07): it teaches nothing" + hint in err
    assert "'c' has the same value on every row (3): it teaches nothing" + hint in err  # (float32 cannot tell)
    err = cli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1", "--dtype", "float64").stderr
    assert "'x' has the same" not in err and "'c' has the same value on every row (3): it teaches nothing\n" in err
    # 1e5 + U(0, 0.003) reads as the integer 100000 in float32: the hint too
    rows = [["x", "colour", "y"]] + [[repr(1e5 + a), "red", str(int(a > 0.0015))] for a in rng.uniform(0, 0.003, 60).tolist()]
    err = cli("fit", write_rows(tmp_path / "e.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1").stderr
    assert "'x' has the same value on every row (100000): it teaches nothing" + hint in err
    assert "'colour' has the same value on every row ('red'): it teaches nothing" in err  # categorical too


def test_a_constant_float64_feature_is_noticed_and_has_no_weight(tmp_path, cli):
    # In float64 the mean of 300 copies of 0.1 is 0.10000000000000052: the column standardized to
    # -5e-16, not 0, so it went unnoticed, kept its random weight, and changed predictions where it varied.
    rng = np.random.default_rng(0)
    rows = [["x", "c", "y"]] + [[repr(a), "0.1", str(int(a > 0))] for a in rng.normal(size=300).tolist()]
    path, model = write_rows(tmp_path / "d.csv", rows), tmp_path / "m.npz"
    err = cli("fit", path, "-o", model, "--dtype", "float64", "--model", "linear", "--epochs", "5").stderr
    assert "'c' has the same value on every row (0.1): it teaches nothing" in err
    m = load_model(str(model))
    assert m.pre.mean[1] == 0.1 and m.pre.scale[1] == 1.0 and m.network.W[0][1, 0] == 0.0
    probs = cli("predict", model, write_rows(tmp_path / "q.csv", [["x", "c"], ["0.5", "0.1"], ["0.5", "5"]]), "--proba")
    first, second = probs.stdout.splitlines()[1:]
    assert first == second


def test_a_constant_negative_feature_is_noticed_and_has_no_weight_as_a_positive_one(tmp_path, cli):
    """A spread is rounding when it is under 1e-12 of the size of the mean, not of the mean: a mutant
    comparing it with the mean itself took the 5e-16 "spread" of -0.1 on every row (a longitude, a
    temperature below zero) for one, said the column varies very little, and gave it a weight."""
    rng = np.random.default_rng(0)
    rows = [["x", "c", "y"]] + [[repr(a), "-0.1", str(int(a > 0))] for a in rng.normal(size=300).tolist()]
    path, model = write_rows(tmp_path / "d.csv", rows), tmp_path / "m.npz"
    err = cli("fit", path, "-o", model, "--dtype", "float64", "--model", "linear", "--epochs", "5").stderr
    assert "'c' has the same value on every row (-0.1): it teaches nothing" in err and "'c' varies" not in err
    m = load_model(str(model))
    assert m.pre.mean[1] == -0.1 and m.pre.scale[1] == 1.0 and m.network.W[0][1, 0] == 0.0



@pytest.mark.parametrize("unit", [1e-13, 1e-30])
@pytest.mark.parametrize("scaled", ["feature", "target"])
def test_numbers_in_tiny_units_are_standardized_and_learned(tmp_path, cli, unit, scaled):
    # A spread under 1e-12 counted as rounding whatever the column's own size: x in [0, 1e-13) was
    # left unstandardized (eval R² -0.0001, no word), a target of that size scored R² -3e16
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 400)
    y = 2 * x + 1 + rng.normal(0, 0.05, 400)
    x, y = (x * unit, y) if scaled == "feature" else (x, y * unit)
    path, model = write_rows(tmp_path / "d.csv", [["x", "y"]] + [[repr(a), repr(b)] for a, b in zip(x.tolist(), y.tolist())]), tmp_path / "m.npz"
    fitted = cli("fit", path, "-o", model, "--model", "linear", "--epochs", "60")
    assert fitted.exit_code == 0 and "same value" not in fitted.stderr and "no better" not in fitted.stderr
    m = load_model(str(model))
    assert (m.pre.scale[0] if scaled == "feature" else m.target.scale[0]) == pytest.approx(unit * (x if scaled == "feature" else y / unit).std(), rel=1e-6)
    scores = json.loads(cli("eval", model, path, "--json").stdout)
    assert scores["r2"] > 0.95


@pytest.mark.parametrize("offset, unit, dtype, under", [(0.0, 1e-39, "float32", "float32's smallest normal number"),
                                                     (0.0, 1e-200, "float64", "float32's smallest normal number"),
                                                     (1e13, 4.0, "float64", "1e-12 of its size")])
def test_a_feature_that_varies_very_little_is_scaled_by_the_least_spread_and_said_to_be(tmp_path, cli, offset, unit,
                                                                                      dtype, under):
    # A spread under 1e-12 of the values' size (or float32's smallest normal number) was replaced by 1: the
    # network saw 1e13 + U(0, 4) as differences of up to 2, unscaled (and 1e20 + U(0, 3e7) as ones of 1e7,
    # which wrecked training); the column is now scaled by that least spread, and fit says so
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 300)
    rows = [["x", "z", "y"]] + [[repr(offset + a * unit), repr(b), str(int(a > 0.5))]
                                for a, b in zip(x.tolist(), rng.normal(size=300).tolist())]
    model = tmp_path / "m.npz"
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", model, "--epochs", "40", "--dtype", dtype,
            "--progress", "plain", "--hidden", "16")
    assert r.exit_code == 0
    said = re.search(rf"nncli: 'x' varies very little \(spread (\S+) around [^,\s]+, under {re.escape(under)}\): scaled by "
                     rf"(\S+) instead of its spread, it reaches the network with a spread of (\S+)\n", r.stderr)
    assert said, r.stderr
    spread, scale, reached = map(float, said.groups())
    assert spread == pytest.approx((x * unit).std(), rel=1e-2) and reached == pytest.approx(spread / scale, rel=2e-2)
    m = load_model(str(model))
    assert m.pre.scale[0] == pytest.approx(max(1e-12 * offset, float(np.finfo(np.float32).tiny)))
    assert "'z' varies" not in r.stderr and "same value" not in r.stderr
    if offset:  # (at a spread of 0.12 it is still learned from, where a constant would leave a coin flip)
        assert json.loads(cli("eval", model, tmp_path / "d.csv", "--json").stdout)["accuracy"] > 0.75


def test_float64_features_near_the_float64_limit_train_a_model_that_loads(tmp_path, cli):
    # Squares of numbers near 1e200 overflow float64: the spread was inf, the saved scale inf, and
    # the model file refused ("x_scale holds non-finite values").
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    rows = [["x", "y"]] + [[repr(a * 1e200), str(int(a > 0))] for a in x.tolist()]
    model = tmp_path / "m.npz"
    assert cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", model, "--dtype", "float64", "--model", "linear",
               "--epochs", "20", "-q").exit_code == 0
    m = load_model(str(model))
    assert m.pre.scale[0] == pytest.approx(x.std() * 1e200) and m.pre.mean[0] == pytest.approx(x.mean() * 1e200)


def test_the_fill_of_values_near_the_float32_limit_is_finite(tmp_path):
    # The median of 2.5e38 and 3e38, averaged in float32, was inf: training then "diverged".
    rows = [["a", "y"], ["2e38", "0"], ["3e38", "1"], ["", "0"], ["2.5e38", "1"], ["3e38", "0"]]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    assert load_model(str(tmp_path / "m.npz")).pre.features[0].fill == np.median(
        np.array([2e38, 3e38, 2.5e38, 3e38], np.float32).astype(np.float64))


def test_the_fill_of_float64_values_near_their_limit_is_finite(tmp_path):
    # 1.7e308 twice summed to inf in float64: 'internal error: Out of range float values are not JSON compliant'
    rows = [["a", "d", "y"]] + [[str(i / 100), "1.7e308", str(i / 100)] for i in range(100)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--dtype", "float64", "-o", tmp_path / "m.npz",
                  "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert load_model(str(tmp_path / "m.npz")).pre.features[1].fill == 1.7e308


def test_column_median_is_numpys_float64_median_of_the_present_values():
    from nncli.core.preprocessing import column_median

    rng = np.random.default_rng(7)
    cases = [np.array([], np.float32), np.array([3.0], np.float32), np.array([np.inf, -np.inf], np.float32),
             np.array([2.5e38, 3e38], np.float32), np.array([1, 1, 2, 2], np.float32)]
    for n in (2, 3, 10, 11, 1000, 1001):
        for dtype in (np.float32, np.float64):
            cases.append(rng.standard_normal(n).astype(dtype))
            cases.append(rng.integers(-3, 4, n).astype(dtype))  # many ties
    for v in cases:
        before = v.copy()
        with np.errstate(invalid="ignore"):  # (inf and -inf average to NaN)
            want = float(np.median(v.astype(np.float64))) if v.size else 0.0
        got = column_median(v)
        assert got == want or (np.isnan(got) and np.isnan(want)), (v, got, want)
        assert np.array_equal(v, before)  # the column itself is left as it was


@pytest.mark.parametrize("cells", [1 << 20, 12, 5])
def test_column_stats_are_numpys_float64_mean_and_std_however_many_rows_a_block_holds(cells):
    """The standardization learned at fit: summed a block of rows at a time (about `cells` values a block:
    12 cells make blocks of 4 rows, the last one short; 5 make rows of one). A mutant that kept the last
    block's sum of squares only passed: every table in the tests fit in one block of a million cells."""
    from nncli.core.preprocessing import column_stats

    rng = np.random.default_rng(4)
    X = (rng.standard_normal((11, 3)) * [1.0, 50.0, 0.01] + [0.0, 200.0, -3.0]).astype(np.float32)
    mean, std = column_stats(X, cells)
    np.testing.assert_allclose(mean, X.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, X.astype(np.float64).std(axis=0), rtol=1e-12)


def test_missing_cells_of_a_validation_file_are_refused_or_reported_like_the_training_files(tmp_path):
    train = write_rows(tmp_path / "t.csv", [["a", "b", "y"]] + [[str(i), str(i % 4), str(i % 2)] for i in range(12)])
    val = write_rows(tmp_path / "v.csv", [["a", "b", "y"], ["1", "", "0"], ["2", "3", "1"], ["NA", "1", "0"]])
    r = run_nncli("fit", train, "--val", val, "--missing", "error", "-o", tmp_path / "m.npz", "--epochs", "2")
    assert r.returncode == 1 and not (tmp_path / "m.npz").exists()
    # The first missing cell, at its line and column, as in the training file
    assert r.stderr.decode().startswith(f"nncli: error: {val}:2:2 (column 'b'): missing value")
    r = run_nncli("fit", train, "--val", val, "-o", tmp_path / "m.npz", "--epochs", "2")
    assert r.returncode == 0 and b"imputed missing cells in the validation file: 'a' (1), 'b' (1)" in r.stderr


def test_a_regression_target_is_standardized_on_the_training_rows_only(tmp_path):
    # As the features are: the validation rows' values must not leak into the scaling (they made
    # the training R², 1 - MSE in standardized units, read 0.795 where it was 0.498).
    from nncli.workflow import DataOptions, load_training_data

    rng = np.random.default_rng(3)
    rows = [["x", "y"]] + [[f"{v:.4f}", f"{2 * v + rng.random():.4f}"] for v in rng.random(20)]
    data = load_training_data(str(write_rows(tmp_path / "d.csv", rows)), DataOptions(), "auto", val_split=0.5,
                              rng=np.random.default_rng([0, 1]))
    y = np.array([float(r[1]) for r in rows[1:]])
    train_y = data.target.decode_values(data.Y.astype(np.float64))[:, 0]
    assert data.target.mean[0] == pytest.approx(train_y.mean()) and data.target.scale[0] == pytest.approx(train_y.std())
    assert data.target.mean[0] != pytest.approx(y.mean())


def test_missing_error_names_the_first_missing_cell(tmp_path):
    rows = [["a", "b", "y"]] + [[str(i), str(i * 2), str(i % 2)] for i in range(20)]
    rows[6][1] = rows[15][1] = ""  # (the first of the column's missing cells, not its last)
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--missing", "error", "-o", tmp_path / "m.npz")
    assert r.returncode == 1 and ":7:2 (column 'b'): missing value" in r.stderr.decode()
    assert not (tmp_path / "m.npz").exists()


def test_missing_error_names_the_leftmost_cell_of_the_line_whatever_the_feature_order(tmp_path):
    rows = [["a", "b", "c", "y"]] + [[str(i), str(i * 2), str(i * 3), str(i % 2)] for i in range(20)]
    rows[3][1] = rows[3][2] = ""
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--missing", "error", "--features", "c,b,a",
                  "-o", tmp_path / "m.npz")
    assert r.returncode == 1 and ":4:2 (column 'b'): missing value" in r.stderr.decode()


def test_too_many_categories_is_refused_with_a_hint(tmp_path):
    rows = [["name", "x", "y"]] + [[f"user{i}", str(i), str(i % 2)] for i in range(80)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz")
    err = r.stderr.decode()
    assert r.returncode == 1 and "80 distinct values (limit 50)" in err and "--ignore name" in err
    ok = run_nncli("fit", tmp_path / "d.csv", "--ignore", "name", "-o", tmp_path / "m.npz", "--epochs", "2")
    assert ok.returncode == 0


def test_every_column_with_too_many_categories_is_named_in_one_error(tmp_path):
    """They were refused one run at a time: a second run to learn of the second column."""
    rows = [["name", "code", "color", "y"]] + [[f"user{i}", f"c{i}", "red" if i % 2 else "blue", str(i % 2)]
                                             for i in range(80)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz")
    err = r.stderr.decode()
    assert r.returncode == 1
    assert "column 'name' has 80 distinct values (limit 50); also over it: 'code' (80)" in err
    assert "hint: id-like columns? --ignore name,code; else raise --max-categories" in err
    ok = run_nncli("fit", tmp_path / "d.csv", "--ignore", "name,code", "-o", tmp_path / "m.npz", "--epochs", "2")
    assert ok.returncode == 0, ok.stderr


def test_another_programs_word_for_a_missing_cell_gets_the_na_values_hint(tmp_path):
    # 'None' (pandas), '#N/A' (Excel): the hint said to fix the cell or make the column categorical
    hint = " (nncli fit --na-values sets them, replacing the defaults; a model keeps those it was trained with)\n"
    rows = [["x", "y"]] + [["None" if i == 7 else str(i / 10), str(i % 2)] for i in range(60)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 1 and "d.csv:9:1 (column 'x'): expected a number, found 'None'" in r.stderr.decode()
    assert r.stderr.decode().endswith(hint)
    r = run_nncli("fit", tmp_path / "d.csv", "--na-values", "None", "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr
    for cell in ("#N/A", "NAN", "null"):
        r = run_nncli("predict", tmp_path / "m.npz", write_rows(tmp_path / "p.csv", [["x"], ["1"], [cell]]))
        assert r.returncode == 1 and r.stderr.decode().endswith("missing cells are empty ones and None" + hint)
    r = run_nncli("predict", tmp_path / "m.npz", write_rows(tmp_path / "p.csv", [["x"], ["1"], ["abc"]]))
    assert r.returncode == 1 and "--na-values" not in r.stderr.decode()
    # in a regression target too (it said "use --task classification for labels")
    rows = [["x", "y"]] + [[str(i), "NULL" if i == 50 else str(i / 2)] for i in range(100)]
    for task in ("auto", "regression"):
        r = run_nncli("fit", write_rows(tmp_path / "t.csv", rows), "-o", tmp_path / "t.npz", "--task", task)
        assert r.returncode == 1 and "t.csv:52:2 (column 'y'): expected a" in r.stderr.decode()
        assert r.stderr.decode().endswith(hint)


def test_column_names_match_in_either_unicode_form(tmp_path):
    # macOS writes 'café' decomposed: "missing column: 'café'", with the hint "did you mean 'café'?"
    import unicodedata

    nfd = unicodedata.normalize("NFD", "café")
    body = "".join(f"{i / 10},{i % 2}\n" for i in range(30))
    (tmp_path / "nfc.csv").write_text("café,y\n" + body, encoding="utf-8")
    (tmp_path / "nfd.csv").write_text(f"{nfd},y\n" + body, encoding="utf-8")
    assert run_nncli("fit", tmp_path / "nfc.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q").returncode == 0
    a, b = (run_nncli("predict", tmp_path / "m.npz", tmp_path / f"{n}.csv", "--keep", nfd) for n in ("nfc", "nfd"))
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout and a.stdout.startswith("café,prediction\n".encode())
    r = run_nncli("fit", tmp_path / "nfd.csv", "--features", "café", "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.returncode == 0 and [f.name for f in load_model(str(tmp_path / "m.npz")).pre.features] == ["café"]
    # A model saved before, with the decomposed name as it was in its file, still reads that file
    model = load_model(str(tmp_path / "m.npz"))
    model.pre.features[0].name = nfd
    save_model(model, str(tmp_path / "old.npz"))
    c = run_nncli("predict", tmp_path / "old.npz", tmp_path / "nfd.csv")
    assert c.returncode == 0 and c.stdout == run_nncli("predict", tmp_path / "m.npz", tmp_path / "nfd.csv").stdout


def test_a_class_label_that_is_another_programs_missing_cell_gets_a_notice(tmp_path):
    # 'NULL' among 0 and 1 made a third class without a word (eval refuses the same cell)
    rows = [["x", "y"]] + [[str(i % 7), "NULL" if i == 7 else str(i % 2)] for i in range(60)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "nncli: the target 'y' has the label 'NULL', another program's word for a missing " \
        "cell: if it is one, --na-values '?,N/A,NA,NaN,nan,NULL,null' drops those rows\n" in r.stderr.decode()
    r = run_nncli("fit", tmp_path / "d.csv", "--na-values", "?,N/A,NA,NaN,nan,null,NULL", "-o", tmp_path / "m.npz",
                  "--epochs", "1")
    assert r.returncode == 0 and "dropped 1 row whose target is missing" in r.stderr.decode()
    assert load_model(str(tmp_path / "m.npz")).target.classes == ["0", "1"]


def test_a_header_repeated_as_a_row_is_named_as_such(tmp_path):
    # `cat a.csv b.csv`: in a file of text the second header trained as a row (the target gained a class
    # 'label'); among numbers it was a bad cell with the hint to fix it or make the column categorical
    rows = [["color", "size", "label"]] + [[["red", "blue"][i % 2], "SM"[i % 3 > 0], ["yes", "no"][i % 5 > 1]]
                                           for i in range(30)]
    path = tmp_path / "d.csv"
    path.write_bytes(write_rows(tmp_path / "a.csv", rows).read_bytes() * 2)
    hint = "hint: this line repeats the header: files joined with cat? (tail -n +2 FILE leaves a file's header out)\n"
    r = run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 1 and r.stderr.decode().endswith(f"d.csv:32: the header again, as a row of data\n{hint}")
    # predict and eval too: predict wrote a prediction for it (unseen categories), eval blamed the label
    assert run_nncli("fit", tmp_path / "a.csv", "-o", tmp_path / "c.npz", "--epochs", "1", "-q").returncode == 0
    r = run_nncli("predict", tmp_path / "c.npz", path)
    alone = run_nncli("predict", tmp_path / "c.npz", tmp_path / "a.csv")
    assert r.returncode == 1 and r.stderr.decode().endswith(f"d.csv:32: the header again, as a row of data\n{hint}")
    assert r.stdout == alone.stdout  # the rows before it, predicted
    r = run_nncli("eval", tmp_path / "c.npz", path)
    assert r.returncode == 1 and r.stderr.decode().endswith(f"d.csv:32: the header again, as a row of data\n{hint}")
    half = write_rows(tmp_path / "h.csv", rows + [["red", "S", "label"]])  # the label alone: a hint, too
    r = run_nncli("eval", tmp_path / "c.npz", half)
    assert r.returncode == 1 and "class label 'label' was not seen in training" in r.stderr.decode()
    assert r.stderr.decode().endswith(hint)
    # two files each beginning with a byte-order mark (Excel's "CSV UTF-8"), joined: the second header's
    # first name is '\ufeffcolor', and the header trained as a row again
    path.write_bytes(b"\xef\xbb\xbf" + (tmp_path / "a.csv").read_bytes() + b"\xef\xbb\xbf" + (tmp_path / "a.csv").read_bytes())
    r = run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 1 and r.stderr.decode().endswith(f"d.csv:32: the header again, as a row of data\n{hint}")
    numbers = [["x", "y"]] + [[str(i / 10), str(i % 2)] for i in range(30)]
    path.write_bytes(write_rows(tmp_path / "a.csv", numbers).read_bytes() * 2)
    r = run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 1 and r.stderr.decode().endswith(
        f"d.csv:32:1 (column 'x'): expected a number, found 'x' (the column is mostly numeric)\n{hint}")
    assert run_nncli("fit", tmp_path / "a.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q").returncode == 0
    r = run_nncli("predict", tmp_path / "m.npz", path)
    assert r.returncode == 1 and r.stderr.decode().endswith(f"d.csv:32:1 (column 'x'): expected a number, found 'x'\n{hint}")


def test_of_several_repeated_headers_the_first_is_named_and_no_row_after_it_is_predicted(tmp_path, cli):
    """Three files of text joined with cat: the header comes again at lines 32 and 63. The error must name the
    first (naming the last, predict also wrote a prediction for every row between them, the header row too)."""
    rows = [["color", "label"]] + [[["red", "blue"][i % 2], ["yes", "no"][i % 5 > 1]] for i in range(30)]
    one = write_rows(tmp_path / "a.csv", rows)
    path = tmp_path / "d.csv"
    path.write_bytes(one.read_bytes() * 3)
    assert cli("fit", one, "-o", tmp_path / "c.npz", "--epochs", "1", "-q").exit_code == 0
    r = cli("predict", tmp_path / "c.npz", path)
    assert r.exit_code == 1 and "d.csv:32: the header again, as a row of data" in r.stderr
    assert r.stdout == cli("predict", tmp_path / "c.npz", one).stdout  # the 30 rows before it only


def test_a_single_feature_that_follows_the_target_gets_no_notice_to_ignore_it(tmp_path, cli):
    # `gen-data linear --noise 0`: x is the whole story, and --ignore x would leave no feature at all
    assert cli("gen-data", "linear", "--noise", "0", "-n", "200", "-o", tmp_path / "l.csv").exit_code == 0
    r = cli("fit", tmp_path / "l.csv", "--model", "linear", "-o", tmp_path / "m.npz", "--epochs", "2")
    assert r.exit_code == 0 and "follows the target" not in r.stderr


def test_a_feature_that_is_the_target_and_a_target_named_elsewhere_get_notices(tmp_path):
    # Both trained without a word: a copy of the target among the features (R² 0.9975), and the label
    # in the first column (Kaggle's and MNIST's layout) with the last feature taken for the target
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 300))
    y = 2 * x1 + x2 + rng.normal(size=300) * 0.3
    rows = [["x1", "x2", "y_copy", "y"]] + [[f"{a:.5f}", f"{b:.5f}", f"{2 * c:.5f}", f"{c:.5f}"] for a, b, c in zip(x1, x2, y)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    err = r.stderr.decode()
    assert r.returncode == 0 and "nncli: feature 'y_copy' follows the target almost exactly (correlation +1.0000): a " \
        "copy of it left among the features? The model would learn to read it off; if so, --ignore y_copy\n" in err
    assert "'x1' follows" not in err and "'x2' follows" not in err
    rows = [["Outcome Code", "x1", "label"]] + [[str(int(c > 0)), f"{a:.5f}", "ny"[int(c > 0)]] for a, c in zip(x1, y)]
    r = run_nncli("fit", write_rows(tmp_path / "c.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert "nncli: feature 'Outcome Code' follows the target almost exactly (correlation +1.0000)" in r.stderr.decode()
    assert "--ignore 'Outcome Code'\n" in r.stderr.decode()  # (pasted into a shell, as it is)
    rows = [["label", "a", "b"]] + [["xy"[i % 2], f"{a:.5f}", f"{b:.5f}"] for i, (a, b) in enumerate(zip(x1, x2))]
    r = run_nncli("fit", write_rows(tmp_path / "l.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert "nncli: the target is the last column, 'b'; 'label' is named like one: if it is the target, --target " \
        "label\n" in r.stderr.decode()
    r = run_nncli("fit", tmp_path / "l.csv", "--target", "label", "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "named like one" not in r.stderr.decode() and "follows the target" not in r.stderr.decode()


def test_a_regression_target_with_one_value_gets_a_notice(tmp_path):
    rows = [["x", "y", "z"]] + [[str(i), "5.5", str(i % 3)] for i in range(30)]
    near = [["x", "y"]] + [[str(i % 7), repr(0.1 + 1e-15 * (i % 2))] for i in range(30)]  # (R² -8e30, and no word)
    r = run_nncli("fit", write_rows(tmp_path / "n.csv", near), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "the target 'y' has the same value on every row (0.1)" in r.stderr.decode()
    assert "little or no better" not in r.stderr.decode()
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--target", "y,z", "-o", tmp_path / "m.npz",
                  "--epochs", "1")
    assert r.returncode == 0 and "nncli: the target 'y' has the same value on every row (5.5): the model learns to " \
        "predict that number, whatever the features\n" in r.stderr.decode() and "'z' has the same" not in r.stderr.decode()


def test_labels_that_are_one_number_written_two_ways_get_a_notice(tmp_path):
    # '1' and '1.0' in one target (a half-converted export) made four classes of two, without a word
    rows = [["x", "y"]] + [[str(i), ["0", "1", "0.0", "1.0"][i % 4]] for i in range(40)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "nncli: the target 'y' has labels that are one number written two ways ('0' and " \
        "'0.0', …): they are different classes, as labels are text; if they are one class, write them one way\n" \
        in r.stderr.decode()
    rows = [["x", "y"]] + [[str(i), ["0", "1", "1.0"][i % 3]] for i in range(40)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "two ways ('1' and '1.0'): they" in r.stderr.decode()
    rows = [["x", "y"]] + [[str(i), ["0", "1", "2"][i % 3]] for i in range(40)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "two ways" not in r.stderr.decode()
    rows = [["x", "y"]] + [[str(i), ["yes", "no", "Yes"][i % 3]] for i in range(40)]  # (one word, two cases)
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "has labels that are one word in two cases ('Yes' and 'yes'): they are different " \
        "classes" in r.stderr.decode()


def test_a_numeric_id_column_and_a_target_of_whole_numbers_get_a_notice(tmp_path):
    """A column of row numbers trained as a feature, and an integer target read as 11 classes, without
    a word; a feature of whole numbers that repeat (a count, a pixel) and a 0/1 target need none."""
    rows = [["id", "pixel", "income", "x", "calls", "label"]]
    rows += [[str(5000 + i), str(i * 7 % 256), str(20_000 + i * 7919 % 100_003), f"{i / 7:.3f}", str(i % 11),
              str(i % 2)] for i in range(300)]  # (incomes: distinct whole numbers, spread wide: no id)
    path = write_rows(tmp_path / "d.csv", rows)
    r = run_nncli("fit", path, "--target", "calls", "-o", tmp_path / "m.npz", "--epochs", "1", "--progress", "plain")
    notices = [line for line in r.stderr.decode().splitlines()
               if line.startswith("nncli:") and "does little or no better" not in line]  # (one epoch of noise)
    assert r.returncode == 0 and notices == [
        "nncli: column 'id' holds a different whole number on every row, as an id or a row number does: if it is one, "
        "--ignore id (the model would learn from the numbering; a day or a rank may be a real feature)",
        "nncli: the target 'calls' holds 11 distinct whole numbers: read as classes (--task regression to predict it "
        "as a number)"]
    # a target named as classes says so itself (`gen-data blobs --classes 12` writes 'label')
    rows = [[("label" if c == "calls" else "lbl" if c == "label" else c) for c in rows[0]]] + rows[1:]
    r = run_nncli("fit", write_rows(tmp_path / "e.csv", rows), "--target", "label", "-o", tmp_path / "m.npz",
                  "--epochs", "1")
    assert r.returncode == 0 and "distinct whole numbers" not in r.stderr.decode()
    # named as an id, however spread (counted from 1000 in steps of 3, or with a missing cell): a notice too
    rng = np.random.default_rng(0)
    ids = [["Customer ID", "user_id", "x", "y"]] + [[str(1000 + 3 * i), "" if i == 5 else str(10 ** 6 + 7 * i),
                                                     f"{v:.3f}", str(int(v > 0))] for i, v in enumerate(rng.normal(size=80))]
    r = run_nncli("fit", write_rows(tmp_path / "i.csv", ids), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "column 'Customer ID' holds a different whole number on every row" in r.stderr.decode()
    assert "--ignore 'Customer ID' (the model" in r.stderr.decode() and "column 'user_id' holds" in r.stderr.decode()
    years = [["year", "gdp"]] + [[str(1950 + i), f"{i * 1.5 + i % 3:.2f}"] for i in range(74)]  # (one a row: no id)
    r = run_nncli("fit", write_rows(tmp_path / "y.csv", years), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.returncode == 0 and "as an id" not in r.stderr.decode()
    r = run_nncli("fit", path, "--ignore", "id,calls", "-o", tmp_path / "m.npz", "--epochs", "1", "--progress", "plain")
    assert r.returncode == 0 and not re.search(r"nncli: (?!the model does little or no better)", r.stderr.decode())
    # Classes written 0, 1, 2 (as most are, up to ten): no notice
    from conftest import SAMPLES
    r = run_nncli("fit", SAMPLES / "blobs.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "--progress", "plain")
    assert r.returncode == 0 and "distinct whole numbers" not in r.stderr.decode()
    # A handful of distinct years, shuffled, that tell the label: a feature, not an id
    years = write_rows(tmp_path / "y.csv", [["year", "label"]] + [[str(1990 + i * 7 % 30), str(i % 2)] for i in range(30)])
    r = run_nncli("fit", years, "-o", tmp_path / "m.npz", "--epochs", "1", "--progress", "plain")
    assert r.returncode == 0 and "as an id does" not in r.stderr.decode()


def test_forced_categorical_numbers(tmp_path):
    rows = [["zip", "x", "y"]] + [[str(1000 + i % 3), str(i), str(i % 3 == 0)] for i in range(60)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--categorical", "zip", "-o", tmp_path / "m.npz",
                  "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    zipf = load_model(str(tmp_path / "m.npz")).pre.features[0]
    assert zipf.kind == "categorical" and zipf.categories == ["1000", "1001", "1002"]


@pytest.fixture(scope="module")
def codes_after_numbers(tmp_path_factory):
    """A mostly-text column whose first 40,000 rows (more than two chunks) hold number-like codes
    written in ways a float would not keep: '007', '1.50', 16777217 (not a float32)."""
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.choice(["007", "1.50", "16777217"], 40_000), rng.choice(["A", "B"], 45_000)])
    x = rng.random(len(codes))
    rows = [["x", "code", "y"]] + [[f"{a:.4f}", c, str(int(c in ("007", "A")))] for a, c in zip(x, codes)]
    return write_rows(tmp_path_factory.mktemp("codes") / "d.csv", rows)


def test_a_column_turning_to_text_after_chunks_of_numbers_keeps_its_cells_as_written(codes_after_numbers, tmp_path):
    # Its early chunks were read as numbers; the file is read again with it as text from the start.
    model = tmp_path / "m.npz"
    r = run_nncli("fit", codes_after_numbers, "-o", model, "--epochs", "3", "-q", env={"NNCLI_NO_ARROW": "1"})
    assert r.returncode == 0, r.stderr
    code = load_model(str(model)).pre.features[1]
    assert code.kind == "categorical" and code.categories == ["007", "1.50", "16777217", "A", "B"]  # not '7', '1.5'
    e = run_nncli("eval", model, codes_after_numbers)
    assert e.returncode == 0 and b"not seen in training" not in e.stderr  # predict reads the cells as written


@pytest.mark.parametrize("arrow", ["1", ""])
def test_a_text_column_from_the_first_rows_on_is_read_once(tmp_path, monkeypatch, arrow):
    """A text cell in the first chunk left an empty piece of numbers behind, which made the column look
    as if it had turned to text after numbers: every `fit` of a table with a text column read the file
    twice (1M rows of `mixed`: 15.4 s against 10.0 s)."""
    from nncli import csv_io

    monkeypatch.setenv("NNCLI_NO_ARROW", arrow)
    reads = []
    read = csv_io.TableReader.read
    monkeypatch.setattr(csv_io.TableReader, "read", lambda self: reads.append(1) or read(self))
    rows = [["x", "code", "y"]] + [[str(i % 13), ["007", "a", "b"][i % 3], str(i % 2)] for i in range(3000)]
    data = load_training_data(str(write_rows(tmp_path / "d.csv", rows)), DataOptions(), "auto")
    assert len(reads) == 1
    assert data.pre.features[1].categories == ["007", "a", "b"]  # (the cells as written)


def test_guessing_the_task_of_a_numeric_target_takes_no_more_memory_than_being_told(tmp_path, monkeypatch):
    """The task was guessed from a set of every target cell's text: 20 million rows of numbers took
    2.88 GB to fit, against 1.68 GB with --task regression."""
    import tracemalloc

    monkeypatch.setenv("NNCLI_NO_ARROW", "1")
    rng = np.random.default_rng(0)
    x = rng.random(100_000)
    path = write_rows(tmp_path / "d.csv", [["x", "y"]] + [[f"{a:.6f}", f"{2 * a + b:.6f}"]
                                                         for a, b in zip(x, rng.random(100_000))])
    peaks = {}
    for task in ("regression", "auto"):
        tracemalloc.start()
        data = load_training_data(str(path), DataOptions(), task)
        peaks[task] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert data.target.task == "regression"
    assert peaks["auto"] < peaks["regression"] + 2e6, peaks  # (the set: 9 MB more)


def test_from_stdin_a_column_turning_to_text_after_chunks_of_numbers_is_an_error(codes_after_numbers, tmp_path):
    r = run_nncli("fit", "-", "-o", tmp_path / "m.npz", input=codes_after_numbers.read_bytes())
    assert r.returncode == 1 and not (tmp_path / "m.npz").exists()
    assert r.stderr.decode().startswith(f"nncli: error: <stdin>:40002: column 'code' turns to text "
                                        f"('{read_rows(codes_after_numbers)[40_001][1]}') after many rows of numbers, "
                                        "and from this stream nncli cannot go back")
    assert "hint: use --categorical code" in r.stderr.decode()
    forced = run_nncli("fit", "-", "--categorical", "code", "-o", tmp_path / "m.npz", "--epochs", "1", "-q",
                       input=codes_after_numbers.read_bytes())
    assert forced.returncode == 0, forced.stderr


def test_a_regular_file_as_stdin_is_read_again_like_a_file(codes_after_numbers, tmp_path):
    with open(codes_after_numbers, "rb") as f:  # `nncli fit - < d.csv`: stdin can seek
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", "-", "-o", str(tmp_path / "m.npz"), "--epochs", "1",
                            "-q"], stdin=f, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert load_model(str(tmp_path / "m.npz")).pre.features[1].categories == ["007", "1.50", "16777217", "A", "B"]


def test_a_file_as_stdin_past_its_first_line_is_read_again_from_there(codes_after_numbers, tmp_path):
    """`{ read -r preamble; nncli fit -; } < f`: the second read went back to byte 0, and took the
    preamble for the header."""
    data = tmp_path / "preamble.csv"
    data.write_bytes(b"exported by some tool\n" + codes_after_numbers.read_bytes())
    with open(data, "rb", buffering=0) as f:
        f.readline()  # (as the shell's `read`: the offset just past the line)
        r = subprocess.run([sys.executable, "-m", "nncli", "fit", "-", "-o", str(tmp_path / "m.npz"), "--epochs", "1",
                            "-q"], stdin=f, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    model = load_model(str(tmp_path / "m.npz"))
    assert model.pre.names == ["x", "code"] and model.target.names == ["y"]
    assert model.pre.features[1].categories == ["007", "1.50", "16777217", "A", "B"]


def test_the_second_read_goes_through_pyarrow_alike(codes_after_numbers, monkeypatch):
    pytest.importorskip("pyarrow")
    from nncli import csv_arrow
    from nncli.workflow import DataOptions, read_training_table

    tables = []
    for arrow in (True, False):
        monkeypatch.setattr(csv_arrow, "ARROW_MIN_BYTES", 0 if arrow else 1 << 62)
        table = read_training_table(str(codes_after_numbers), DataOptions())[0]
        tables.append({c: col.values for c, col in table.columns.items()})
    assert sorted(set(tables[0]["code"].tolist())) == ["007", "1.50", "16777217", "A", "B"]
    for c in tables[0]:
        np.testing.assert_array_equal(tables[0][c], tables[1][c])


def test_a_cell_reading_missing_in_angle_brackets_is_the_missing_category(tmp_path):
    rows = [["x", "cat", "y"]] + [[str(i), ["a", "<missing>", ""][i % 3], str(i % 2)] for i in range(30)]
    model = tmp_path / "m.npz"
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--categorical", "cat", "-o", model, "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert load_model(str(model)).pre.features[1].categories == ["<missing>", "a"]  # once: the model loads


def test_a_regression_target_equal_to_a_missing_value_token_is_dropped(tmp_path):
    rows = [["x", "y"]] + [[str(i), str(2 * i)] for i in range(20)] + [["1", "-999"], ["2", "-999.0"], ["3", "-9990"]]
    model = tmp_path / "m.npz"
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--task", "regression", "--na-values", "-999",
                  "-o", model, "--epochs", "1")
    assert r.returncode == 0 and b"dropped 2 rows whose target is missing" in r.stderr
    assert load_model(str(model)).info["rows"] == 21


def test_rows_before_a_bad_cell_read_a_missing_value_token_by_value(tmp_path):
    # The careful reader returned at the bad cell before marking -999.0 missing: the row before it
    # was predicted with x = -999 (-2133.1), though the same row alone was imputed.
    rows = [["x", "z", "y"]] + [["-999" if i % 10 == 0 else str(i / 30), str(i % 7), str(i / 10 + i % 7)]
                                for i in range(60)]
    model = tmp_path / "m.npz"
    assert run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--na-values", "-999", "--model", "linear",
                     "-o", model, "--epochs", "1", "-q").returncode == 0
    alone = run_nncli("predict", model, write_rows(tmp_path / "a.csv", [["x", "z"], ["0.1", "3"], ["-999.0", "3"]]))
    bad = run_nncli("predict", model, write_rows(tmp_path / "b.csv", [["x", "z"], ["0.1", "3"], ["-999.0", "3"],
                                                                     ["foo", "3"]]))
    assert alone.returncode == 0 and bad.returncode == 1 and b"expected a number, found 'foo'" in bad.stderr
    # (The same values; the rows before a bad cell come by another float32 path, so the last digit may differ.)
    assert len(alone.stdout.splitlines()) == 3 and bad.stdout.splitlines()[0] == b"prediction"
    assert np.array(bad.stdout.split()[1:], float) == pytest.approx(np.array(alone.stdout.split()[1:], float), rel=1e-6)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_delimiter_is_detected(tmp_path, delimiter):
    rng = np.random.default_rng(0)
    rows = [["a", "b", "label"]] + [[f"{x:.3f}", f"{y:.3f}", "p" if x > y else "q"] for x, y in rng.random((60, 2))]
    path = write_rows(tmp_path / "d.txt", rows, delimiter)
    r = run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    assert [f.name for f in load_model(str(tmp_path / "m.npz")).pre.features] == ["a", "b"]
    p = run_nncli("predict", tmp_path / "m.npz", path)
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 61


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("quoted, d", [(False, ";"), (True, ";"), (False, "\t")])
def test_a_spreadsheets_sep_line_gives_the_delimiter(cli, tmp_path, line_end, quoted, d):
    # Excel's first line `sep=;` was read as the header: "empty column name ... ends with the delimiter ';'"
    # (in process: 11 nncli processes a case took 14 s)
    q = '"' if quoted else ""
    body = line_end.join([f"{q}a{q}{d}{q}b{q}{d}{q}y{q}"] + [f"{i / 10}{d}{i % 3}{d}{i % 2}" for i in range(30)]) + line_end
    (tmp_path / "plain.csv").write_text(body, newline="")
    (tmp_path / "sep.csv").write_text(f"sep={d}" + line_end + body, newline="")
    for name in ("plain", "sep"):
        r = cli("fit", tmp_path / f"{name}.csv", "-o", tmp_path / f"{name}.npz", "--epochs", "1", "-q")
        assert r.exit_code == 0, r.stderr
    plain, sep = (load_model(str(tmp_path / f"{name}.npz")) for name in ("plain", "sep"))
    assert [f.name for f in sep.pre.features] == ["a", "b"] and sep.info["data_sha256"] == plain.info["data_sha256"]
    p = [cli("predict", tmp_path / "sep.npz", tmp_path / f"{name}.csv").stdout for name in ("plain", "sep")]
    assert p[0] == p[1] and len(p[0].splitlines()) == 31
    (tmp_path / "upper.csv").write_text(f"SEP={d}" + line_end + body, newline="")  # (as some programs write it)
    assert cli("predict", tmp_path / "sep.npz", tmp_path / "upper.csv").stdout == p[0]
    (tmp_path / "bad.csv").write_text(f"sep={d}" + line_end + body + f"oops{d}1{d}0" + line_end, newline="")
    r = cli("fit", tmp_path / "bad.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.exit_code == 1 and "bad.csv:33:1 (column 'a'): expected a number, found 'oops'" in r.stderr
    # errors about the header name its line, the second (they said line 1)
    r = cli("fit", tmp_path / "sep.csv", "--target", "nope", "-o", tmp_path / "m.npz")
    assert r.exit_code == 1 and "sep.csv:2: no column named 'nope'" in r.stderr
    r = cli("predict", tmp_path / "sep.npz", tmp_path / "sep.csv", "--keep", "nope")
    assert r.exit_code == 1 and "sep.csv:2: no column named 'nope' (in --keep)" in r.stderr
    (tmp_path / "dup.csv").write_text(f"sep={d}" + line_end + f"a{d}a{d}y" + line_end + f"1{d}2{d}3" + line_end, newline="")
    r = cli("fit", tmp_path / "dup.csv", "-o", tmp_path / "m.npz")
    assert r.exit_code == 1 and "dup.csv:2:2: duplicate column name 'a'" in r.stderr


def test_explicit_delimiter_overrides_detection(tmp_path):
    # The header alone would suggest ';' (it appears in a quoted name), the data is comma-separated.
    text = '"a;b;c;d",x,y\n' + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(30))
    (tmp_path / "d.csv").write_text(text)
    r = run_nncli("fit", tmp_path / "d.csv", "--delimiter", ",", "-o", tmp_path / "m.npz", "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    assert load_model(str(tmp_path / "m.npz")).pre.names == ["a;b;c;d", "x"]
    # Detected alike: names in quotes do not count (';' three times in them, ',' twice outside)
    r = run_nncli("fit", tmp_path / "d.csv", "-o", tmp_path / "m2.npz", "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    assert load_model(str(tmp_path / "m2.npz")).pre.names == ["a;b;c;d", "x"]


def test_spaces_around_column_names_are_not_part_of_them(tmp_path):
    # `a, b, label`, as people type it: the names are a and b, in any file the model meets
    rows = "".join(f"{i / 10}, {i % 3}, {i % 2}\n" for i in range(30))
    (tmp_path / "d.csv").write_text("a, b, label\n" + rows)
    r = run_nncli("fit", tmp_path / "d.csv", "--target", "label", "-o", tmp_path / "m.npz", "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    assert load_model(str(tmp_path / "m.npz")).pre.names == ["a", "b"]
    (tmp_path / "p.csv").write_text("b,a\n1,0.5\n")
    p = run_nncli("predict", tmp_path / "m.npz", tmp_path / "p.csv")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 2, p.stderr


def test_gzip_input_from_file_and_stdin(messy, tmp_path):
    _, test, model, _ = messy
    gz = tmp_path / "test.csv.gz"
    gz.write_bytes(gzip.compress(test.read_bytes()))
    plain = run_nncli("predict", model, test).stdout
    assert run_nncli("predict", model, gz).stdout == plain
    assert run_nncli("predict", model, "-", input=gz.read_bytes()).stdout == plain


def test_quoted_fields_with_embedded_newlines_and_delimiters(tmp_path):
    rows = [["note", "x", "y"]] + [[f"line one\nline, two {i % 2}", str(i), str(i % 2)] for i in range(40)]
    path = write_rows(tmp_path / "d.csv", rows)
    r = run_nncli("fit", path, "--categorical", "note", "-o", tmp_path / "m.npz", "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    cats = load_model(str(tmp_path / "m.npz")).pre.features[0].categories
    assert cats == ["line one\nline, two 0", "line one\nline, two 1"]
    bad = rows[:5] + [["a\nb", "oops", "1"]]
    e = run_nncli("predict", tmp_path / "m.npz", write_rows(tmp_path / "bad.csv", bad))
    assert e.returncode == 1 and ":10:2 (column 'x')" in e.stderr.decode()  # physical line of the bad row


def test_keep_copies_columns_next_to_the_prediction(messy):
    _, test, model, _ = messy
    r = run_nncli("predict", model, test, "--keep", "id,color")
    rows = list(csv.reader(io.StringIO(r.stdout.decode())))
    assert rows[0] == ["id", "color", "prediction"]
    src = read_rows(test)
    assert [row[:2] for row in rows[1:]] == [[s[0], s[2]] for s in src[1:]]


def test_mixed_with_missing_cells_is_close_to_the_clean_data(tmp_path):
    """The quality bar: 10% missing cells per feature cost only the information they remove.

    About a third of the rows miss some cell, and a missing x1 or x2 hides much of the
    label's signal, so some loss is inherent; on the complete rows, the model trained on
    messy data must match the model trained on clean data.
    """
    acc, complete_acc = {}, {}
    for rate in ("0", "0.1"):
        train, test, model = tmp_path / f"tr{rate}.csv", tmp_path / f"te{rate}.csv", tmp_path / f"m{rate}.npz"
        run_nncli("gen-data", "mixed", "-n", "1500", "--seed", "3", "--missing-rate", rate, "-o", train)
        run_nncli("gen-data", "mixed", "-n", "500", "--seed", "4", "--missing-rate", rate, "-o", test)
        assert run_nncli("fit", train, "--ignore", "id", "-o", model, "-q").returncode == 0
        rows = read_rows(test)[1:]
        preds = run_nncli("predict", model, test).stdout.decode().split()[1:]
        right = np.array([p == r[5] for p, r in zip(preds, rows)])
        complete = np.array([all(r[1:5]) for r in rows])
        acc[rate], complete_acc[rate] = right.mean(), right[complete].mean()
    assert acc["0"] > 0.93
    assert complete_acc["0.1"] > acc["0"] - 0.025
    assert acc["0.1"] > acc["0"] - 0.08


@pytest.mark.parametrize("typo, hint", [("abc", "--task classification"), ("1_000", "thousands separators")])
def test_a_typo_in_a_numeric_target_is_an_error_at_its_line_not_a_hundred_classes(tmp_path, cli, typo, hint):
    rng = np.random.default_rng(0)
    rows = [["x", "y"]] + [[str(i), f"{v:.3f}"] for i, v in enumerate(rng.uniform(0, 100, 60))]
    rows[31][1] = typo
    path = write_rows(tmp_path / "d.csv", rows)
    r = cli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.exit_code == 1 and not (tmp_path / "m.npz").exists()
    assert r.stderr.startswith(f"nncli: error: {path}:32:2 (column 'y'): expected a number, found '{typo}'")
    assert hint in r.stderr
    # As labels, when told so; and a column of many text labels is labels
    assert cli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1", "--task", "classification").exit_code == 0
    rows = [["x", "y"]] + [[str(i), f"name{i % 30}" if i != 7 else "12.5"] for i in range(60)]
    r = cli("fit", write_rows(tmp_path / "n.csv", rows), "-o", tmp_path / "n.npz", "--epochs", "1")
    assert r.exit_code == 0 and load_model(str(tmp_path / "n.npz")).task == "classification"
    # Few text values but most of the cells: labels too ('yes', 'no' and 25 numeric codes)
    rows = [["x", "y"]] + [[str(i), str(i) if i < 25 else ("yes", "no")[i % 2]] for i in range(400)]
    r = cli("fit", write_rows(tmp_path / "c.csv", rows), "-o", tmp_path / "c.npz", "--epochs", "1")
    assert r.exit_code == 0 and load_model(str(tmp_path / "c.npz")).task == "classification"


def test_a_target_written_with_an_underscore_is_no_number_in_fit_or_eval(tmp_path, cli):
    # float() reads '1_000' as 1000; the readers, fit and eval all agree that it is text.
    rows = [["x", "y"]] + [[str(i), str(i % 3)] for i in range(30)]
    train = write_rows(tmp_path / "t.csv", rows)
    assert cli("fit", train, "-o", tmp_path / "m.npz", "--epochs", "1", "--task", "regression").exit_code == 0
    rows[5][1] = "1_0"
    bad = write_rows(tmp_path / "b.csv", rows)
    r = cli("fit", bad, "-o", tmp_path / "b.npz", "--epochs", "1", "--task", "regression")
    assert r.exit_code == 1 and f"{bad}:6:2 (column 'y'): expected a finite number as the target, found '1_0'" in r.stderr
    r = cli("eval", tmp_path / "m.npz", bad)
    assert r.exit_code == 1 and f"{bad}:6:2" in r.stderr
    assert "several target columns" not in r.stderr  # (a hint for fit with several targets: this model has one)


@pytest.mark.parametrize("targets, cell, labels_hint", [("y", "oops", True), ("y", "inf", False), ("y", "1e309", False),
                                                        ("y,z", "oops", False)])
def test_fit_locates_a_bad_regression_target_cell(tmp_path, cli, targets, cell, labels_hint):
    # Rows 1-5 lack a target (dropped), so the bad cell's row is not its index among the kept ones.
    rows = [["x", "y", "z"]] + [[str(i), "" if i < 5 else f"{i * 7}.5", str(i)] for i in range(300)]
    rows[151][1] = cell
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-t", targets, "--task", "regression", "-o", tmp_path / "m.npz")
    assert r.exit_code == 1
    assert f"d.csv:152:2 (column 'y'): expected a finite number as the target, found '{cell}'" in r.stderr
    assert ("--task classification" in r.stderr) == labels_hint  # (which takes one target column)
    assert ("several target columns are numbers to predict" in r.stderr) == (targets == "y,z" and cell == "oops")
    assert not (tmp_path / "m.npz").exists()


def test_a_validation_file_is_read_in_the_training_dtype(tmp_path):
    # --dtype float64 keeps the digits that float32 loses near 1e6 (steps of 0.0625): in the
    # validation file too, which was read in float32 whatever --dtype said.
    rows = [["a", "y"]] + [[f"{1e6 + i / 100:.2f}", str(i % 2)] for i in range(40)]
    train, val = write_rows(tmp_path / "t.csv", rows), write_rows(tmp_path / "v.csv", rows)
    data = load_training_data(str(train), DataOptions(dtype="float64"), "auto", val_path=str(val))
    assert data.X.dtype == data.X_val.dtype == np.float64
    np.testing.assert_array_equal(data.X_val, data.X)


def test_an_input_the_same_on_every_row_gets_zero_weights_and_a_zero_coefficient(tmp_path, cli):
    # It gets no gradient: random first weights stayed, showed in the equation (2.35·c with one
    # seed, -1.41·c with another) and added noise to predictions where the column varies.
    rng = np.random.default_rng(0)
    rows = [["a", "c", "y"]] + [[f"{a:.6f}", "7", f"{2 * a + 1:.6f}"] for a in rng.normal(size=100)]
    path = write_rows(tmp_path / "d.csv", rows)
    for seed in ("0", "1"):
        r = cli("fit", path, "-o", tmp_path / "m.npz", "--model", "linear", "--l2", "0", "--epochs", "3",
                "--seed", seed, "--json", "-q")
        assert r.exit_code == 0
        model = load_model(str(tmp_path / "m.npz"))
        assert not model.network.W[0][1].any()
        weights = json.loads(cli("show", tmp_path / "m.npz", "--json").stdout)["equation"]["y"]["weights"]
        assert {w["input"]: w["weight"] for w in weights}["c"] == 0
    cli("fit", path, "-o", tmp_path / "h.npz", "--hidden", "4", "--epochs", "2", "-q")
    assert not load_model(str(tmp_path / "h.npz")).network.W[0][1].any()


def test_a_validation_split_that_leaves_one_class_to_train_on_is_refused(tmp_path):
    # Two rows of two classes: the stratified split keeps one of each, and training saw one class.
    write_rows(tmp_path / "d.csv", [["x", "y"], ["1", "a"], ["2", "b"]])
    r = run_nncli("fit", tmp_path / "d.csv", "--val-split", "0.5", "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 1 and "with --val-split 0.5, the training rows hold a single class" in r.stderr.decode()
    assert not (tmp_path / "m.npz").exists()
    # Three rows of three classes: one goes to validation, and the model would predict a class it never saw.
    write_rows(tmp_path / "d.csv", [["x", "y"], ["1", "a"], ["2", "b"], ["3", "c"]])
    r = run_nncli("fit", tmp_path / "d.csv", "--val-split", "0.3", "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 1 and "with --val-split 0.3, no training row has the class" in r.stderr.decode()
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("end", ["\n", "\r"], ids=["LF", "CR"])
def test_a_line_break_inside_a_quoted_column_name_is_named_as_such(tmp_path, end):
    # It read "cannot parse the header row: unexpected end of data".
    (tmp_path / "d.csv").write_bytes(f'a,"b{end}c",y\n1,2,3\n'.encode())
    r = run_nncli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz")
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode().endswith("d.csv:1: cannot parse the header row: a quoted column name is not closed on "
                                      "its line\nhint: column names cannot hold line breaks\n"), r.stderr


def test_a_closed_quote_followed_by_more_of_the_name_is_not_said_to_be_left_open():
    # `"a"b` closes its quote: the header's fault is the text after it, not a line break in a name.
    from nncli.csv_source import parse_header
    from nncli.errors import DataError

    with pytest.raises(DataError) as e:
        parse_header('"a"b,c', "d.csv", ",")
    with pytest.raises(csv.Error) as ref:
        next(csv.reader(['"a"b,c'], strict=True))
    assert str(e.value) == f"d.csv:1: cannot parse the header row: {ref.value}" and not e.value.hint


@pytest.mark.parametrize("arrow", [False, True])
@pytest.mark.parametrize("cell, na_values", [("NAN", None), ("nan", "?"), ("NaN", "")])
def test_a_nan_cell_is_missing_only_when_na_values_lists_it(tmp_path, monkeypatch, arrow, cell, na_values):
    if arrow:
        pytest.importorskip("pyarrow")
    from nncli import csv_arrow
    from nncli.errors import DataError
    from nncli.workflow import read_training_table
    monkeypatch.setattr(csv_arrow, "ARROW_MIN_BYTES", 0 if arrow else 1 << 62)
    rows = [["x", "y"]] + [[str(i), "ab"[i % 2]] for i in range(40)]
    rows[31][0] = cell
    path = str(write_rows(tmp_path / "d.csv", rows))
    options = DataOptions() if na_values is None else DataOptions(na_values=("", na_values))
    with pytest.raises(DataError) as e:
        read_training_table(path, options)
    assert (e.value.line, e.value.column) == (32, 1) and cell in str(e.value) and "--na-values" in e.value.hint
    assert e.value.hint.startswith("missing cells are empty ones" + (" only" if na_values == "" else " and"))
    table = read_training_table(path, DataOptions(na_values=("", cell)))[0]
    assert np.isnan(table.columns["x"].values[30]) and np.isfinite(np.delete(table.columns["x"].values, 30)).all()


@pytest.mark.parametrize("first", [True, False])
def test_a_nan_spelling_in_a_text_column_is_text_wherever_it_comes(tmp_path, first):
    # 'Nan' is a name here; before its column turned to text it must not stop the reader as a bad number.
    names = ["Bob", "Ann", "Eve", "Bob"] * 10
    names.insert(0 if first else 20, "Nan")
    rows = [["name", "age", "y"]] + [[s, str(30 + i % 7), "ab"[i % 2]] for i, s in enumerate(names)]
    model = tmp_path / "m.npz"
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", model, "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert load_model(str(model)).pre.features[0].categories == ["Ann", "Bob", "Eve", "Nan"]


def test_hints_in_predict_and_eval_name_the_model_s_missing_value_tokens(tmp_path):
    # The model was trained with --na-values '?': 'NA' is no missing cell for it, and the hint says so
    # rather than "empty and NA cells count as missing" (and names fit's option: predict has none).
    rows = [["x", "y"]] + [[str(i), "ab"[i % 2]] for i in range(40)]
    model = tmp_path / "m.npz"
    assert run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "--na-values", "?", "-o", model, "--epochs", "1",
                     "-q").returncode == 0
    rows[5][0] = "NA"
    bad = write_rows(tmp_path / "b.csv", rows)
    for command in ("predict", "eval"):
        r = run_nncli(command, model, bad)
        assert r.returncode == 1
        assert r.stderr.decode().endswith("b.csv:6:1 (column 'x'): expected a number, found 'NA'\n"
                                          "hint: missing cells are empty ones and ? (nncli fit --na-values sets them, "
                                          "replacing the defaults; a model keeps those it was trained with)\n")


def test_a_column_of_decimal_commas_is_refused_with_a_hint_not_taken_for_categories(tmp_path):
    rows = [["x", "z", "y"]] + [[f"{i / 7:.3f}".replace(".", ","), str(i % 5), "ab"[i % 2]] for i in range(60)]
    path = write_rows(tmp_path / "d.csv", rows, delimiter=";")
    r = run_nncli("fit", path, "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.returncode == 1 and not (tmp_path / "m.npz").exists()
    assert "d.csv:2:1 (column 'x'): expected a number, found '0,000' (numbers written with a comma in the column)" in r.stderr.decode()
    assert "write 0.5, not 0,5; if these are labels, --categorical x" in r.stderr.decode()
    # A target of them would have been a classification into 60 classes
    target = write_rows(tmp_path / "t.csv", [["x", "y"]] + [[str(i), f"{i / 7:.3f}".replace(".", ",")] for i in range(60)],
                        delimiter=";")
    r = run_nncli("fit", target, "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.returncode == 1 and "t.csv:2:2 (column 'y'): expected a number, found '0,000' (numbers written with a comma in " \
        "the target)\nhint: nncli reads '.' as the decimal point" in r.stderr.decode()
    # So would a target of a few of them: 0,5 and 1,5 made two classes
    few = write_rows(tmp_path / "f.csv", [["x", "y"]] + [[str(i), "01"[i % 2] + ",5"] for i in range(60)], delimiter=";")
    r = run_nncli("fit", few, "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.returncode == 1 and "f.csv:2:2 (column 'y'): expected a number, found '0,5' (numbers written with a comma" in r.stderr.decode()
    assert run_nncli("fit", few, "-o", tmp_path / "m.npz", "--epochs", "1", "-q", "--task", "classification"
                     ).returncode == 0
    # Beside whole numbers, which need no comma ('3' among '3,5'): they were 12 categories, a target 15 classes
    mixed = [["preis", "z", "y"]] + [[str(i % 4) + ("" if i % 3 == 0 else ",5"), str(i % 5), f"{i % 4 + 0.5 * (i % 3 > 0)}"
                                      .replace(".0", "").replace(".", ",")] for i in range(60)]
    r = run_nncli("fit", write_rows(tmp_path / "m.csv", mixed, delimiter=";"), "-o", tmp_path / "m.npz", "-q",
                  "--target", "z")
    assert r.returncode == 1 and "m.csv:3:1 (column 'preis'): expected a number, found '1,5' (numbers written with a comma" \
        in r.stderr.decode()
    r = run_nncli("fit", write_rows(tmp_path / "m.csv", mixed, delimiter=";"), "-o", tmp_path / "m.npz", "-q",
                  "--ignore", "preis")
    assert r.returncode == 1 and "m.csv:3:3 (column 'y'): expected a number, found '1,5' (numbers written with a comma" \
        in r.stderr.decode()
    grouped = [["n", "y"]] + [[["500", "1,200", "2,500"][i % 3], "ab"[i % 2]] for i in range(60)]  # (quoted: ',' delimited)
    r = run_nncli("fit", write_rows(tmp_path / "g.csv", grouped), "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 1 and "(column 'n'): expected a number, found '1,200'" in r.stderr.decode()
    assert "thousands separators are not supported" in r.stderr.decode()
    # Labels they may be: --categorical says so (only 60 distinct values here: within --max-categories 100)
    r = run_nncli("fit", path, "--categorical", "x", "--max-categories", "100", "-o", tmp_path / "m.npz",
                  "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr


def test_column_names_that_are_numbers_outside_their_columns_are_names(tmp_path):
    # Wavelengths (900.5, 921) or frequencies (250, 500, 1000) over columns of other numbers: a header, not
    # a first row of data (it got the "no header row" notice)
    for header in (["900.5", "921", "941.5", "y"], ["250", "500", "1000", "y"]):
        rows = [header] + [[f"{(i * 7 % 11) / 10:.2f}", f"{(i % 5) / 3:.3f}", f"{(i % 7) / 9:.3f}", "ab"[i % 2]]
                           for i in range(40)]
        r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
        assert r.returncode == 0 and "no header row" not in r.stderr.decode()


def test_a_file_without_a_header_row_is_pointed_out(tmp_path):
    rows = [[f"{i / 10:.1f}", str(i % 7), "ab"[i % 2]] for i in range(40)]
    # Years are column names; a row of data has fractions, or the target's own value where its name goes
    for header, said in ((["x", "z", "y"], False), (["2019", "2020", "label"], False), (["1", "2", "label"], False),
                         ([], True)):
        r = run_nncli("fit", write_rows(tmp_path / "d.csv", ([header] if header else []) + rows), "-o",
                      tmp_path / "m.npz", "--epochs", "1", "--progress", "plain")
        assert r.returncode == 0, r.stderr
        assert ("the column names are numbers ('0.0', '0'): if the file has no header row" in r.stderr.decode()) == said


def test_a_file_of_whole_numbers_without_a_header_row_is_pointed_out_too(tmp_path):
    rows = [[str(3 + i % 5), str(7 - i % 3), str(i % 2)] for i in range(40)]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1",
                  "--progress", "plain")
    assert r.returncode == 0 and "the column names are numbers ('3', '7', '0')" in r.stderr.decode()


@pytest.mark.parametrize("block_cells, min_rows", [(1 << 21, 1024), (7, 1), (4, 2)])
def test_encoding_writes_each_column_and_fill_as_a_column_at_a_time_would(monkeypatch, block_cells, min_rows):
    # Numeric columns are written a block at a time (`NUMERIC_BLOCK_CELLS`; 7 cells: blocks of two or
    # three rows, the last one short; 4 cells and 2 rows at least: the run of three columns also cut
    # into two and one), around the categorical ones, each missing cell as its column's fill, counted
    # per column (f's in the second cut too: counted as d's, the first of its cut, it passed).
    from nncli.core import preprocessing as P

    monkeypatch.setattr(P, "NUMERIC_BLOCK_CELLS", block_cells)
    monkeypatch.setattr(P, "NUMERIC_BLOCK_MIN_ROWS", min_rows)
    rng = np.random.default_rng(5)
    n = 11
    table = rng.standard_normal((5, n + 1)).astype(np.float32)  # numeric columns as a reader gives them
    table[0, [0, 9]] = np.nan
    table[3, 10] = table[4, 2] = np.nan
    columns = {"a": table[0, :n], "b": table[1, :n], "c": np.array(["x", "y", "NA"] * 3 + ["x", "z"]),
               "d": table[2, :n], "e": table[3, :n], "f": table[4, :n].astype(np.float64)}
    features = [P.Feature("a", "numeric", fill=0.5), P.Feature("b", "numeric", fill=1.5),
                P.Feature("c", "categorical", categories=["x", "y", P.MISSING]), P.Feature("d", "numeric"),
                P.Feature("e", "numeric", fill=-2.0), P.Feature("f", "numeric")]
    pre = P.Preprocessor(features, np.zeros(0), np.ones(0))
    report = P.EncodeReport()
    X = pre.encode(dict(columns), frozenset({"NA"}), np.float32, report)
    want = np.zeros((n, 8), np.float32)
    for j, name in [(0, "a"), (1, "b"), (5, "d"), (6, "e"), (7, "f")]:
        f = next(f for f in features if f.name == name)
        want[:, j] = np.where(np.isnan(columns[name]), f.fill, columns[name])
    for i, cell in enumerate(columns["c"]):
        if cell != "z":  # (unseen: all zeros)
            want[i, 2 + {"x": 0, "y": 1, "NA": 2}[cell]] = 1
    np.testing.assert_array_equal(X, want)
    assert list(report.missing.items()) == [("a", 2), ("c", 3), ("e", 1), ("f", 1)] and report.unseen == {"c": 1}


def test_an_encoding_too_big_for_memory_names_the_one_hot_column(monkeypatch):
    """150,000 rows of a column of 77,652 categories needed 43 GiB, and the error said "out of memory:
    try a smaller --batch-size or a smaller model", neither of which helps: one-hot columns are dense."""
    from nncli.core import preprocessing
    from nncli.errors import DataError

    columns = {"a": np.array([0.5, 1.5, 2.5]), "Home city": np.array(["x", "y", "z"], dtype=object)}
    pre, _ = preprocessing.fit_preprocessor(columns, {"a": "numeric", "Home city": "categorical"}, frozenset())

    def no_memory(*args, **kw):
        raise MemoryError

    monkeypatch.setattr(preprocessing.np, "zeros", no_memory)
    with pytest.raises(DataError) as e:
        pre.encode(columns, frozenset())
    assert "one-hot encoding column 'Home city' (3 categories) makes 3 rows × 4 inputs of float32" in str(e.value)
    assert e.value.hint == "leave it out (--ignore 'Home city') or keep fewer categories (--max-categories)"


def test_balanced_class_weights_are_rows_over_classes_times_the_class_count(tmp_path):
    # README: each class weighs n / (k · n_class); its square root, or n / n_class, passed the tests.
    rows = [["x", "label"]] + [[i, "a"] for i in range(12)] + [[i, "b"] for i in range(3)] + [[i, "c"] for i in range(5)]
    data = load_training_data(str(write_rows(tmp_path / "d.csv", rows)), DataOptions(), "auto", class_weight="balanced")
    weight = dict(zip(data.target.classes, (20 / (3 * 12), 20 / (3 * 3), 20 / (3 * 5))))
    expected = [weight[c] for c in ["a"] * 12 + ["b"] * 3 + ["c"] * 5]
    np.testing.assert_allclose(data.sample_weight, expected, rtol=1e-6)


def test_numeric_class_labels_are_in_numeric_order_and_twenty_integers_are_classes(tmp_path):
    # "10" sorted before "2" would reorder --proba's columns and change which class is the positive one;
    # README: a target of at most 20 distinct whole numbers is read as classes.
    rows = [["x", "y"]] + [[i, i % 20] for i in range(60)]
    data = load_training_data(str(write_rows(tmp_path / "d.csv", rows)), DataOptions(), "auto")
    assert data.target.task == "classification" and data.target.classes == [str(i) for i in range(20)]
    rows = [["x", "y"]] + [[i, i % 21] for i in range(63)]
    assert load_training_data(str(write_rows(tmp_path / "e.csv", rows)), DataOptions(), "auto").target.task == "regression"


@pytest.mark.parametrize("k", [20, 40])
def test_each_row_trains_on_its_own_class_whatever_the_number_of_numeric_classes(tmp_path, k):
    """Labels become class indices by one comparison per class up to 32 classes, through a dict past them:
    a mutant whose dict indexed 40 numeric classes in text order ("10" before "2") trained the rows of
    class "10" as class "2", and passed, as every test of many classes had text labels."""
    labels = [str((i * 7) % k) for i in range(3 * k)]
    rows = [["x", "y"]] + [[i, y] for i, y in enumerate(labels)]
    data = load_training_data(str(write_rows(tmp_path / "d.csv", rows)), DataOptions(), "classification")
    assert data.target.classes == [str(i) for i in range(k)]
    assert [data.target.classes[j] for j in data.Y.argmax(axis=1)] == labels


@pytest.mark.parametrize("text", ["plain", "a,b", 'say "hi"', "line\nbreak", "cr\ronly", "crlf\r\n", " lead", "trail ", ""])
def test_written_text_cells_read_back_as_they_were(text):
    from nncli.csv_write import quote
    cell = quote(text)
    assert next(csv.reader(io.StringIO(cell + ",x\n"))) == [text, "x"]
    assert (cell == text) == (text in ("plain", ""))  # quoted only when it must be


def test_every_row_is_written_whatever_the_row_count(tmp_path, monkeypatch):
    import nncli.csv_write as csv_write
    monkeypatch.setattr(csv_write, "CHUNK_ROWS", 4)  # rows are formatted 4 at a time: 1, 4, 5 and 9 rows
    for n in (1, 4, 5, 9):
        path = tmp_path / f"{n}.csv"
        csv_write.write_columns(str(path), {"x": np.arange(n) / 2, "label": np.array(["a", "b,c"] * 5)[:n]})
        rows = read_rows(path)
        assert rows[0] == ["x", "label"] and [float(r[0]) for r in rows[1:]] == (np.arange(n) / 2).tolist()
        assert [r[1] for r in rows[1:]] == ["a", "b,c"] * (n // 2) + ["a"] * (n % 2)
    r = run_nncli("gen-data", "moons", "-n", "1")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2


def test_column_names_are_quoted_in_the_header_as_cells_are(tmp_path):
    """`write_columns` quotes the header's names as it quotes cells: unquoted, a name holding a comma made a header
    one column wider than its rows. (gen-data's names never need quotes; the function takes any.)"""
    from nncli import csv_write

    path = tmp_path / "h.csv"
    csv_write.write_columns(str(path), {"price, $": np.arange(3) / 2, 'say "hi"': np.array(["a", "b", "c"])})
    rows = read_rows(path)
    assert rows[0] == ["price, $", 'say "hi"'] and [len(r) for r in rows] == [2] * 4


def test_predicted_values_far_from_zero_for_their_spread_keep_their_digits(tmp_path):
    # y near 1e6, varying by about 1: "%.7g" would have written whole units, half the spread away
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    write_rows(tmp_path / "t.csv", [["x", "y"]] + [[f"{v:.6f}", f"{1e6 + v:.6f}"] for v in x])
    assert run_nncli("fit", tmp_path / "t.csv", "--model", "linear", "-o", tmp_path / "m.npz", "-q").returncode == 0
    model = load_model(str(tmp_path / "m.npz"))
    want = model.predict_values(model.inputs({"x": x.astype(np.float32)}))
    p = run_nncli("predict", tmp_path / "m.npz", tmp_path / "t.csv")
    got = np.array(p.stdout.split()[1:], float)
    assert np.ptp(got) > 3 and np.abs(got - want.ravel()).max() < 1e-3 * np.ptp(got)


def test_a_block_parsed_while_another_thread_finds_text_in_an_unread_column(tmp_path, monkeypatch):
    """Two converting threads: one finds text in a column nobody reads (an id) and sets the parser to skip
    it, while the other's first parse of its block, with the column, fails. The second read the flag
    again, saw it set, and so never retried: its block took the careful path and predict the general
    one, whose last digits differ (the same command printed 3 different outputs in 20 runs)."""
    from nncli import csv_columns
    from nncli.csv_io import TableReader

    path = tmp_path / "d.csv"
    path.write_text("id,x,y\n" + "".join(f"r{i},{i * 0.5},{i % 3}\n" for i in range(100)))
    real = csv_columns.parse_block
    with TableReader(str(path), ["x", "y"]) as reader:
        parser = reader.parser

        def meanwhile(block, ncols, d, dtype, skip, na):
            if 0 not in skip:  # the first try, with the id column: the other thread sets the flag now
                parser._skip_unselected = True
            return real(block, ncols, d, dtype, skip, na)

        monkeypatch.setattr(csv_columns, "parse_block", meanwhile)
        body = path.read_bytes().split(b"\n", 1)[1]
        converted = parser.convert_block(body, 100, frozenset(), None)
    assert converted is not None
    assert converted[1][0].tolist() == [i * 0.5 for i in range(100)]


def test_a_column_a_few_values_over_the_category_limit_is_no_id(tmp_path):
    # 51 states over 1,000 rows were "an id-like column? --ignore state", against a limit of 50
    rng = np.random.default_rng(4)
    rows = [["state", "x", "y"]] + [[f"S{s}", f"{x:.3f}", str(int(x > 0.5))]
                                    for s, x in zip(rng.permutation(np.arange(1000) % 51), rng.random(1000))]
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz")
    assert r.returncode == 1 and "id-like" not in r.stderr.decode()
    assert "hint: --max-categories 51 keeps them\n" in r.stderr.decode()
    # Beside an id: the id's hint, and the limit that keeps the others
    rows = [["id", "state", "x", "y"]] + [[f"u{i}", *row] for i, row in enumerate(rows[1:])]
    r = run_nncli("fit", write_rows(tmp_path / "e.csv", rows), "-o", tmp_path / "m.npz")
    assert "hint: an id-like column? --ignore id; and --max-categories 51 keeps 'state'\n" in r.stderr.decode()
    # Beside a column of amounts with as many values: that one keeps its own hint, and only its own
    rows = [["price", "city", "x", "y"]] + [[f"${10 + i % 60}.50", f"C{i % 60}", str(i % 7), str(i % 3)]
                                            for i in range(1000)]
    r = run_nncli("fit", write_rows(tmp_path / "c.csv", rows), "-o", tmp_path / "m.npz")
    assert "or --ignore price; --max-categories 60 keeps 'city'\n" in r.stderr.decode()


def test_money_percentages_and_dates_read_as_categories_are_named_so(tmp_path):
    # A column of '$12.50' over the category limit was "an id-like column? --ignore price"; one of '12%'
    # under it became 31 categories without a word; dates were called id-like too.
    rng = np.random.default_rng(2)
    rows = [["price", "discount", "sold", "units", "bought"]] + [
        [f"${p:.2f}", f"{d}%", f"2008-{m:02d}-{day:02d}", str(u), str(int(d > 12))]
        for p, d, m, day, u in zip(rng.uniform(1, 80, 500), rng.integers(0, 31, 500), rng.integers(1, 13, 500),
                                   rng.integers(1, 29, 500), rng.integers(1, 99, 500))]
    data = write_rows(tmp_path / "d.csv", rows)
    r = run_nncli("fit", data, "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"hint: 'price' holds amounts with a currency sign ('{rows[1][0]}'): write plain numbers, or --ignore price; " \
        f"'sold' holds dates ('{rows[1][2]}'): derive numbers from them (a year, a month), or --ignore sold\n" in err
    assert "id-like" not in err
    r = run_nncli("fit", data, "-o", tmp_path / "m.npz", "--ignore", "price,sold", "--epochs", "2", "--progress", "plain")
    assert r.returncode == 0
    assert f"nncli: column 'discount' holds percentages ('{rows[1][1]}'), read as 31 categories: to use them as " \
        "numbers, write plain numbers\n" in r.stderr.decode()
    assert "training loss " in r.stderr.decode()  # (the summary's scores are the training rows')
    # An id-like text column keeps its hint beside them
    rows = [["name", "price", "y"]] + [[f"row {i}", f"${i}.50", str(i % 2)] for i in range(100)]
    r = run_nncli("fit", write_rows(tmp_path / "e.csv", rows), "-o", tmp_path / "m.npz", "-q")
    assert "hint: 'price' holds amounts with a currency sign ('$0.50'): write plain numbers, or --ignore price; an " \
        "id-like column? --ignore name; else raise --max-categories\n" in r.stderr.decode()
    # Not dates: versions, part numbers, impossible days; dates: ISO times with a zone, and a totals row below
    rows = [["version", "y"]] + [[f"1.{i % 60}.{i}", str(i % 2)] for i in range(100)]
    r = run_nncli("fit", write_rows(tmp_path / "v.csv", rows), "-o", tmp_path / "m.npz", "-q")
    assert "holds dates" not in r.stderr.decode() and "an id-like column? --ignore version" in r.stderr.decode()
    rows = [["created", "units", "y"]] + [[f"2024-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z", str(i), str(i % 2)]
                                          for i in range(100)] + [["Total", "4950", "50"]]
    r = run_nncli("fit", write_rows(tmp_path / "t.csv", rows), "-o", tmp_path / "m.npz", "-q")
    assert "'created' holds dates ('2024-01-01T10:00:00Z')" in r.stderr.decode()
    assert "line 102 holds 'Total' in 'created': a spreadsheet's totals row?" in r.stderr.decode()


def test_a_spreadsheets_empty_columns_at_the_right_point_at_features(tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes(b"a,b,y,,\r\n1,2,0,,\r\n3,4,1,,\r\n5,1,0,,\r\n")
    r = run_nncli("fit", data, "--target", "y", "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 1 and "d.csv:1:4: empty column name in the header\nhint: the header ends with 2 empty " \
        "names (a spreadsheet's empty columns?): --features names the columns to use" in r.stderr.decode()
    r = run_nncli("fit", data, "--target", "y", "--features", "a,b", "--epochs", "2", "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 0  # (as the hint says)
    r = run_nncli("fit", data, "-o", tmp_path / "m.npz", "-q")  # (the default target is the last, unnamed, column)
    assert r.returncode == 1 and "; the target is the last column unless --target names another\n" in r.stderr.decode()


def test_a_spreadsheets_totals_row_is_named_and_not_taken_for_a_copy_of_the_target(tmp_path):
    # Its sums made 'units' correlate +0.9996 with the revenue (0.63 without it), and the notice said to
    # drop the best feature; the row itself trained without a word
    rng = np.random.default_rng(1)
    units = rng.integers(1, 5000, 600)
    revenue = np.round(units * rng.uniform(0.5, 80, 600), 2)
    rows = [["units", "region", "revenue"]] + [[str(u), "NSEW"[k % 4], f"{v:.2f}"] for k, (u, v) in
                                               enumerate(zip(units, revenue))]
    rows.append([str(units.sum()), "Total", f"{revenue.sum():.2f}"])
    r = run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "2", "--progress",
                  "plain")
    err = r.stderr.decode()
    assert r.returncode == 0
    assert "nncli: line 602 holds 'Total' in 'region': a spreadsheet's totals row? It trains as a row of data" in err
    assert "follows the target" not in err
    # sum/mean/max/min on many rows is a column of categories, not a totals row
    rows = [["agg", "x", "y"]] + [[["sum", "mean", "max", "min"][k % 4], str(k), str(k % 2)] for k in range(300)]
    r = run_nncli("fit", write_rows(tmp_path / "a.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1", "--progress",
                  "plain")
    assert r.returncode == 0 and "totals row" not in r.stderr.decode()
    # a real copy still gets its notice, one extreme row or not
    rows = [["units", "region", "copy"]] + [[str(u), "NSEW"[k % 4], f"{3 * u + 1}"] for k, u in enumerate(units)]
    rows.append([str(units.sum()), "Total", f"{3 * units.sum() + 1}"])
    r = run_nncli("fit", write_rows(tmp_path / "e.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "2", "--progress",
                  "plain")
    assert "nncli: feature 'units' follows the target almost exactly (correlation +1.0000)" in r.stderr.decode()
    # and so do a rare class's exact copy (its rows are the extreme ones) and a long-tailed target's rounded copy
    y = (np.arange(2000) % 133 == 0).astype(int)
    amount = rng.lognormal(1, 1.2, 5000)
    for name, rows in (("rare", [["x", "z", "y"]] + [[str(v), f"{z:.4f}", str(v)] for v, z in zip(y, rng.random(2000))]),
                       ("tail", [["rounded", "z", "amount"]] + [[f"{round(a)}", f"{z:.4f}", f"{a:.4f}"]
                                                                 for a, z in zip(amount, rng.random(5000))])):
        r = run_nncli("fit", write_rows(tmp_path / f"{name}.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1",
                      "--progress", "plain", *(("--task", "classification") if name == "rare" else ()))
        assert "follows the target almost exactly" in r.stderr.decode(), (name, r.stderr.decode())


def test_a_class_left_with_one_training_row_by_the_split_gets_a_notice(tmp_path):
    # (a class of 2 rows lost one to validation without a word, and scored recall 0 on fresh rows)
    rng = np.random.default_rng(0)
    rows = [["x1", "x2", "species"]] + [[f"{a:.3f}", f"{b:.3f}", "ab"[i % 2]] for i, (a, b) in
                                         enumerate(rng.normal(size=(200, 2)))] + [["5.0", "5.0", "hybrid"]] * 2
    data = write_rows(tmp_path / "d.csv", rows)
    r = run_nncli("fit", data, "--val-split", "0.5", "--epochs", "1", "-o", tmp_path / "m.npz", "--progress", "plain")
    assert r.returncode == 0 and "nncli: with --val-split 0.5, 1 class keeps a single training row ('hybrid'; the rest " \
        "went to validation): the model barely learns them (more rows, or --val-split 0)\n" in r.stderr.decode()
    r = run_nncli("fit", data, "--val-split", "0.1", "--epochs", "1", "-o", tmp_path / "m.npz", "--progress", "plain")
    assert r.returncode == 0 and "single training row" not in r.stderr.decode()  # (both hybrid rows train)


@pytest.mark.parametrize("trained_on, applied_to", [("NFC", "NFD"), ("NFD", "NFC")])
def test_categories_and_labels_match_however_their_accents_are_encoded(tmp_path, trained_on, applied_to):
    """'café' with a composed é and with e + a combining accent are the same text: a file exported on
    macOS (decomposed) against a model trained on another had every category unseen, and eval refused
    its labels with a hint that offered the very label it refused."""
    import unicodedata

    drinks, labels = ["café", "thé", "crème"], ["naïve", "서울"]  # (Hangul: composed without combining marks)
    rows = [["drink", "x", "y"]] + [[drinks[i % 3], str(i % 7), labels[(i // 3) % 2]] for i in range(120)]
    table = lambda form, name: write_rows(tmp_path / name, [[unicodedata.normalize(form, c) for c in row]
                                                            for row in rows])
    model = tmp_path / "m.npz"
    assert run_nncli("fit", table(trained_on, "train.csv"), "-o", model, "--epochs", "3", "-q").returncode == 0
    same, other = table(trained_on, "same.csv"), table(applied_to, "other.csv")
    assert unicodedata.normalize("NFD", "é") != "é" and same.read_bytes() != other.read_bytes()  # (the premise)
    expected, r = run_nncli("predict", model, same), run_nncli("predict", model, other)
    assert r.returncode == 0 and r.stdout == expected.stdout and r.stderr == b""
    expected, r = run_nncli("eval", model, same, "--json"), run_nncli("eval", model, other, "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == json.loads(expected.stdout)
    mixed = write_rows(tmp_path / "mixed.csv", rows + [[unicodedata.normalize("NFD", c) for c in rows[1]]])
    r = run_nncli("fit", mixed, "-o", tmp_path / "m2.npz", "--epochs", "1")
    assert r.returncode == 0 and "has labels that are one word with its letters encoded two ways (composed and " \
        "decomposed Unicode)" in r.stderr.decode()


def test_an_unseen_category_that_differs_only_in_case_is_pointed_out(tmp_path):
    rows = [["sex", "x", "y"]] + [[["female", "male"][i % 2], str(i % 7), str(i % 2)] for i in range(200)]
    model = tmp_path / "m.npz"
    assert run_nncli("fit", write_rows(tmp_path / "d.csv", rows), "-o", model, "--epochs", "1", "-q").returncode == 0
    new = write_rows(tmp_path / "n.csv", [["sex", "x", "y"], ["Female", "1", "0"], ["male", "2", "1"], ["other", "3", "0"]])
    for command in ("predict", "eval"):
        r = run_nncli(command, model, new)
        assert r.returncode == 0 and "not seen in training were encoded as all zeros: 'sex' (2) ('Female' differs " \
            "from training's 'female' only in case: categories are matched exactly)\n" in r.stderr.decode(), command
    r = run_nncli("predict", model, write_rows(tmp_path / "o.csv", [["sex", "x"], ["other", "1"]]))
    assert "'sex' (1)\n" in r.stderr.decode()  # (no case to point out)


def test_a_sep_line_gives_the_delimiter_even_when_the_header_holds_another(tmp_path):
    # The header "a,b;y" alone could pass for comma-separated; the `sep=;` line says it is not.
    from nncli.csv_io import read_table

    text = "sep=;\na,b;y\n1;2\n3;4\n"
    (tmp_path / "s.csv").write_text(text)
    expected = list(csv.reader(io.StringIO(text.split("\n", 1)[1]), delimiter=";"))
    table = read_table(str(tmp_path / "s.csv"))
    assert list(table.columns) == expected[0] == ["a,b", "y"]
    assert [list(table.columns[n].values) for n in expected[0]] == [[1, 3], [2, 4]]


def test_an_explicit_delimiter_overrides_a_sep_line(tmp_path):
    """--delimiter is the user's word: a `sep=;` line that contradicts it (a file re-saved with commas,
    the line left in) must not win over it, or the header is one column named 'a,b,y'."""
    from nncli.csv_io import read_table

    (tmp_path / "s.csv").write_text("sep=;\na,b,y\n1,2,3\n4,5,6\n")
    table = read_table(str(tmp_path / "s.csv"), delimiter=",")
    assert list(table.columns) == ["a", "b", "y"]
    assert [list(table.columns[n].values) for n in ("a", "b", "y")] == [[1, 4], [2, 5], [3, 6]]
    assert list(table.lines) == [3, 4]  # (the sep= line still counts as a line)


def test_only_an_empty_standard_input_gets_the_hint_about_standard_input(tmp_path):
    """An empty file named on the command line is just empty: the hint that standard input held nothing
    (DATA '-' or predict's DATA left out) would send the user looking for a pipe that is not there."""
    (tmp_path / "d.csv").write_bytes(b"")
    r = run_nncli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "-q")
    assert r.returncode == 1 and r.stderr.decode().endswith("d.csv:1: the file is empty (expected a header row)\n")
    r = run_nncli("fit", "-", "-o", tmp_path / "m.npz", "-q", input=b"")
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and lines[0].endswith("<stdin>:1: the file is empty (expected a header row)")
    assert lines[1].startswith("hint: standard input held nothing") and len(lines) == 2


def test_a_missing_column_after_a_sep_line_is_named_at_the_header_on_line_2(tmp_path):
    """After a `sep=;` line the header is line 2: the missing-column error of predict and eval named line 1,
    the `sep=` line, where there is no column to look for."""
    from nncli.csv_io import read_table
    from nncli.errors import DataError

    (tmp_path / "s.csv").write_text("sep=;\nx1;y\n1;2\n")
    with pytest.raises(DataError) as e:
        read_table(str(tmp_path / "s.csv"), ["x1", "x2"])
    assert e.value.line == 2 and e.value.message.endswith("s.csv:2: missing column: 'x2'")


def test_a_header_of_several_columns_gets_no_hint_that_it_is_one_column(tmp_path):
    """`x1;x2,z` split at ',' is two columns, one of them holding the missing names: the hint that "the header
    is one column" is for a header that is one, else it names the columns there are."""
    from nncli.csv_io import read_table
    from nncli.errors import DataError

    (tmp_path / "d.csv").write_text("x1;x2,z\n1;2,3\n")
    with pytest.raises(DataError) as e:
        read_table(str(tmp_path / "d.csv"), ["x1", "x2"])
    assert e.value.message.endswith("missing columns: 'x1', 'x2'")
    assert "one column" not in e.value.hint and "'z'" in e.value.hint
    (tmp_path / "one.csv").write_text("x1;x2\n1;2\n")
    with pytest.raises(DataError) as e:
        read_table(str(tmp_path / "one.csv"), ["x1", "x2"], delimiter=",")
    assert e.value.hint.startswith("the header is one column when split at ','")


def test_a_blank_first_line_is_named_before_a_nul_further_on(tmp_path):
    # The first problem in the file is its blank first line (no header); a NUL byte later on is not.
    (tmp_path / "d.csv").write_bytes(b"\na,b\n1,2\n3\x00,4\n")
    r = run_nncli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.returncode == 1 and "d.csv:1: expected a header row, found a blank line" in r.stderr.decode()


def test_a_header_repeated_with_its_byte_order_mark_among_numbers_gets_the_joined_files_hint(tmp_path):
    # Two "CSV UTF-8" files of numbers joined with cat: the second header's first cell is '\ufeffx'.
    one = "x,y\n" + "".join(f"{i / 10},{i % 2}\n" for i in range(30))
    (tmp_path / "d.csv").write_bytes(("\ufeff" + one).encode() * 2)
    r = run_nncli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    err = r.stderr.decode()
    assert r.returncode == 1 and "d.csv:32:1 (column 'x')" in err
    assert err.endswith("hint: this line repeats the header: files joined with cat? (tail -n +2 FILE leaves a file's "
                        "header out)\n")


# Tests that mutation testing of table_checks.py found missing: each fails on a plausible bug there.

def test_a_target_of_as_many_words_as_numbers_is_labels_not_a_numeric_target_with_typos(tmp_path, cli):
    """Half its distinct values words: labels (codes and names), on the edge of the rule; a check one off
    refused 'w1' as a typo in a numeric target."""
    labels = [str(i) for i in range(1, 12) for _ in range(3)] + [f"w{i}" for i in range(1, 12)]
    rows = [["x", "y"]] + [[str(k), label] for k, label in enumerate(labels)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.exit_code == 0, r.stderr
    assert len(load_model(tmp_path / "m.npz").target.classes) == 22


def test_a_target_whose_words_are_half_its_cells_is_labels_not_a_numeric_target_with_typos(tmp_path, cli):
    """Words on exactly half the rows are labels (the rule is for most cells numbers); a check one off
    refused them as typos."""
    labels = [str(i) for i in range(30)] + ["yes", "no", "maybe"] * 10
    rows = [["x", "y"]] + [[str(k), label] for k, label in enumerate(labels)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.exit_code == 0, r.stderr


def test_a_stray_word_in_a_numeric_target_is_named_at_its_line_past_blank_lines(tmp_path, cli):
    """The line is the file's, not the row's number plus one: a blank line before it moved the error
    one line up."""
    rows = "x,y\n1,1\n\n2,2\n3,oops\n" + "".join(f"{i},{i}.5\n" for i in range(4, 40))
    (tmp_path / "d.csv").write_text(rows)
    r = cli("fit", tmp_path / "d.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.exit_code == 1
    assert "d.csv:5:2 (column 'y'): expected a number, found 'oops' (the target is mostly numeric)" in r.stderr


def test_a_header_with_one_name_that_is_a_number_gets_no_headerless_notice(tmp_path, cli):
    """One number among the names ('x', '1') is a name like any other: a file without a header row has
    numbers for all its names. A check that took one number for enough said the first row was data."""
    rows = [["x", "1"]] + [[str(i % 7), str(i % 3)] for i in range(30)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    assert "the column names are numbers" not in r.stderr


def test_columns_named_by_counting_get_no_headerless_notice(tmp_path, cli):
    """A questionnaire's items named 1, 2, 3 (answers 1 to 5) are names, not a row of data: counting
    names, as years are, were the reason for no notice; without it every such file got one."""
    rows = [["1", "2", "3", "y"]] + [[str(i % 5 + 1), str((i * 2) % 5 + 1), str((i * 3) % 5 + 1), str(i % 2)]
                                     for i in range(30)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    assert "the column names are numbers" not in r.stderr


def test_a_feature_that_is_the_target_negated_gets_the_copy_notice(tmp_path, cli):
    """A loss beside its profit follows the target as closely as a copy does (correlation -1); a check
    of the correlation's sign, not its size, let it train without a word."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 200))
    y = 2 * x1 + x2 + rng.normal(size=200) * 0.3
    rows = [["x1", "x2", "loss", "profit"]] + [[f"{a:.5f}", f"{b:.5f}", f"{-c:.5f}", f"{c:.5f}"]
                                               for a, b, c in zip(x1, x2, y)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    assert "feature 'loss' follows the target almost exactly (correlation -1.0000)" in r.stderr
    assert "--ignore loss\n" in r.stderr and "'x1' follows" not in r.stderr


def test_row_numbers_with_gaps_get_the_id_notice(tmp_path, cli):
    """A numbered list with rows deleted (80 numbers between 1 and 150) is still a numbering; a check for
    no gaps at all missed every table filtered after it was numbered."""
    numbers = sorted(np.random.default_rng(0).choice(np.arange(1, 151), size=80, replace=False).tolist())
    rows = [["row", "x", "y"]] + [[str(n), f"{(n * 7919) % 101 / 10:.1f}", str(n % 2)] for n in numbers]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    assert "column 'row' holds a different whole number on every row, as an id or a row number does" in r.stderr


def test_a_copy_of_the_target_that_varies_very_little_gets_the_copy_notice(tmp_path, cli):
    """A copy in tiny units around a large value (1e6 + y·1e-7, float64) is scaled by the least spread, not
    its own: its correlation must be read at its own spread, or it looked like no copy at all."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 200))
    y = 2 * x1 + x2 + rng.normal(size=200) * 0.3
    rows = [["x1", "x2", "ref", "y"]] + [[f"{a:.5f}", f"{b:.5f}", f"{1e6 + c * 1e-7:.13f}", f"{c:.5f}"]
                                         for a, b, c in zip(x1, x2, y)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "--dtype", "float64", "-o", tmp_path / "m.npz",
            "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    assert "'ref' varies very little" in r.stderr
    assert "feature 'ref' follows the target almost exactly (correlation +1.0000)" in r.stderr


def test_a_column_of_one_percentage_on_every_row_gets_only_the_same_value_notice(tmp_path, cli):
    """'12%' on every row is one category, and teaches nothing: that is the notice; "read as 1 categories:
    to use them as numbers" beside it is for columns of several."""
    rows = [["rate", "x", "y"]] + [["12%", f"{i / 10:.1f}", str(i % 2)] for i in range(30)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    assert "'rate' has the same value on every row ('12%'): it teaches nothing" in r.stderr
    assert "holds percentages" not in r.stderr


def test_a_label_of_exactly_max_classes_whole_numbers_gets_the_classes_notice(tmp_path, cli):
    """1,000 distinct whole numbers in 'label' can still be classes (the limit is inclusive): the notice
    that they were read as a number to predict was left out at the limit."""
    rows = [["x", "label"]] + [[f"{i / 1000:.3f}", str(i)] for i in range(1000)]
    r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    assert "the target 'label' holds 1,000 distinct whole numbers, more than 20: read as a number to predict" \
        in r.stderr


def test_too_many_categories_lists_five_more_columns_without_an_ellipsis_and_six_with_one(tmp_path, cli):
    """The error names the first column and up to five more: '…' says some were left out, and only then
    (it was shown after exactly five, when none were)."""
    for n_cols, ends in ((6, "'c5' (60)\n"), (7, "'c5' (60), …\n")):
        rows = [[f"c{j}" for j in range(n_cols)] + ["y"]]
        rows += [[f"v{i}_{j}" for j in range(n_cols)] + [str(i % 2)] for i in range(60)]
        r = cli("fit", write_rows(tmp_path / "d.csv", rows), "-o", tmp_path / "m.npz", "--epochs", "1")
        assert r.exit_code == 1
        first = r.stderr.splitlines()[0] + "\n"
        assert "column 'c0' has 60 distinct values (limit 50); also over it: 'c1' (60), " in first
        assert first.endswith(ends), first
