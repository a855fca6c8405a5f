"""PNG plots of real vs synthetic series for the fidelity report.

Figures are drawn with matplotlib's object-oriented API on an Agg canvas,
so nothing here touches `pyplot` or the global backend (safe in notebooks
and on headless machines). Real data is drawn in blue, synthetic in orange.

Every plot takes an optional `columns` dict (`{column name: column spec}`
from `_utils.transformer_columns`): with it, panels and legends use the
table's column names and category labels instead of `feature_i` /
`attribute_i` / indices, and the sample series and continuous attributes
are drawn decoded, in the table's units. Other plots stay in the encoded
space the metrics are computed in.
"""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_dg.data.columns import decode_column
from keras_dg.evaluation._utils import category_indices
from keras_dg.evaluation._utils import continuous_attribute_columns
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation._utils import discrete_attribute_blocks
from keras_dg.evaluation._utils import display_name
from keras_dg.evaluation.distributions import midpoints
from keras_dg.files import atomic_write

REAL_COLOR = "tab:blue"
SYNTHETIC_COLOR = "tab:orange"


def _figure(n_panels, n_columns=3, panel_size=(4.2, 3.0)):
    n_columns = max(1, min(n_columns, n_panels))
    n_rows = int(np.ceil(n_panels / n_columns))
    figure = Figure(
        figsize=(panel_size[0] * n_columns, panel_size[1] * n_rows),
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    axes = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    for axis in axes[n_panels:]:
        axis.set_visible(False)
    return figure, axes[:n_panels]


def _decode(columns, key, values):
    """`values` of a continuous column in the table's units, if known."""
    spec = columns.get(key) if columns else None
    if spec is None or spec["kind"] != "continuous":
        return values
    return decode_column(spec, np.asarray(values)[..., None])


def _save(figure, path):
    with atomic_write(path) as tmp:
        figure.savefig(tmp, dpi=100)
    return path


def plot_autocorrelation(acf_result, path, columns=None):
    """ACF curves, real vs synthetic, one panel per continuous feature.

    Args:
        acf_result: the dict returned by `autocorrelation_mse`.
        path: where to write the PNG.
        columns: dict or `None`. Column specs for names (module docstring).
    """
    names = list(acf_result["real"])
    figure, axes = _figure(len(names), n_columns=2, panel_size=(6.0, 3.2))
    for axis, name in zip(axes, names):
        real = np.asarray(acf_result["real"][name], dtype=float)
        synthetic = np.asarray(acf_result["synthetic"][name], dtype=float)
        lags = np.arange(1, real.size + 1)
        axis.plot(lags, real, color=REAL_COLOR, label="real")
        axis.plot(lags, synthetic, color=SYNTHETIC_COLOR, label="synthetic")
        axis.axhline(0.0, color="0.7", linewidth=0.8)
        mse = acf_result["per_feature"][name]
        axis.set_title(f"{display_name(columns, name)}: ACF (MSE {mse:.2e})")
        axis.set_xlabel("lag")
        axis.set_ylabel("autocorrelation")
        axis.set_ylim(-1.05, 1.05)
        axis.legend(loc="best")
    return _save(figure, path)


def plot_attributes(real, synthetic, path, columns=None):
    """Category frequencies (discrete) and histograms (continuous)."""
    blocks = discrete_attribute_blocks(real)
    n_panels = len(blocks) + len(continuous_attribute_columns(real))
    figure, axes = _figure(n_panels, n_columns=2, panel_size=(6.0, 3.2))
    for axis, (name, start, end) in zip(axes, blocks):
        width = end - start
        real_freq = np.bincount(
            category_indices(real, start, end), minlength=width
        ) / len(real)
        synthetic_freq = np.bincount(
            category_indices(synthetic, start, end), minlength=width
        ) / len(synthetic)
        positions = np.arange(width)
        axis.bar(positions - 0.2, real_freq, 0.4, color=REAL_COLOR,
                 label="real")
        axis.bar(positions + 0.2, synthetic_freq, 0.4, color=SYNTHETIC_COLOR,
                 label="synthetic")
        axis.set_title(f"{display_name(columns, name)} ({width} categories)")
        axis.set_xlabel("category")
        axis.set_ylabel("frequency")
        if width <= 20:
            spec = (columns or {}).get(name)
            labels = None if spec is None else [
                str(label) for label in spec["categories"]
            ]
            axis.set_xticks(positions, labels)
            if labels and sum(map(len, labels)) > 30:
                axis.tick_params(axis="x", labelrotation=45)
        axis.legend(loc="best")
    for axis, (name, column) in zip(
        axes[len(blocks):], continuous_attribute_columns(real)
    ):
        values = [
            _decode(columns, name, real.attributes[:, column]),
            _decode(columns, name, synthetic.attributes[:, column]),
        ]
        bins = np.histogram_bin_edges(np.concatenate(values), bins=30)
        axis.hist(values[0], bins, density=True, alpha=0.6,
                  color=REAL_COLOR, label="real")
        axis.hist(values[1], bins, density=True, alpha=0.6,
                  color=SYNTHETIC_COLOR, label="synthetic")
        axis.set_title(display_name(columns, name))
        axis.set_ylabel("density")
        axis.legend(loc="upper right")
    return _save(figure, path)


def plot_lengths(real, synthetic, path):
    """Histogram of series lengths, real vs synthetic."""
    figure, (axis,) = _figure(1, panel_size=(6.0, 3.2))
    t = real.max_sequence_len
    bins = np.arange(0.5, t + 1.5, max(1, t // 50))
    axis.hist(real.lengths, bins, density=True, alpha=0.6, color=REAL_COLOR,
              label="real")
    axis.hist(synthetic.lengths, bins, density=True, alpha=0.6,
              color=SYNTHETIC_COLOR, label="synthetic")
    axis.set_title("series length")
    axis.set_xlabel("length (active steps)")
    axis.set_ylabel("density")
    axis.legend(loc="upper left")
    return _save(figure, path)


def plot_midpoints(real, synthetic, path, columns=None):
    """Histograms of per-series (max + min) / 2, per continuous feature."""
    real_mid, synthetic_mid = midpoints(real), midpoints(synthetic)
    names = list(real_mid)
    figure, axes = _figure(len(names), n_columns=2, panel_size=(6.0, 3.2))
    for axis, name in zip(axes, names):
        values = [real_mid[name], synthetic_mid[name]]
        bins = np.histogram_bin_edges(np.concatenate(values), bins=30)
        axis.hist(values[0], bins, density=True, alpha=0.6, color=REAL_COLOR,
                  label="real")
        axis.hist(values[1], bins, density=True, alpha=0.6,
                  color=SYNTHETIC_COLOR, label="synthetic")
        axis.set_title(
            f"{display_name(columns, name)}: per-series (max + min) / 2"
        )
        axis.set_ylabel("density")
        axis.legend(loc="upper right")
    return _save(figure, path)


def _plot_series(axis, dataset, index, color, title, keys, columns):
    """Series `index`'s `keys` columns over its active steps."""
    length = int(dataset.lengths[index])
    steps = np.arange(length)
    styles = ["-", "--", ":", "-."]
    # Dots make short series (down to one step) visible.
    marker = "o" if dataset.max_sequence_len <= 64 else None
    for k, (name, column) in enumerate(keys):
        values = _decode(
            columns, name, dataset.features[index, :length, column]
        )
        axis.plot(steps, values, color=color,
                  linestyle=styles[k % len(styles)], linewidth=1.2,
                  marker=marker, markersize=2.5,
                  label=display_name(columns, name))
    axis.set_xlim(-0.5, dataset.max_sequence_len - 0.5)
    axis.set_title(title, fontsize=9)
    if len(keys) > 1:
        axis.legend(loc="upper right", fontsize=7)


def plot_samples(
    real, synthetic, path, n_rows=4, seed=0, columns=None, max_features=4
):
    """A grid of random series: real on the left, synthetic on the right.

    Encoded series show every continuous feature in one panel (they share
    the encoded range). With `columns`, the series are decoded to the
    table's units, so each feature gets its own row of panels (real and
    synthetic on one y scale); the first `max_features` continuous
    features are shown.
    """
    keys = continuous_feature_columns(real)
    if not keys:
        raise ValueError(
            "Sample plots need a continuous feature; feature_outputs are "
            f"{real.feature_outputs}."
        )
    rng = np.random.default_rng(seed)
    n_series = min(n_rows, len(real), len(synthetic))
    real_pick = np.sort(rng.choice(len(real), n_series, replace=False))
    synthetic_pick = np.sort(
        rng.choice(len(synthetic), n_series, replace=False)
    )
    # (real index, synthetic index, columns drawn, label) for each row.
    if columns:
        shown = keys[:max_features]
        rows = [
            (i, j, [key], f"{display_name(columns, key[0])}, ")
            for i, j in zip(real_pick, synthetic_pick)
            for key in shown
        ]
    else:
        shown = keys
        rows = [(i, j, keys, "") for i, j in zip(real_pick, synthetic_pick)]
    height = 1.8 if columns else 2.2
    figure = Figure(figsize=(11.0, height * len(rows)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        len(rows), 2, squeeze=False, sharey="row" if columns else True
    )
    for row, (i, j, drawn, label) in enumerate(rows):
        _plot_series(axes[row, 0], real, i, REAL_COLOR,
                     f"{label}real #{i} (length {real.lengths[i]})",
                     drawn, columns)
        _plot_series(axes[row, 1], synthetic, j, SYNTHETIC_COLOR,
                     f"{label}synthetic #{j} (length {synthetic.lengths[j]})",
                     drawn, columns)
    axes[-1, 0].set_xlabel("step")
    axes[-1, 1].set_xlabel("step")
    title = "Sample series: real (left) and synthetic (right)"
    if columns:
        title += ", in the table's units"
        if len(shown) < len(keys):
            title += f" (first {len(shown)} of {len(keys)} features)"
    figure.suptitle(title)
    return _save(figure, path)


def plot_closest_pairs(synthetic, train, closest_pairs, path, columns=None):
    """Each listed synthetic series over its nearest training series.

    Drawn in the encoded space the distances are measured in.
    """
    n_rows = len(closest_pairs)
    figure = Figure(figsize=(8.0, 2.0 * n_rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(n_rows, 1, squeeze=False)[:, 0]
    keys = continuous_feature_columns(synthetic)
    t = synthetic.max_sequence_len
    styles = ["-", "--", ":", "-."]
    for axis, pair in zip(axes, closest_pairs):
        s, r = pair["synthetic_index"], pair["train_index"]
        for k, (name, column) in enumerate(keys):
            style = styles[k % len(styles)]
            suffix = f" {display_name(columns, name)}" if len(keys) > 1 else ""
            axis.plot(np.arange(t), train.features[r, :, column],
                      color=REAL_COLOR, linewidth=2.5, alpha=0.5,
                      linestyle=style, label=f"train #{r}{suffix}")
            axis.plot(np.arange(t), synthetic.features[s, :, column],
                      color=SYNTHETIC_COLOR, linewidth=1.0, linestyle=style,
                      label=f"synthetic #{s}{suffix}")
        axis.set_title(f"distance {pair['distance']:.4f}", fontsize=9)
        axis.legend(loc="upper right", fontsize=7, ncol=2)
    axes[-1].set_xlabel("step")
    figure.suptitle("Closest synthetic-training pairs (memorization check)")
    return _save(figure, path)


__all__ = [
    "plot_attributes",
    "plot_autocorrelation",
    "plot_closest_pairs",
    "plot_lengths",
    "plot_midpoints",
    "plot_samples",
]
