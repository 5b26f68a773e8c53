"""predict's fast path (raw numbers into a network with the standardization folded in) gives what
the general path (encode, standardize, forward) gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nncli.core.training import TrainConfig
from nncli.apply import _leading_rows, predict_chunks
from nncli.model_file import load_model
from nncli.workflow import DataOptions, ModelOptions, Training, load_training_data


def trained(path, task="auto", categorical=(), hidden=(16, 8)):
    data = load_training_data(str(path), DataOptions(categorical=categorical), task)
    run = Training(data, ModelOptions(hidden=hidden), TrainConfig(epochs=3, batch_size=64), seed=0, dtype="float32")
    for _ in run:
        pass
    return run.model()


def general_logits(model, chunk):
    X = model.inputs({c: chunk.columns[c].values for c in model.pre.names})
    return model.network.logits(X)


def write(path, rows, header="a,b,c,y"):
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3)) * [1.0, 50.0, 0.01] + [0.0, 200.0, -3.0]  # far from standardized
    y = (X[:, 0] + (X[:, 1] - 200) / 50 > 0).astype(int) + (X[:, 2] > -3).astype(int)
    write(tmp_path / "train.csv", [f"{a:.6g},{b:.6g},{c:.6g},{k}" for (a, b, c), k in zip(X, y)])
    return tmp_path, X, y


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_fast_path_matches_the_general_path(data, task):
    tmp, X, y = data
    model = trained(tmp / "train.csv", task)
    net, center = model.centered_input_network()
    n = 0
    for chunk, pred, _ in predict_chunks(model, str(tmp / "train.csv"), proba=task == "classification"):
        rows = _leading_rows(chunk, model.pre.names)
        assert rows is not None and chunk.derived is not None  # the fast path, on the converting threads
        Z = general_logits(model, chunk)
        np.testing.assert_allclose(net.logits(rows.T - center), Z, rtol=1e-5, atol=1e-5)
        if task == "classification":
            agree = pred == model.probabilities(Z).argmax(axis=1)
            assert agree.mean() > 0.999  # (a tie may round either way)
        else:
            np.testing.assert_allclose(pred, model.target.decode_values(Z), rtol=1e-4, atol=1e-3)
        n += chunk.n_rows
    assert n == len(y)


def test_a_float64_model_predicts_in_float64_on_the_fast_path():
    """A model trained with --dtype float64 runs its numeric features' fast path in float64 too:
    built at the default float32, that path printed predictions that were not eval's (the general
    path's) past float32's digits."""
    old = Path(__file__).parent / "old_models"
    model = load_model(str(old / "1.0.0" / "reg_f64.npz"))
    net, center = model.centered_input_network()
    assert model.network.dtype == net.dtype == center.dtype == np.float64
    n = 0
    for chunk, pred, _ in predict_chunks(model, str(old / "data" / "reg_t.csv")):
        assert chunk.derived is not None  # (the fast path)
        np.testing.assert_allclose(pred, model.target.decode_values(general_logits(model, chunk)), rtol=1e-12)
        n += chunk.n_rows
    assert n > 100


def test_probabilities_from_the_fast_path(data):
    tmp, _, _ = data
    model = trained(tmp / "train.csv", "classification")
    for chunk, pred, P in predict_chunks(model, str(tmp / "train.csv"), proba=True):
        ref = model.predict_proba(model.inputs({c: chunk.columns[c].values for c in model.pre.names}))
        np.testing.assert_allclose(P, ref, atol=1e-5)
        np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-5)


def test_missing_cells_are_imputed_on_the_general_path(data, tmp_path):
    tmp, X, _ = data
    model = trained(tmp / "train.csv", "classification")
    write(tmp_path / "new.csv", ["0.5,,-3.01,0", "0.5,210,-3.01,1"])
    (chunk, pred, _), = list(predict_chunks(model, str(tmp_path / "new.csv")))
    filled = np.array([[0.5, model.pre.features[1].fill, -3.01], [0.5, 210, -3.01]], np.float32)
    Z = model.network.logits(((filled - model.pre.mean) / model.pre.scale).astype(np.float32))
    np.testing.assert_array_equal(pred, model.probabilities(Z).argmax(axis=1))


def test_a_feature_far_from_zero_for_its_spread_keeps_its_digits(tmp_path):
    # Folding the mean into the first layer's bias would make raw products of ~1e6 cancel in
    # float32 (probabilities off by up to 0.06); the fast path subtracts it first, as training did.
    rng = np.random.default_rng(2)
    a, b = 1e6 + rng.normal(size=3000), rng.normal(size=3000)
    y = (np.sin(3 * (a - 1e6)) + b > 0).astype(int)
    write(tmp_path / "t.csv", [f"{u:.6f},{v:.6f},{k}" for u, v, k in zip(a, b, y)], header="a,b,y")
    model = trained(tmp_path / "t.csv", "classification")
    for chunk, pred, P in predict_chunks(model, str(tmp_path / "t.csv"), proba=True):
        assert _leading_rows(chunk, model.pre.names) is not None  # the fast path was taken
        ref = model.predict_proba(model.inputs({c: chunk.columns[c].values for c in model.pre.names}))
        assert np.ptp(ref[:, 1]) > 0.5  # the model has learned something to lose
        np.testing.assert_allclose(P, ref, atol=1e-5)


def test_a_value_whose_standardized_form_overflows_stops_predict_as_it_stops_eval(tmp_path):
    """(3e38 - mean) / scale is inf in float32: eval stops at the row. The fast path, with the
    scale in the weights, gave a tanh network's saturated output for it, and predict went on."""
    from conftest import run_nncli

    rng = np.random.default_rng(1)
    write(tmp_path / "t.csv", [f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in rng.normal(size=(300, 2)) * 0.2],
          header="x1,x2,label")
    model = tmp_path / "m.npz"
    assert run_nncli("fit", tmp_path / "t.csv", "-o", model, "--activation", "tanh", "--epochs", "3", "-q").returncode == 0
    write(tmp_path / "d.csv", ["0.1,0.2,1", "3e38,3e38,1", "0,0,0"], header="x1,x2,label")
    p, e = run_nncli("predict", model, tmp_path / "d.csv"), run_nncli("eval", model, tmp_path / "d.csv")
    for r in (p, e):
        assert r.returncode == 1 and b"d.csv:3: the network's output is not finite for this row" in r.stderr, r.stderr
    assert p.stdout.decode().split() == ["prediction", "1"] or p.stdout.decode().split() == ["prediction", "0"]


def test_a_row_whose_standardizing_overflows_stops_predict_though_the_fast_path_s_output_is_finite(tmp_path):
    """(3e38 - mean) / 0.49 is inf, and eval stops at the row; with the scale folded into a small
    weight (0.46 / 0.49), the fast path's output for it is finite: predict must stop there too."""
    from conftest import run_nncli
    from nncli.model_file import load_model

    rng = np.random.default_rng(0)
    write(tmp_path / "t.csv", [f"{x:.4f},{k}" for x, k in zip(rng.normal(0, 0.5, 300), rng.integers(0, 2, 300))],
          header="x,y")  # (labels that x does not tell: a small weight)
    model = tmp_path / "m.npz"
    assert run_nncli("fit", tmp_path / "t.csv", "-o", model, "--model", "linear", "--epochs", "3", "-q").returncode == 0
    m = load_model(str(model))
    assert np.isfinite(np.float32(3e38) * np.float32(m.network.W[0][0, 0] / m.pre.scale[0]))  # (the case to tell)
    write(tmp_path / "d.csv", ["0.1,1", "3e38,1", "0,0"], header="x,y")
    p, e = run_nncli("predict", model, tmp_path / "d.csv"), run_nncli("eval", model, tmp_path / "d.csv")
    for r in (p, e):
        assert r.returncode == 1 and b"d.csv:3: the network's output is not finite for this row" in r.stderr, r.stderr
    assert len(p.stdout.decode().split()) == 2  # the header and the row before it


@pytest.mark.parametrize("model_kind", ["mlp", "linear"])
def test_a_prediction_that_overflows_in_the_targets_units_stops_predict_and_eval(tmp_path, model_kind):
    """A target near float64's limit: finite logits, times its spread, overflow. predict printed inf
    (exit 0), and eval's metrics were all null."""
    from conftest import run_nncli

    rng = np.random.default_rng(0)
    X = rng.random((400, 3))
    write(tmp_path / "h.csv", [f"{a:.5f},{b:.5f},{c:.5f},{t:.6e}" for (a, b, c), t in zip(X, (X @ [1, 2, 3] + 1) * 1e307)])
    model = tmp_path / "h.npz"
    assert run_nncli("fit", tmp_path / "h.csv", "-o", model, "--model", model_kind, "--epochs", "30", "-q").returncode == 0
    write(tmp_path / "d.csv", ["0.1,0.1,0.1,1e307", "1000,1000,1000,1e307", "0,0,0,1e307"])
    p, e = run_nncli("predict", model, tmp_path / "d.csv"), run_nncli("eval", model, tmp_path / "d.csv", "--json")
    for r in (p, e):
        assert r.returncode == 1 and b"d.csv:3: this row's prediction overflows float64" in r.stderr, r.stderr
    lines = p.stdout.decode().split()
    assert lines[0] == "prediction" and len(lines) == 2 and np.isfinite(float(lines[1]))  # the row before it
    assert e.stdout == b""


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_an_input_that_overflows_the_first_layer_stops_a_squashing_network(tmp_path, activation):
    """An input that overflows the first layer (inf there, and with one feature never inf - inf = NaN):
    tanh and sigmoid squashed inf to +-1, and predict printed a class made up from it, exit 0 (eval
    scored it)."""
    from conftest import run_nncli

    rng = np.random.default_rng(1)
    write(tmp_path / "t.csv", [f"{a:.4f},{int(a > 0)}" for a in rng.normal(size=300) * 0.2], header="x,label")
    model = tmp_path / "m.npz"
    assert run_nncli("fit", tmp_path / "t.csv", "-o", model, "--activation", activation, "--hidden", "32",
                     "--epochs", "3", "-q").returncode == 0
    write(tmp_path / "d.csv", ["0.1,1", "3e38,1", "0,0"], header="x,label")  # (one feature: inf, never NaN, in layer 1)
    p, e = run_nncli("predict", model, tmp_path / "d.csv"), run_nncli("eval", model, tmp_path / "d.csv")
    for r in (p, e):
        assert r.returncode == 1 and b"d.csv:3: the network's output is not finite for this row" in r.stderr, r.stderr
    assert p.stdout.decode().split()[0] == "prediction" and len(p.stdout.decode().split()) == 2


def test_categorical_features_take_the_general_path(tmp_path):
    rng = np.random.default_rng(1)
    rows = [f"{x:.4g},{'red' if x > 0 else 'blue'},{x * 2:.4g},{int(x > 0)}" for x in rng.normal(size=400)]
    write(tmp_path / "t.csv", rows)
    model = trained(tmp_path / "t.csv", "classification", categorical=("b",))
    assert model.centered_input_network() is None
    n = 0
    for chunk, pred, _ in predict_chunks(model, str(tmp_path / "t.csv")):
        Z = general_logits(model, chunk)
        np.testing.assert_array_equal(pred, model.probabilities(Z).argmax(axis=1))
        n += len(pred)
    assert n == 400


def test_leading_rows_only_when_the_block_starts_with_the_features(data):
    tmp, _, _ = data
    model = trained(tmp / "train.csv", "classification")
    from nncli.apply import _feature_reader

    with _feature_reader(model, str(tmp / "train.csv"), (), None) as reader:
        chunk = next(reader.chunks())
    assert _leading_rows(chunk, model.pre.names) is not None
    assert _leading_rows(chunk, ["b", "a", "c"]) is None  # another order
    assert _leading_rows(chunk, ["a", "b", "c", "zz"]) is None  # more names than rows


@pytest.mark.parametrize("fast", [True, False])
def test_imputed_cells_are_counted_over_every_chunk(data, monkeypatch, fast):
    from nncli import csv_io
    from nncli.core.preprocessing import EncodeReport
    tmp_path, X, _ = data
    model = trained(tmp_path / "train.csv")
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 256)  # 3000 rows: 12 chunks
    if not fast:
        monkeypatch.setattr(model, "centered_input_network", lambda: None)
    rows = [f"{'' if i % 10 == 0 else f'{a:.6g}'},{b:.6g},{'NA' if i % 25 == 0 else f'{c:.6g}'},0"
            for i, (a, b, c) in enumerate(X)]
    write(tmp_path / "m.csv", rows)
    report = EncodeReport()
    chunks = list(predict_chunks(model, str(tmp_path / "m.csv"), report=report))
    assert len(chunks) > 10 and sum(len(c[1]) for c in chunks) == 3000
    assert report.missing == {"a": 300, "c": 120}


def test_a_rows_prediction_does_not_depend_on_the_file_around_it(tmp_path):
    """The same row at the same place, the same digits: in a file of 30,000 rows or of only the rows up
    to it, beside an unread column of ids (other chunk edges), or in a file whose quoted fields send it
    down the careful path (the general path's arithmetic: standardize, then the network). 92 of 300 rows
    differed beside an id column."""
    from conftest import run_nncli

    rng = np.random.default_rng(5)
    X = rng.normal(size=(30000, 4)) * [1.0, 30.0, 0.1, 5.0] + [0.0, 100.0, 0.0, -7.0]
    y = np.sin(X[:, 0]) + (X[:, 1] - 100) / 30 * X[:, 2] * 10 + rng.normal(0, 0.1, len(X))
    cells = [f"{a:.6g},{b:.6g},{c:.6g},{d:.6g}" for a, b, c, d in X]
    write(tmp_path / "t.csv", [f"{r},{v:.6g}" for r, v in zip(cells[:2000], y)], header="a,b,c,d,y")
    model = tmp_path / "m.npz"
    assert run_nncli("fit", tmp_path / "t.csv", "-o", model, "--epochs", "3", "-q").returncode == 0
    write(tmp_path / "plain.csv", cells, header="a,b,c,d")
    write(tmp_path / "ids.csv", [f"row-{i:09d},{r}" for i, r in enumerate(cells)], header="id,a,b,c,d")
    write(tmp_path / "quoted.csv", [f'{r},"{"x, y" if i % 5000 == 7 else "z"}"' for i, r in enumerate(cells)],
          header="a,b,c,d,note")
    predicted = {}
    for name in ("plain", "ids", "quoted"):
        r = run_nncli("predict", model, tmp_path / f"{name}.csv")
        assert r.returncode == 0, r.stderr
        predicted[name] = r.stdout.decode().splitlines()
    assert len(predicted["plain"]) == 30001 and len(set(predicted["plain"][1:])) > 29000
    assert predicted["ids"] == predicted["plain"]
    assert predicted["quoted"] == predicted["plain"]
    for i in (0, 1234, 20000):
        write(tmp_path / "some.csv", cells[:i + 1], header="a,b,c,d")
        r = run_nncli("predict", model, tmp_path / "some.csv")
        assert r.stdout.decode().splitlines()[-1] == predicted["plain"][i + 1]


@pytest.mark.parametrize("fast", [True, False])
def test_a_rows_prediction_does_not_depend_on_where_the_file_is_cut_into_chunks(data, monkeypatch, fast):
    """Every row goes through the network at its place in the file (`Network.logits`' first_row): the
    same bits in one chunk or in chunks of ~120 rows, on the converting threads or this one, and after a
    blank line (the reader counts lines; the rows after it come one place earlier). With each chunk's rows
    from the top of a block, OpenBLAS's Haswell kernel (which rounds each of 12 places its own way)
    changed the last digits of most rows."""
    from nncli import csv_io

    tmp_path, X, _ = data
    model = trained(tmp_path / "train.csv", task="regression", hidden=(64, 64))  # (rows of 16 or 8 round alike)
    if not fast:
        monkeypatch.setattr(model, "centered_input_network", lambda: None)
    rows = [f"{a:.6g},{b:.6g},{c:.6g},0" for a, b, c in X]
    write(tmp_path / "p.csv", rows)
    write(tmp_path / "blank.csv", rows[:1000] + [""] + rows[1000:])

    def predicted(name, block_bytes):
        monkeypatch.setattr(csv_io, "BLOCK_BYTES", block_bytes)  # (4 KB: chunks of ~120 rows, many converted ahead)
        chunks = list(predict_chunks(model, str(tmp_path / name)))
        return len(chunks), np.concatenate([values for _, values, _ in chunks])

    n, whole = predicted("p.csv", 1 << 20)
    assert n == 1 and whole.shape == (3000, 1) and len(np.unique(whole)) > 2900
    for name, block_bytes in [("p.csv", 4096), ("blank.csv", 4096), ("blank.csv", 1 << 20)]:
        n, values = predicted(name, block_bytes)
        assert n > 1 if block_bytes == 4096 else n <= 2
        np.testing.assert_array_equal(values, whole, err_msg=f"{name}, blocks of {block_bytes} bytes")


def test_the_rows_before_one_whose_standardizing_overflows_keep_their_digits(tmp_path):
    """A row whose (x - mean) / scale overflows sent its whole chunk down the general path, and the rows
    before it, which predict prints before it stops, came out in the other arithmetic's digits (795 of
    3,000 differed). Now only that row is left out: its output is NaN, and predict stops there."""
    from conftest import run_nncli

    rng = np.random.default_rng(4)
    rows = [f"{a:.6g},{b:.6g},{a * 300 + b:.6g}" for a, b in zip(rng.normal(0, 0.01, 3000), rng.normal(size=3000))]
    write(tmp_path / "t.csv", rows, header="a,b,y")
    model = tmp_path / "m.npz"
    assert run_nncli("fit", tmp_path / "t.csv", "-o", model, "--epochs", "3", "-q").returncode == 0
    write(tmp_path / "more.csv", [*rows, "3e37,0,0", "0,0,0"], header="a,b,y")
    plain, more = run_nncli("predict", model, tmp_path / "t.csv"), run_nncli("predict", model, tmp_path / "more.csv")
    assert plain.returncode == 0 and more.returncode == 1
    assert b"more.csv:3002: the network's output is not finite for this row" in more.stderr
    assert more.stdout == plain.stdout


def test_chunks_the_reader_reads_line_by_line_are_predicted_on_the_commands_threads(data, monkeypatch):
    """Chunks of a file with quoted fields are predicted on the main thread; with the centered network
    there, --threads 2 did nothing for them (20-2048-2048-1, 20,000 rows: 3.4 s against 2.3 s)."""
    from nncli.core.network import Network

    tmp, X, _ = data
    model = trained(tmp / "train.csv", "regression")
    model.network.use_threads(2)
    teams = []
    split = Network._split
    monkeypatch.setattr(Network, "_split", lambda self, n, flops, work: (teams.append(self.team is not None),
                                                                         split(self, n, flops, work))[1])
    write(tmp / "quoted.csv", [f'{a:.6g},{b:.6g},{c:.6g},0,"p, q"' for a, b, c in X], header="a,b,c,y,note")
    chunks = list(predict_chunks(model, str(tmp / "quoted.csv")))
    assert sum(len(c[1]) for c in chunks) == len(X) and chunks[0][0].derived is None  # (not the reader's threads)
    assert teams and all(teams)


def test_chunks_of_many_encoded_inputs_hold_fewer_rows(tmp_path, monkeypatch):
    # A feature of 200,000 categories was encoded 16,384 rows at a time: 12.2 GiB to predict
    from nncli import apply

    rng = np.random.default_rng(1)
    write(tmp_path / "train.csv", [f"{rng.normal():.5g},c{k % 40},{rng.normal():.5g},{k % 2}" for k in range(3000)])
    model = trained(tmp_path / "train.csv", categorical=("b",))
    n_inputs = model.network.sizes[0]
    assert n_inputs == 42
    everything = np.concatenate([p for _, p, _ in predict_chunks(model, str(tmp_path / "train.csv"))])
    monkeypatch.setattr(apply, "ENCODED_CELLS", 40 * n_inputs)
    with apply._feature_reader(model, str(tmp_path / "train.csv"), (), None) as reader:
        assert reader.chunk_rows == 40
    pieces = [p for _, p, _ in predict_chunks(model, str(tmp_path / "train.csv"))]
    assert max(len(p) for p in pieces) <= 40 and len(pieces) >= 3000 // 40
    np.testing.assert_array_equal(np.concatenate(pieces), everything)  # the same predictions


def test_eval_keeps_a_row_s_target_and_prediction_not_its_inputs_and_outputs(tmp_path, monkeypatch):
    """eval scores a chunk at a time: 1,000,000 rows of 100 classes took 3.2 GB (the whole file's inputs,
    one-hot targets, logits and their log-softmax), where predict took 95 MB. Its memory may grow by a
    row's target and prediction (16 bytes), not by its 100 outputs (over 2 KB)."""
    import tracemalloc

    from nncli import apply

    rng = np.random.default_rng(0)
    def table(path, n):
        labels = rng.integers(0, 100, n)
        write(path, [f"{k / 10 + rng.normal():.4f},{rng.normal():.4f},{k % 7},{k}" for k in labels])
        return path

    model = trained(table(tmp_path / "train.csv", 2_000), task="classification")
    assert len(model.target.classes) == 100
    monkeypatch.setattr(apply, "ENCODED_CELLS", 100 * 256)  # (chunks of 256 rows of 100 outputs)
    # The rows ranked for the ROC AUC of 100 classes (400 bytes a row) are kept up to a bound, here 2,100 rows
    monkeypatch.setattr(apply, "AUC_CELLS", 100 * 2_100)
    peaks = {}
    for n in (2_000, 20_000):
        path = table(tmp_path / f"{n}.csv", n)
        tracemalloc.start()
        scores = apply.evaluate_model(model, str(path))
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert scores["rows"] == n and 0 < scores["accuracy"] < 1 and scores["log_loss"] > 0
        assert (scores["roc_auc"] is None) == (n > 2_100)
    assert peaks[20_000] - peaks[2_000] < 18_000 * 100  # (100 bytes a row at most; 2 KB a row before)


def test_the_first_row_that_cannot_be_predicted_is_named_and_how_it_fails_for_a_log_target(tmp_path, cli):
    """A model of log(1 + y): a row whose log(1 + y) passes 709.8 overflows in y's units only, and an
    earlier such row is named before a later row whose network output is not finite at all; that row,
    alone, is not said to overflow exp (the message of the first for both, or the later row's)."""
    rng = np.random.default_rng(0)
    write(tmp_path / "t.csv", [f"{x:.4f},{np.expm1(3 * x):.4f}" for x in rng.random(300)], header="x,y")
    model = tmp_path / "m.npz"
    assert cli("fit", tmp_path / "t.csv", "--log-target", "-m", "linear", "-e", 30, "-o", model, "-q").exit_code == 0
    write(tmp_path / "big.csv", ["0.5,1", "1e6,1", "3e38,1"], header="x,y")
    write(tmp_path / "inf.csv", ["0.5,1", "3e38,1"], header="x,y")
    for command in ("predict", "eval"):
        r = cli(command, model, tmp_path / "big.csv")
        assert r.exit_code == 1 and "big.csv:3: this row's prediction overflows float64: the model gives " \
                                    "log(1 + y) beyond 709.8" in r.stderr, r.stderr
        r = cli(command, model, tmp_path / "inf.csv")
        assert r.exit_code == 1 and "inf.csv:3: the network's output is not finite for this row" in r.stderr, r.stderr
