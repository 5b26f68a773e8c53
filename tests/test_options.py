"""The command layer's contract: option limits and defaults, early stopping as reported, what `show`
keeps of a schedule. Each test here stands for a change a mutation audit made unnoticed."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import SAMPLES, nncli_env, run_nncli, write_csv
from nncli.model_file import load_model


@pytest.mark.parametrize("args, said", [
    (["fit", "x.csv", "--threads", "0"], "--threads must be between 1 and 256, not 0"),
    (["fit", "x.csv", "--threads", "257"], "--threads must be between 1 and 256, not 257"),
    (["gen-data", "blobs", "--classes", "1"], "--classes"),
    (["gen-data", "mixed", "--missing-rate", "1"], "--missing-rate"),
    (["fit", "x.csv", "--optimizer", "momentum", "--momentum", "1"], "--momentum"),
    (["fit", "x.csv", "--l2", "-0.1"], "--l2"),
    (["fit", "x.csv", "--patience", "-1"], "--patience"),  # (it trained one epoch and said "stopped early")
    (["fit", "x.csv", "--lr-schedule", "step", "--lr-decay", "0"], "--lr-decay"),
    (["fit", "x.csv", "--lr-schedule", "step", "--lr-step", "0"], "--lr-step"),
    (["lr-find", "x.csv", "--steps", "4"], "--steps"),
    (["fit", "x.csv", "--ignore", "id,"], "--ignore"),  # (an empty name: exit 1, "no column named ''")
    (["fit", "x.csv", "--delimiter", '"'], "--delimiter"),  # (exit 1, "no feature columns left")
    (["fit", "x.csv", "--val", "v.csv", "--val-split", "0.2"], "use either --val FILE or --val-split F, not both"),
    (["fit", "x.csv", "-t", "a,b", "--task", "classification"], "classification takes one target column"),
    (["gen-data", "-o", "d.csv/.."], "cannot write 'd.csv/..': a directory"),  # (exit 1 once it had written)
    (["fit", "x.csv", "--target", ""], "--target '': an empty item in the list"),  # (read as no --target at all)
    (["fit", "x.csv", "--lr", "1e300"], "--lr must be at most 1,000,000, not 1e+300\n"),  # (not 301 digits)
    (["predict", "m.npz", "x.csv", "--delimiter", ";;"], "--delimiter ';;': use one ASCII character"),
    (["predict", "m.npz", "x.csv", "--delimiter", "\n"], "--delimiter '\\n': use one ASCII character"),
])
def test_out_of_range_options_are_usage_errors_before_any_work(cli, args, said):
    r = cli(*args)  # (x.csv does not exist: the options are refused first)
    assert r.exit_code == 2 and r.stderr.startswith(f"nncli: error: {said}"), r.stderr



def test_threads_default_to_one_and_blas_gets_one_whatever_the_environment_asks(monkeypatch):
    """A default of two threads, `set_threads` no longer keeping BLAS to one thread, or keeping a user's
    OPENBLAS_NUM_THREADS=8 (BLAS threads on top of nncli's own) went unnoticed."""
    import os

    from nncli.options import BLAS_THREADS, resolve_threads

    monkeypatch.delenv("NNCLI_THREADS", raising=False)
    for var in BLAS_THREADS:
        monkeypatch.setenv(var, "8")
    assert resolve_threads(None) == (1, None)
    assert {var: os.environ[var] for var in BLAS_THREADS} == dict.fromkeys(BLAS_THREADS, "1")


def test_the_threads_notice_counts_the_cores_this_process_may_run_on(monkeypatch):
    """`taskset -c 0 nncli fit --threads 2` on an 8-core machine: counting the machine's cores
    (os.cpu_count) said nothing, and "1 cores" was as good as "1 core", unnoticed."""
    import os

    from nncli.options import threads_notice

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)  # (Linux only)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert threads_notice(2, True) == ("--threads 2 is more than the 1 core this process can run on: the threads "
                                       "take turns, which is slower (use 1 at most)")
    assert threads_notice(1, False) is None


def test_an_existing_directory_as_the_output_is_a_usage_error_before_any_work(cli, tmp_path):
    """`-o models` naming a directory (no trailing slash): `fit` trained, then failed to save over it
    ("Is a directory", exit 1), unnoticed."""
    r = cli("fit", SAMPLES / "moons.csv", "-o", tmp_path, "--epochs", "1", "-q")
    assert r.exit_code == 2 and r.stderr.endswith(": a directory, not a file path\n"), r.stderr
    assert list(tmp_path.iterdir()) == []


def test_spaces_around_list_items_and_layer_sizes_are_not_part_of_them():
    """`--ignore 'id ,name'` looked for a column 'id ', and `--hidden '64, 32'` was refused, unnoticed."""
    from nncli.options import parse_hidden, split_list

    assert split_list("id , name ", "--ignore") == ("id", "name")
    assert parse_hidden(" 64, 32 ") == (64, 32)


def test_a_tab_delimiter_may_be_written_as_backslash_t():
    """The error message offers `\\t`; taking only "tab" and a real tab went unnoticed."""
    from nncli.options import check_delimiter

    assert check_delimiter("\\t") == check_delimiter("tab") == check_delimiter("\t") == "\t"


def _a_run_of(command: str, cli, tmp_path) -> list:
    """A short run of `command` on the sample moons (predict and eval: of a model trained for it)."""
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "-o", model, "--epochs", "1", "--hidden", "4", "-q").exit_code == 0
    return {"fit": ["fit", SAMPLES / "moons.csv", "-o", model, "--epochs", "1", "--hidden", "4"],
            "lr-find": ["lr-find", SAMPLES / "moons.csv", "--steps", "10", "--hidden", "4"],
            "predict": ["predict", model, SAMPLES / "moons.csv"],
            "eval": ["eval", model, SAMPLES / "moons.csv"]}[command]


@pytest.mark.parametrize("command", ["fit", "lr-find", "predict", "eval"])
def test_more_threads_than_cores_get_a_notice(cli, tmp_path, monkeypatch, command):
    # --threads 99 on 2 cores trained 17 times slower, without a word
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)  # (Linux only)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    args = _a_run_of(command, cli, tmp_path)
    said = " is more than the 2 cores this process can run on: the threads take turns, which is slower (use 2 at most)\n"
    quiet_too = [["--progress", "none"]] if command == "fit" else []
    for threads, quiet, told in (("3", [], True), ("2", [], False), ("3", ["-q"], False),
                                 *(("3", q, False) for q in quiet_too)):
        r = cli(*args, "--threads", threads, *quiet)
        assert r.exit_code == 0 and (f"nncli: --threads {threads}{said}" in r.stderr) == told, r.stderr
    monkeypatch.setenv("NNCLI_THREADS", "3")
    r = cli(*args)
    assert r.exit_code == 0 and f"nncli: NNCLI_THREADS=3{said}" in r.stderr


@pytest.mark.parametrize("command", ["fit", "lr-find", "predict", "eval"])
def test_threads_reach_the_network_that_trains_or_predicts(cli, tmp_path, monkeypatch, command):
    """`fit --threads 2` trained on one thread, though its model recorded threads=2 (and `show` said so):
    only the time it took told."""
    from nncli.core.network import Network

    args = _a_run_of(command, cli, tmp_path)
    used = []
    real = Network.use_threads
    monkeypatch.setattr(Network, "use_threads", lambda self, threads: used.append(threads) or real(self, threads))
    r = cli(*args, "--threads", "2", "-q")
    assert r.exit_code == 0 and used == [2], (used, r.stderr)


def test_the_seed_chooses_the_rows_val_split_holds_out(cli, tmp_path, monkeypatch):
    """fit drew the --val-split rows from a generator of its own, seeded apart from --seed: with that seed
    fixed, every --seed held out the same rows."""
    from nncli import workflow

    held = []
    real = workflow.split_validation

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        held.append(sorted(rows[1].tolist()))
        return rows

    monkeypatch.setattr(workflow, "split_validation", spy)
    for seed in ("0", "0", "1"):
        r = cli("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "--hidden", "4",
                "--val-split", "0.2", "--seed", seed, "-q")
        assert r.exit_code == 0, r.stderr
    assert len(held) == 3 and len(held[0]) == 200 and held[0] == held[1] != held[2]


def test_a_step_schedule_that_never_steps_is_said_to(cli, tmp_path):
    # --lr-schedule step with its default --lr-step 10 over 5 epochs kept the rate constant, without a word
    said = "nncli: --lr-schedule step never steps: --lr-step "
    for extra, told in ((["--epochs", "5"], "10 is not shorter than the 5 epochs (give a smaller --lr-step)"),
                        (["--epochs", "12", "--warmup", "3"], "10 is not shorter than the 9 epochs after the warm-up"),
                        (["--epochs", "3", "--warmup", "2", "--lr-step", "1"],
                         "1 is not shorter than the 1 epoch after the warm-up (give more --epochs)"),
                        (["--epochs", "11"], None), (["--epochs", "5", "--lr-step", "4"], None)):
        r = cli("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--hidden", "4", "--lr-schedule", "step",
                "--progress", "plain", "--patience", "0", *extra)
        assert r.exit_code == 0 and ((said + told) in r.stderr if told else "never steps" not in r.stderr), r.stderr
        lrs = load_model(str(tmp_path / "m.npz")).history["lr"]
        assert (len(set(lrs[int(extra[3]) if "--warmup" in extra else 0:])) == 1) == bool(told)


def test_sgd_or_momentum_at_adams_default_rate_gets_a_notice(cli, tmp_path):
    # `--optimizer sgd` alone trained at Adam's 0.001: spirals 0.575 against 0.998, without a word
    base = ("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--epochs", "1", "--progress", "plain")
    said = "takes small steps"
    for extra, told in ((["--optimizer", "sgd"], "--optimizer sgd at the default --lr 0.001, Adam's, takes small steps: "
                                                 "try --lr 0.1, or ask `nncli lr-find --optimizer sgd`"),
                        (["--optimizer", "momentum"], "try --lr 0.01"),
                        (["--optimizer", "sgd", "--lr", "0.001"], None), ([], None), (["--optimizer", "sgd", "-q"], None),
                        # (a linear model's default, 0.01, is the rate suggested for momentum)
                        (["--optimizer", "sgd", "--model", "linear"],
                         "at the default --lr 0.01, a linear model's, takes small steps: try --lr 0.1"),
                        (["--optimizer", "momentum", "--model", "linear"], None)):
        r = cli(*base, *extra, *([] if "linear" in extra else ["--hidden", "4"]))
        assert r.exit_code == 0 and ((told in r.stderr) if told else said not in r.stderr), r.stderr

    from nncli.options import check_delimiter, parse_hidden

    assert check_delimiter("tab") == "\t"
    assert len(parse_hidden(",".join(["2"] * 100))) == 100 and parse_hidden("100000") == (100000,)


def test_the_documented_defaults(cli, tmp_path):
    # README: --hidden 128, --lr 0.001, --batch-size 32, --epochs 200, --patience 20; gen-data -n 1000
    data = write_csv(tmp_path / "d.csv", ["a", "y"], [(i, i % 2) for i in range(10)])
    assert cli("fit", data, "-o", tmp_path / "m.npz", "-q").exit_code == 0
    config = json.loads(cli("show", tmp_path / "m.npz", "--json").stdout)["config"]
    assert (config["epochs"], config["batch_size"], config["lr"], config["hidden"], config["patience"]) == (
        200, 32, 0.001, [128], 20)
    # A linear model's rate is 0.01, also when --init's model is the one that is linear
    for args in (["--model", "linear"], ["--init", tmp_path / "l.npz"]):
        assert cli("fit", data, "-o", tmp_path / "l.npz", "-q", "-e", "2", *args).exit_code == 0
        assert json.loads(cli("show", tmp_path / "l.npz", "--json").stdout)["config"]["lr"] == 0.01
    assert len(cli("gen-data").stdout.splitlines()) == 1001


def test_an_early_stop_is_reported_with_the_best_epochs_numbers(tmp_path):
    model = tmp_path / "m.npz"
    r = run_nncli("fit", SAMPLES / "moons.csv", "-o", model, "--val-split", "0.3", "--patience", "2", "--lr", "0.05",
                  "--hidden", "64", "--json", "--progress", "plain")
    info, said = json.loads(r.stdout), r.stderr.decode()
    assert info["stopped"] == "early" and info["weights_from_epoch"] == info["best_epoch"] < info["epochs_run"]
    history = load_model(str(model)).history
    # the final numbers describe the weights saved (the best epoch's), not the last epoch's
    assert info["final_val_loss"] == pytest.approx(history["val_loss"][info["best_epoch"] - 1])
    assert info["final_loss"] == pytest.approx(history["loss"][info["best_epoch"] - 1])
    assert info["final_val_loss"] != pytest.approx(history["val_loss"][-1])
    assert "(stopped early)" in said and f"weights from epoch {info['best_epoch']} (best)" in said
    assert info["seconds"] == pytest.approx(float(history["seconds"].sum())) and info["seconds"] > 0


def test_the_live_screen_says_an_early_stop_is_one():
    from test_render_live import make_screen, screen_lines, stats

    screen = make_screen(7)
    screen.add(stats(8, stopped="early"))
    text = "\n".join(screen_lines(screen, 100, 30))
    assert "stopped early" in text and "interrupt" not in text


def test_plain_progress_always_prints_the_last_epoch(tmp_path):
    r = run_nncli("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--epochs", "27", "--patience", "0",
                  "--hidden", "4", "--progress", "plain")
    assert r.returncode == 0 and "epoch=27 " in r.stderr.decode()


def test_lr_find_quiet_prints_only_the_rate():
    r = run_nncli("lr-find", SAMPLES / "moons.csv", "--steps", "20", "-q")
    assert r.returncode == 0 and r.stderr == b"" and float(r.stdout) > 0


@pytest.mark.parametrize("schedule, settings", [("onecycle", {"warmup": 3}), ("plateau", {"lr_step": 5, "lr_decay": 0.5})])
def test_show_keeps_the_schedules_settings(cli, tmp_path, schedule, settings):
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "--lr-schedule", schedule, "--epochs", "10", "--hidden", "4", "-q",
               "-o", model).exit_code == 0
    config = json.loads(cli("show", model, "--json").stdout)["config"]
    assert {k: config[k] for k in settings} == settings


def test_a_large_validation_split_of_a_tiny_regression_leaves_a_row_to_train_on(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["x", "y"], [(1, 1.5), (2, 2.7), (3, 3.1)])
    r = cli("fit", data, "--val-split", "0.9", "--epochs", "2", "-q", "-o", tmp_path / "m.npz")
    assert r.exit_code == 0, r.stderr
    assert load_model(str(tmp_path / "m.npz")).info["rows"] >= 1


def test_small_numbers_and_long_times_are_shown_in_full():
    from nncli.render import fmt
    from nncli.render_live import clock

    assert fmt(0.000512) == "5.12e-04"
    assert clock(3725) == "1:02:05"


def test_a_val_split_is_said_to_be_too_small_below_ten_rows(cli, tmp_path):
    # 1,000 rows: 0.01 leaves 10 for validation, 0.009 leaves 9 (FEW_SPLIT_ROWS)
    said = {f: cli("fit", SAMPLES / "moons.csv", "--val-split", f, "--epochs", "1", "--progress", "plain",
                   "-o", tmp_path / "m.npz").stderr for f in ("0.01", "0.009")}
    assert "leaves" not in said["0.01"] and "--val-split 0.009 leaves 9 rows for validation" in said["0.009"]


@pytest.mark.parametrize("noise, said", [(0.03, True), (0.08, False)])  # correlation ~0.9995 and ~0.997
def test_a_feature_that_follows_the_target_gets_a_notice_from_a_correlation_of_0_999(cli, tmp_path, noise, said):
    import numpy as np

    rng = np.random.default_rng(0)
    x, z = rng.normal(size=500), rng.normal(size=500)
    y = x + noise * rng.normal(size=500)
    r = float(np.corrcoef(x, y)[0, 1])
    assert (0.999 <= r < 0.9999) if said else (0.99 < r < 0.999)  # (each case near the line, on its side)
    data = write_csv(tmp_path / "d.csv", ["x", "z", "y"], [(f"{a:.6f}", f"{b:.6f}", f"{c:.6f}") for a, b, c in zip(x, z, y)])
    r = cli("fit", data, "--epochs", "1", "--progress", "plain", "-o", tmp_path / "m.npz")
    assert r.exit_code == 0 and ("feature 'x' follows the target almost exactly" in r.stderr) == said
    assert "feature 'z'" not in r.stderr


def test_dev_null_may_take_the_model_and_the_json_both(tmp_path):
    # `fit -o /dev/null --json > /dev/null`: two outputs on /dev/null are not two on stdout
    import subprocess
    import sys

    from conftest import ROOT

    r = subprocess.run([sys.executable, "-m", "nncli", "fit", str(SAMPLES / "moons.csv"), "-o", "/dev/null", "--json",
                        "--epochs", "1", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, timeout=120,
                       env=nncli_env())
    assert r.returncode == 0, r.stderr


def test_options_at_their_limits_are_taken(cli, monkeypatch):
    # Taken, the options leave x.csv (which does not exist) to say what is wrong: exit 1, not 2
    monkeypatch.setenv("NNCLI_THREADS", "256")
    r = cli("fit", "x.csv", "--hidden", ",".join(["2"] * 100))
    assert r.exit_code == 1 and "x.csv" in r.stderr and "NNCLI_THREADS" not in r.stderr, r.stderr


def test_numbers_for_people_are_compact_and_whole_numbers_plain():
    from nncli.render import counted, fmt

    assert (fmt(0), fmt(0.0), fmt(1.0), fmt(-1), fmt(12.5)) == ("0", "0", "1", "-1", "12.5")
    assert fmt(12345.678, 6) == "12345.7" and fmt(123456.7, 6) == "1.2346e+05"  # (eval's regression table)
    assert (counted(0, "epoch"), counted(1, "epoch"), counted(2, "row")) == ("0 epochs", "1 epoch", "2 rows")


def test_small_numbers_for_people_keep_four_decimals_down_to_a_thousandth_and_nan_reads_as_a_dash():
    """The summaries' scores: a loss of 0.005 read `5.00e-03` (a mutant that turned scientific below a
    hundredth), and a NaN loss `nan` rather than the `-` of a score not there (one that dropped the NaN case)."""
    from nncli.render import fmt

    assert [fmt(v) for v in (0.1234, 0.005, 0.001, -0.005)] == ["0.1234", "0.0050", "0.0010", "-0.0050"]
    assert [fmt(v) for v in (0.000999, 1.2e-05, 123456.0, 12.3456)] == ["9.99e-04", "1.20e-05", "1.23e+05", "12.35"]
    assert [fmt(v) for v in (None, float("nan"))] == ["-", "-"]


def _notices(path, **options):
    from nncli.workflow import DataOptions, load_training_data

    return "\n".join(load_training_data(str(path), DataOptions(**options), "auto").notices)


def test_the_limits_of_the_training_tables_notices(tmp_path):
    # Twenty distinct target values, one a word: labels (MAX_CLASS_INTEGERS), not a numeric target's typo
    from nncli.workflow import DataOptions, load_training_data

    rows = [(i, "x" if i == 5 else i % 19) for i in range(60)]
    data = load_training_data(str(write_csv(tmp_path / "l.csv", ["a", "y"], rows)), DataOptions(), "auto")
    assert data.target.task == "classification" and len(data.target.classes) == 20
    # Ten whole-number classes are how class columns are written; eleven get a notice
    for k, told in ((10, False), (11, True)):
        said = _notices(write_csv(tmp_path / f"c{k}.csv", ["x", "y"], [(i % 7, i % k) for i in range(10 * k)]))
        assert (f"the target 'y' holds {k} distinct whole numbers: read as classes" in said) == told, said
    # A target named as classes are, of whole numbers past MAX_CLASS_INTEGERS, reads as a number to predict:
    # said for 'label' (`gen-data blobs --classes 30` trained a regression without a word), not for 'y'
    for name, k, told in (("label", 21, True), ("label", 20, False), ("y", 21, False), ("label", 1001, False)):
        said = _notices(write_csv(tmp_path / f"w{name}{k}.csv", ["x", name], [(i % 7, i % k) for i in range(2 * k)]))
        assert (f"the target '{name}' holds {k:,} distinct whole numbers, more than 20: read as a number to predict "
                "(regression); if they are classes, --task classification" in said) == told, said
    # A class for about every row: an id given as the target (300 classes over 300 rows trained without a word)
    for classes, rows, told in ((30, 60, True), (30, 61, False), (10, 10, False)):
        said = _notices(write_csv(tmp_path / f"id{classes}-{rows}.csv", ["x", "who"],
                                  [(i % 7, f"u{i % classes}") for i in range(rows)]))
        assert (f"the target 'who' has {classes} classes over {rows} rows, two rows a class or fewer" in said) == told, said
    # Five features the same on every row get a line each; six, one line for them all
    for k in (5, 6):
        header = ["x", *(f"c{j}" for j in range(k)), "y"]
        said = _notices(write_csv(tmp_path / f"s{k}.csv", header, [(i, *range(k), i % 2) for i in range(20)]))
        assert said.count("has the same value on every row") == (5 if k == 5 else 0), said
        assert ("6 features are the same on every row" in said) == (k == 6), said
    # A constant 0 is no number float32 could have rounded: no --dtype float64 hint
    said = _notices(write_csv(tmp_path / "z.csv", ["x", "z", "y"], [(i, 0, i % 2) for i in range(20)]))
    assert "'z' has the same value on every row (0): it teaches nothing" in said and "float64" not in said
    # Up to three totals rows are a spreadsheet's
    rows = [(i, "NSEW"[i % 4], i * 2.5) for i in range(60)] + [(100 + k, "Total", 5) for k in range(3)]
    said = _notices(write_csv(tmp_path / "t.csv", ["units", "region", "y"], rows))
    assert "line 62 holds 'Total' in 'region': a spreadsheet's totals row?" in said
    # Column names that are years (not evenly spaced) over values in their range are names, not a row of data
    rng = np.random.default_rng(0)
    rows = [(*np.round(rng.uniform(1000, 3000, 3)).astype(int), i % 2) for i in range(40)]
    said = _notices(write_csv(tmp_path / "y.csv", ["1850", "1870", "1905", "y"], rows))
    assert "the column names are numbers" not in said


def test_a_column_of_as_many_categories_as_the_limit_is_taken_and_comma_numbers_among_words_are_categories(tmp_path):
    from nncli.workflow import DataOptions, load_training_data

    rows = [("abc"[i % 3], ["0,5", "1,5", "2", "none"][i % 4], i, i % 2) for i in range(40)]
    with open(tmp_path / "d.csv", "w", newline="") as f:
        csv.writer(f).writerows([["c", "d", "x", "y"], *rows])
    data = load_training_data(str(tmp_path / "d.csv"),
                              DataOptions(max_categories=4), "auto")
    kinds = {c.name: (c.kind, c.categories) for c in data.columns}
    assert kinds["c"] == ("categorical", 3) and kinds["d"] == ("categorical", 4)
    assert [c.name for c in data.columns] == ["c", "d", "x", "y"]


def test_several_targets_of_few_whole_numbers_are_a_regression_and_columns_keep_the_files_order(cli, tmp_path):
    from nncli.workflow import DataOptions, load_training_data

    rows = [(i, i % 3, i * 0.75, f"id{i}") for i in range(12)]
    data = write_csv(tmp_path / "d.csv", ["x", "y", "z", "name"], rows)
    trained = load_training_data(str(data), DataOptions(target=("y", "z"), ignore=("name",)), "auto")
    assert trained.target.task == "regression"
    assert [(c.name, c.kind) for c in trained.columns] == [("x", "numeric"), ("y", "target"), ("z", "target"),
                                                            ("name", "ignored")]


def test_a_class_of_a_single_row_is_not_said_to_lose_rows_to_validation(tmp_path):
    from nncli.workflow import DataOptions, load_training_data

    rows = [(i, "ab"[i % 2]) for i in range(40)] + [(99, "lone")]
    data = write_csv(tmp_path / "d.csv", ["x", "y"], rows)
    said = "\n".join(load_training_data(str(data), DataOptions(), "auto", val_split=0.2,
                                        rng=np.random.default_rng(0)).notices)
    assert "single training row" not in said, said


def test_eval_of_one_target_has_no_per_target_scores_and_a_missing_target_is_eval_s_error(cli, tmp_path):
    rows = [(i, 2 * i + 0.5) for i in range(20)]
    data, model = write_csv(tmp_path / "d.csv", ["x", "y"], rows), tmp_path / "m.npz"
    assert cli("fit", data, "-o", model, "--epochs", "2", "-q").exit_code == 0
    result = json.loads(cli("eval", model, data, "--json").stdout)
    assert "per_target" not in result and result["rows"] == 20
    r = cli("eval", model, write_csv(tmp_path / "e.csv", ["x", "y"], rows[:3] + [(3, "")]))
    assert r.exit_code == 1 and "e.csv:5:2 (column 'y'): the target is missing" in r.stderr
    assert "hint: evaluating a model needs a target value on every row" in r.stderr, r.stderr


def test_a_linear_models_record_has_no_hidden_layers(cli, tmp_path):
    model = tmp_path / "m.npz"
    assert cli("fit", SAMPLES / "moons.csv", "-o", model, "--model", "linear", "--epochs", "1", "-q").exit_code == 0
    assert json.loads(cli("show", model, "--json").stdout)["config"]["hidden"] == []


def test_eval_on_the_training_file_of_a_model_validated_on_another_file_says_training_scores(cli, tmp_path):
    rows = [(i, i % 2) for i in range(30)]
    train, val = write_csv(tmp_path / "t.csv", ["x", "y"], rows), write_csv(tmp_path / "v.csv", ["x", "y"], rows[:10])
    model = tmp_path / "m.npz"
    assert cli("fit", train, "--val", val, "-o", model, "--epochs", "1", "-q").exit_code == 0
    r = cli("eval", model, train)
    assert r.exit_code == 0 and "these are training scores, not a test of what it learned" in r.stderr
    assert "validated it" not in r.stderr


def test_a_model_file_given_to_fit_as_an_argument_gets_the_output_option_hint(cli, tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(b"")  # (existing or not: fit reads no .npz)
    r = cli("fit", SAMPLES / "moons.csv", model)
    assert r.exit_code == 2 and f"hint: the output file is an option: -o {model}" in r.stderr, r.stderr


def test_with_patience_0_and_no_validation_the_weights_are_the_last_epochs(cli, tmp_path):
    info = json.loads(cli("fit", SAMPLES / "moons.csv", "-o", tmp_path / "m.npz", "--epochs", "8", "--patience", "0",
                          "--hidden", "8", "--lr", "1", "--json", "-q").stdout)
    assert info["best_epoch"] < info["epochs_run"] == 8  # (the case to tell apart)
    assert info["weights_from_epoch"] == 8


def test_empty_cells_stay_missing_whatever_na_values_lists(cli, tmp_path):
    # README: --na-values replaces NA, N/A, ...; empty cells are always missing
    rows = [("" if i == 3 else i, "" if i == 5 else "ab"[i % 2], i % 2) for i in range(20)]
    r = cli("fit", write_csv(tmp_path / "d.csv", ["x", "c", "y"], rows), "-o", tmp_path / "m.npz", "--na-values", "?",
            "--epochs", "1", "--progress", "plain")
    assert r.exit_code == 0 and "imputed missing cells: 'x' (1), 'c' (1)" in r.stderr, r.stderr
    assert load_model(str(tmp_path / "m.npz")).na_values == ["", "?"]


def test_lr_find_does_not_call_a_sweep_cut_short_by_a_diverging_loss_still_falling(cli, tmp_path):
    """The sweep stopped at its second rate, whose loss was not finite: lr-find said the loss was "still
    falling at --lr-max" (a higher rate may be better), comparing with the last rate tried."""
    data = tmp_path / "reg.csv"
    data.write_text(cli("gen-data", "regression", "-n", "200", "--seed", "1").stdout)
    r = cli("lr-find", data, "--optimizer", "sgd", "--hidden", "128,128,128", "--lr-min", "5e5", "--lr-max", "1e6",
            "--steps", "5")
    assert r.exit_code == 0 and "swept 1 mini-batch" in r.stderr
    assert "even --lr-min 500000 may be too high" in r.stderr and "still falling" not in r.stderr


def test_a_column_half_words_is_categories_not_a_mostly_numeric_one_with_typos(cli, tmp_path):
    data = tmp_path / "half.csv"
    data.write_text("x,z,y\n1,1,0\na,2,1\n2,3,0\nb,4,1\n")
    assert cli("fit", data, "-o", tmp_path / "m.npz", "--epochs", "1", "-q").exit_code == 0
    assert load_model(str(tmp_path / "m.npz")).pre.features[0].kind == "categorical"
    data.write_text("x,z,y\n1,1,0\na,2,1\n2,3,0\n3,4,1\n")  # (one word among three numbers: a typo)
    r = cli("fit", data, "-o", tmp_path / "m.npz", "--epochs", "1", "-q")
    assert r.exit_code == 1 and "expected a number, found 'a' (the column is mostly numeric)" in r.stderr


def test_lr_find_sweeps_as_many_rates_as_steps_asks(cli):
    """`lr-find --steps 10` swept 100 rates whatever --steps said (its limits alone were checked)."""
    r = cli("lr-find", SAMPLES / "moons.csv", "--hidden", "4", "--steps", "10", "--lr-max", "1e-3", "--json")
    assert r.exit_code == 0, r.stderr
    lrs = json.loads(r.stdout)["lrs"]
    assert len(lrs) == 10 and lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(1e-3)


def test_lr_find_draws_its_weights_and_batches_from_the_seed(cli):
    """`lr-find --seed` was checked and then left unused: every seed swept the same losses."""
    args = ("lr-find", SAMPLES / "moons.csv", "--hidden", "4", "--steps", "10", "--lr-max", "1e-3", "--json")
    losses = [json.loads(cli(*args, "--seed", seed).stdout)["losses"] for seed in ("0", "0", "1")]
    assert len(losses[0]) == 10 and losses[0] == losses[1] != losses[2]
