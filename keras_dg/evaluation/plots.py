"""PNG plots of real vs synthetic series for the fidelity report.

Figures are drawn with matplotlib's object-oriented API on an Agg canvas,
so nothing here touches `pyplot` or the global backend (safe in notebooks
and on headless machines). Real data is drawn in blue, synthetic in orange.
"""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_dg.evaluation._utils import category_indices
from keras_dg.evaluation._utils import continuous_attribute_columns
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation._utils import discrete_attribute_blocks
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


def _save(figure, path):
    with atomic_write(path) as tmp:
        figure.savefig(tmp, dpi=100)
    return path


def plot_autocorrelation(acf_result, path):
    """ACF curves, real vs synthetic, one panel per continuous feature.

    Args:
        acf_result: the dict returned by `autocorrelation_mse`.
        path: where to write the PNG.
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
        axis.set_title(f"{name}: ACF (MSE {mse:.2e})")
        axis.set_xlabel("lag")
        axis.set_ylabel("autocorrelation")
        axis.set_ylim(-1.05, 1.05)
        axis.legend(loc="best")
    return _save(figure, path)


def plot_attributes(real, synthetic, path):
    """Category frequencies (discrete) and histograms (continuous)."""
    blocks = discrete_attribute_blocks(real)
    columns = continuous_attribute_columns(real)
    n_panels = len(blocks) + len(columns)
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
        axis.set_title(f"{name} ({width} categories)")
        axis.set_xlabel("category")
        axis.set_ylabel("frequency")
        if width <= 20:
            axis.set_xticks(positions)
        axis.legend(loc="best")
    for axis, (name, column) in zip(axes[len(blocks):], columns):
        values = [real.attributes[:, column], synthetic.attributes[:, column]]
        bins = np.histogram_bin_edges(np.concatenate(values), bins=30)
        axis.hist(values[0], bins, density=True, alpha=0.6,
                  color=REAL_COLOR, label="real")
        axis.hist(values[1], bins, density=True, alpha=0.6,
                  color=SYNTHETIC_COLOR, label="synthetic")
        axis.set_title(name)
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


def plot_midpoints(real, synthetic, path):
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
        axis.set_title(f"{name}: per-series (max + min) / 2")
        axis.set_ylabel("density")
        axis.legend(loc="upper right")
    return _save(figure, path)


def _plot_series(axis, dataset, index, color, title):
    length = int(dataset.lengths[index])
    steps = np.arange(length)
    columns = continuous_feature_columns(dataset)
    styles = ["-", "--", ":", "-."]
    # Dots make short series (down to one step) visible.
    marker = "o" if dataset.max_sequence_len <= 64 else None
    for k, (name, column) in enumerate(columns):
        axis.plot(steps, dataset.features[index, :length, column],
                  color=color, linestyle=styles[k % len(styles)],
                  linewidth=1.2, marker=marker, markersize=2.5, label=name)
    axis.set_xlim(-0.5, dataset.max_sequence_len - 0.5)
    axis.set_title(title, fontsize=9)
    if len(columns) > 1:
        axis.legend(loc="upper right", fontsize=7)


def plot_samples(real, synthetic, path, n_rows=4, seed=0):
    """A grid of random series: real on the left, synthetic on the right."""
    if not continuous_feature_columns(real):
        raise ValueError(
            "Sample plots need a continuous feature; feature_outputs are "
            f"{real.feature_outputs}."
        )
    rng = np.random.default_rng(seed)
    n_rows = min(n_rows, len(real), len(synthetic))
    real_pick = np.sort(rng.choice(len(real), n_rows, replace=False))
    synthetic_pick = np.sort(rng.choice(len(synthetic), n_rows, replace=False))
    figure = Figure(figsize=(11.0, 2.2 * n_rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(n_rows, 2, squeeze=False, sharey=True)
    for row in range(n_rows):
        i, j = real_pick[row], synthetic_pick[row]
        _plot_series(axes[row, 0], real, i, REAL_COLOR,
                     f"real #{i} (length {real.lengths[i]})")
        _plot_series(axes[row, 1], synthetic, j, SYNTHETIC_COLOR,
                     f"synthetic #{j} (length {synthetic.lengths[j]})")
    axes[-1, 0].set_xlabel("step")
    axes[-1, 1].set_xlabel("step")
    figure.suptitle("Sample series: real (left) and synthetic (right)")
    return _save(figure, path)


def plot_closest_pairs(synthetic, train, closest_pairs, path):
    """Each listed synthetic series over its nearest training series."""
    n_rows = len(closest_pairs)
    figure = Figure(figsize=(8.0, 2.0 * n_rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(n_rows, 1, squeeze=False)[:, 0]
    columns = continuous_feature_columns(synthetic)
    t = synthetic.max_sequence_len
    styles = ["-", "--", ":", "-."]
    for axis, pair in zip(axes, closest_pairs):
        s, r = pair["synthetic_index"], pair["train_index"]
        for k, (name, column) in enumerate(columns):
            style = styles[k % len(styles)]
            suffix = f" {name}" if len(columns) > 1 else ""
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
