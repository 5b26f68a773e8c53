"""Everything people see: progress lines, tables, summaries, all on stderr through Rich.

stdout is data and never passes through here. User text (file names, column
names, labels) is always wrapped in `Text`, never parsed as markup. Imports
rich, numpy and nncli modules; never typer.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Iterable

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

_console: Console | None = None


def console() -> Console:
    """The one stderr console (honours NO_COLOR; plain when stderr is not a terminal)."""
    global _console
    if _console is None:
        _console = Console(stderr=True, highlight=False, soft_wrap=False)
    return _console


def fmt(v: float | None, digits: int = 4) -> str:
    """Compact number for people: 0.1234, 1.2e-05, 12345."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.{max(digits - 2, 1)}e}"
    return f"{v:.{digits}g}" if a >= 1 else f"{v:.{digits}f}"


def notice(message: str) -> None:
    console().print(Text("nncli: " + message), soft_wrap=True)


def metric_label(task: str) -> str:
    return "r2" if task == "regression" else "acc"


def epoch_line(stats, task: str) -> str:
    """One plain progress line: `epoch=12 loss=0.1234 val_loss=0.1301 acc=0.962 lr=0.001`."""
    m = metric_label(task)
    parts = [f"epoch={stats.epoch}", f"loss={stats.loss:.4g}"]
    if stats.val_loss is not None:
        parts.append(f"val_loss={stats.val_loss:.4g}")
    parts.append(f"{m}={stats.metric:.4g}")
    if stats.val_metric is not None:
        parts.append(f"val_{m}={stats.val_metric:.4g}")
    parts.append(f"lr={stats.lr:.3g}")
    return " ".join(parts)


def should_log(epoch: int, epochs: int, target_lines: int = 25) -> bool:
    """Thin per-epoch lines to about `target_lines` per run (the caller adds the last)."""
    step = max(1, math.ceil(epochs / target_lines))
    return epoch == 1 or epoch % step == 0


def plain_epoch(stats, task: str) -> None:
    print(epoch_line(stats, task), file=sys.stderr, flush=True)


def columns_table(infos: Iterable) -> Table:
    t = Table(title=None, box=None, pad_edge=False, show_edge=False, header_style="bold")
    t.add_column("column")
    t.add_column("kind")
    t.add_column("missing", justify="right")
    t.add_column("categories", justify="right")
    for i in infos:
        t.add_row(Text(i.name), i.kind, str(i.missing) if i.kind not in ("ignored", "target") else "",
                  str(i.categories) if i.kind == "categorical" else "")
    return t


def fit_summary(model, path: str) -> Text:
    info, task = model.info, model.task
    m = metric_label(task)
    stopped = {"early": " (stopped early)", "interrupted": " (interrupted)"}.get(info.get("stopped") or "", "")
    text = Text()
    text.append(f"Trained {model.kind} {'-'.join(map(str, model.network.sizes))} for {info['epochs_run']} "
                f"epoch(s){stopped} in {info['seconds']:.2f}s on {info['rows']:,} rows. ")
    text.append(f"loss {fmt(info.get('final_loss'))}, {m} {fmt(info.get('final_metric'))}")
    if info.get("final_val_loss") is not None:
        text.append(f"; validation loss {fmt(info['final_val_loss'])}, {m} {fmt(info.get('final_val_metric'))}")
    if info.get("weights_from_epoch") and info["weights_from_epoch"] != info["epochs_run"]:
        text.append(f"; weights from epoch {info['weights_from_epoch']} (best)")
    text.append(". Model saved to ")
    text.append(path, style="bold")
    text.append(".")
    return text


def eval_report(result: dict) -> Group:
    parts = []
    if result["task"] == "regression":
        t = Table(box=None, show_header=False, pad_edge=False)
        t.add_column()
        t.add_column(justify="right")
        for k in ("mse", "rmse", "mae", "r2"):
            t.add_row(k.upper() if k != "r2" else "R²", fmt(result[k], 6))
        t.add_row("rows", f"{result['rows']:,}")
        return Group(t)
    head = Table(box=None, show_header=False, pad_edge=False)
    head.add_column()
    head.add_column(justify="right")
    head.add_row("accuracy", f"{result['accuracy']:.4f}")
    head.add_row("log loss", f"{result['log_loss']:.4f}")
    head.add_row("rows", f"{result['rows']:,}")
    parts.append(head)
    per = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    for c, j in (("class", "left"), ("precision", "right"), ("recall", "right"), ("f1", "right"), ("support", "right")):
        per.add_column(c, justify=j)
    for c in result["classes"]:
        r = result["per_class"][c]
        per.add_row(Text(c), f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", str(r["support"]))
    mac = result["macro"]
    per.add_row(Text("macro avg", style="italic"), f"{mac['precision']:.3f}", f"{mac['recall']:.3f}",
                f"{mac['f1']:.3f}", str(result["rows"]))
    parts.append(Text(""))
    parts.append(per)
    cm = Table(box=None, pad_edge=False, header_style="bold", title="confusion matrix (rows: true, columns: predicted)",
               title_justify="left")
    cm.add_column("")
    for c in result["classes"]:
        cm.add_column(Text(c), justify="right")
    for c, row in zip(result["classes"], result["confusion_matrix"]):
        cm.add_row(Text(c), *map(str, row))
    parts.append(Text(""))
    parts.append(cm)
    return Group(*parts)


def model_report(model, path: str) -> Group:
    """`nncli show`: architecture, data schema, training configuration, final metrics."""
    net, info = model.network, model.info
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("file", Text(path))
    t.add_row("model", f"{model.kind}  {'-'.join(map(str, net.sizes))}  ({net.n_params:,} parameters, {net.dtype.name})")
    if model.kind == "mlp":
        t.add_row("activation", f"{net.activation} hidden, {net.loss.output_activation} output")
    t.add_row("task", f"{model.task} ({net.loss_name} loss)")
    t.add_row("target", Text(", ".join(model.target.names)))
    if model.target.classes:
        t.add_row("classes", Text(", ".join(model.target.classes)))
    cfg = model.config
    keys = ("optimizer", "lr", "lr_schedule", "epochs", "batch_size", "l2", "dropout", "patience", "seed")
    t.add_row("training", Text(", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg and cfg[k] not in (None, 0.0) or k in ("lr", "epochs"))))
    t.add_row("data", Text(f"{info.get('rows', 0):,} rows from {info.get('source', '?')}, "
                           f"sha256 {str(info.get('data_sha256', ''))[:16]}…"))
    m = metric_label(model.task)
    ran = f"{info.get('epochs_run', 0)} epochs run"
    if info.get("stopped"):
        ran += f" (stopped: {info['stopped']})"
    t.add_row("result", f"{ran}; weights from epoch {info.get('weights_from_epoch', '?')}; "
                        f"loss {fmt(info.get('final_loss'))}, {m} {fmt(info.get('final_metric'))}"
              + (f"; validation loss {fmt(info.get('final_val_loss'))}, {m} {fmt(info.get('final_val_metric'))}"
                 if info.get("final_val_loss") is not None else ""))
    if model.kind == "linear" and model.task == "regression":
        W, b = model.linear_coefficients()
        for k, name in enumerate(model.target.names):
            terms = " + ".join(f"{W[i, k]:.4g}·{f}" for i, f in enumerate(model.pre.encoded_names()))
            t.add_row("equation", Text(f"{name} = {terms} + {b[k]:.4g}"))
    feats = Table(box=None, pad_edge=False, header_style="bold")
    for c in ("feature", "kind", "missing at fit", "imputed / categories"):
        feats.add_column(c)
    for f in model.pre.features:
        detail = fmt(f.fill) if f.kind == "numeric" else ", ".join(f.categories)
        feats.add_row(Text(f.name), f.kind, str(f.missing), Text(detail, overflow="ellipsis"))
    return Group(t, Text(""), feats)


def is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


# -- training display ---------------------------------------------------------------------------
def run_training(run, data, mode: str) -> None:
    """Drive a `workflow.Training` to its end, showing progress in the chosen mode."""
    task = data.target.task
    if mode != "none":
        console().print(columns_table(data.columns))
    last = None
    for stats in run:
        last = stats
        if mode in ("plain", "live") and (should_log(stats.epoch, stats.epochs) or stats.stopped):
            plain_epoch(stats, task)
    if mode in ("plain", "live") and last is not None and not (should_log(last.epoch, last.epochs) or last.stopped):
        plain_epoch(last, task)


def finish_training(model, path: str, mode: str) -> None:
    console().print(fit_summary(model, path), soft_wrap=True)


def write_plot(path: str, model) -> None:
    """Write the model's loss curves as an SVG file (atomically)."""
    from nncli.atomic import atomic_write
    from nncli.svg_chart import render_svg

    h = model.history
    series = [("train", h["loss"].tolist())]
    if len(h["val_loss"]) and not all(math.isnan(v) for v in h["val_loss"].tolist()):
        series.append(("validation", h["val_loss"].tolist()))
    best = model.info.get("weights_from_epoch")
    svg = render_svg(series, title=f"nncli {model.kind} {'-'.join(map(str, model.network.sizes))}: loss per epoch",
                     marker_x=best if best else None)
    atomic_write(path, lambda f: f.write(svg.encode("utf-8")))


def show_model(model, path: str) -> None:
    console().print(model_report(model, path))


def show_lr_sweep(sweep) -> None:
    """Loss against learning rate (log x axis) and the suggestion, on stderr."""
    from nncli.render_chart import LineChart, Series

    c = console()
    if sweep.lrs:
        c.print(LineChart([Series("smoothed loss", sweep.losses, xs=sweep.lrs)], height=10, log_x=True,
                          x_label="learning rate", y_label="loss", title="learning-rate sweep",
                          marker_x=sweep.suggestion))
    c.print(Text(f"lowest loss at lr {sweep.best_lr:.3g}; suggested learning rate {sweep.suggestion:.3g} "
                 f"(a tenth of it); swept {len(sweep.lrs)} mini-batches"))
