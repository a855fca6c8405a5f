"""Discriminative score: how well a post-hoc classifier tells real from fake.

Equal numbers of real and synthetic series (seeded subsample of the larger
side) are labelled 1 and 0, split into stratified train and test parts, and
a scikit-learn classifier is fitted on the series (flattened features,
attributes and generation flags). The score is `|accuracy - 0.5|` on the
test part: 0 when the classifier cannot tell them apart, 0.5 when it always
can.

Reference:
    Yoon et al., "Time-series Generative Adversarial Networks", NeurIPS
    2019, §5 (the discriminative score), used here as in issue 4 of this
    project.
"""

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from keras_dg.evaluation._utils import check_pair
from keras_dg.evaluation._utils import single_threaded
from keras_dg.validation import check_float
from keras_dg.validation import check_seed


def _inputs(dataset):
    n = len(dataset)
    return np.concatenate(
        [dataset.features.reshape(n, -1), dataset.attributes, dataset.gen_flag],
        axis=1,
    ).astype("float64")


def discriminative_score(
    real, synthetic, classifier=None, test_size=0.3, seed=0
):
    """`|accuracy - 0.5|` of a classifier separating real from synthetic.

    Args:
        real: `TimeSeriesDataset`. Held-out real series (not the generator's
            training data).
        synthetic: `TimeSeriesDataset` with the same specs.
        classifier: scikit-learn classifier or `None`. Defaults to a
            `RandomForestClassifier(n_estimators=100, random_state=seed)`.
        test_size: float in (0, 1). Fraction held out for scoring. Defaults
            to 0.3.
        seed: int. Seeds the subsample, split and classifier. Defaults to 0.

    Returns:
        dict with `score` (`|accuracy - 0.5|`), `accuracy`, `n_train` and
        `n_test`.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> def make(low):
    ...     x = np.random.default_rng(0).uniform(low, low + 0.4, (20, 4, 1))
    ...     return TimeSeriesDataset(x, np.ones((20, 1)), np.ones((20, 4)),
    ...         [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 1)])
    >>> discriminative_score(make(0.0), make(0.6))["score"]
    0.5
    """
    check_pair(real, synthetic, min_series=4)
    seed = check_seed(seed)
    test_size = check_float(
        test_size,
        "test_size",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    if classifier is None:
        classifier = RandomForestClassifier(n_estimators=100, random_state=seed)
    if not (hasattr(classifier, "fit") and hasattr(classifier, "predict")):
        raise ValueError(
            "`classifier` must be a scikit-learn classifier with fit and "
            f"predict. Received: {classifier!r}"
        )
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic))
    real_x = _inputs(real)[np.sort(rng.choice(len(real), n, replace=False))]
    synthetic_x = _inputs(synthetic)[
        np.sort(rng.choice(len(synthetic), n, replace=False))
    ]
    x = np.concatenate([real_x, synthetic_x])
    y = np.concatenate([np.ones(n, "int64"), np.zeros(n, "int64")])
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    with single_threaded():
        model = clone(classifier).fit(x_train, y_train)
        accuracy = float(accuracy_score(y_test, model.predict(x_test)))
    return {
        "score": abs(accuracy - 0.5),
        "accuracy": accuracy,
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
    }
