import numpy as np
import pytest

from keras_dg import Output
from keras_dg import TimeSeriesDataset
from keras_dg.evaluation import attribute_distances
from keras_dg.evaluation import conditional_distance
from keras_dg.evaluation import cross_correlation_distance
from keras_dg.evaluation import cross_correlations
from keras_dg.evaluation import js_divergence
from keras_dg.evaluation import length_distance
from keras_dg.evaluation import midpoint_distance
from keras_dg.evaluation import midpoints
from tests.evaluation.helpers import make_dataset
from tests.evaluation.helpers import random_dataset


def test_js_divergence_known_values():
    assert js_divergence([0, 1, 1, 0], [1, 1, 0, 0]) == 0.0
    assert js_divergence(["a", "a"], ["b"]) == pytest.approx(1.0)
    # p = (1/2, 1/2), q = (1, 0): H(m) - (H(p) + H(q)) / 2 with
    # m = (3/4, 1/4) -> 0.811278... - 0.5.
    expected = -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)) - 0.5
    assert js_divergence([0, 1], [0, 0, 0]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="must not be empty"):
        js_divergence([], [1])


def test_attributes_identical_marginals_but_different_joint():
    n = 20
    a = np.arange(n) % 2
    real = make_dataset(np.full((n, 4), 0.5), np.stack([a, a], 1))
    synthetic = make_dataset(np.full((n, 4), 0.5), np.stack([a, 1 - a], 1))
    result = attribute_distances(real, synthetic)
    assert result["js_divergence"]["attribute_0"] == 0.0
    assert result["js_divergence"]["attribute_1"] == 0.0
    assert result["js_divergence_mean"] == 0.0
    # Joint supports {(0,0),(1,1)} vs {(0,1),(1,0)} are disjoint.
    assert result["js_divergence"]["joint"] == pytest.approx(1.0)
    assert result["wasserstein"] == {}


def test_continuous_attribute_shift_is_the_wasserstein_distance():
    outputs = [Output("DISCRETE", 2), Output("CONTINUOUS", 1, "ZERO_ONE")]
    rng = np.random.default_rng(0)
    value = rng.uniform(0, 0.7, 30)

    def make(shift):
        attributes = np.concatenate(
            [np.eye(2)[np.arange(30) % 2], (value + shift)[:, None]], 1
        )
        return TimeSeriesDataset(
            np.full((30, 3, 1), 0.5), attributes, np.ones((30, 3)),
            [Output("CONTINUOUS", 1, "ZERO_ONE")], outputs,
        )

    result = attribute_distances(make(0.0), make(0.25))
    assert result["wasserstein"]["attribute_1"] == pytest.approx(0.25)
    assert result["js_divergence"]["attribute_0"] == 0.0


def test_length_distance_known_shift():
    real = make_dataset(np.full((6, 8), 0.5), lengths=[4] * 6)
    synthetic = make_dataset(np.full((6, 8), 0.5), lengths=[6] * 6)
    assert length_distance(real, real)["wasserstein"] == 0.0
    result = length_distance(real, synthetic)
    assert result["wasserstein"] == pytest.approx(2.0)
    assert (result["real_mean"], result["synthetic_mean"]) == (4.0, 6.0)


def test_midpoints_use_active_steps_only():
    # The padding zero after the end must not count as the minimum.
    ds = make_dataset([[0.5, 0.7, 0.9], [0.2, 0.4, 0.6]], lengths=[2, 3])
    np.testing.assert_allclose(midpoints(ds)["feature_0"], [0.6, 0.4])


def test_midpoint_distance_known_shift():
    real = random_dataset(f=2)
    synthetic = random_dataset(f=2, shift=0.15)
    assert midpoint_distance(real, real)["mean"] == 0.0
    result = midpoint_distance(real, synthetic)
    for value in result["per_feature"].values():
        assert value == pytest.approx(0.15)
    assert result["mean"] == pytest.approx(0.15)


def test_cross_correlation_opposite_signs_are_two_apart():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, (10, 6))
    same = make_dataset(np.stack([x, x], -1))
    opposite = make_dataset(np.stack([x, 1.0 - x], -1))
    r = cross_correlations(same)["feature_0~feature_1"]
    np.testing.assert_allclose(r, 1.0)
    assert cross_correlation_distance(same, same)["mean"] == 0.0
    result = cross_correlation_distance(same, opposite)
    assert result["per_pair"]["feature_0~feature_1"] == pytest.approx(2.0)


def test_cross_correlation_drops_constant_series_and_respects_lengths():
    x = np.array([[0.1, 0.5, 0.3, 0.9], [0.4, 0.4, 0.4, 0.4]])
    y = np.array([[0.2, 0.6, 0.4, 0.0], [0.1, 0.2, 0.3, 0.4]])
    ds = make_dataset(np.stack([x, y], -1), lengths=[3, 4])
    r = cross_correlations(ds)["feature_0~feature_1"]
    # Series 0 over its 3 active steps is y = x + 0.1 (r = 1); series 1 has
    # a constant feature and no correlation.
    np.testing.assert_allclose(r, [1.0])
    with pytest.raises(ValueError, match="at least 2 continuous"):
        cross_correlation_distance(random_dataset(f=1), random_dataset(f=1))


def test_conditional_distance_per_category():
    n = 40
    category = np.arange(n) % 2
    level = np.random.default_rng(0).uniform(0.1, 0.6, n)
    features = np.repeat(level[:, None], 5, axis=1)
    real = make_dataset(features, category)
    shifted = features + 0.2 * (category == 0)[:, None]
    synthetic = make_dataset(shifted, category)
    result = conditional_distance(real, synthetic)
    per_category = result["per_attribute"]["attribute_0"]["feature_0"][
        "per_category"
    ]
    assert per_category["0"] == pytest.approx(0.2)
    assert per_category["1"] == pytest.approx(0.0)
    assert result["mean"] == pytest.approx(0.1)
    assert result["missing"] == {"attribute_0": []}
    assert conditional_distance(real, real)["mean"] == 0.0


def test_conditional_distance_lists_missing_categories():
    n = 12
    real = make_dataset(
        np.full((n, 4), 0.5), np.arange(n) % 3,
        attribute_outputs=[Output("DISCRETE", 3)],
    )
    synthetic = make_dataset(
        np.full((n, 4), 0.5), np.zeros(n, "int64"),
        attribute_outputs=[Output("DISCRETE", 3)],
    )
    result = conditional_distance(real, synthetic)
    assert result["missing"] == {"attribute_0": [1, 2]}
    assert list(
        result["per_attribute"]["attribute_0"]["feature_0"]["per_category"]
    ) == ["0"]


def test_mismatched_inputs_raise():
    with pytest.raises(ValueError, match="attribute_outputs"):
        attribute_distances(
            random_dataset(categories=(3,)), random_dataset(categories=(4,))
        )
    with pytest.raises(ValueError, match="`synthetic` must be a"):
        length_distance(random_dataset(), None)
    discrete_features = make_dataset(
        np.ones((3, 4, 1)), feature_outputs=[Output("DISCRETE", 1)]
    )
    with pytest.raises(ValueError, match="continuous feature"):
        midpoint_distance(discrete_features, discrete_features)
    with pytest.raises(ValueError, match="continuous feature"):
        conditional_distance(discrete_features, discrete_features)
