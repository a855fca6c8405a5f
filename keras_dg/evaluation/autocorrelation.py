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
from keras_dg.specs import output_slices
from keras_dg.validation import check_int

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


def _paired_curves(real, synthetic, what):
    """The ACF curves of both datasets' continuous features (checked pair);
    `what` names the metric in the error when there is no such feature."""
    if not continuous_feature_columns(real):
        raise ValueError(
            f"{what} needs at least one continuous feature; "
            f"feature_outputs are {real.feature_outputs}."
        )
    return feature_autocorrelations(real), feature_autocorrelations(synthetic)


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
    real_curves, synthetic_curves = _paired_curves(
        real, synthetic, "The autocorrelation"
    )
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


def _block_excess(curve, sample_len):
    """Mean over lags k*S of `curve`'s excess over its two neighbours
    (`curve[k-1]` is lag k; lags need a neighbour on both sides)."""
    lags = np.arange(sample_len, len(curve), sample_len)  # lag + 1 <= T - 2
    excess = [
        curve[lag - 1] - 0.5 * (curve[lag - 2] + curve[lag]) for lag in lags
    ]
    return float(np.mean(excess)), lags


def block_artifact_score(real, synthetic, sample_len):
    """How much more the synthetic ACF peaks at multiples of `sample_len`.

    DoppelGANger's LSTM emits `sample_len` (S) steps per cell; a generator
    that gives every block of S steps the same shape shows it as ACF spikes
    at lags S, 2S, ... . For each continuous feature, the *excess* at lag
    k*S is `acf(kS) - (acf(kS - 1) + acf(kS + 1)) / 2`, averaged over the
    lags k*S <= T - 3; the score is the synthetic data's excess minus the
    real data's, averaged over features. 0 means no more periodicity at S
    than the real data has; the fidelity target is |score| <= 0.02.

    Args:
        real: `TimeSeriesDataset`, the reference series.
        synthetic: `TimeSeriesDataset` with the same specs and length.
        sample_len: int >= 2, the generator's S. `max_sequence_len` must be
            at least `2 * sample_len + 1` (one lag S with two neighbours).

    Returns:
        dict with `score`, `per_feature` `{column: score}`, `lags` (the
        lags used) and the per-feature excesses under `real` and
        `synthetic`.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> rng = np.random.default_rng(0)
    >>> def make(values):
    ...     n, t = values.shape
    ...     return TimeSeriesDataset(values[..., None], np.ones((n, 1)),
    ...         np.ones((n, t)), [Output("CONTINUOUS", 1, "ZERO_ONE")],
    ...         [Output("DISCRETE", 1)])
    >>> noise = rng.random((200, 28))
    >>> blocky = np.tile(rng.random((200, 1, 7)), (1, 4, 1)).reshape(200, 28)
    >>> score = block_artifact_score(make(noise), make(0.5 * noise
    ...     + 0.5 * blocky), 7)["score"]
    >>> score > 0.2
    True
    """
    check_int(sample_len, "sample_len", minimum=2)
    check_pair(real, synthetic)
    if real.max_sequence_len < 2 * sample_len + 1:
        raise ValueError(
            "The block-artifact score needs max_sequence_len >= 2 * "
            f"sample_len + 1 = {2 * sample_len + 1} (lag S with both "
            f"neighbours); max_sequence_len is {real.max_sequence_len}."
        )
    real_curves, synthetic_curves = _paired_curves(
        real, synthetic, "The block-artifact score"
    )
    real_excess, synthetic_excess = {}, {}
    for name in real_curves:
        real_excess[name], lags = _block_excess(real_curves[name], sample_len)
        synthetic_excess[name], _ = _block_excess(
            synthetic_curves[name], sample_len
        )
    per_feature = {
        name: synthetic_excess[name] - real_excess[name]
        for name in real_curves
    }
    return {
        "score": float(np.mean(list(per_feature.values()))),
        "per_feature": per_feature,
        "lags": [int(lag) for lag in lags],
        "real": real_excess,
        "synthetic": synthetic_excess,
    }


def periodic_features(dataset, sample_len, threshold=0.05):
    """The feature outputs whose series have a real period of `sample_len`.

    A feature counts as periodic when its ACF exceeds its neighbours at the
    lags k*S by more than `threshold` on average (the excess of
    `block_artifact_score`): a period of S or of a divisor of S, e.g. daily
    flight counts with S=7 (excess 0.21 on the built-in flights data; the
    mean delay's is 0.02) or FCC_MBA's traffic with S=8 (a period of 4:
    0.53). Those outputs need per-position heads; `DoppelGANger`'s default
    `block_heads="auto"` picks them with this function when it is fit.

    Args:
        dataset: `TimeSeriesDataset`, the training data.
        sample_len: int >= 2.
        threshold: float. Defaults to 0.05.

    Returns:
        sorted list of indices into `dataset.feature_outputs` (continuous
        outputs only; a multi-column output counts when any column does).
        Empty when the series are shorter than `2 * sample_len + 1`.
    """
    check_dataset(dataset, "dataset")
    return periodic_outputs(
        dataset.features, dataset.feature_outputs, sample_len, threshold
    )


def periodic_outputs(
    features, outputs, sample_len, threshold=0.05, max_series=1000
):
    """`periodic_features` on arrays: features [N, T, F] and their outputs.

    Only the lags k*S <= T/2 and their neighbours are computed, on at most
    `max_series` series (evenly spaced), so it is cheap on any data size.
    """
    return sorted(
        output_periods(features, outputs, sample_len, threshold, max_series)
    )


def output_periods(
    features, outputs, sample_len, threshold=0.05, max_series=1000
):
    """The periodic outputs of `periodic_outputs` and each one's period.

    A periodic output's period is the smallest divisor p >= 2 of S whose
    lag p has an ACF excess over its neighbours above `threshold` (in any
    of the output's columns), else S. FCC_MBA's traffic with S=8: excess
    -0.19 at lag 2, 0.53 at lag 4: period 4; the built-in flights' daily
    counts with S=7: period 7.

    Returns:
        dict from output index to its period (a divisor of `sample_len`).
    """
    check_int(sample_len, "sample_len", minimum=2)
    features = np.asarray(features)
    n, t = features.shape[:2]
    if t < 2 * sample_len + 1:
        return {}
    rows = features[_evenly_spaced(n, max_series)]
    rows = rows.astype("float64")
    divisors = [p for p in range(2, sample_len) if sample_len % p == 0]
    periods = {}
    for index, (output, start, end) in enumerate(output_slices(outputs)):
        if output.is_discrete:
            continue
        columns = [rows[:, :, column] for column in range(start, end)]
        # Lags up to T/2: longer ones rest on short windows.
        lags = range(sample_len, max(t // 2, sample_len) + 1, sample_len)
        if not any(
            np.mean([_lag_excess(values, lag) for lag in lags]) > threshold
            for values in columns
        ):
            continue
        periods[index] = next(
            (p for p in divisors
             if any(_lag_excess(values, p) > threshold for values in columns)),
            sample_len,
        )
    return periods


def smooth_features(dataset, threshold=0.1):
    """The continuous feature outputs whose series change little per step.

    An output is smooth when its steps' mean squared change is below
    `threshold` times twice its variance within a series (the ratio is
    about 1 - the lag-1 autocorrelation: about 1 for white noise, 0 for a
    slow curve), pooled over the series' active steps: gapminder's
    fertility, life expectancy and log population (yearly, interpolated)
    0.003-0.013; FCC_MBA's traffic and loss rate 0.93 and 0.70, the
    built-in flights' counts and delays 0.48 and 0.87, wage_panel's four
    0.50-0.86. `DoppelGANger`'s default `step_noise_outputs="auto"` keeps
    the per-time-step noise off the smooth outputs (it makes a slow curve
    jagged) with this function when it is fit.

    Args:
        dataset: `TimeSeriesDataset`, the training data.
        threshold: float. Defaults to 0.1.

    Returns:
        sorted list of indices into `dataset.feature_outputs` (continuous
        outputs only; a multi-column output counts when all its columns
        do).
    """
    check_dataset(dataset, "dataset")
    return smooth_outputs(
        dataset.features, dataset.gen_flag, dataset.feature_outputs, threshold
    )


def smooth_outputs(features, gen_flag, outputs, threshold=0.1,
                   max_series=1000):
    """`smooth_features` on arrays: features [N, T, F], gen_flag [N, T]
    and the features' outputs; on at most `max_series` series (evenly
    spaced)."""
    features = np.asarray(features)
    n, t = features.shape[:2]
    if t < 2:
        return []
    rows = _evenly_spaced(n, max_series)
    values = features[rows].astype("float64")
    active = np.asarray(gen_flag)[rows] > 0.5
    pairs = active[:, 1:] & active[:, :-1]
    counts = np.maximum(active.sum(axis=1, keepdims=True), 1)
    # Squared deviations summed over the active steps, scaled to the number
    # of step pairs: twice the variance per pair.
    per_pair = 2.0 * pairs.sum() / max(active.sum(), 1)
    smooth = []
    for index, (output, start, end) in enumerate(output_slices(outputs)):
        if output.is_discrete:
            continue
        ratios = []
        for column in range(start, end):
            x = np.where(active, values[:, :, column], 0.0)
            deviation = np.where(
                active, x - x.sum(axis=1, keepdims=True) / counts, 0.0
            )
            change = np.sum(np.where(pairs, np.diff(x, axis=1), 0.0) ** 2)
            spread = per_pair * np.sum(deviation**2)
            ratios.append(change / spread if spread > 0 else np.inf)
        if max(ratios) < threshold:
            smooth.append(index)
    return smooth


def _evenly_spaced(n, max_series):
    """Indices of at most `max_series` of `n` series, evenly spaced."""
    return np.linspace(0, n - 1, min(n, max_series)).astype(int)


def _lag_excess(values, lag):
    """The ACF of `values` [N, T] at `lag` over the mean of its two
    neighbours' (the excess of `block_artifact_score`)."""
    return _lag_acf(values, lag) - 0.5 * (
        _lag_acf(values, lag - 1) + _lag_acf(values, lag + 1)
    )


def _lag_acf(values, lag):
    """The sample-averaged ACF of `values` [N, T] at one lag."""
    return _pearson_rows(values[:, :-lag], values[:, lag:]).mean()
