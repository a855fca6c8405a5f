"""Seam score and long-series fidelity (`keras_dg/evaluation/long_series.py`)."""

import numpy as np
import pytest

from keras_dg import Output
from keras_dg import TimeSeriesDataset
from keras_dg.evaluation.long_series import long_series_fidelity
from keras_dg.evaluation.long_series import seam_score
from keras_dg.evaluation.long_series import step_changes
from keras_dg.evaluation.long_series import window_profile

OUTPUTS = [Output("CONTINUOUS", 1, "ZERO_ONE"), Output("DISCRETE", 2)]


def _dataset(values, gen_flag=None):
    n, t = values.shape
    features = np.zeros((n, t, 3), "float32")
    features[..., 0] = values
    features[..., 1] = 1.0
    if gen_flag is None:
        gen_flag = np.ones((n, t), "float32")
    features *= gen_flag[..., None]
    return TimeSeriesDataset(
        features, np.ones((n, 1)), gen_flag, OUTPUTS,
        [Output("DISCRETE", 1)],
    )


def _ar1(n, t, seed, phi=0.9):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, t))
    x[:, 0] = rng.normal(size=n)
    for i in range(1, t):
        x[:, i] = phi * x[:, i - 1] + rng.normal(scale=0.3, size=n)
    return (np.tanh(x) + 1) / 2


def _restarted(n, t, window, seed):
    """Windows generated independently (each from its own start): seams."""
    rng = np.random.default_rng(seed)
    pieces = [_ar1(n, window, rng.integers(1 << 30)) for _ in range(t // window)]
    # Each window climbs from a low start: a jump down at every boundary.
    pieces = [p * np.linspace(0.2, 1.0, window) for p in pieces]
    return np.concatenate(pieces, axis=1)


def test_step_changes_split_at_the_boundaries():
    values = np.arange(12, dtype="float32")[None] / 11
    values = np.repeat(values, 2, axis=0)
    flag = np.ones((2, 12), "float32")
    flag[1, 10:] = 0  # series 1 ends after step 9
    changes = step_changes(_dataset(values, flag), 4)
    boundary, other = changes["feature_0"]
    # Boundaries at t + 1 = 4, 8 in both series (series 1's 4 and 8 are
    # active); 11 changes in series 0, 9 in series 1.
    assert len(boundary) == 4 and len(other) == 11 + 9 - 4
    np.testing.assert_allclose(boundary, 1 / 11, rtol=1e-6)


def test_a_seamless_series_scores_near_the_real_data_and_a_seam_does_not():
    window, t = 8, 64
    real = _dataset(_ar1(200, t, 0))
    seamless = _dataset(_ar1(200, t, 1))
    seamed = _dataset(_restarted(200, t, window, 2))
    real_score = seam_score(real, window)
    assert real_score["boundary_changes"] == 200 * 7
    assert seam_score(seamless, window)["score"] < 2 * real_score["score"]
    assert seam_score(seamed, window)["score"] > 5 * real_score["score"]
    report = long_series_fidelity(real, seamless, window)
    assert report["seam_ratio"] < 2
    # Two draws of the same process: both ACF MSEs are estimation noise
    # (larger over the full length: long lags have few pairs).
    assert report["acf_mse_window"] < report["acf_mse_full"] < 0.01
    seamed_report = long_series_fidelity(real, seamed, window)
    assert seamed_report["seam_ratio"] > 5
    # Restarting every window breaks the ACF beyond the window's lags.
    assert seamed_report["acf_mse_full"] > 10 * report["acf_mse_full"]
    assert set(report["per_feature"]) == {"seam_synthetic", "seam_real"}


@pytest.mark.parametrize("window", [0, 64, 100, 2.5])
def test_bad_window_is_refused(window):
    with pytest.raises(ValueError, match="`window` must be"):
        seam_score(_dataset(_ar1(2, 64, 0)), window)


def test_in_window_acf_needs_three_steps():
    data = _dataset(_ar1(4, 16, 0))
    with pytest.raises(ValueError, match="at least 3 steps"):
        long_series_fidelity(data, data, 2)


def test_a_dataset_without_continuous_features_is_refused():
    data = TimeSeriesDataset(
        np.eye(2)[np.zeros((2, 8), int)], np.ones((2, 1)), np.ones((2, 8)),
        [Output("DISCRETE", 2)], [Output("DISCRETE", 1)],
    )
    with pytest.raises(ValueError, match="continuous feature"):
        seam_score(data, 4)


def test_window_profile_shows_series_that_freeze_after_the_first_window():
    window, t = 8, 64
    real = _ar1(100, t, 0)
    frozen = real.copy()
    # After the first window, the same value over and over.
    frozen[:, window:] = frozen[:, window - 1:window]
    profile = window_profile(_dataset(real), window)
    assert profile.shape == (8,) and np.all(profile > 0)
    frozen_profile = window_profile(_dataset(frozen), window)
    np.testing.assert_allclose(frozen_profile[0], profile[0])
    np.testing.assert_array_equal(frozen_profile[1:], 0.0)
    report = long_series_fidelity(_dataset(real), _dataset(frozen), window)
    assert report["profile_ratio"] == 0.0
    same = long_series_fidelity(_dataset(real), _dataset(_ar1(100, t, 1)), window)
    assert 0.8 < same["profile_ratio"] < 1.25
