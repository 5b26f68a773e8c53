"""The command-line interface: the only Typer module.

Each command parses and checks its options (bad values exit 2 before any
work), then calls plain functions in `nncli.workflow` (training) and
`nncli.apply` (predict, eval) and shows results via `nncli.render`. NumPy is
imported inside the commands, after `--threads` has set the BLAS thread count,
which must happen before NumPy loads; this also keeps `nncli --help` fast.

Errors: nncli's own exceptions become one `nncli: error: ...` line on stderr
(and maybe a `hint: ...` line) with exit code 1 (2 for usage errors); Ctrl-C
exits 130, SIGTERM 143 and SIGHUP 129 (`nncli.stop_signals`). NNCLI_DEBUG=1 shows tracebacks.
"""

# No `from __future__ import annotations` here: Typer reads the commands' annotations on every run, and
# as strings it evaluates each one again (~25 ms of each command's start-up; built once at import, ~0).
import dataclasses
import inspect
import itertools
import json
import math
import os
import re
import shlex
import sys
import warnings
from enum import Enum
from typing import Annotated, Callable, Iterator, Optional

import typer
from typer.core import TyperGroup

from nncli import __version__, stop_signals
from nncli.core.limits import MAX_EPOCHS
from nncli.errors import NncliError, UsageError, cwd_exists, option_value, printable, shorten
from nncli.options import (check_delimiter, check_output, check_plot, check_range, check_read_once, check_seed,
                           check_stdout, env_flag, named, one_blas_thread, parse_hidden, resolve_threads,
                           same_file, split_list)
from nncli.std_streams import is_terminal, silence
from nncli.stop_signals import Terminated

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Train, watch and use small neural networks on CSV files.\n\n"
    "\b\nExample:\n  nncli gen-data moons > d.csv\n  nncli fit d.csv\n  nncli predict model.npz d.csv | head",
)


# Typer >= 0.26 bundles its own copy of click; take the exception classes from
# the click that Typer's commands actually use.
click = sys.modules[TyperGroup.__mro__[1].__module__.rsplit(".", 1)[0]]
click_exceptions = sys.modules[click.__name__ + ".exceptions"]
_EXIT = tuple({typer.Exit, getattr(click_exceptions, "Exit", typer.Exit)})
_ABORT = tuple({typer.Abort, getattr(click_exceptions, "Abort", typer.Abort), KeyboardInterrupt})


# -- option vocabulary shared by the commands ---------------------------------------------------
# Chosen with benchmarks/defaults.py (results in benchmarks/RESULTS.md): on small real tables these beat
# scikit-learn's MLP defaults on average. No validation split by default: on a few hundred rows every
# row is worth more for training than for a noisy stopping signal.
DEFAULTS = {"hidden": "128", "epochs": 200, "batch_size": 32, "lr": 1e-3, "l2": None, "val_split": 0.0,
            "patience": 20}
# A linear model's default rate: at 1e-3, 200 epochs on iris's 112 rows left it at 0.78 on fresh rows (means of
# 5 splits) against scikit-learn's LogisticRegression's 0.96; at 1e-2, 0.96, and as well as that elsewhere.
LINEAR_LR = 1e-2


class Kind(str, Enum):
    linear = "linear"
    regression = "regression"
    moons = "moons"
    circles = "circles"
    blobs = "blobs"
    spirals = "spirals"
    xor = "xor"
    mixed = "mixed"
    prices = "prices"


class Task(str, Enum):
    auto = "auto"
    regression = "regression"
    classification = "classification"


class ModelKind(str, Enum):
    mlp = "mlp"
    linear = "linear"


class Activation(str, Enum):
    relu = "relu"
    leaky_relu = "leaky_relu"
    tanh = "tanh"
    sigmoid = "sigmoid"
    identity = "identity"


class Optimizer(str, Enum):
    adam = "adam"
    sgd = "sgd"
    momentum = "momentum"


class LrSchedule(str, Enum):
    constant = "constant"
    step = "step"
    exponential = "exponential"
    cosine = "cosine"
    plateau = "plateau"
    onecycle = "onecycle"


class Missing(str, Enum):
    impute = "impute"
    error = "error"


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"


class Progress(str, Enum):
    auto = "auto"
    live = "live"
    plain = "plain"
    none = "none"


class ClassWeight(str, Enum):
    none = "none"
    balanced = "balanced"


DataArg = Annotated[str, typer.Argument(help="CSV file with a header row ('-' for stdin; .gz is read transparently).",
                                        show_default=False, metavar="DATA")]
ModelArg = Annotated[str, typer.Argument(help="Model file written by `nncli fit`.", show_default=False, metavar="MODEL")]
Threads = Annotated[Optional[int], typer.Option(
    "--threads", help="Threads that share the rows of each batch or chunk (default: $NNCLI_THREADS, else 1).",
    show_default=False)]
Delimiter = Annotated[Optional[str], typer.Option(
    "--delimiter", metavar="CHAR", help="Field delimiter, one ASCII character, or 'tab' (default: detected from the header among , ; tab |).",
    show_default=False)]
TargetOpt = Annotated[Optional[str], typer.Option(
    "--target", "-t", metavar="COLUMNS", help="Target column(s), comma-separated (default: the last column).", show_default=False)]
FeaturesOpt = Annotated[Optional[str], typer.Option(
    "--features", metavar="COLUMNS", help="Use only these feature columns (comma-separated).", show_default=False)]
IgnoreOpt = Annotated[Optional[str], typer.Option(
    "--ignore", metavar="COLUMNS", help="Columns never used as features, e.g. ids (comma-separated).", show_default=False)]
CategoricalOpt = Annotated[Optional[str], typer.Option(
    "--categorical", metavar="COLUMNS", help="Treat these columns as categorical (one-hot encoded), comma-separated.",
    show_default=False)]
NaValuesOpt = Annotated[Optional[str], typer.Option(
    "--na-values", metavar="TEXTS", help="Cell texts meaning 'missing', comma-separated, instead of NA, N/A, null, NaN, nan, ? "
    "(empty cells are always missing).",
    show_default=False)]
MissingOpt = Annotated[Missing, typer.Option("--missing", help="impute: median / '<missing>' category; error: refuse (a missing target too).")]
MaxCatsOpt = Annotated[int, typer.Option("--max-categories", help="Refuse categorical columns with more values.")]
TaskOpt = Annotated[Task, typer.Option("--task", help="auto: text or <=20 distinct integers is classification.")]
LogTargetOpt = Annotated[bool, typer.Option(
    "--log-target", help="Regression on log(1 + y), for amounts that span orders of magnitude (prices, counts); "
    "predictions are in y's units.")]
ModelOpt = Annotated[ModelKind, typer.Option("--model", "-m", help="mlp, or linear (no hidden layer).")]
# (None when not given: --model linear refuses them then, having no hidden layer)
HiddenOpt = Annotated[Optional[str], typer.Option(
    "--hidden", metavar="SIZES", help=f"Hidden layer sizes, e.g. 64,64 (default: {DEFAULTS['hidden']}).", show_default=False)]
ActivationOpt = Annotated[Optional[Activation], typer.Option(
    "--activation", "-a", help="Hidden-layer activation (default: relu).", show_default=False)]
DropoutOpt = Annotated[float, typer.Option("--dropout", help="Dropout probability on hidden layers, in [0, 1).")]
OptimizerOpt = Annotated[Optimizer, typer.Option("--optimizer", help="Optimizer.")]
LrOpt = Annotated[Optional[float], typer.Option(
    "--lr", help=f"Learning rate (default: {DEFAULTS['lr']:g}; {LINEAR_LR:g} for --model linear).", show_default=False)]
MomentumOpt = Annotated[Optional[float], typer.Option(
    "--momentum", help="Momentum factor of --optimizer momentum (default 0.9).", show_default=False)]
NesterovOpt = Annotated[bool, typer.Option("--nesterov", help="Nesterov momentum (--optimizer momentum).")]
EpochsOpt = Annotated[int, typer.Option("--epochs", "-e", help="Maximum number of passes over the data.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", "-b", help="Rows per mini-batch.")]
L2Opt = Annotated[Optional[float], typer.Option(
    "--l2", help="L2 penalty on the weights (not biases), minimized with the loss and reported beside it (default: 1.5 / training rows, at most 0.02; with --init, the model's own).",
    show_default=False)]
SeedOpt = Annotated[int, typer.Option(
    "--seed", help="Random seed (0 or more): same seed, data and --threads give identical weights (lr-find: the same "
    "sweep).")]
DTypeOpt = Annotated[DType, typer.Option("--dtype", help="Floating-point precision.")]
ValSplitOpt = Annotated[float, typer.Option(
    "--val-split", help="Hold out this fraction for validation (stratified for classes); 0 turns it off.")]
ThresholdOpt = Annotated[Optional[float], typer.Option(
    "--threshold", metavar="P", show_default=False,
    help="Two classes: predict the second (in `nncli show`'s order of classes) where its probability is above P "
         "(default: the more probable class, as P 0.5).")]
InitOpt = Annotated[Optional[str], typer.Option(
    "--init", metavar="MODEL", show_default=False,
    help="Start from a saved model's weights, to go on training it: DATA is read with its columns, scaling and "
         "classes, and its layers are kept.")]
ValOpt = Annotated[Optional[str], typer.Option("--val", metavar="FILE", help="Separate validation CSV (instead of --val-split).",
                                               show_default=False)]
PatienceOpt = Annotated[int, typer.Option(
    "--patience", help="Stop after this many epochs without a better validation loss (without validation data: "
    "training loss plus L2 penalty), and keep the best epoch's weights; 0 turns early stopping off.")]
ScheduleOpt = Annotated[LrSchedule, typer.Option("--lr-schedule", help="Learning-rate schedule.")]
LrDecayOpt = Annotated[Optional[float], typer.Option(
    "--lr-decay", help="Decay factor (step 0.5, exponential: lr/100 in the last epoch, plateau 0.5).", show_default=False)]
LrStepOpt = Annotated[Optional[int], typer.Option(
    "--lr-step", help="Epochs per step (step: 10), or without improvement (plateau: 5).", show_default=False)]
WarmupOpt = Annotated[Optional[int], typer.Option(
    "--warmup", help="Epochs of linear warm-up to --lr, before the schedule runs over the epochs left (onecycle: of its rising half-cosine, default 30%; 0: none).",
    show_default=False)]
ClassWeightOpt = Annotated[ClassWeight, typer.Option("--class-weight", help="balanced: weigh rare classes up.")]


# -- commands -------------------------------------------------------------------------------------
@app.command("gen-data")
def gen_data(
    kind: Annotated[Kind, typer.Argument(help="What to generate: linear, regression, moons, circles, blobs, spirals, "
                                         "xor, mixed or prices.", metavar="[KIND]")] = Kind.linear,
    samples: Annotated[int, typer.Option("--samples", "-n", help="Number of rows.")] = 1000,
    features: Annotated[Optional[int], typer.Option("--features", help="Features: regression (default 5), blobs "
                                                    "(default 2).", show_default=False)] = None,
    classes: Annotated[Optional[int], typer.Option("--classes", help="Classes: blobs, spirals (default 3).",
                                                   show_default=False)] = None,
    noise: Annotated[Optional[float], typer.Option(
        "--noise", help="Noise level; defaults: linear 1, regression 0.1, moons 0.15, circles 0.08, blobs 1, "
        "spirals 0.2, xor 0, mixed 0.3, prices 0.2.", show_default=False)] = None,
    missing_rate: Annotated[Optional[float], typer.Option("--missing-rate", help="mixed: fraction of blank feature "
                                                          "cells (default 0.1).", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (0 or more): the same seed draws the same rows.")] = 0,
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE", help="Output file ('-' for stdout).")] = "-",
) -> None:
    """Write a synthetic data set as CSV (to stdout by default).

    \b
    Example:
      nncli gen-data moons -n 2000 --noise 0.2 > moons.csv
    """
    check_range("--samples", samples, 1, 100_000_000)
    check_seed(seed)
    if features is not None:
        check_range("--features", features, 1, 10_000)
    if classes is not None:
        check_range("--classes", classes, 2, 1000)
    if noise is not None:
        from nncli.core.datagen import PRICES_MAX_NOISE

        check_range("--noise", noise, 0, 1e6)
        if kind is Kind.prices and noise > PRICES_MAX_NOISE:  # (the spread of log(price): exp overflows past it)
            raise UsageError(f"--noise for prices must be at most {PRICES_MAX_NOISE:g}, not {noise:g}: it spreads "
                             "log(price), and more makes prices beyond the largest number a float holds")
    if missing_rate is not None:
        check_range("--missing-rate", missing_rate, 0, 1, hi_open=True)
    if output != "-":
        check_output(output)
    one_blas_thread()
    from nncli import csv_write
    import numpy as np
    from nncli.core.datagen import GENERATORS

    for option, name, value in (("--features", "features", features), ("--classes", "classes", classes),
                                ("--missing-rate", "missing", missing_rate)):
        if value is not None and name not in inspect.signature(GENERATORS[kind.value]).parameters:
            takers = [k for k, f in GENERATORS.items() if name in inspect.signature(f).parameters]
            raise UsageError(f"{option} does not apply to {kind.value} (it does to {', '.join(takers)})")
    columns, _ = GENERATORS[kind.value](np.random.default_rng(seed), samples, features=features, classes=classes,
                                        noise=noise, **({"missing": missing_rate} if missing_rate is not None else {}))
    csv_write.write_columns(output, columns)


@app.command()
def fit(
    ctx: typer.Context,
    data: DataArg,
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE", help="Where to save the model.")] = "model.npz",
    init: InitOpt = None,
    target: TargetOpt = None,
    features: FeaturesOpt = None,
    ignore: IgnoreOpt = None,
    categorical: CategoricalOpt = None,
    na_values: NaValuesOpt = None,
    missing: MissingOpt = Missing.impute,
    max_categories: MaxCatsOpt = 50,
    delimiter: Delimiter = None,
    task: TaskOpt = Task.auto,
    log_target: LogTargetOpt = False,
    model: ModelOpt = ModelKind.mlp,
    hidden: HiddenOpt = None,
    activation: ActivationOpt = None,
    dropout: DropoutOpt = 0.0,
    optimizer: OptimizerOpt = Optimizer.adam,
    lr: LrOpt = None,
    momentum: MomentumOpt = None,
    nesterov: NesterovOpt = False,
    epochs: EpochsOpt = DEFAULTS["epochs"],
    batch_size: BatchOpt = DEFAULTS["batch_size"],
    l2: L2Opt = DEFAULTS["l2"],
    lr_schedule: ScheduleOpt = LrSchedule.constant,
    lr_decay: LrDecayOpt = None,
    lr_step: LrStepOpt = None,
    warmup: WarmupOpt = None,
    val_split: ValSplitOpt = DEFAULTS["val_split"],
    val: ValOpt = None,
    patience: PatienceOpt = DEFAULTS["patience"],
    class_weight: ClassWeightOpt = ClassWeight.none,
    seed: SeedOpt = 0,
    dtype: DTypeOpt = DType.float32,
    progress: Annotated[Progress, typer.Option("--progress", help="auto: live on a terminal that can draw it (UTF-8), plain otherwise; none: errors only, as -q.")]
    = Progress.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (and, if a signal stops "
                                        "training, what was saved).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    plot: Annotated[Optional[str], typer.Option("--plot", metavar="FILE", help="Also write the loss curves as an SVG file ('-' for stdout).",
                                                show_default=False)] = None,
    threads: Threads = None,
) -> None:
    """Train a model on a CSV file and save it.

    \b
    Example:
      nncli fit d.csv --model mlp --hidden 32,32 -o moons.npz
      nncli fit more.csv --init moons.npz --epochs 20 -o moons2.npz
    """
    threads, crowded = resolve_threads(threads)  # first: _training_options imports NumPy, which reads the thread count once
    dopts, mopts, config, extra = _training_options(
        target=target, features=features, ignore=ignore, categorical=categorical, na_values=na_values,
        missing=missing, max_categories=max_categories, delimiter=delimiter, dtype=dtype, task=task,
        log_target=log_target, model=model,
        hidden=hidden, activation=activation, dropout=dropout, optimizer=optimizer, batch_size=batch_size,
        class_weight=class_weight, lr=DEFAULTS["lr"] if lr is None else lr,
        momentum=momentum, nesterov=nesterov, epochs=epochs, l2=l2, lr_schedule=lr_schedule, lr_decay=lr_decay,
        lr_step=lr_step, warmup=warmup, patience=patience)
    check_range("--val-split", val_split, 0, 1, hi_open=True)
    check_seed(seed)
    if val is not None and val_split:
        raise UsageError("use either --val FILE or --val-split F, not both")
    check_read_once(data, val)
    if output == "-":  # (a directory: check_output says so, as for predict's and gen-data's -o)
        raise UsageError("--output '-': a model is written to a file, not to stdout",
                         hint="--plot - writes the loss curves to stdout")
    source = ctx.get_parameter_source("output")
    defaulted = getattr(source, "name", "") == "DEFAULT"
    for given, what in ((data, "the data"), (val, "the --val file")):
        if defaulted and given is not None and same_file(output, given):  # (`nncli fit model.npz`, a CSV so named)
            raise UsageError(f"-o defaults to {shorten(output)}, which is {what}: name the output",
                             hint="-o FILE saves the model there")
    check_output(output, data, val)  # (-o may name --init's model: it is replaced once training is done)
    if init is not None and defaulted and same_file(output, init):
        raise UsageError(f"-o defaults to {shorten(output)}, the model given to --init: name the output",
                         hint=f"-o {option_value(output)} replaces it once training is done, deliberately")
    if plot is not None:
        check_plot(plot, data, val, output, init)
    check_stdout({named("--output", output): output, named("--plot", plot): plot,
                  "--json": "-" if json_out else None}, data, val, init)
    from nncli.csv_source import refuse_unreadable

    for path in (data, val):  # (after the usage checks, before DATA is read: a typo in --val was said once all of it was)
        if path not in (None, "-"):
            refuse_unreadable(path)
    from nncli import continued, csv_write, render, workflow

    start, mopts = _init_model(ctx, init, dopts, mopts, task, "nncli fit DATA --init MODEL")
    if lr is None:  # (the model's kind decides it, and --init's model decides that)
        lr = LINEAR_LR if mopts.kind == "linear" else DEFAULTS["lr"]
        config = dataclasses.replace(config, lr=lr)
    if start is not None:  # (the data options the run took are the model's, not this command line's defaults)
        extra.update(target=list(start.target.names), task=start.task, **({"log_target": True} if start.target.log
                                                                          else {}))
    mode = progress.value
    if quiet:
        mode = "none"
    elif mode == "auto":
        mode = "live" if render.is_terminal() and render.can_draw() and render.live_fits() else "plain"
    elif mode == "live" and render.is_terminal() and not render.can_draw():  # (its frames, unable to redraw, piled up)
        render.notice(f"--progress live draws characters stderr's encoding ({render.stderr_encoding()}) lacks: "
                      "plain progress instead (PYTHONIOENCODING=utf-8 gives them)")
        mode = "plain"
    if mode == "plain":
        render.plain_text()
    import numpy as np

    typed = _typed_rows(data, "nncli fit DATA")
    with render.reading(("<stdin>" if data == "-" else data) if mode == "live" and not typed else None):
        weighing = None if class_weight is ClassWeight.none else class_weight.value
        tdata = continued.load_data(start, data, dopts, task.value, val_path=val, val_split=val_split or None,
                                    class_weight=weighing, rng=np.random.default_rng([seed, 1]))
    if config.l2 is None:
        l2, marks = continued.unset_l2(start, tdata.n_rows)
        config = dataclasses.replace(config, l2=l2)
        extra.update(marks)
    from nncli.model_file import check_schema_size

    check_schema_size(tdata.pre, tdata.target, tdata.na_values, tdata.source)
    if mode != "none":
        render.notices([*tdata.notices, crowded])
        if val is not None and same_file(data, val):
            render.notice("--val names the training file: its figures are training scores, and early stopping "
                          "watches them (give a file of other rows, or --val-split)")
        source = ctx.get_parameter_source("lr")
        render.notices(workflow.setting_notices(config, mopts.kind, lr_given=getattr(source, "name", "") != "DEFAULT"))
    with stop_signals.StopFlag(output) as stop:  # (with --init: that model's network, and the record of it)
        run = workflow.Training(tdata, mopts, config, seed=seed, should_stop=stop, threads=threads,
                                dtype=dtype.value if start is None else start.network.dtype.name,
                                extra_config={**extra, "val_split": val_split, "class_weight": class_weight.value,
                                              "threads": threads},
                                net=None if start is None else continued.continued_network(start, mopts.dropout),
                                init=None if start is None else continued.init_record(start, init))
        render.run_training(run, tdata, mode)
        trained = run.model()
        if trained.info["weights_from_epoch"] == 0:  # interrupted in the first epoch, or no epoch worth keeping
            if stop.signum is None:  # (--init's weights of 1e20: the L2 penalty overflowed every epoch)
                raise NncliError("no epoch ended with a finite loss (with its L2 penalty) to keep; nothing saved",
                                 hint="the starting weights may be too large to train from: try --l2 0, or train "
                                      "a new model")
            stopped = NncliError(f"{stop_signals.STOPS[stop.signum]} before the first epoch finished; nothing saved")
            stopped.exit_code = stop_signals.exit_code(stop.signum)
            raise stopped
        from nncli.model_file import save_model

        def before_commit() -> None:  # a plot file first: if it fails, the old model stays
            if plot is not None and plot != "-":
                try:
                    render.write_plot(plot, trained)
                except BrokenPipeError:  # (`--plot /dev/stdout | head -c 10`: the model is saved, as with `--plot -`)
                    pass
            stop.committing()

        save_model(trained, output, before_commit=before_commit)
        # Data for stdout only once the model is saved: a failed fit writes nothing there. If stdout
        # fails now (a full disk), the error says the model was saved.
        saved = f"the model was saved to {shorten(output)}"
        if plot == "-":
            _write_stdout(lambda: csv_write.write_document(render.loss_svg(trained), hold=False), saved)
        if json_out:
            metric = "accuracy" if trained.task == "classification" else "r2"  # (what final_metric is)
            # (with --log-target, final_loss and final_metric are of log(1 + y): `target_transform` says so)
            transform = {"target_transform": "log1p"} if trained.target.log else {}
            summary = _json_numbers({"model": output, "task": trained.task, "metric": metric, **transform,
                                     **trained.info})
            _write_stdout(lambda: csv_write.write_document(json.dumps(summary, default=str, allow_nan=False) + "\n",
                                                           hold=False), saved)
        if mode != "none":
            render.finish_training(trained, output, mode, dopts.delimiter)
            nothing = workflow.learned_nothing(tdata, trained)
            if nothing:
                render.notice(nothing)
            elif improving := workflow.still_improving(trained):
                render.notice(improving)
            if worse := continued.start_was_better(start, tdata, trained):
                replaced = same_file(output, init)  # (-o named --init's model)
                render.notice(worse + (f" (and -o has replaced {shorten(init)})" if replaced else ""))
        if stop.signum is not None:  # said even with --quiet: the exit code alone would not tell what was kept
            which = "the best weights so far" if run.keeps_best else "the weights so far"
            render.notice(f"{stop_signals.STOPS[stop.signum]}: saved {which} to {shorten(output)}")
            raise SystemExit(stop_signals.exit_code(stop.signum))


def _check_threshold(threshold: float | None, m, path: str) -> None:
    """--threshold: in (0, 1), and for a model of two classes (exit 2 otherwise)."""
    if threshold is None:
        return
    check_range("--threshold", threshold, 0, 1, lo_open=True, hi_open=True)
    if len(m.target.classes) != 2:
        has = f"{len(m.target.classes):,} classes" if m.target.classes else "values (regression)"
        raise UsageError(f"--threshold is for a model of two classes; {shorten(path)} predicts {has}")


def _init_model(ctx: typer.Context, init: str | None, dopts, mopts, task: Task, usage: str):
    """(the model given to --init, or None; the model options the run takes: that model's layers, if any)."""
    if init is None:
        return None, mopts
    from nncli import continued
    from nncli.model_file import load_model

    start = load_model(init, usage=usage)
    given = {k for k in continued.INIT_KEPT
             if getattr(ctx.get_parameter_source(k), "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")}
    return start, continued.init_options(start, dopts, mopts, task.value, given)


def _training_options(*, target, features, ignore, categorical, na_values, missing, max_categories, delimiter, dtype,
                      task, log_target, model, hidden, activation, dropout, optimizer, batch_size, class_weight, lr=1e-3,
                      momentum=None, nesterov=False, epochs=1, l2=0.0, lr_schedule=LrSchedule.constant,
                      lr_decay=None, lr_step=None, warmup=None, patience=0):
    """Check the options fit and lr-find share; build the option records (exit 2 on bad values).
    (lr-find gives the data, model, optimizer and L2 options: the others keep these defaults.)"""
    from nncli.core.training import TrainConfig
    from nncli.workflow import DataOptions, ModelOptions

    check_range("--epochs", epochs, 1, MAX_EPOCHS)
    check_range("--batch-size", batch_size, 1, 100_000_000)
    check_range("--lr", lr, 0, 1e6, lo_open=True)
    if (momentum is not None or nesterov) and optimizer is not Optimizer.momentum:
        raise UsageError(f"{'--nesterov' if nesterov else '--momentum'} is for --optimizer momentum "
                         f"(not {optimizer.value})")
    momentum = 0.9 if momentum is None else momentum
    check_range("--momentum", momentum, 0, 1, hi_open=True)
    for option, value, schedules in (("--lr-decay", lr_decay, ("step", "exponential", "plateau")),
                                     ("--lr-step", lr_step, ("step", "plateau"))):
        if value is not None and lr_schedule.value not in schedules:
            names = ", ".join(schedules[:-1]) + " or " + schedules[-1]
            raise UsageError(f"{option} is for --lr-schedule {names} (not {lr_schedule.value})")
    check_range("--dropout", dropout, 0, 1, hi_open=True)
    if model is ModelKind.linear:
        given = [o for o, v in (("--hidden", hidden), ("--activation", activation), ("--dropout", dropout or None))
                 if v is not None]
        if given:
            raise UsageError(f"{given[0]} is for hidden layers, and --model linear has none")
    hidden = DEFAULTS["hidden"] if hidden is None else hidden
    activation = Activation.relu if activation is None else activation
    if l2 is not None:
        check_range("--l2", l2, 0, 1e6)
    check_range("--max-categories", max_categories, 1, 1_000_000)
    check_range("--patience", patience, 0, MAX_EPOCHS)
    if lr_decay is not None:
        check_range("--lr-decay", lr_decay, 0, 1, lo_open=True)
    if lr_step is not None:
        check_range("--lr-step", lr_step, 1, MAX_EPOCHS)
    if warmup is not None:
        check_range("--warmup", warmup, 0, MAX_EPOCHS)
        if lr_schedule is LrSchedule.onecycle and 1 < epochs <= warmup + 1:
            raise UsageError(f"--warmup {warmup:,} leaves --lr-schedule onecycle no epoch to come down from --lr in: "
                             f"give at most --epochs - 2 ({epochs - 2:,})")
        if 0 < epochs <= warmup:
            raise UsageError(f"--warmup {warmup:,} is not less than --epochs {epochs:,}: no epoch would be left "
                             "after the warm-up")
    sizes = parse_hidden(hidden)
    feature_names, ignored = split_list(features, "--features"), split_list(ignore, "--ignore")
    ignored_names = set(ignored)
    both = [c for c in feature_names if c in ignored_names]
    if both:
        raise UsageError(f"--features and --ignore both name {shorten(both[0], 40)}")
    nas = None
    if na_values is not None:  # "" means: only empty cells are missing
        nas = ("",) if na_values.strip() == "" else split_list(na_values, "--na-values")
    dopts = DataOptions(
        target=split_list(target, "--target"), features=feature_names,
        ignore=ignored, categorical=split_list(categorical, "--categorical"),
        missing=missing.value, max_categories=max_categories, delimiter=check_delimiter(delimiter),
        dtype=dtype.value, log_target=log_target,
        **({"na_values": tuple(dict.fromkeys(("",) + nas))} if nas is not None else {}))
    if log_target and task is Task.classification:
        raise UsageError("--log-target is for a number to predict, not --task classification")
    if task is Task.classification and len(dopts.target) > 1:
        raise UsageError("classification takes one target column", hint="give one --target column")
    if class_weight is not ClassWeight.none and task is Task.regression:
        raise UsageError(f"--class-weight {class_weight.value} weighs classes, and this target is a regression "
                         "(see --task)")  # (checked again once the data tells an auto task)
    mopts = ModelOptions(kind=model.value, hidden=sizes if model is ModelKind.mlp else (),
                         activation=activation.value, dropout=dropout)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer.value, momentum=momentum,
                         nesterov=nesterov, l2=l2, lr_schedule=lr_schedule.value, lr_decay=lr_decay,
                         lr_step=lr_step, warmup=warmup, patience=patience or None)
    extra = {"target": list(dopts.target), "task": task.value, **({"log_target": True} if log_target else {})}
    return dopts, mopts, config, extra


@app.command("lr-find", short_help="Suggest a learning rate from a short sweep of rates.")
def lr_find(
    ctx: typer.Context,
    data: DataArg,
    init: InitOpt = None,
    target: TargetOpt = None,
    features: FeaturesOpt = None,
    ignore: IgnoreOpt = None,
    categorical: CategoricalOpt = None,
    na_values: NaValuesOpt = None,
    missing: MissingOpt = Missing.impute,
    max_categories: MaxCatsOpt = 50,
    delimiter: Delimiter = None,
    task: TaskOpt = Task.auto,
    log_target: LogTargetOpt = False,
    model: ModelOpt = ModelKind.mlp,
    hidden: HiddenOpt = None,
    activation: ActivationOpt = None,
    dropout: DropoutOpt = 0.0,
    optimizer: OptimizerOpt = Optimizer.adam,
    momentum: MomentumOpt = None,
    nesterov: NesterovOpt = False,
    batch_size: BatchOpt = DEFAULTS["batch_size"],
    l2: L2Opt = DEFAULTS["l2"],
    class_weight: ClassWeightOpt = ClassWeight.none,
    seed: SeedOpt = 0,
    dtype: DTypeOpt = DType.float32,
    steps: Annotated[int, typer.Option("--steps", help="Mini-batches in the sweep.")] = 100,
    lr_min: Annotated[float, typer.Option("--lr-min", help="Smallest learning rate tried (at least 1e-30).")] = 1e-7,
    lr_max: Annotated[float, typer.Option("--lr-max", help="Largest learning rate tried.")] = 10.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the suggestion (or --json's object).")]
    = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the suggestion, the sweep and any warning as "
                                           "one JSON object on stdout.")] = False,
    threads: Threads = None,
) -> None:
    """Suggest a learning rate: sweep it from 1e-7 to 10 and watch the loss.

    Draws loss against learning rate on stderr and prints only the suggested
    rate on stdout (a tenth of the rate at the lowest loss), so it composes;
    --json prints it with the sweep and any warning.
    Each step is fit's: give the optimizer and L2 options fit will get.

    \b
    Example:
      nncli lr-find d.csv --model mlp
      nncli fit d.csv --lr $(nncli lr-find d.csv -q)
    """
    threads, crowded = resolve_threads(threads)  # first: _training_options imports NumPy, which reads the thread count once
    dopts, mopts, config, _ = _training_options(
        target=target, features=features, ignore=ignore, categorical=categorical, na_values=na_values,
        missing=missing, max_categories=max_categories, delimiter=delimiter, dtype=dtype, task=task,
        log_target=log_target, model=model,
        hidden=hidden, activation=activation, dropout=dropout, optimizer=optimizer, batch_size=batch_size,
        class_weight=class_weight, momentum=momentum, nesterov=nesterov, l2=l2)
    check_range("--steps", steps, 5, 1_000_000)
    check_seed(seed)
    check_range("--lr-min", lr_min, 1e-30, 1e6)  # (below, the sweep's span --lr-max / --lr-min could overflow to inf)
    check_range("--lr-max", lr_max, lr_min, 1e6, lo_open=True, lo_name="--lr-min")
    check_stdout({"--json" if json_out else "the suggested rate": "-"}, data, init)
    import numpy as np

    from nncli import continued, render, workflow
    from nncli.core.training import lr_sweep

    start, mopts = _init_model(ctx, init, dopts, mopts, task, "nncli lr-find DATA --init MODEL")
    _typed_rows(data, "nncli lr-find DATA")
    weighing = None if class_weight is ClassWeight.none else class_weight.value
    tdata = continued.load_data(start, data, dopts, task.value, class_weight=weighing)
    if not quiet:  # (fit's notices: targets read as classes, cells imputed, a constant target...)
        render.notices([*tdata.notices, crowded])
    rng = np.random.default_rng(seed)  # one generator, weights then batches, as in fit: the same first batches
    net = workflow.build_network(tdata, mopts, dtype.value, rng) if start is None else \
        continued.continued_network(start, mopts.dropout)
    net.use_threads(threads)
    l2 = continued.unset_l2(start, tdata.n_rows)[0] if config.l2 is None else config.l2  # (fit's default)
    stop_signals.reraise_if_lost()  # (a stop whose exception NumPy swallowed while the data was read: no sweep)
    sweep = lr_sweep(net, tdata.X, tdata.Y, rng, batch_size=batch_size, optimizer=optimizer.value,
                     momentum=config.momentum, nesterov=config.nesterov, l2=l2,
                     lr_min=lr_min, lr_max=lr_max, steps=steps, sample_weight=tdata.sample_weight)
    cut = len(sweep.lrs) < steps  # (the loss blew up, or stopped being finite, before --lr-max)
    warning = None  # where the sweep leaves the suggestion in doubt (for scripts: `--json`'s "warning")
    if sweep.losses and sweep.best_lr == sweep.lrs[0] and (len(sweep.losses) > 1 or cut):
        warning = "never_fell"  # (the suggestion is then --lr-min's)
    elif sweep.losses and sweep.best_lr == sweep.lrs[-1]:
        warning = "diverged_after_lowest" if cut else "still_falling"
    elif sweep.losses and sweep.suggestion <= lr_min:  # (a model at a minimum, given to --init, had its lowest
        warning = "at_lr_min"  # a few rates in, by the batches' noise alone, and no word said so)
    at_a_minimum = ("no rate lowered the loss of the model given to --init: it may be at a minimum for this data "
                    "already (if it trains on, then at a small --lr)")
    if not quiet:
        render.show_lr_sweep(sweep)
        render.notices([{
            "never_fell": at_a_minimum if start is not None else
                          f"the loss never fell below its first value: even --lr-min {lr_min:g} may be too high "
                          "(try a smaller --lr-min)",
            "at_lr_min": at_a_minimum if start is not None else
                         f"the loss was lowest within a tenfold of --lr-min {lr_min:g}, so the suggestion is "
                         "--lr-min itself (try a smaller --lr-min)",
            "diverged_after_lowest": f"the loss stopped being finite at the rate after {sweep.lrs[-1]:g}, where it "
                                     "was lowest: higher rates diverge",
            "still_falling": f"the loss was still falling at --lr-max {lr_max:g}: a higher rate may be better "
                             "(try a larger --lr-max)"}.get(warning)])
    if json_out:
        from nncli import csv_write

        csv_write.write_document(json.dumps(_json_numbers(
            {"suggestion": float(f"{sweep.suggestion:.3g}"), "lowest_loss_lr": sweep.best_lr, "warning": warning,
             "lrs": sweep.lrs, "losses": sweep.losses}), allow_nan=False) + "\n")
    else:
        print(f"{sweep.suggestion:.3g}")


@app.command()
def predict(
    model: ModelArg,
    data: Annotated[str, typer.Argument(help="CSV file with a header row to predict ('-' or nothing: stdin; .gz is read transparently).",
                                        metavar="[DATA]")] = "-",
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE", help="Output CSV ('-' for stdout).")] = "-",
    proba: Annotated[bool, typer.Option("--proba", help="Add one probability column per class.")] = False,
    keep: Annotated[Optional[str], typer.Option("--keep", metavar="COLUMNS", help="Copy these input columns (e.g. an id), comma-separated, to the output.",
                                                show_default=False)] = None,
    threshold: ThresholdOpt = None,
    delimiter: Delimiter = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notices (imputed cells, unseen categories): "
                                        "errors only.")] = False,
    threads: Threads = None,
) -> None:
    """Predict each row of a CSV file; writes CSV to stdout.

    Feature columns are matched by name in any order; other columns are ignored.
    Rows stream through in chunks, so memory stays flat on any file size.

    \b
    Example:
      nncli predict model.npz new.csv | head
    """
    keep_cols = split_list(keep, "--keep")
    d = check_delimiter(delimiter)
    if output != "-":
        check_output(output, data, model)
    check_stdout({"the predictions": output}, data, model)
    threads, crowded = resolve_threads(threads)
    from nncli import apply, csv_write, render
    from nncli.core.preprocessing import EncodeReport
    from nncli.csv_io import display_name
    from nncli.model_file import load_model

    m = load_model(model, usage="nncli predict MODEL [DATA]")
    if proba and m.task != "classification":
        raise UsageError(f"--proba needs a classifier; {shorten(model)} predicts values (regression)")
    _check_threshold(threshold, m, model)
    taken = set(csv_write.prediction_names(m, proba)).intersection(keep_cols)
    if taken:  # the output would have two columns of one name, which no CSV reader (nncli's too) takes
        raise UsageError(f"--keep {shorten(sorted(taken)[0], 40)}: the predictions have a column of that name")
    m.network.use_threads(threads)
    render.notices([] if quiet else [crowded])
    report = EncodeReport()
    _typed_rows(data, "nncli predict MODEL DATA")  # (`nncli predict model.npz`, the data forgotten: it waits)
    chunks = apply.predict_chunks(m, data, keep=keep_cols, proba=proba, delimiter=d, report=report,
                                  threshold=threshold)
    rows = 0

    def counted(items: Iterator[tuple]) -> Iterator[tuple]:
        nonlocal rows
        for item in items:
            rows += len(item[1])
            yield item

    csv_write.write_predictions(output, m, counted(chunks), keep_cols, proba)
    if quiet:
        return
    if not rows:  # (fit and eval refuse such a file; an empty CSV of predictions is still an answer)
        render.notice(f"{printable(display_name(data))}: a header and no rows, nothing to predict")
    render.notices(apply.encode_notices(report))


@app.command("eval")
def eval_(
    model: ModelArg,
    data: DataArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")]
    = False,
    threshold: ThresholdOpt = None,
    delimiter: Delimiter = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notices (imputed cells, unseen categories); "
                                        "the scores are still shown.")] = False,
    threads: Threads = None,
) -> None:
    """Score a model on a labelled CSV file.

    Regression: MSE, RMSE, MAE, R² (and RMSLE for a --log-target model). Classification:
    accuracy, log loss, ROC AUC, per-class precision/recall/F1 and the confusion matrix.
    Rows whose label the model never saw are an error.

    \b
    Example:
      nncli eval model.npz test.csv --json
    """
    d = check_delimiter(delimiter)
    check_stdout({"--json": "-" if json_out else None}, data, model)
    threads, crowded = resolve_threads(threads)
    from nncli import apply, csv_write, render
    from nncli.core.preprocessing import EncodeReport
    from nncli.model_file import load_model

    m = load_model(model, usage="nncli eval MODEL DATA")
    m.network.use_threads(threads)
    render.notices([] if quiet else [crowded])
    report = EncodeReport()
    _typed_rows(data, "nncli eval MODEL DATA")
    _check_threshold(threshold, m, model)
    result = apply.evaluate_model(m, data, d, report, threshold)
    render.notices([] if quiet else apply.encode_notices(report) + apply.training_file_notice(m, data))
    if json_out:
        csv_write.write_document(json.dumps(_json_numbers(result), allow_nan=False) + "\n")
    else:
        render.show_eval(result)


@app.command(short_help="Describe a saved model and draw what it learned.")
def show(
    model: ModelArg,
    plot: Annotated[Optional[str], typer.Option("--plot", metavar="FILE", help="Write the loss curves as an SVG file ('-' for stdout).",
                                                show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the model's metadata as JSON on stdout.")] = False,
    data: Annotated[Optional[str], typer.Option(
        "--data", metavar="FILE", show_default=False,
        help="Draw a labelled CSV file's rows (at most 2,000, spread evenly) over the chart or map of what the "
             "model predicts ('-' for stdin).")] = None,
    delimiter: Delimiter = None,
) -> None:
    """Describe a saved model: architecture, columns, training, metrics and loss curves.

    For a model of one or two numeric features, also what it predicts across them: a chart,
    or a map of the plane with the decision boundary.

    \b
    Example:
      nncli show model.npz --plot curves.svg
    """
    one_blas_thread()
    from nncli import csv_write, render
    from nncli.model_file import load_model

    d = check_delimiter(delimiter)
    if delimiter is not None and data is None:
        raise UsageError("--delimiter is for the file of --data; show reads no other")
    if data is not None and json_out:
        raise UsageError("--data draws a file's rows over show's chart or map; --json prints the model's metadata only")
    inputs = [model, *([data] if data else [])]
    check_stdout({named("--plot", plot): plot, "--json": "-" if json_out else None}, *inputs)
    if plot is not None:
        check_plot(plot, *inputs)  # (usage errors before any work, as the other commands: before a model that
        # fails to load)
    m = load_model(model, usage="nncli show MODEL")
    drawn = None
    if data is not None:
        from nncli import apply
        from nncli.core.preprocessing import EncodeReport

        from nncli.render_view import prediction_view, view_refusal

        why = view_refusal(m) or ("its predictions are not finite" if prediction_view(m) is None else None)
        if why is not None:
            raise UsageError(f"--data draws rows over show's chart or map of what a model predicts, and "
                             f"{shorten(model)} has none: {why}")
        report = EncodeReport()
        _typed_rows(data, "nncli show MODEL --data FILE")
        drawn = apply.rows_to_draw(m, data, d, report)
        render.notices(apply.encode_notices(report))
    if plot is not None:
        if plot == "-":
            csv_write.write_document(render.loss_svg(m))
        else:
            render.write_plot(plot, m)
    if json_out:
        from nncli.model_file import model_arrays

        meta = json.loads(model_arrays(m)["meta"].tobytes())
        meta["nncli_version"] = m.written_by  # (model_arrays stamps this nncli's; null: the file said no usable one)
        if "patience" in meta["config"] and meta["config"]["patience"] is None:  # (as the text says: --patience 0)
            meta["config"]["patience"] = 0
        # Per epoch, the curves `show` draws and the learning rate each epoch ran at (null: none that epoch)
        meta["history"] = {k: v.tolist() for k, v in m.history.items()}
        if m.kind == "linear":  # the equations `show` prints, in the data's units
            W, b = m.linear_coefficients()
            names = m.pre.encoded_names()
            # (For a classifier, each names its class: the keys are for people. Weights as a list:
            # encoded names may collide.)
            meta["equation"] = {t: {**({"class": c} if c is not None else {}), "intercept": float(b[k]),
                                    "weights": [{"input": f, "weight": float(W[i, k])} for i, f in enumerate(names)]}
                                for k, (t, c) in enumerate(m.equations())}
        csv_write.write_document(json.dumps(_json_numbers(meta), allow_nan=False) + "\n")
        return
    from nncli.csv_io import display_name
    from nncli.render_show import show_model

    show_model(m, model, drawn, printable(display_name(data)) if data is not None else "")


def _json_numbers(value: object) -> object:
    """JSON has no inf or NaN: null instead (say, squared errors of targets near 1e160 overflow)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


def version_callback(value: bool) -> None:
    if value:
        print(f"nncli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=version_callback, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """Train, watch and use small neural networks on CSV files."""


# -- entry point ------------------------------------------------------------------------------------
def _error(message: str, hint: str | None = None) -> None:
    # Escaped here, whatever built the text: a hint like `--ignore COLUMN` repeats a column name as it
    # is, to be typed, and a name holding escape codes must not recolour or retitle the terminal.
    _to_stderr(f"nncli: error: {printable(message)}\n" + (f"hint: {printable(hint)}\n" if hint else ""))


def _typed_rows(data: str, usage: str) -> bool:
    """Say that the data will be typed, where it comes from a terminal (else the command just waits);
    whether it will."""
    typed = data == "-" and is_terminal(sys.stdin)
    if typed:
        from nncli import render

        render.notice(f"reading CSV rows from the terminal, the header first; end with Ctrl-D (or give a file: {usage})")
    return typed


def _to_stderr(text: str) -> None:
    """Write text for people that does not go through Rich (`render.StderrConsole` handles that).

    When stderr's reader has gone (`nncli ... 2>&1 | head -1`), the text is dropped and stderr
    silenced, so that the exit code stays the command's own.
    """
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        silence(sys.stderr)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail noisily."""
    silence(sys.stdout)


def _write_stdout(write: Callable[[], None], hint: str) -> None:
    """Run `write` (data to stdout) and flush, so that a full disk fails here, with `hint`, and not
    at exit; a reader that has gone leaves stdout silenced (as at exit)."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as e:
        raise NncliError(f"cannot write the output: {e.strerror or e}", hint=hint) from None


def _stopped(e: BaseException) -> int:
    """Say what stopped the command (Ctrl-C, or the Abort Typer makes of it; SIGTERM, SIGHUP) and
    return its exit code."""
    signum = stop_signals.signum_of(e)
    said = stop_signals.announced == signum  # (by `nncli.__main__`, before an import lost its exit)
    stop_signals.handled()
    says = next((getattr(x, "nncli_says") for x in (e, e.__cause__, e.__context__) if hasattr(x, "nncli_says")),
                stop_signals.STOPS[signum])  # (a second signal in `fit` says what it did; Typer's Abort wraps it)
    if not said:
        _error(says)
    return stop_signals.exit_code(signum)


def _interruption(e: BaseException) -> BaseException | None:
    """The Ctrl-C, SIGTERM or SIGHUP that `e` was raised while handling, if any."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (KeyboardInterrupt, Terminated)):
            return e
        e = e.__context__  # type: ignore[assignment]
    return None


def _usage_error(e: click_exceptions.UsageError, argv: list[str]) -> tuple[str, str]:
    """Click's usage error as nncli's message and hint (which names the command's --help); argv:
    the arguments given."""
    ctx = e.ctx
    command = ctx.info_name if ctx is not None and ctx.parent is not None else None
    if command is None:  # (an option's missing value is found before the command's context exists)
        names = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback}
        command = next((a for a in argv if a in names), None)
    where = f"nncli {command}" if command else "nncli"
    message = e.format_message().strip().replace("\n", " ")
    option = getattr(e, "option_name", None)
    given = next((i for i, a in enumerate(argv) if option and (a == option or a.startswith(option + "="))), None)
    if (isinstance(e, click_exceptions.NoSuchOption) and ctx is not None and ctx.parent is None and command
            and given is not None and given < argv.index(command)):  # `nncli -q fit ...`, `nncli --lr=0.1 fit`
        sub = ctx.command.get_command(ctx, command) if hasattr(ctx.command, "get_command") else None
        if sub is not None and any(option in p.opts or option in p.secondary_opts for p in sub.params):
            return message, f"options go after the command: nncli {command} {option} ..."
    extra = re.fullmatch(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message)
    if extra is None:
        return message, f"see `{where} --help`"
    # The arguments themselves: the run of argv (the last one) that Click's message joins. Click escapes some
    # characters, and extra arguments may have options between them: then its text is all there is.
    runs = ((i, k) for k in range(1, len(argv) + 1) for i in range(len(argv) - k, -1, -1))
    args = next((argv[i:i + k] for i, k in runs if " ".join(argv[i:i + k]) == extra.group(1)), None)
    message = f"unexpected argument(s): {extra.group(1)}" if args is None else \
        f"unexpected argument{'s' if len(args) > 1 else ''}: {', '.join(shorten(a) for a in args)}"
    at = argv.index("--hidden") if "--hidden" in argv else -1
    if 0 <= at < len(argv) - 2 and argv[at + 2].isdigit():  # `--hidden 64 32`
        sizes = [t for t in itertools.takewhile(re.compile(r"[0-9,]+").fullmatch, argv[at + 1:]) for t in t.split(",")
                 if t]
        return message, f"layer sizes are comma-separated: --hidden {','.join(sizes) if len(sizes) > 1 else '64,32'}"
    if args is not None and len(args) == 1 and command in ("fit", "lr-find", "predict", "gen-data"):
        arg = args[0]
        data = ctx.params.get("data") if ctx is not None else None  # (what Click took for DATA)
        if command in ("fit", "lr-find") and isinstance(data, str) and data.endswith(".npz") and arg != data:
            # `fit model.npz data.csv`: a model to go on training
            return message, f"to go on training a model: nncli {command} {shlex.quote(arg)} --init {shlex.quote(data)}"
        if command == "fit" and re.search(r"\.(csv|tsv|txt)(\.gz)?$", arg, re.IGNORECASE):
            return message, f"fit reads one data file; a validation file is --val {shlex.quote(arg)}"
        if "." in arg and (not os.path.exists(arg) or command == "fit" and arg.endswith(".npz")):  # never data
            return message, f"the output file is an option: -o {shlex.quote(arg)}"
    return message, f"see `{where} --help`"


def run(invoke, argv: list[str] | None = None) -> int:
    """Call `invoke()` (the parsed command) and map every outcome to an exit code.

    Usage errors -> 2, nncli's own errors -> their code (1 or 2) with one
    `nncli: error:` line, Ctrl-C -> 130, SIGTERM -> 143, SIGHUP -> 129, a closed
    stdout -> quiet 0. Anything else is a bug: one line, and the traceback with NNCLI_DEBUG=1.
    """
    debug = env_flag("NNCLI_DEBUG")
    code = 0
    if not debug:
        # Overflow and the like are caught by explicit checks (divergence, finite
        # values) that explain themselves; NumPy's warnings would only add noise.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
    try:
        rv = invoke()
        if isinstance(rv, int) and rv == 130:  # Typer's answer to a Ctrl-C outside `invoke` (parsing options)
            raise KeyboardInterrupt
        stop_signals.reraise_if_lost()  # (it ended although a signal came: an import swallowed its exception)
        code = rv if isinstance(rv, int) else 0
        sys.stdout.flush()
    except _EXIT as e:
        code = e.exit_code
    except click_exceptions.UsageError as e:
        if isinstance(e, click_exceptions.NoArgsIsHelpError):
            if e.ctx is not None:
                _to_stderr(e.ctx.get_help() + "\n")
            return 2
        _error(*_usage_error(e, sys.argv[1:] if argv is None else argv))
        code = 2
    except click_exceptions.ClickException as e:
        _error(e.format_message())
        code = e.exit_code
    except (*_ABORT, Terminated) as e:
        code = _stopped(e)
    except BrokenPipeError:
        _silence_stdout()
        code = 0 if stop_signals.raised is None else _stopped(stop_signals.exception_for(stop_signals.raised))
    except OSError as e:  # the environment failed us (a full disk, an I/O error), not a bug
        if stop_signals.raised is not None:  # (a stop whose exception was lost, then the terminal hung up: EIO)
            return _stopped(stop_signals.exception_for(stop_signals.raised))
        if isinstance(e, FileNotFoundError) and not cwd_exists():  # (every relative path, and abspath, fail)
            _error("the current directory no longer exists", hint="cd into one that does, and run the command again")
            return 1
        # Files are opened and read through nncli's own errors; what is left is stdout.
        where = "cannot write the output" if e.filename is None else shorten(e.filename)
        _error(f"{where}: {e.strerror or e}")
        code = 1
    except NncliError as e:
        if stop_signals.raised is not None:  # (likewise: the stop came first)
            return _stopped(stop_signals.exception_for(stop_signals.raised))
        if debug:
            import traceback

            traceback.print_exc()
        _error(e.message, e.hint)
        code = e.exit_code
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except MemoryError:
        command = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), "")
        _error("out of memory", "try a smaller --batch-size or a smaller model" if command in ("fit", "lr-find")
               else "try a smaller -n" if command == "gen-data"
               else "the data or the model is too big for the memory there is")
        code = 1
    except Exception as e:  # a bug: say so briefly, show the traceback on request
        signalled = _interruption(e)
        if signalled is None and stop_signals.raised is not None:  # (an import that swallowed the signal's
            signalled = stop_signals.exception_for(stop_signals.raised)  # exception failed on: ImportError)
        if signalled is not None:  # raised while cleaning up after Ctrl-C (say, a half-written zip closing)
            return _stopped(signalled)
        if debug:
            raise
        if isinstance(e, RuntimeError) and "can't start new thread" in str(e):  # (a process or memory limit)
            _error("cannot start another thread: the system's limit", "use fewer --threads")
            return 1
        _error(f"internal error: {type(e).__name__}: {shorten(e, 200)}",
               "this is a bug in nncli; run with NNCLI_DEBUG=1 for the traceback")
        code = 1
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        _silence_stdout()
    return code


class NncliGroup(TyperGroup):
    """The app's command group: every way in (console script, -m, CliRunner) maps errors the same way."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        def invoke() -> object:
            try:
                return super(NncliGroup, self).main(args, prog_name or "nncli", complete_var,
                                                    standalone_mode=False, **extra)
            except BaseException:
                _settled()  # (before `run` handles it: then the CSV reader's threads are joined)
                raise

        code = run(invoke, None if args is None else [str(a) for a in args])
        _settled()
        sys.exit(code)

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        """Parse the top-level options, where `nncli --help` and `nncli --version` print and exit.

        That happens before `invoke`, and Typer's click turns a broken pipe there into exit code 1;
        like any command whose stdout is closed early, they stop quietly with 0.
        """
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(0) from None

    def invoke(self, ctx):  # type: ignore[override]
        """Run the command, keeping two outcomes from click's own handling in `main`.

        Typer's click turns a broken pipe into exit code 1 and Ctrl-C into a silent
        130; nncli stops quietly with 0 when stdout is closed early, and says
        "interrupted" (see `run`).
        """
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            raise typer.Abort() from None


_OWN_PROCESS = False  # set by `main`: nncli runs as its own process, not in a test's CliRunner


def _settled() -> None:
    """The command has ended, one way or another: in a process of its own, a further signal now ends
    it at once (`stop_signals.kill_from_now_on`; a second Ctrl-C while the reader's threads are
    joined printed a traceback)."""
    if _OWN_PROCESS:
        stop_signals.kill_from_now_on()


def main() -> None:
    """Entry point (see `nncli.__main__`, which installs quiet signal handlers before importing this)."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    stop_signals.install(stop_signals.raise_for)
    try:  # Typer builds the commands before `run` takes over: a signal then is handled here
        stop_signals.reraise_if_lost()  # (one whose exception an import swallowed while this module loaded)
        app(prog_name="nncli")
    except (KeyboardInterrupt, Terminated) as e:
        sys.exit(_stopped(e))


app.info.cls = NncliGroup
