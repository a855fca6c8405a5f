import numpy as np
import pytest
from scipy.stats import pearsonr

from keras_dg import Output
from keras_dg.evaluation import autocorrelation
from keras_dg.evaluation import autocorrelation_mse
from keras_dg.evaluation import feature_autocorrelations
from tests.evaluation.helpers import make_dataset
from tests.evaluation.helpers import random_dataset


def test_sinusoid_has_cosine_acf_at_whole_period_windows():
    # Over whole periods the sample correlation of sin(w t) and sin(w (t+k))
    # is exactly cos(w k); windows x[:-k] span T - k steps.
    period, t = 8, 40
    x = np.sin(2 * np.pi * np.arange(t) / period)[None]
    acf = autocorrelation(x)
    assert acf.shape == (t - 2,)
    for k in range(1, t - 1):
        if (t - k) % period == 0:
            np.testing.assert_allclose(
                acf[k - 1], np.cos(2 * np.pi * k / period), atol=1e-12
            )
    # Every lag is close to the cosine (windows of partial periods).
    lags = np.arange(1, 25)
    np.testing.assert_allclose(
        acf[lags - 1], np.cos(2 * np.pi * lags / period), atol=0.15
    )


def test_matches_scipy_pearson_averaged_over_series():
    x = np.random.default_rng(0).normal(size=(5, 12))
    acf = autocorrelation(x)
    for k in (1, 4, 10):
        expected = np.mean(
            [pearsonr(row[:-k], row[k:]).statistic for row in x]
        )
        np.testing.assert_allclose(acf[k - 1], expected, rtol=1e-12)


def test_original_rules_constant_alternating_and_ramp():
    t = 10
    # Constant: numerator and denominator 0 -> 1e-8 / 1e-8 = 1.
    np.testing.assert_array_equal(autocorrelation(np.full((2, t), 0.3)), 1.0)
    # (-1)^t: r = (-1)^k exactly.
    alternating = autocorrelation((-1.0) ** np.arange(t)[None])
    np.testing.assert_allclose(alternating, (-1.0) ** np.arange(1, t - 1))
    # A linear ramp is perfectly correlated with itself shifted; round-off
    # just above 1 is clipped, not zeroed.
    np.testing.assert_array_equal(
        autocorrelation(np.linspace(0.1, 0.9, t)[None]), 1.0
    )


def test_a_constant_window_counts_as_fully_correlated():
    # x[:-1] = [1, 1, 1] is constant, x[1:] = [1, 1, 0] is not: numerator 0
    # -> 1e-8, denominator 0 (one factor is 0) -> 1e-8, so r = 1 for lag 1;
    # lag 2 compares [1, 1] with [1, 0]: same rule, r = 1.
    x = np.array([[1.0, 1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(autocorrelation(x), [1.0, 1.0])


def test_mse_identical_is_zero_and_known_value():
    ds = random_dataset()
    result = autocorrelation_mse(ds, ds)
    assert result["mse"] == 0.0
    assert set(result["per_feature"]) == {"feature_0", "feature_1"}
    t = 10
    ramp = make_dataset(np.tile(np.linspace(-0.9, 0.9, t), (3, 1)))
    alternating = make_dataset(np.tile((-1.0) ** np.arange(t), (3, 1)))
    # ACFs 1 and (-1)^k over lags 1..8: (1 - (-1))^2 = 4 on the 4 odd lags.
    result = autocorrelation_mse(ramp, alternating)
    assert result["mse"] == pytest.approx(2.0)
    assert len(result["real"]["feature_0"]) == t - 2


def test_feature_names_skip_discrete_and_name_columns():
    features = np.zeros((4, 5, 4), "float32")
    features[..., 0] = 0.5
    features[..., 1] = 1.0  # one-hot of width 1
    features[..., 2:] = np.random.default_rng(0).uniform(size=(4, 5, 2))
    ds = make_dataset(
        features,
        feature_outputs=[
            Output("CONTINUOUS", 1, "ZERO_ONE"),
            Output("DISCRETE", 1),
            Output("CONTINUOUS", 2, "ZERO_ONE"),
        ],
    )
    assert list(feature_autocorrelations(ds)) == [
        "feature_0", "feature_2_0", "feature_2_1",
    ]


def test_bad_inputs():
    with pytest.raises(ValueError, match="T >= 3"):
        autocorrelation(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        autocorrelation(np.zeros(5))
    with pytest.raises(ValueError, match=r"index \(0, 1\)"):
        autocorrelation([[0.0, np.nan, 1.0]])
    with pytest.raises(ValueError, match="`real` must be a"):
        autocorrelation_mse(np.zeros((2, 5, 1)), random_dataset())
    with pytest.raises(ValueError, match="max_sequence_len"):
        autocorrelation_mse(random_dataset(t=8), random_dataset(t=6))
    with pytest.raises(ValueError, match="feature_outputs"):
        autocorrelation_mse(random_dataset(f=2), random_dataset(f=1))
    discrete_only = make_dataset(
        np.ones((3, 5, 1)), feature_outputs=[Output("DISCRETE", 1)]
    )
    with pytest.raises(ValueError, match="continuous feature"):
        autocorrelation_mse(discrete_only, discrete_only)
