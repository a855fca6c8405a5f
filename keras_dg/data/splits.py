"""Splitting a dataset's series at random into training and test data."""

import numpy as np

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.validation import check_float
from keras_dg.validation import check_seed


def split_dataset(dataset, test_fraction=0.2, seed=0):
    """Splits a dataset's series at random into (train, test).

    Args:
        dataset: `TimeSeriesDataset`.
        test_fraction: float in (0, 1). Share of series held out.
            Defaults to 0.2.
        seed: int. Defaults to 0.

    Returns:
        `(train, test)`, both non-empty, series in their original order.

    Example:
    >>> train, test = split_dataset(dataset, 0.2, seed=0)  # doctest: +SKIP
    """
    if not isinstance(dataset, TimeSeriesDataset):
        raise ValueError(
            "`dataset` must be a TimeSeriesDataset. Received: "
            f"{type(dataset).__name__}"
        )
    test_fraction = check_float(
        test_fraction, "test_fraction", minimum=0, maximum=1,
        exclusive_minimum=True, exclusive_maximum=True,
    )
    seed = check_seed(seed)
    n = len(dataset)
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n_test >= n:
        raise ValueError(
            f"`test_fraction`={test_fraction} of {n} series leaves an empty "
            "split; use more series or another fraction."
        )
    order = np.random.default_rng(seed).permutation(n)
    return dataset[np.sort(order[n_test:])], dataset[np.sort(order[:n_test])]
