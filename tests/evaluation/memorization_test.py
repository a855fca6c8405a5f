import numpy as np
import pytest

from keras_dg.evaluation import membership_inference
from keras_dg.evaluation import memorization
from keras_dg.evaluation import nearest_distances
from tests.evaluation.helpers import random_dataset


def test_nearest_distances_of_a_shifted_copy():
    train = random_dataset(n=10, t=4, f=2)
    shifted = random_dataset(n=10, t=4, f=2, shift=0.01)
    distances, indices = nearest_distances(shifted, train)
    # Every entry moves by 0.01 over T * F = 8 entries.
    np.testing.assert_allclose(distances, 0.01 * np.sqrt(8), rtol=1e-4)
    np.testing.assert_array_equal(indices, np.arange(10))


def test_a_copying_generator_is_caught():
    train, holdout = random_dataset(n=30), random_dataset(n=20, seed=1)
    copy = train[np.random.default_rng(0).permutation(30)]
    result = memorization(copy, train, holdout, n_closest=3)
    assert result["synthetic_to_train"]["median"] == 0.0
    assert result["median_ratio"] == 0.0
    assert result["fraction_below_holdout_q05"] == 1.0
    assert len(result["closest_pairs"]) == 3
    for pair in result["closest_pairs"]:
        assert pair["distance"] == 0.0
        np.testing.assert_array_equal(
            copy.features[pair["synthetic_index"]],
            train.features[pair["train_index"]],
        )
    attack = result["membership_inference"]
    assert attack["success_rate"] == 1.0
    assert attack["auc"] == 1.0
    assert attack["n_members"] == attack["n_non_members"] == 20


def test_an_independent_generator_leaks_nothing():
    train = random_dataset(n=200, seed=0)
    holdout = random_dataset(n=200, seed=1)
    synthetic = random_dataset(n=200, seed=2)
    result = memorization(synthetic, train, holdout, seed=0)
    assert 0.9 < result["median_ratio"] < 1.1
    attack = result["membership_inference"]
    assert abs(attack["success_rate"] - 0.5) < 0.1
    assert abs(attack["auc"] - 0.5) < 0.1
    assert memorization(synthetic, train, holdout, seed=0) == result


def test_membership_inference_ties_guess_nobody():
    train = random_dataset(n=10)
    # All candidates equally far: nobody is below the median.
    result = membership_inference(train[:1], train[:1], train[:1])
    assert result["success_rate"] == 0.5


def test_bad_arguments():
    ds = random_dataset()
    with pytest.raises(ValueError, match="`train` must be a"):
        memorization(ds, None, ds)
    with pytest.raises(ValueError, match="n_closest"):
        memorization(ds, ds, ds, n_closest=0)
    with pytest.raises(ValueError, match="`holdout` and `train`"):
        memorization(ds, ds, random_dataset(t=5))


def test_numpy_integers_are_accepted_and_bools_refused():
    train, holdout = random_dataset(n=30), random_dataset(n=20, seed=1)
    assert memorization(
        train, train, holdout, n_closest=np.int64(3), seed=np.int64(2)
    ) == memorization(train, train, holdout, n_closest=3, seed=2)
    with pytest.raises(ValueError, match="`n_closest` must be a positive"):
        memorization(train, train, holdout, n_closest=np.bool_(True))
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0"):
        memorization(train, train, holdout, seed=True)
