"""Everything people see: progress lines, tables, summaries, all on stderr through Rich.

stdout is data and never passes through here (`loss_svg` returns the `--plot -`
document to the caller). User text (file names, column names, labels) is always
wrapped in `Text`, never parsed as markup; `write_plot` writes the SVG file of `--plot`. `show`'s
report is `render_show`'s, built of the pieces here. Imports rich and nncli modules; never typer.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import sys
from typing import Iterable, Iterator

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from nncli.errors import printable
from nncli.render_tables import ConfusionMatrix, WholeNumbers
from nncli.std_streams import is_terminal as stream_is_terminal, silence

_console: Console | None = None


class StderrConsole(Console):
    """Rich's Console on stderr, which goes quiet when stderr's reader goes away (`nncli fit ... 2>&1
    | head -1`) or its terminal does: the command carries on and ends as it would have (`fit` saves
    its model).

    Rich's own `on_broken_pipe` raises SystemExit(1), and points stdout, not the broken stream, at
    /dev/null, which would lose data still to come there (`fit --json`, `lr-find`'s suggestion).
    """

    failed: OSError | None = None  # a write that failed while a reader was there (a full disk)

    def on_broken_pipe(self) -> None:
        self.quiet = True  # from now on Rich drops what it is given
        silence(self.file)

    def _check_buffer(self) -> None:
        # Rich writes here, and takes only BrokenPipeError for a stream that has gone. A terminal that
        # has gone (its window closed, the ssh connection dropped: SIGHUP, then EIO on every write)
        # is the same for nncli: `fit` saves and exits 129, rather than stopping at its next line.
        try:
            super()._check_buffer()
        except OSError as e:
            if not (e.errno == errno.EIO and stream_is_terminal(self.file)):  # (a file's I/O error fails, as a full disk)
                self.failed = self.failed or e
            self.on_broken_pipe()


def report_written() -> None:
    """Raise NncliError if stderr took a report (`eval`'s scores, `show`'s description: the command's
    result) only in part, as onto a full disk (`nncli eval m.npz d.csv 2> report.txt` exited 0); a
    reader gone away (`| head`) is no failure."""
    failed = getattr(console(), "failed", None)
    if failed is not None:
        from nncli.errors import NncliError

        raise NncliError(f"cannot write the report to stderr: {failed.strerror or failed}")


def utext(text: object, **kwargs) -> Text:
    """User text (file, column, class names) for display: never markup, control characters escaped."""
    return Text(printable(text), **kwargs)


# Wider than this is a mistyped COLUMNS: a chart or a progress bar costs time and memory by its width
# (COLUMNS=99999999 ran `nncli show` for minutes towards tens of gigabytes).
MAX_WIDTH = 1000


# Narrower than this, tables print a letter a line (COLUMNS=0 printed nothing at all): the narrowest
# width drawn.
MIN_WIDTH = 20


def _width() -> int | None:
    """The console's width: Rich's choice (the terminal's, or $COLUMNS) within MIN_WIDTH..MAX_WIDTH."""
    columns = os.environ.get("COLUMNS", "")
    return max(MIN_WIDTH, min(MAX_WIDTH, int(columns))) if _ascii_count(columns) and int(columns) else None


def _ascii_count(value: str) -> bool:
    """A whole number in ASCII digits (str.isdigit takes '３' and '²' too)."""
    return value.isascii() and value.isdigit()


def _environ() -> dict[str, str]:
    """The environment as the console reads it: COLUMNS=0 and LINES=0 left out, so that they mean the
    terminal's own size (Rich took them literally: COLUMNS=0 printed nothing, LINES=0 left the live
    screen room for nothing)."""
    return {k: v for k, v in os.environ.items() if not (k in ("COLUMNS", "LINES") and _ascii_count(v) and int(v) == 0)}


def console() -> Console:
    """The one stderr console (honours NO_COLOR; plain when stderr is not a terminal)."""
    global _console
    if _console is None:
        _console = StderrConsole(stderr=True, highlight=False, soft_wrap=False, width=_width(),
                                 _environ=_environ())
        if _console.width < MIN_WIDTH:  # a terminal a few columns wide
            _console.width = MIN_WIDTH
    return _console


def plain_text() -> None:
    """From now on the console writes text only, on a terminal too (`--progress plain`): no colour,
    no bold, no escape code at all, only the characters."""
    global _console
    _console = StderrConsole(stderr=True, highlight=False, soft_wrap=False, color_system=None, width=_width(),
                             _environ=_environ())


def fmt(v: float | None, digits: int = 4) -> str:
    """Compact number for people: 0.1234, 1.20e-05, 12.35, 1.23e+05: `digits` decimals from 0.001 to 1,
    `digits` significant digits from 1 to 1e5, and beyond either `digits` - 1 in scientific notation."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.{max(digits - 2, 1)}e}"
    return f"{v:.{digits}g}" if a >= 1 else f"{v:.{digits}f}"


def counted(n: int, one: str, many: str | None = None) -> str:
    """`1 epoch`, `2 epochs`, `1,000 rows`; `many` for plurals beyond an s (`mini-batches`)."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


@contextlib.contextmanager
def reading(name: str | None) -> Iterator[None]:
    """While a training file is read: a transient `reading NAME…` line with a spinner (the live
    screen was blank for the seconds a big file takes), where name is given and stderr is a terminal."""
    if name is None or not is_terminal():  # (off a terminal, as FORCE_COLOR may have it, no spinner)
        yield
        return
    room = max(8, console().width - len("⠋ reading …"))  # one line: its end, the file's name, stays
    text = printable(name)
    text = text if len(text) <= room else "…" + text[1 - room:]
    with console().status(Text(f"reading {text}…", style="dim"), spinner="dots"):
        yield


def notice(message: str) -> None:
    """One `nncli: ...` line; its text may hold column names as they are, so it is escaped here."""
    console().print(utext("nncli: " + message), soft_wrap=True)


def notices(messages: Iterable[str | None]) -> None:
    """A `notice` for each message that is not None."""
    for message in messages:
        if message:
            notice(message)


def metric_label(task: str) -> str:
    return "r2" if task == "regression" else "acc"


def epoch_line(stats, task: str) -> str:
    """One plain progress line: `epoch=12 loss=0.1234 val_loss=0.1301 acc=0.962 val_acc=0.955 lr=0.001`.

    An epoch cut short by Ctrl-C says `partial` instead of a training loss and metric, which would
    be those of its first batches: `epoch=13 partial val_loss=0.1297 val_acc=0.964 lr=0.001`.
    """
    m = metric_label(task)
    whole = not stats.partial
    parts = [f"epoch={stats.epoch}", f"loss={stats.loss:.4g}" if whole else "partial"]
    if stats.val_loss is not None:
        parts.append(f"val_loss={stats.val_loss:.4g}")
    if whole:
        parts.append(f"{m}={stats.metric:.4g}")
    if stats.val_metric is not None:
        parts.append(f"val_{m}={stats.val_metric:.4g}")
    parts.append(f"lr={stats.lr:.3g}")
    return " ".join(parts)


def plain_epoch(stats, task: str) -> None:
    console().print(Text(epoch_line(stats, task)), soft_wrap=True)


COLUMNS_TABLE_ROWS = 50  # more columns than this: `fit` lists those with something to say


def columns_table(infos: Iterable) -> Group:
    """The columns `fit` uses, one row each; of more than COLUMNS_TABLE_ROWS, numeric columns with no
    missing cell are counted in a line below rather than listed (100,000 rows took 22 s to print)."""
    infos = list(infos)
    shown, note = infos, []
    if len(infos) > COLUMNS_TABLE_ROWS:
        shown = [i for i in infos if i.kind != "numeric" or i.missing][:COLUMNS_TABLE_ROWS]
        plain = sum(1 for i in infos if i.kind == "numeric" and not i.missing)
        others = len(infos) - len(shown) - plain
        note = [Text(f"… and {plain:,} numeric columns with no missing cell"
                     + (f", {others:,} more columns" if others else ""), style="italic")]
    t = Table(title=None, box=None, pad_edge=False, show_edge=False, header_style="bold")
    t.add_column("column")
    t.add_column("kind")
    t.add_column("missing", justify="right")
    t.add_column("categories", justify="right")
    for i in shown:
        t.add_row(utext(i.name), i.kind, str(i.missing) if i.kind not in ("ignored", "target") else "",
                  str(i.categories) if i.kind == "categorical" else "")
    return Group(WholeNumbers(t, labels=(0, 1)), *note)


# How the summary and `show` put what stopped a run, where its record's word ("hung up") reads badly
# there ("170 epochs (hung up during the last)" sounds like training hung)
STOPPED_BY = {"hung up": "stopped by SIGHUP"}


def _stopped_note(info: dict) -> str:
    stopped = info.get("stopped")  # "early", or the stop signal's word ("interrupted", "terminated", "hung up")
    if not stopped:
        return ""
    return " (stopped early)" if stopped == "early" else f" ({STOPPED_BY.get(stopped, stopped)} during the last)"


def final_scores(model) -> str:
    """'loss …, acc …' of the final epoch, and '; validation loss …, acc …' where there was validation;
    then the L2 penalty that training added to the (data) loss, where it counts."""
    info, m = model.info, metric_label(model.task)
    cut = _not_measured(info, m)
    # ("training": without validation data, a summary's only scores read as a test: R² 0.96 on the
    # training rows of a model that scored 0.52 on fresh ones)
    # (of log(1 + y) for a log target: `eval` scores y itself)
    of = f" of {', '.join(map(model.target.term, model.target.names))}" if model.target.log else ""
    text = "training " + (cut or f"loss{of} {fmt(info.get('final_loss'))}, {m} {fmt(info.get('final_metric'))}")
    if info.get("final_val_loss") is not None:
        text += f"; validation loss {fmt(info.get('final_val_loss'))}, {m} {fmt(info.get('final_val_metric'))}"
    if _penalty_worth_saying(info):
        text += f"; L2 penalty {fmt(info['final_l2_penalty'])} (minimized along with the loss, not counted in it)"
    return text


def _not_measured(info: dict, metric: str) -> str | None:
    """What the final scores say of weights from an epoch cut short (--patience 0 without validation, a
    signal), whose training loss covers only its first batches and so was not kept (it read "loss -")."""
    if info.get("final_loss") is None and info.get("weights_from_epoch"):
        return f"loss and {metric} not measured (the weights are epoch {info['weights_from_epoch']:,}'s, cut short)"
    return None


PENALTY_WORTH_SAYING = 0.001  # of the loss: a smaller L2 term is not worth a word


def _penalty_worth_saying(info: dict) -> bool:
    loss, penalty = info.get("final_loss"), info.get("final_l2_penalty")
    return loss is not None and bool(penalty) and penalty >= PENALTY_WORTH_SAYING * abs(loss)


def fit_summary(model, path: str) -> Text:
    info = model.info
    text = Text()
    classes = len(model.target.classes)  # (the task too: 9 distinct heart rates make a classifier of 9 classes)
    text.append(f"Trained {model.kind} {'-'.join(map(str, model.network.sizes))} "
                f"({model.target.task_text}{f' of {classes:,} classes' if classes else ''}) ")
    if info.get("init"):  # (fit --init)
        text.append("from ")
        text.append(utext(info["init"]["file"]))
        text.append(f" ({counted(info['init']['epochs_before'], 'epoch')}) ")
    text.append(f"for {counted(info['epochs_run'], 'more epoch' if info.get('init') else 'epoch')}"
                f"{_stopped_note(info)} in {info['seconds']:.2f}s on {counted(info['rows'], 'row')}. ")
    text.append(final_scores(model))
    if info.get("weights_from_epoch") and info["weights_from_epoch"] != info["epochs_run"]:
        text.append(f"; weights from epoch {info['weights_from_epoch']} (best)")
    text.append(". Model saved to ")
    text.append(utext(path, style="bold"))
    text.append(".")
    return text


def column_label(name: object) -> Text:
    """A class or target name heading a column of numbers: when narrow it folds, never ends in a `…`
    (Iris-versicolor and Iris-virginica would both read `Iris-v…`)."""
    return utext(name, overflow="fold", no_wrap=False)


def show_eval(result: dict) -> None:
    """`nncli eval` without --json: the report on stderr, its numbers whole even past the window's edge."""
    console().print(eval_report(result), crop=False)
    report_written()


def eval_report(result: dict) -> Group:
    parts = []
    if result["task"] == "regression":
        per = result.get("per_target", {})  # several targets: a column each, then their mean
        t = Table(box=None, show_header=bool(per), pad_edge=False, header_style="bold")
        t.add_column()
        for name in per:
            t.add_column(column_label(name), justify="right")
        t.add_column("mean" if per else "", justify="right")
        for k in ("mse", "rmse", "mae", "r2", "rmsle"):
            if k in result:  # (RMSLE: a model trained on log(1 + y); "-" where a value is below 0)
                t.add_row(k.upper() if k != "r2" else "R²", *(fmt(s[k], 6) for s in per.values()), fmt(result[k], 6))
        t.add_row("rows", *([""] * len(per)), f"{result['rows']:,}")
        return Group(WholeNumbers(t))
    head = Table(box=None, show_header=False, pad_edge=False)
    head.add_column()
    head.add_column(justify="right")
    if "threshold" in result:  # (--threshold: the classes below are the ones it chose)
        head.add_row("threshold", f"{result['threshold']:g}")
    head.add_row("accuracy", f"{result['accuracy']:.4f}")
    head.add_row("log loss", f"{result['log_loss']:.4f}")
    several = len(result["classes"]) > 2  # (each class's ROC AUC against the rest, and their mean)
    if "roc_auc" in result:
        head.add_row("ROC AUC" + (" (macro)" if several else ""),
                     f"{result['roc_auc']:.4f}" if result["roc_auc"] is not None else "–")
    head.add_row("rows", f"{result['rows']:,}")
    parts.append(WholeNumbers(head))
    per = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    auc = several and result.get("roc_auc") is not None  # (a column of each class's against the rest)
    for c, j in (("class", "left"), ("precision", "right"), ("recall", "right"), ("f1", "right"), ("support", "right"),
                 *([("ROC AUC", "right")] if auc else [])):
        per.add_column(c, justify=j)
    for c in result["classes"]:
        r = result["per_class"][c]
        per.add_row(utext(c), *(f"{r[k]:.3f}" if r[k] is not None else "–" for k in ("precision", "recall", "f1")),
                    str(r["support"]), *([f"{r['roc_auc']:.3f}" if r["roc_auc"] is not None else "–"] if auc else []))
    mac = result["macro"]
    per.add_row(Text("macro avg", style="italic"), f"{mac['precision']:.3f}", f"{mac['recall']:.3f}",
                f"{mac['f1']:.3f}", str(result["rows"]), *([f"{result['roc_auc']:.3f}"] if auc else []))
    parts.append(Text(""))
    parts.append(WholeNumbers(per))
    # The title as its own line: as a table title it would wrap to the (narrow) table's width.
    parts.append(Text(""))
    if result["confusion_matrix"] is None:
        parts.append(Text(f"(no confusion matrix for {len(result['classes']):,} classes)", style="italic"))
        return Group(*parts)
    parts.append(Text("confusion matrix (rows: true, columns: predicted)", style="italic"))
    parts.append(ConfusionMatrix([utext(c) for c in result["classes"]], result["confusion_matrix"]))
    return Group(*parts)


def is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def live_fits() -> bool:
    """Whether the live screen fits stderr's terminal (see `render_live.fits`)."""
    from nncli.render_live import fits
    return fits(console())


# What charts and the live screen draw with: braille dots, box lines, the best epoch's mark.
_DRAWING = "⣿━┄─│┤└┬▲"


def stderr_encoding() -> str:
    return getattr(sys.stderr, "encoding", None) or "utf-8"


def can_draw() -> bool:
    """Whether stderr's encoding has the characters charts draw with. In ASCII or Latin-1 each prints
    as a `\\u28ff` escape, six cells where Rich counts one: lines wrap, and the live screen can no
    longer redraw itself in place."""
    try:
        _DRAWING.encode(stderr_encoding())
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def print_chart(c: Console, chart) -> None:
    """Print a chart, or say why there is none."""
    if can_draw():
        c.print(chart)
    else:
        c.print(Text(f"(no chart: stderr's encoding, {stderr_encoding()}, lacks its characters; "
                     "PYTHONIOENCODING=utf-8 gives them)"))


# -- training display ---------------------------------------------------------------------------
def training_header(run, data) -> list[Text]:
    """The live screen's first lines: data, model, optimizer."""
    net, cfg, target = run.net, run.config, data.target
    task = target.task_text
    if target.classes:
        task += f", {len(target.classes)} classes"
    val = f" (+{data.X_val.shape[0]:,} for validation)" if data.X_val is not None else ""
    data_line = Text("data   ", style="bold")
    data_line.append(utext(data.source))
    data_line.append(f" · {counted(data.n_rows, 'row')} × {counted(data.X.shape[1], 'feature')}{val} · {task}")
    model_line = Text("model  ", style="bold")
    model_line.append(f"{run.mopts.kind} {'-'.join(map(str, net.sizes))}")
    if len(net.sizes) > 2:
        model_line.append(f" · {net.activation}")
    model_line.append(f" · {net.n_params:,} parameters")
    if run.init:  # (fit --init)
        model_line.append(" · from ")
        model_line.append(utext(run.init["file"]))
        model_line.append(f" ({counted(run.init['epochs_before'], 'epoch')})")
    opt_line = Text("train  ", style="bold")
    # What shapes the run beyond the rate: its schedule and the defences against overfitting, when on.
    extras = [f"{cfg.lr_schedule} schedule"] if cfg.lr_schedule != "constant" else []
    extras += [f"L2 {cfg.l2:.3g}"] if cfg.l2 else []
    extras += [f"dropout {net.dropout:g}"] if net.dropout else []
    opt_line.append(" · ".join([f"{cfg.optimizer} · lr {cfg.lr:g}", *extras, f"batch {cfg.batch_size}",
                                f"up to {counted(cfg.epochs, 'epoch')}"]))
    return [data_line, model_line, opt_line]


def run_training(run, data, mode: str) -> None:
    """Drive a `workflow.Training` to its end, showing progress in the chosen mode.

    mode: "live" (the redrawn screen), "plain" (thinned epoch lines), "none".
    """
    task = data.target.task
    if mode == "none":
        for _ in run:
            pass
        return
    console().print(columns_table(data.columns), crop=False)
    if mode == "live":
        from nncli.render_live import TrainingScreen, run_live
        from nncli.render_view import live_view

        screen = TrainingScreen(training_header(run, data), run.config.epochs, metric_label(task))
        screen.view = live_view(run, data)
        run_live(run, screen, console())
        return
    from nncli.core.training import round_epoch

    last, shown = None, True
    for stats in run:
        if stats.partial and not shown:  # the last whole epoch, then the one cut short
            plain_epoch(last, task)
        shown = bool(stats.partial or stats.stopped or round_epoch(stats.epoch))
        if shown:
            plain_epoch(stats, task)
        last = stats
    if not shown:
        plain_epoch(last, task)


def _loss_curves(model) -> tuple[list, int | None]:
    """The stored loss curves (training, and validation if any) and the epoch the weights come from."""
    from nncli.render_live import loss_series

    h = model.history
    return loss_series(h["loss"].tolist(), h["val_loss"].tolist()), saved_epoch(model)


def saved_epoch(model) -> int | None:
    """The epoch the weights come from (the charts' ▲), if known."""
    return model.info.get("weights_from_epoch") or None


def history_chart(model, height: int = 10):
    """The stored loss curves as a LineChart, marked at the epoch the weights come from."""
    from nncli.render_chart import LineChart

    series, best = _loss_curves(model)
    return LineChart(series, height=height, marker_x=best)


def summary_table(model, path: str) -> Group:
    """After a live run: final losses and metrics, then how the run went and where the model is."""
    info, m = model.info, metric_label(model.task)
    has_val = info.get("final_val_loss") is not None
    metric = "R²" if m == "r2" else "accuracy"
    cut = _not_measured(info, metric)  # (no train column: see final_scores)
    scores = Table(box=None, pad_edge=False, header_style="bold")
    scores.add_column(f"at epoch {info.get('weights_from_epoch', '?')}")
    sides = ([] if cut else [""]) + (["val_"] if has_val else [])
    for side in sides:
        scores.add_column("validation" if side else "train", justify="right")
    for label, key in (("loss", "loss"), (metric, "metric")):
        scores.add_row(label, *[fmt(info.get(f"final_{side}{key}")) for side in sides])
        if key == "loss" and _penalty_worth_saying(info):  # (beside the data losses: see final_scores)
            scores.add_row("L2 penalty", *[fmt(info.get(f"final_{side}l2_penalty")) for side in sides])
    facts = Table(box=None, show_header=False, pad_edge=False)
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    planned = model.config.get("epochs")
    best, kept = info.get("best_epoch", "?"), info.get("weights_from_epoch")
    # (--patience 0 without validation keeps the last weights, which need not be the best epoch's)
    facts.add_row("best epoch", str(best) + (f" (the weights saved are epoch {kept}'s, the last)"
                                             if kept is not None and kept != best else ""))
    facts.add_row("epochs run", f"{info['epochs_run']:,}" + (f" of {planned:,}" if isinstance(planned, int) else "")
                  + _stopped_note(info))
    facts.add_row("time", f"{info['seconds']:.2f}s")
    if info.get("init"):  # (fit --init)
        before = info["init"]["epochs_before"]
        facts.add_row("started from", utext(f"{info['init']['file']} ({counted(before, 'epoch')}): "
                                            f"{before + (kept or 0):,} epochs in all", overflow="fold"))
    facts.add_row("saved to", utext(path, overflow="fold"))
    head = [WholeNumbers(scores)] if sides else []
    return Group(*head, *([Text(f"train {cut}")] if cut else []), Text(""), facts)


def finish_training(model, path: str, mode: str, delimiter: str | None = None) -> None:
    """The end of `fit`: the final chart and a summary table after a live run, else one paragraph."""
    c = console()
    if mode == "live":
        if model.info.get("epochs_run"):
            print_chart(c, history_chart(model, height=max(3, min(12, c.height - 14))))
        c.print(summary_table(model, path), crop=False)
        from nncli.render_view import view_refusal

        if view_refusal(model) is None:  # (one line, not the map: the screen's last frame stays on it)
            import shlex

            source = model.info.get("source")
            data = f" --data {shlex.quote(source)}" if source and source != "<stdin>" else ""
            if data and delimiter is not None:  # (the file's delimiter, given to fit, is not detected)
                data += f" --delimiter {shlex.quote('tab' if delimiter == chr(9) else delimiter)}"
            c.print(utext(f"nncli show {shlex.quote(path)}{data} draws what it predicts across "
                          f"{' and '.join(f.name for f in model.pre.features)}{' over those rows' if data else ''}",
                          style="dim"), crop=False)
        return
    c.print(fit_summary(model, path), soft_wrap=True)


def loss_svg(model) -> str:
    """The model's loss curves as an SVG document (`--plot`: the caller writes it to stdout or a file)."""
    from nncli.svg_chart import render_svg

    series, best = _loss_curves(model)
    return render_svg([(s.name, s.values) for s in series], marker_x=best,
                      title=f"nncli {model.kind} {'-'.join(map(str, model.network.sizes))}: loss per epoch")


def write_plot(path: str, model) -> None:
    """Write the model's loss curves as an SVG file, atomically."""
    from nncli.atomic import atomic_write

    svg = loss_svg(model)
    atomic_write(path, lambda f: f.write(svg.encode("utf-8")))


def show_lr_sweep(sweep) -> None:
    """Loss against learning rate (log x axis) and the suggestion, on stderr."""
    from nncli.render_chart import LineChart, Series

    c = console()
    if sweep.lrs:
        print_chart(c, LineChart([Series("smoothed loss", sweep.losses, xs=sweep.lrs)], height=10, log_x=True,
                            x_label="learning rate", y_label="loss", title="learning-rate sweep",
                            marker_x=float(f"{sweep.suggestion:.3g}")))  # (as printed: 0.107, not 0.1072)
    how = "a tenth of it" if math.isclose(sweep.suggestion, sweep.best_lr / 10) else "no lower than --lr-min"
    c.print(Text(f"lowest loss at lr {sweep.best_lr:.3g}; suggested learning rate {sweep.suggestion:.3g} "
                 f"({how}); swept {counted(len(sweep.lrs), 'mini-batch', 'mini-batches')}"))
