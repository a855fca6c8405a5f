import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from keras_dg import Output
from keras_dg.evaluation import discriminative_score
from keras_dg.evaluation.discriminative import standardized_shapes
from tests.evaluation.helpers import make_dataset
from tests.evaluation.helpers import random_dataset


def test_separable_data_scores_one_half():
    low = random_dataset(n=30, seed=2)
    low.features *= 0.2  # in [0, 0.16]
    high = random_dataset(n=30, seed=3)
    high.features = 0.5 + 0.5 * high.features  # in [0.5, 0.9]
    result = discriminative_score(low, high)
    assert result["score"] == 0.5
    assert result["accuracy"] == 1.0
    assert result["n_train"] + result["n_test"] == 60
    # Overlapping ranges ([0, 0.8] vs [0.2, 1.0]) are still easy to tell.
    shifted = discriminative_score(
        random_dataset(n=30), random_dataset(n=30, seed=1, shift=0.2)
    )
    assert 0.3 < shifted["score"] <= 0.5


def test_constant_guess_scores_zero_on_balanced_test_set():
    real, synthetic = random_dataset(n=20), random_dataset(n=50, seed=1)
    result = discriminative_score(
        real, synthetic, classifier=DummyClassifier(strategy="most_frequent")
    )
    # 20 of each side, stratified: the test set is half real, half fake.
    assert result["accuracy"] == 0.5
    assert result["score"] == 0.0


def test_same_distribution_scores_near_zero_and_is_deterministic():
    real, synthetic = random_dataset(n=200), random_dataset(n=200, seed=1)
    result = discriminative_score(real, synthetic, seed=4)
    assert result["score"] < 0.12
    assert discriminative_score(real, synthetic, seed=4) == result


def test_bad_arguments():
    ds = random_dataset()
    for bad in (0, 1.0, 1.5, True, "0.3"):
        with pytest.raises(ValueError, match="test_size"):
            discriminative_score(ds, ds, test_size=bad)
    with pytest.raises(ValueError, match="classifier"):
        discriminative_score(ds, ds, classifier=np.zeros(3))
    with pytest.raises(ValueError, match="at least 4"):
        discriminative_score(random_dataset(n=3), ds)


def test_numpy_scalars_are_accepted_and_bools_refused():
    real, synthetic = random_dataset(n=20), random_dataset(n=20, seed=1)
    assert discriminative_score(
        real, synthetic, test_size=np.float64(0.25), seed=np.int64(4)
    ) == discriminative_score(real, synthetic, test_size=0.25, seed=4)
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0"):
        discriminative_score(real, synthetic, seed=np.bool_(False))


def _scaled_copies(n=60, t=12, seed=0):
    """Two datasets of the same random walks, the second with each series
    scaled and shifted by its own random factor and offset."""
    rng = np.random.default_rng(seed)
    walks = np.cumsum(rng.normal(size=(2 * n, t)), axis=1)
    walks = (walks - walks.min()) / (walks.max() - walks.min())
    real = make_dataset(0.1 + 0.3 * walks[:n])
    scale = rng.uniform(0.5, 1.2, (n, 1))
    synthetic = make_dataset(0.55 + 0.3 * scale * walks[n:])
    return real, synthetic


def test_standardized_scores_shape_only():
    real, synthetic = _scaled_copies()
    raw = discriminative_score(real, synthetic)
    shape = discriminative_score(real, synthetic, standardize=True)
    assert raw["score"] > 0.4
    assert shape["score"] < 0.15
    assert shape["n_train"] == raw["n_train"]
    # A different course over time (rising vs wandering) still shows.
    rising = make_dataset(np.sort(synthetic.features[:, :, 0], axis=1))
    assert discriminative_score(
        real, rising, standardize=True
    )["score"] > 0.35


def test_standardized_shapes_per_series():
    features = np.zeros((3, 5, 2))
    features[0, :, 0] = [0.1, 0.2, 0.3, 0.4, 0.5]
    features[1, :, 0] = 0.7  # constant: shape 0
    features[2, :3, 0] = [0.2, 0.4, 0.6]
    features[:, :, 1] = 0.3
    ds = make_dataset(features, lengths=[5, 5, 3])
    shapes = standardized_shapes(ds).reshape(3, 5, 2)
    z = np.array([-2, -1, 0, 1, 2]) / np.sqrt(2)
    np.testing.assert_allclose(shapes[0, :, 0], z, atol=1e-6)
    np.testing.assert_array_equal(shapes[1], 0.0)
    np.testing.assert_allclose(
        shapes[2, :, 0], [-np.sqrt(1.5), 0, np.sqrt(1.5), 0, 0], atol=1e-6
    )
    np.testing.assert_array_equal(shapes[:, :, 1], 0.0)


def test_standardize_needs_a_bool_and_a_continuous_feature():
    ds = random_dataset(n=8)
    for bad in (1, "yes", None):
        with pytest.raises(ValueError, match="`standardize` must be True"):
            discriminative_score(ds, ds, standardize=bad)
    discrete = make_dataset(
        np.ones((6, 4, 1)), feature_outputs=[Output("DISCRETE", 1)]
    )
    with pytest.raises(ValueError, match="needs a continuous feature"):
        discriminative_score(discrete, discrete, standardize=True)
