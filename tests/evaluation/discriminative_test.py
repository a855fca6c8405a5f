import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from keras_dg.evaluation import discriminative_score
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
