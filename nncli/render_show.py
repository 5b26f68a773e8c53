"""The show report: what `nncli show` prints of a saved model on stderr, through Rich.

The architecture, columns, training settings and scores (`model_report`), a small linear model's path
(`path_table`), the stored curves of accuracy and learning rate, each layer's weight and gradient
sizes; `show_model` prints them in order, with `render_view`'s chart or map of what the model predicts.
Imports rich and nncli modules; never typer.
"""

from __future__ import annotations

import itertools
import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nncli.render import (STOPPED_BY, column_label, console, counted, final_scores, fmt, history_chart,
                          print_chart, report_written, saved_epoch, utext)
from nncli.render_chart import CURVE_STYLES
from nncli.render_tables import WholeNumbers

# `show` rounds an equation's coefficients (and an imputed value) so that, over the data's usual
# range, they move what they give by at most this fraction of its spread, all terms together: with 4
# significant digits, `y = 3.199·x + 1.235e+05` was 43 from `predict` where y's spread was 9.
SHOWN_WITHIN = 0.01


def _digits(value: float, reach: float, within: float) -> int:
    """Significant digits of `value` (at least 4) that keep its rounding error, times `reach` (how
    large what it multiplies gets), within `within`."""
    if not (value and math.isfinite(value) and within > 0):
        return 4
    ratio = 0.5 * abs(value) * reach / within
    if not math.isfinite(ratio):  # (a constant column of 1e307 in float64: its spread is 0, the ratio inf)
        return 17
    return min(max(4, math.ceil(1 + math.log10(ratio))), 17)


def _rounded(v: float, digits: int) -> str:
    if digits >= 17:  # (all a float64 has: its shortest exact form, 1e+307 and not 9.9999999999999999e+306)
        return repr(float(v))
    if v == 0 or v != v:  # ("0", not "-0"; NaN as "-", as everywhere)
        return fmt(v)
    return f"{v:.{digits}g}"  # (not `fmt`: at 4 digits it gives 3 significant from 1e5 up and below 1e-3)


def _linear_terms(coefficients: list[float], names: list[str], reach: list[float], spread: float) -> str:
    """'2·a - 1·b + 0.5' from [2, -1, 0.5] and ['a', 'b', ''] (an empty name: the intercept), each
    number to the digits SHOWN_WITHIN asks of it, given how large its input gets (`reach`, 1 for the
    intercept) and the spread of what the equation gives; of more than SHOW_MAX_ITEMS terms, the
    first ones, then the intercept."""
    within = SHOWN_WITHIN * spread / len(coefficients)
    pairs = list(zip(coefficients, names, reach))
    if len(pairs) > SHOW_MAX_ITEMS + 1:
        pairs = pairs[:SHOW_MAX_ITEMS] + [(math.nan, f"… ({len(pairs) - 1 - SHOW_MAX_ITEMS:,} more terms)", 0)] \
            + pairs[-1:]
    out = []
    for c, name, r in pairs:
        if c != c:  # (the note of terms left out)
            out.append(f" + {name}")
            continue
        term = f"{abs(c):.{_digits(c, r, within)}g}" + (f"·{name}" if name else "")
        out.append((f" {'-' if c < 0 else '+'} " + term) if out else ("-" if c < 0 else "") + term)
    return "".join(out)


def model_report(model, path: str) -> Group:
    """`nncli show`: architecture, data schema, training configuration, final metrics."""
    net, info = model.network, model.info
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column(style="bold")
    t.add_column(overflow="fold")  # (a narrow window folds `batch_size=32`, never cuts it to `batch_size=3…`)
    t.add_row("file", utext(path + (f" (written by nncli {model.written_by})" if model.written_by else "")))
    # Every value read from the file goes through utext: a crafted model must not inject markup or
    # terminal escapes (the loader checks names and kinds, not every string in the metadata).
    t.add_row("model", utext(f"{model.kind}  {'-'.join(map(str, net.sizes))}  ({net.n_params:,} parameters, "
                             f"{net.dtype.name})"))
    if model.kind == "mlp":
        t.add_row("activation", utext(f"{net.activation} hidden, {net.loss.output_activation} output"))
    t.add_row("task", utext(f"{model.target.task_text} ({net.loss_name} loss)"))
    t.add_row("target", utext(", ".join(model.target.names)))
    if model.target.classes:
        t.add_row("classes", utext(_first(model.target.classes)))
    cfg = model.config
    keys = ("optimizer", "momentum", "nesterov", "lr", "lr_schedule", "lr_decay", "lr_step", "warmup", "epochs",
            "batch_size", "l2", "dropout", "patience", "val_split", "class_weight", "seed", "threads")
    # Settings off (0, None) are left out, but not those whose default is on: `l2=0` and `patience=0`
    # are choices to see, not defaults.
    # (No patience is stored as None: shown as the option that asked for it, --patience 0.)
    cfg = {**cfg, "patience": 0} if "patience" in cfg and cfg["patience"] is None else cfg
    always = ("lr", "epochs", "l2", "patience")
    shown = [k for k in keys if k in cfg and cfg[k] is not None and (k in always or cfg[k] not in (0.0, False, "none"))
             and (k not in ("momentum", "nesterov") or cfg.get("optimizer") == "momentum")
             and (k != "threads" or cfg[k] != 1)]  # (another count sums gradients in another order: see README)
    def setting(k: str) -> str:
        if k == "l2" and cfg.get("l2_from_init"):  # (fit --init without --l2: the model's own)
            return f"l2={cfg[k]:.3g} (the starting model's)"
        if k == "l2" and cfg.get("l2_default"):  # (see core.training.default_l2)
            rule, rows = cfg["l2_default"], info.get("rows", 0)
            capped = not (rows and math.isclose(cfg[k], rule / rows))
            return f"l2={cfg[k]:.3g} (default: {rule:g} / rows{f', capped for {rows:,} rows' if capped else ''})"
        return f"{k}={cfg[k]!r}" if isinstance(cfg[k], float) else f"{k}={cfg[k]}"  # (floats in full: they retrain it)

    from nncli.csv_io import DEFAULT_NA_VALUES

    read_as_missing = ""  # (--na-values, where not the default: it changes what trains)
    if list(model.na_values) != list(DEFAULT_NA_VALUES):
        given = [f'"{v}"' if "," in v else v for v in model.na_values if v]  # (as --na-values reads them back)
        read_as_missing = f", na_values={','.join(given) if given else repr('')}"
    t.add_row("training", utext(", ".join(setting(k) for k in shown) + read_as_missing))
    val = (f" (+ {info['val_rows']:,} for validation"
           + (f", from {info['val_source']}" if info.get("val_source") else "") + ")") if info.get("val_rows") else ""
    # (the hash is of the training rows as encoded, after any --val-split, in --dtype: what trained)
    t.add_row("data", utext(f"{counted(info.get('rows', 0), 'row')} from {info.get('source', '?')}{val}, "
                           f"sha256 of the encoded training rows {str(info.get('data_sha256', ''))[:16]}…"))
    init = info.get("init")
    if init:  # (fit --init: this run went on from that model's weights)
        before = init["epochs_before"]
        t.add_row("started from", utext(f"{init['file']}, whose weights had trained {counted(before, 'epoch')} "
                                        f"(last on {init['source']}): {before + info.get('weights_from_epoch', 0):,} "
                                        "in all"))
    ran = f"{counted(info.get('epochs_run', 0), 'epoch')} run"
    if info.get("stopped"):
        stopped = info["stopped"]
        ran += f" ({STOPPED_BY[stopped]})" if stopped in STOPPED_BY else f" (stopped: {stopped})"
    t.add_row("result", utext(f"{ran}; weights from epoch {info.get('weights_from_epoch', '?')}; "
                              + final_scores(model)))
    pre = model.pre
    # (an input's usual size: within 2 spreads of its mean; the intercept's "input" is 1)
    reach = [*(abs(m) + 2 * s for m, s in zip(pre.mean.tolist(), pre.scale.tolist())), 1.0]
    if model.kind == "linear":
        W, b = model.linear_coefficients()
        names = [name for name, _ in model.equations()]
        for k, name in enumerate(names[:SHOW_MAX_ITEMS]):
            spread = float(model.target.scale[k]) if model.task == "regression" else 1.0  # (log-odds, scores)
            terms = _linear_terms([*W[:, k], b[k]], [*pre.encoded_names(), ''], reach, spread)
            t.add_row("equation", utext(f"{name} = {terms}"))
        if len(names) > SHOW_MAX_ITEMS:
            t.add_row("", utext(f"… ({len(names) - SHOW_MAX_ITEMS:,} more classes; --json has them all)"))
        if len(names) > 1 and model.task == "classification":
            t.add_row("", utext("P(class) = the softmax of the scores"))
    feats = Table(box=None, pad_edge=False, header_style="bold")
    for c in ("feature", "kind", "missing at fit", "imputed / categories"):
        feats.add_column(c)
    features = pre.features
    starts = itertools.accumulate((f.width for f in features), initial=0)
    for f, at in zip(features[:SHOW_MAX_ITEMS], starts):
        detail = _rounded(f.fill, _digits(f.fill, 1.0, SHOWN_WITHIN * float(pre.scale[at]))) if f.kind == "numeric" \
            else _first(f.categories)
        feats.add_row(utext(f.name), f.kind, str(f.missing),
                      utext(detail, overflow="fold" if f.kind == "numeric" else "ellipsis"))
    more = [Text(f"… and {len(features) - SHOW_MAX_ITEMS:,} more features (--json lists them all)", style="italic")] \
        if len(features) > SHOW_MAX_ITEMS else []
    return Group(t, Text(""), WholeNumbers(feats, labels=(0, 1, 3)), *more)


# `show` lists at most this many features, classes or categories of one feature (a crafted model of
# 1,000,000 classes took 33 s to show, the text wrapped as a whole; `--json` has them all).
SHOW_MAX_ITEMS = 200


def _first(items: list[str]) -> str:
    """The first SHOW_MAX_ITEMS of a list, joined, and how many there are if more."""
    more = f", … ({len(items):,} in all)" if len(items) > SHOW_MAX_ITEMS else ""
    return ", ".join(items[:SHOW_MAX_ITEMS]) + more


def accuracy_chart(model, height: int = 7):
    """A classifier's stored accuracy per epoch (training, and validation if any), marked as the loss chart
    is; None for regression (the training R² is 1 − the loss over y's variance: the loss chart again) or
    when no epoch has one. Accuracy can stall while the log loss still falls, or fall while it rises."""
    import numpy as np

    from nncli.render_chart import LineChart
    from nncli.render_live import loss_series

    h = model.history
    if model.task == "regression" or not np.isfinite(np.concatenate([h["metric"], h["val_metric"]])).any():
        return None
    return LineChart(loss_series(h["metric"].tolist(), h["val_metric"].tolist()), height=height, log_y=False,
                     y_label="accuracy", marker_x=saved_epoch(model))


def lr_chart(model, height: int = 6):
    """The learning rate each epoch ran at, when the schedule (or a warm-up) changed it; else None."""
    import numpy as np

    from nncli.render_chart import LineChart, Series

    lr = model.history["lr"]
    finite = lr[np.isfinite(lr)]
    if not finite.size or finite.min() == finite.max():
        return None
    return LineChart([Series("learning rate", lr.tolist())], height=height, y_label="lr",
                     title=f"learning rate per epoch (--lr-schedule {model.config.get('lr_schedule', '?')}"
                           + (f", --warmup {model.config['warmup']}" if model.config.get("warmup") else "") + ")",
                     marker_x=saved_epoch(model))


def _one_two_five(epoch: int) -> bool:
    """0, 1, 2, 3, 5, 10, 20, 50, 100, 200, …: a few epochs a tenfold."""
    digits = str(epoch)
    return epoch <= 3 or (digits[0] in "125" and set(digits[1:]) <= {"0"})


def path_table(model) -> Group | None:
    """A small linear model's equation at the start and the end of some epochs (`info.param_path`):
    the path gradient descent took, in the data's units; None for any other model."""
    path = model.info.get("param_path")
    if model.kind != "linear" or not path or model.network.sizes[-1] != 1:
        return None
    kept = saved_epoch(model)
    rows = [(e, p) for k, (e, p) in enumerate(zip(path["epochs"], path["params"]))
            if _one_two_five(e) or e == kept or k == len(path["epochs"]) - 1]
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("epoch", justify="right")
    for name in [*model.pre.encoded_names(), "intercept"]:
        table.add_column(column_label(name), justify="right")
    for epoch, params in rows:
        W, b = model.linear_coefficients(params)
        # (the kept epoch's row is the equation above: early stopping may keep one before the last)
        table.add_row(f"{epoch:,}" + (" kept" if epoch == kept else ""), *[fmt(float(v)) for v in [*W[:, 0], b[0]]])
    start = "the weights of the model it went on from" if model.info.get("init") else "the initial weights"
    return Group(Text(f"How training moved {model.equations()[0][0]}'s coefficients from {start} (epoch 0), in the "
                      "data's units:"), WholeNumbers(table, labels=()))


def show_model(model, path: str, drawn=None, drawn_name: str = "") -> None:
    """`nncli show`: the report, a small linear model's path, what a model of one or two features predicts
    across them, then the stored loss curves, a classifier's accuracy, a schedule's learning rate, then the
    layers' weight and gradient sizes."""
    c = console()
    c.print(model_report(model, path), crop=False)
    steps = path_table(model)
    if steps is not None:
        c.print(Text(""))
        c.print(steps, crop=False)
    from nncli.render_view import prediction_view

    view = prediction_view(model, drawn, drawn_name)
    if view is not None:
        c.print(Text(""))
        print_chart(c, view)
    if len(model.history.get("loss", ())):
        for chart in (history_chart(model), accuracy_chart(model), lr_chart(model)):
            if chart is not None:
                c.print(Text(""))
                print_chart(c, chart)
    weights = model.info.get("weight_rms")
    if weights and weights["epochs"] and steps is None:  # (the path gives a linear model's weights themselves)
        c.print(Text(""))
        c.print(weight_table(model.network.sizes, weights["epochs"], weights["rms"]), crop=False)
    gradients = model.info.get("gradient_rms")
    if gradients and gradients["epochs"]:
        sizes, epochs, rms = model.network.sizes, gradients["epochs"], gradients["rms"]
        c.print(Text(""))
        c.print(gradient_table(sizes, epochs, rms), crop=False)
        chart = gradient_chart(sizes, epochs, rms, colour=not (c.no_color or c.color_system is None))
        if chart is not None:
            print_chart(c, chart)
    report_written()


def _layer_name(sizes: list[int], i: int) -> str:
    return f"{'output' if i == len(sizes) - 2 else f'layer {i + 1}'} ({sizes[i]:,}→{sizes[i + 1]:,})"


def _layer_table(heading: str, sizes: list[int], epochs: list[int], rms: list[list[float]]) -> WholeNumbers:
    """One row a layer, its sizes `rms` at the first, a middle and the last of `epochs`."""
    picks = sorted({0, len(epochs) // 2, len(epochs) - 1})
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column(heading)
    for k in picks:
        table.add_column(f"epoch {epochs[k]:,}", justify="right")
    for i in range(len(sizes) - 1):
        table.add_row(_layer_name(sizes, i), *[fmt(rms[k][i]) for k in picks])
    return WholeNumbers(table)  # (a narrow window folds the layer names, never a size)


def weight_table(sizes: list[int], epochs: list[int], rms: list[list[float]]) -> Group:
    """Each layer's weight size (RMS) at the end of the first, a middle and the last epoch measured."""
    return Group(_layer_table("weight size (RMS)", sizes, epochs, rms),
                 Text("(at the end of the epoch. Large weights make confident outputs, right or wrong: they grow "
                      "as a network memorizes its rows, and --l2 holds them back)", style="dim"))


def gradient_table(sizes: list[int], epochs: list[int], rms: list[list[float]]) -> Group:
    """Each layer's weight-gradient size (RMS) at the first, a middle and the last epoch measured."""
    table = _layer_table("weight gradient (RMS)", sizes, epochs, rms)
    measured = ", ".join(f"{e:,}" for e in epochs) if len(epochs) <= 12 else \
        f"{epochs[0]:,}–{epochs[9]:,}, {epochs[10]:,}, {epochs[11]:,}, … {epochs[-1]:,}"  # (1–10, 12, 14, … last)
    note = f"(on the first batch of epoch{'s' if len(epochs) > 1 else ''} {measured}"
    if len(sizes) > 2:
        note += (". A layer whose gradient is orders of magnitude smaller than the next one's barely learns: "
                 "vanishing gradients, as through many sigmoid layers")
    if any(v == 0 for row in rms for v in row):
        note += ". 0: no gradient at all, as when every unit of a ReLU layer is dead; drawn at the chart's bottom"
    return Group(table, Text(note + ")", style="dim"))


def gradient_chart(sizes: list[int], epochs: list[int], rms: list[list[float]], colour: bool = True):
    """The layers' weight-gradient sizes per epoch measured, on a log scale (a size of 0 at a tenth of the
    smallest other); None with fewer than two epochs or no size above 0. In colour at most six layers,
    the first, the last and others evenly between; without colour, where two curves are all that can be
    told apart, the first and the last."""
    from nncli.render_chart import LineChart, Series

    positive = [v for row in rms for v in row if v > 0]
    if len(epochs) < 2 or not positive:
        return None
    floor = min(positive) / 10
    layers = len(sizes) - 1
    most = len(CURVE_STYLES) if colour else 2
    drawn = sorted({round(k * (layers - 1) / (most - 1)) for k in range(most)}) if layers > most else range(layers)
    series = [Series("output" if i == layers - 1 else f"layer {i + 1}", [max(row[i], floor) for row in rms], xs=epochs,
                     style=style) for i, style in zip(drawn, CURVE_STYLES)]
    return LineChart(series, height=8, log_y=True, log_x=epochs[-1] > 100, y_label="gradient",
                     title="weight gradient (RMS) per layer", whole_x=True)
