"""What a model of one or two numeric features predicts across them, as `show` draws it (a map of the
plane over two, a chart over one), with a file's rows over it (`show --data`), and as the live screen
draws it while the network learns. Builds `render_map.RegionMap` or `render_chart.LineChart`; the
NumPy work (the model on a grid) is here. Imports numpy, rich and nncli's modules; never typer.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from nncli.errors import printable
from nncli.render_chart import CURVE_STYLES


MAP_SPAN = 2.5  # `prediction_view`'s window: each feature's training mean ± this many standard deviations
CURVE_POINTS = 400


def prediction_view(model, drawn=None, drawn_name: str = "", height: int | None = None, notes: bool = True,
                    width: int | None = None):
    """What a model of one or two numeric features predicts across them (None for any other): over one, a
    chart of the prediction (a classifier's probabilities); over two, a map of the classes or values. The
    window is each feature's training mean ± MAP_SPAN standard deviations, which holds nearly all its rows.
    `drawn`: rows of a file to draw over it, `apply.rows_to_draw`'s (features, targets, rows in the file),
    `drawn_name` the file's; those outside the window are counted, not drawn. `height`: the most rows of
    plot (the live screen's room), `width` the most columns of a map's; `notes`: the lines under it that say
    the window and the rows drawn."""
    import numpy as np

    from nncli.chart_scale import format_number, telling_digits
    from nncli.render_chart import LineChart, Series
    from nncli.render_map import RAMP_GLYPHS, RegionMap

    features, t = model.pre.features, model.target
    if view_refusal(model) is not None:
        return None
    regression = model.task == "regression"
    ranges = _windows(model)
    title = "what the model predicts" + ("" if regression and len(t.names) > 1 else f": {printable(t.names[0])}")
    said = [f"(each feature from its training mean − {MAP_SPAN:g} to + {MAP_SPAN:g} standard deviations)"]
    if drawn is not None and len(drawn[0]) < drawn[2]:
        said.append(f"({len(drawn[0]):,} of the {drawn[2]:,} rows of {drawn_name} drawn, spread evenly over the file)")
    if drawn is not None and len(features) == 1:  # (a chart keeps its window, as a map does: one row at 1e30 made
        inside = (drawn[0][:, 0] >= ranges[0][0]) & (drawn[0][:, 0] <= ranges[0][1])  # the curve one column wide)
        outside = int((~inside).sum())
        if outside:
            said.append(f"({outside:,} of the rows drawn lie{'s' if outside == 1 else ''} outside the chart)")
        drawn = (drawn[0][inside], drawn[1][inside], drawn[2])
    parts = [Text("\n".join(said), style="dim")] if notes else []
    if len(features) == 1:
        xs = np.linspace(*ranges[0], CURVE_POINTS)
        with np.errstate(all="ignore"):
            out = model.grid_outputs([xs])
        if not np.isfinite(out).any():  # (a model whose weights diverged: nothing to draw)
            return None
        if regression:
            series = [Series(printable(t.names[k]), out[:, k].tolist(), xs=xs.tolist(), style=style)
                      for k, style in zip(range(out.shape[1]), CURVE_STYLES)]
        else:
            shown = [1] if len(t.classes) == 2 else range(len(t.classes))  # (at most CURVE_STYLES: view_refusal)
            series = [Series(f"P({printable(t.classes[k])})", out[:, k].tolist(), xs=xs.tolist(), style=style)
                      for k, style in zip(shown, CURVE_STYLES)]
        if drawn is not None:
            series += _drawn_series(drawn, model, series, drawn_name)
        chart = LineChart(series, height=height or 8, title=title, x_label=printable(features[0].name), log_y=False,
                          y_span=None if regression else (0.0, 1.0),
                          y_label=printable(t.names[0]) if regression and len(t.names) == 1 else
                          ("prediction" if regression else "probability"))
        return Group(chart, *parts)
    steps = len(RAMP_GLYPHS)
    if regression:  # the ramp's ends: the lowest and highest prediction over the window, on a fine grid
        with np.errstate(all="ignore"):
            v = model.grid_outputs([np.linspace(*ranges[0], 100), np.linspace(*ranges[1], 100)])[:, 0]
        v = v[np.isfinite(v)]
        lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.0, 0.0)

    @np.errstate(all="ignore")  # (values near float64's limit: their steps are left to the clip)
    def step(values):
        if hi <= lo:
            return np.zeros(len(values), np.intp)
        return np.clip(((np.nan_to_num(values, nan=lo) - lo) / (hi - lo) * steps).astype(np.intp), 0, steps - 1)

    @np.errstate(all="ignore")  # (a model whose weights diverged gives NaN: drawn as unknown)
    def sample(xs, ys):
        out = model.grid_outputs([np.asarray(xs), np.asarray(ys)])
        known = np.isfinite(out).all(axis=1)
        if regression:
            digits = telling_digits([lo, hi])
            level, sure, names = step(out[:, 0]), np.ones(len(out)), [format_number(v, digits) for v in (lo, hi)]
        else:
            # Sureness: how far the likeliest class is ahead of the next, 0 on every boundary between two
            # classes (of two, 2p - 1; against 1 / k, a 50/50 seam of ten classes read as sure)
            second, first = np.partition(out, -2, axis=1)[:, -2:].T
            level, sure = out.argmax(axis=1), first - second
            names = [printable(c) for c in t.classes]
        level = np.where(known, level, -1)
        return [list(zip(a, b)) for a, b in zip(level.reshape(len(ys), len(xs)).tolist(),
                                                 sure.reshape(len(ys), len(xs)).tolist())], names

    points = ()
    if drawn is not None:
        X, y = drawn[0], drawn[1]
        levels = step(y[:, 0]) if regression else y
        points = list(zip(X[:, 0].tolist(), X[:, 1].tolist(), np.asarray(levels).tolist()))
    return Group(RegionMap(sample, ranges[0], ranges[1], printable(features[0].name), printable(features[1].name),
                           ramp=regression, title=title, points=points, points_name=f"rows of {drawn_name}",
                           **({"max_rows": height} if height else {}), **({"max_columns": width} if width else {})),
                 *parts)


LIVE_MAP_COLUMNS = 48  # the live screen's map: a frame of the moons screen cost ~10 ms at show's 72 columns, ~7 at 48


def live_view(run, data):
    """For the live screen of a model of one or two numeric features (else None): view(rows), what the
    network predicts with its weights as they are, drawn at most `rows` high. From a copy of the weights:
    the network in training keeps its buffers and thread team to itself."""
    from nncli.core.model import Model
    from nncli.core.network import Network

    net = run.net
    if view_refusal(Model(run.mopts.kind, net, data.pre, data.target, [])) is not None:
        return None

    def view(rows: int):
        copy = Network(net.sizes, net.activation, net.loss_name, net.dtype.type)
        copy.params[...] = net.params
        return prediction_view(Model(run.mopts.kind, copy, data.pre, data.target, list(data.na_values)), height=rows,
                               notes=False, width=LIVE_MAP_COLUMNS)
    return view


def _windows(model) -> list[tuple[float, float]]:
    """Each feature's window in `prediction_view`: its training mean ± MAP_SPAN standard deviations (a
    constant column's, a width about its value)."""
    from nncli.chart_scale import padded

    return [padded(float(m), float(m), False) if s <= 1e-9 * max(1.0, abs(m)) else
            (float(m - MAP_SPAN * s), float(m + MAP_SPAN * s)) for m, s in zip(model.pre.mean, model.pre.scale)]


def view_refusal(model) -> str | None:
    """Why `prediction_view` draws nothing for this model (None: it draws), as `show --data` says it."""
    from nncli.chart_scale import LIMIT
    from nncli.render_map import CLASS_RGB

    features, t = model.pre.features, model.target
    if not 1 <= len(features) <= 2:
        return f"it has {len(features):,} features, and show draws one or two"
    if any(f.kind != "numeric" for f in features):
        return "it has a categorical feature"
    if len(features) == 1 and model.task == "classification" and len(t.classes) > len(CURVE_STYLES):
        return f"it predicts {len(t.classes):,} classes, more than the {len(CURVE_STYLES)} curves a chart draws"
    if len(features) == 2 and model.task == "regression" and len(t.names) > 1:
        return "it predicts several targets, and a map colours one"
    if len(features) == 2 and model.task == "classification" and len(t.classes) > len(CLASS_RGB):
        return f"it predicts {len(t.classes):,} classes, more than the {len(CLASS_RGB)} colours of a map"
    if not all(abs(v) <= LIMIT for r in _windows(model) for v in r):
        return "its features span more than a chart's axis holds (1e300)"
    return None


def _drawn_series(drawn, model, curves, name: str) -> list:
    """A file's rows over a chart along one feature, as scatters: a regression's values in their target's
    curve's style; of two classes, each row at its label (0 or 1, the chart's P of the second class); of
    more, each at 1 in its class's curve's style."""
    from nncli.render_chart import Series

    X, y = drawn[0][:, 0].tolist(), drawn[1]
    t = model.target
    if model.task == "regression":
        return [Series(f"rows of {name}" + (f": {printable(t.names[k])}" if len(t.names) > 1 else ""),
                       y[:, k].tolist(), xs=X, style=c.style, scatter=True) for k, c in enumerate(curves)]
    if len(t.classes) == 2:
        return [Series(f"rows of {name} (at their label: 1 for {printable(t.classes[1])})", [float(v) for v in y],
                       xs=X, style="magenta", scatter=True)]
    labels = y.tolist()
    return [Series(f"{printable(t.classes[k])} rows", [1.0] * labels.count(k),
                   xs=[x for x, label in zip(X, labels) if label == k], style=c.style, scatter=True)
            for k, c in enumerate(curves) if k in labels]
