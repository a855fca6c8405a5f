"""Autocorrelation (ACF) of the measurements, the paper's structural metric.

For every lag k = 1..T-2 the ACF value is the Pearson correlation between
`x[:, :-k]` and `x[:, k:]` computed per series (each window with its own
mean), then averaged over series. As in the authors' code (GitHub issue #20
of the original repository), a zero numerator or denominator is replaced by
1e-8 (so a constant window counts as r = 1) and r outside [-1, 1] is set to
0. Fidelity is the mean squared error between the real and the synthetic
curves.

Notes:
    - The series are used over their full `max_sequence_len`, padding
      included, as the original does (its ACF datasets have fixed length).
    - scipy's `pearsonr` returns NaN for constant windows instead of the
      original's 1e-8 rule, so the per-series correlation is computed here
      with numpy in float64. Round-off just outside [-1, 1] (within 1e-9) is
      clipped rather than zeroed, so an exactly linear window keeps r = +-1.

Reference:
    Lin et al., "Using GANs for Sharing Networked Time Series Data",
    IMC 2020, Fig. 1 and Table 3 (`shared/ALGORITHM.md` §9).
"""

import numpy as np

from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation._utils import check_pair
from keras_dg.evaluation._utils import continuous_feature_columns

_EPS = 1e-8
_ROUND_OFF = 1e-9


def _pearson_rows(a, b):
    """Per-row Pearson r of `a` and `b` [N, L] with the original's rules."""
    da = a - a.mean(axis=1, keepdims=True)
    db = b - b.mean(axis=1, keepdims=True)
    # A constant row has zero deviation exactly, not the round-off of its
    # mean; this makes the 1e-8 rule apply as intended.
    da[np.ptp(a, axis=1) == 0] = 0.0
    db[np.ptp(b, axis=1) == 0] = 0.0
    numerator = (da * db).sum(axis=1)
    denominator = np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    numerator[numerator == 0] = _EPS
    denominator[denominator == 0] = _EPS
    r = numerator / denominator
    r = np.where(np.abs(r) <= 1.0 + _ROUND_OFF, np.clip(r, -1.0, 1.0), 0.0)
    return r


def autocorrelation(values):
    """The sample-averaged ACF of series `values` for lags 1..T-2.

    Args:
        values: array [N, T] of one measurement, T >= 3.

    Returns:
        float64 array [T - 2]; entry k-1 is the ACF at lag k.

    Example:

    >>> import numpy as np
    >>> t = np.arange(40)
    >>> acf = autocorrelation(np.sin(2 * np.pi * t / 8)[None])
    >>> round(float(acf[7]), 6)  # lag 8 = one full period
    1.0
    """
    values = np.asarray(values, dtype="float64")
    if values.ndim != 2:
        raise ValueError(
            "`values` must be an array [N, T] (one measurement per series). "
            f"Received shape {values.shape}."
        )
    n, t = values.shape
    if n < 1 or t < 3:
        raise ValueError(
            "`values` needs at least one series and T >= 3 steps (lags "
            f"1..T-2). Received shape {values.shape}."
        )
    if not np.isfinite(values).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(
            f"`values` must be finite; index {index} holds {values[index]}."
        )
    acf = np.empty(t - 2)
    for k in range(1, t - 1):
        acf[k - 1] = _pearson_rows(values[:, :-k], values[:, k:]).mean()
    return acf


def feature_autocorrelations(dataset):
    """The ACF curve of every continuous feature column of `dataset`.

    Args:
        dataset: `TimeSeriesDataset` with max_sequence_len >= 3.

    Returns:
        dict `{column name: float64 array [T - 2]}`.
    """
    check_dataset(dataset, "dataset")
    return {
        name: autocorrelation(dataset.features[:, :, column])
        for name, column in continuous_feature_columns(dataset)
    }


def autocorrelation_mse(real, synthetic):
    """MSE between the real and synthetic ACF curves, per feature and overall.

    Args:
        real: `TimeSeriesDataset`, the reference series.
        synthetic: `TimeSeriesDataset` with the same specs and length.

    Returns:
        dict with `mse` (mean over continuous feature columns and lags),
        `per_feature` `{column: mse}`, and the curves as lists under `real`
        and `synthetic` (entry k-1 is lag k).

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> ds = TimeSeriesDataset(np.random.rand(4, 6, 1), np.ones((4, 1)),
    ...     np.ones((4, 6)), [Output("CONTINUOUS", 1, "ZERO_ONE")],
    ...     [Output("DISCRETE", 1)])
    >>> autocorrelation_mse(ds, ds)["mse"]
    0.0
    """
    check_pair(real, synthetic)
    if not continuous_feature_columns(real):
        raise ValueError(
            "The autocorrelation needs at least one continuous feature; "
            f"feature_outputs are {real.feature_outputs}."
        )
    real_curves = feature_autocorrelations(real)
    synthetic_curves = feature_autocorrelations(synthetic)
    per_feature = {
        name: float(np.mean((real_curves[name] - synthetic_curves[name]) ** 2))
        for name in real_curves
    }
    return {
        "mse": float(np.mean(list(per_feature.values()))),
        "per_feature": per_feature,
        "real": {k: v.tolist() for k, v in real_curves.items()},
        "synthetic": {k: v.tolist() for k, v in synthetic_curves.items()},
    }
