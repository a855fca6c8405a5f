"""Memorization and membership inference, paper §5.4 and §6.

Series are compared as flattened feature vectors (padding included) by
Euclidean distance with `sklearn.neighbors.NearestNeighbors` (the paper ranks
by squared error; the order is the same).

- Nearest-neighbour distances from each synthetic series to the training
  set, next to those from held-out real series to the training set. A
  generator that copies its training data puts synthetic series much closer
  to the training set than unseen real series are.
- The closest (synthetic, training) pairs, for a visual check.
- A distance-threshold membership-inference attack: for equal numbers of
  training members and held-out non-members, the distance to the nearest
  synthetic series; a candidate closer than the median distance is guessed
  to be a member. The success rate (accuracy) is 0.5 when nothing leaks and
  1.0 when the synthetic data copies the training set. The ROC AUC of the
  same score is reported too.

Reference:
    Lin et al., "Using GANs for Sharing Networked Time Series Data",
    IMC 2020, §5.4 (memorization) and §6 (membership inference).
"""

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from keras_dg.evaluation._utils import check_compatible
from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation._utils import flat_features
from keras_dg.evaluation._utils import single_threaded
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed


def nearest_distances(queries, references):
    """Distance and index of each query's nearest reference series.

    Args:
        queries: `TimeSeriesDataset`.
        references: `TimeSeriesDataset` with the same specs.

    Returns:
        `(distances [N_queries], indices [N_queries])` as numpy arrays.
    """
    query_rows = flat_features(queries)
    reference_rows = flat_features(references)
    with single_threaded():
        model = NearestNeighbors(n_neighbors=1).fit(reference_rows)
        indices = model.kneighbors(query_rows, return_distance=False)[:, 0]
    # The brute-force search expands |a - b|^2 = |a|^2 + |b|^2 - 2ab, which
    # leaves round-off (~1e-8) for identical rows; recompute the distance of
    # each found pair directly, so a copy is at distance 0 exactly.
    distances = np.linalg.norm(query_rows - reference_rows[indices], axis=1)
    return distances, indices


def _summary(distances):
    return {
        "mean": float(np.mean(distances)),
        "median": float(np.median(distances)),
        "min": float(np.min(distances)),
        "q05": float(np.quantile(distances, 0.05)),
    }


def membership_inference(synthetic, members, non_members, seed=0):
    """Success rate of a nearest-synthetic-distance membership attack.

    Args:
        synthetic: `TimeSeriesDataset` the attacker sees.
        members: `TimeSeriesDataset`. Series the generator was trained on.
        non_members: `TimeSeriesDataset`. Real series it never saw.
        seed: int. Seeds the balancing subsample. Defaults to 0.

    Returns:
        dict with `success_rate` (accuracy of the median-threshold guess on
        a balanced candidate set), `auc`, `threshold`, and the candidate
        counts `n_members`, `n_non_members`.
    """
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    n = min(len(members), len(non_members))
    members = members[np.sort(rng.choice(len(members), n, replace=False))]
    non_members = non_members[
        np.sort(rng.choice(len(non_members), n, replace=False))
    ]
    member_d, _ = nearest_distances(members, synthetic)
    non_member_d, _ = nearest_distances(non_members, synthetic)
    distances = np.concatenate([member_d, non_member_d])
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    threshold = float(np.median(distances))
    guesses = distances < threshold
    return {
        "success_rate": float(np.mean(guesses == labels)),
        "auc": float(roc_auc_score(labels, -distances)),
        "threshold": threshold,
        "n_members": int(n),
        "n_non_members": int(n),
    }


def memorization(synthetic, train, holdout, n_closest=5, seed=0):
    """Nearest-neighbour distances to the training set, and an attack.

    Args:
        synthetic: `TimeSeriesDataset`. Generated series.
        train: `TimeSeriesDataset`. The generator's training series.
        holdout: `TimeSeriesDataset`. Real series not used for training.
        n_closest: int. How many closest (synthetic, train) pairs to list.
            Defaults to 5.
        seed: int. Defaults to 0.

    Returns:
        dict with distance summaries (`mean`, `median`, `min`, `q05`) under
        `synthetic_to_train` and `holdout_to_train`, `median_ratio`
        (synthetic median / holdout median; well below 1 suggests copying),
        `fraction_below_holdout_q05` (synthetic series closer to the
        training set than 95% of held-out ones), `closest_pairs` (list of
        `{"synthetic_index", "train_index", "distance"}`), and
        `membership_inference` (see `membership_inference`).

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> def make(seed):
    ...     x = np.random.default_rng(seed).uniform(size=(10, 4, 1))
    ...     return TimeSeriesDataset(x, np.ones((10, 1)), np.ones((10, 4)),
    ...         [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 1)])
    >>> train = make(0)
    >>> result = memorization(train, train, make(1))  # a copying generator
    >>> result["synthetic_to_train"]["median"]
    0.0
    >>> result["membership_inference"]["success_rate"]
    1.0
    """
    check_dataset(synthetic, "synthetic")
    check_dataset(train, "train")
    check_dataset(holdout, "holdout")
    check_compatible(train, synthetic, "train", "synthetic")
    check_compatible(train, holdout, "train", "holdout")
    n_closest = check_positive_int(n_closest, "n_closest")
    seed = check_seed(seed)
    synthetic_d, synthetic_i = nearest_distances(synthetic, train)
    holdout_d, _ = nearest_distances(holdout, train)
    holdout_median = float(np.median(holdout_d))
    order = np.argsort(synthetic_d, kind="stable")[:n_closest]
    return {
        "synthetic_to_train": _summary(synthetic_d),
        "holdout_to_train": _summary(holdout_d),
        "median_ratio": (
            float(np.median(synthetic_d)) / holdout_median
            if holdout_median > 0
            else None
        ),
        "fraction_below_holdout_q05": float(
            np.mean(synthetic_d < np.quantile(holdout_d, 0.05))
        ),
        "closest_pairs": [
            {
                "synthetic_index": int(i),
                "train_index": int(synthetic_i[i]),
                "distance": float(synthetic_d[i]),
            }
            for i in order
        ],
        "membership_inference": membership_inference(
            synthetic, train, holdout, seed=seed
        ),
    }
