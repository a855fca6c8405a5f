import numpy as np
import pytest

from keras_dg.data.splits import split_dataset
from tests.harness import tiny_dataset


def test_split_dataset():
    dataset = tiny_dataset(n=10)
    train, test = split_dataset(dataset, 0.3, seed=0)
    assert (len(train), len(test)) == (7, 3)
    rows = {tuple(r) for r in dataset.attributes.round(6)}
    assert {tuple(r) for r in train.attributes.round(6)} | {
        tuple(r) for r in test.attributes.round(6)
    } == rows
    again, _ = split_dataset(dataset, 0.3, seed=0)
    np.testing.assert_array_equal(again.features, train.features)
    other, _ = split_dataset(dataset, 0.3, seed=1)
    assert not np.array_equal(other.features, train.features)
    for fraction in (0, 1, 0.01, "0.2", True):
        with pytest.raises(ValueError, match="test_fraction"):
            split_dataset(dataset, fraction)
