"""Fidelity of series longer than the training window.

A model trained on windows of `window` steps and asked for longer series
(`DoppelGANger.generate(n, length=...)`) may show a seam every `window`
steps: a jump, or a restart of its dynamics. Two measures:

- `seam_score`: per continuous feature, the W1 (Wasserstein-1) distance
  between the step-to-step changes `x[t + 1] - x[t]` across window
  boundaries (`t + 1` a multiple of `window`) and those elsewhere. A series
  without a seam scores what the real data score (its boundaries are only
  positions; the score is sampling noise plus whatever the data do at that
  phase, e.g. a weekday with `window` a multiple of 7), so the synthetic
  score is read beside the real one.
- `window_profile`: the mean absolute step change inside each window,
  window by window: a series that settles into a fixed cycle after its
  first window (no seam, but less life) shows a falling profile that the
  real data do not have.
- `long_series_fidelity`: both seam scores and profiles, and the ACF MSE
  over the full length beside the ACF MSE within windows (both datasets
  cut into windows of `window` steps with `TimeSeriesDataset.windows`): a
  long series that keeps the data's structure has a full-length ACF MSE
  near the in-window one.

Only the active steps count (both steps of a change inside the series).
Values are in the encoded units (continuous features in their
normalization's range).
"""

import numpy as np
from scipy.stats import wasserstein_distance

from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation._utils import check_pair
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation.autocorrelation import autocorrelation_mse
from keras_dg.validation import check_int


def _check_window(window, dataset, name):
    t = dataset.max_sequence_len
    window = check_int(window, "window", minimum=1)
    if window >= t:
        raise ValueError(
            f"`window` must be shorter than the series of `{name}` "
            f"(max_sequence_len={t}) for them to have a window boundary. "
            f"Received: window={window}"
        )
    return window


def step_changes(dataset, window):
    """The step-to-step changes of every continuous feature, split by
    whether they cross a window boundary.

    Args:
        dataset: `TimeSeriesDataset`.
        window: int. The window length; a change from step `t` to `t + 1`
            crosses a boundary when `t + 1` is a multiple of `window`.

    Returns:
        dict `{column name: (boundary changes, other changes)}` (1-D float64
        arrays over all series' active steps).
    """
    check_dataset(dataset, "dataset")
    window = _check_window(window, dataset, "dataset")
    values = dataset.features.astype("float64")
    active = dataset.gen_flag > 0.5
    both = active[:, 1:] & active[:, :-1]
    boundary = (np.arange(1, dataset.max_sequence_len) % window) == 0
    changes = {}
    for name, column in continuous_feature_columns(dataset):
        delta = np.diff(values[..., column], axis=1)
        changes[name] = (
            delta[both & boundary[None]],
            delta[both & ~boundary[None]],
        )
    return changes


def seam_score(dataset, window):
    """W1 between the step-to-step changes across window boundaries and
    elsewhere, per continuous feature and their mean.

    Args:
        dataset: `TimeSeriesDataset` of series longer than `window`.
        window: int. The training window (steps).

    Returns:
        dict with `score` (mean over continuous feature columns),
        `per_feature` `{column: w1}` and `boundary_changes` (how many
        changes cross a boundary).

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> x = np.tile(np.arange(12) % 4 / 3.0, (2, 1))[..., None]
    >>> ds = TimeSeriesDataset(x, np.ones((2, 1)), np.ones((2, 12)),
    ...     [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 1)])
    >>> round(seam_score(ds, 4)["score"], 4)  # a drop of 1 every 4 steps
    1.3333
    """
    changes = step_changes(dataset, window)
    if not changes:
        raise ValueError(
            "The seam score needs at least one continuous feature; "
            f"feature_outputs are {dataset.feature_outputs}."
        )
    per_feature = {}
    count = 0
    for name, (boundary, other) in changes.items():
        if len(boundary) == 0 or len(other) == 0:
            raise ValueError(
                "The seam score needs step changes both across window "
                f"boundaries and elsewhere; `{name}` has {len(boundary)} and"
                f" {len(other)} (series too short for window={window}?)."
            )
        per_feature[name] = float(wasserstein_distance(boundary, other))
        count = len(boundary)
    return {
        "score": float(np.mean(list(per_feature.values()))),
        "per_feature": per_feature,
        "boundary_changes": int(count),
    }


def window_profile(dataset, window):
    """Mean absolute step-to-step change inside each window (boundary
    changes left out), window by window, averaged over the continuous
    features.

    Args:
        dataset: `TimeSeriesDataset`.
        window: int. The window length.

    Returns:
        float64 array [number of whole windows]; NaN for a window without
        active changes.
    """
    changes = step_changes(dataset, window)  # Checks the arguments.
    if not changes:
        raise ValueError(
            "The window profile needs at least one continuous feature; "
            f"feature_outputs are {dataset.feature_outputs}."
        )
    active = dataset.gen_flag > 0.5
    both = active[:, 1:] & active[:, :-1]
    count = dataset.max_sequence_len // window
    values = dataset.features.astype("float64")
    profile = np.zeros(count)
    for _, column in continuous_feature_columns(dataset):
        delta = np.abs(np.diff(values[..., column], axis=1))
        for w in range(count):
            inside = slice(w * window, (w + 1) * window - 1)
            mask = both[:, inside]
            profile[w] += (
                delta[:, inside][mask].mean() if mask.any() else np.nan
            )
    return profile / len(changes)


def long_series_fidelity(real, synthetic, window, stride=None):
    """Seam and autocorrelation of long synthetic series beside the real
    ones.

    Args:
        real: `TimeSeriesDataset`, real series of the full length.
        synthetic: `TimeSeriesDataset` of the same specs and length (e.g.
            `generate(n, length=real.max_sequence_len)` of a model trained
            on windows of `window` steps).
        window: int. The training window (steps), shorter than the series.
        stride: int or None. Stride of the windows of the in-window ACF
            (`TimeSeriesDataset.windows`). Defaults to `window`.

    Returns:
        dict with `seam_synthetic` and `seam_real` (`seam_score`'s
        `score`), `seam_ratio` (synthetic / real), `acf_mse_full` (ACF MSE
        over the full length), `acf_mse_window` (ACF MSE of both cut into
        windows), `acf_ratio` (full / window), `profile_synthetic` and
        `profile_real` (`window_profile` as lists), `profile_ratio` (the
        synthetic profile's later windows over its first, divided by the
        same for the real data: 1 when the series keep their life past
        the first window, 0 when they freeze), and `per_feature` seam
        scores of both.
    """
    check_pair(real, synthetic)
    window = _check_window(window, real, "real")
    if window < 3:
        raise ValueError(
            "The in-window ACF needs windows of at least 3 steps (lags "
            f"1..window-2). Received: window={window}"
        )
    seam_real = seam_score(real, window)
    seam_synthetic = seam_score(synthetic, window)
    acf_full = autocorrelation_mse(real, synthetic)["mse"]
    acf_window = autocorrelation_mse(
        real.windows(window, stride), synthetic.windows(window, stride)
    )["mse"]
    profile_real = window_profile(real, window)
    profile_synthetic = window_profile(synthetic, window)
    return {
        "seam_synthetic": seam_synthetic["score"],
        "seam_real": seam_real["score"],
        "seam_ratio": _ratio(seam_synthetic["score"], seam_real["score"]),
        "acf_mse_full": acf_full,
        "acf_mse_window": acf_window,
        "acf_ratio": _ratio(acf_full, acf_window),
        "profile_synthetic": profile_synthetic.tolist(),
        "profile_real": profile_real.tolist(),
        "profile_ratio": _ratio(
            _late_over_first(profile_synthetic),
            _late_over_first(profile_real),
        ),
        "per_feature": {
            "seam_synthetic": seam_synthetic["per_feature"],
            "seam_real": seam_real["per_feature"],
        },
    }


def _late_over_first(profile):
    """The mean of the windows after the first over the first window."""
    if len(profile) < 2 or not profile[0] > 0:
        return float("nan")
    return float(np.nanmean(profile[1:]) / profile[0])


def _ratio(value, reference):
    if reference == 0:
        return float("inf") if value > 0 else 1.0
    return float(value / reference)
