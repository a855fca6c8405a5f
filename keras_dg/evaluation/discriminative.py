"""Discriminative score: how well a post-hoc classifier tells real from fake.

Equal numbers of real and synthetic series (seeded subsample of the larger
side) are labelled 1 and 0, split into stratified train and test parts, and
a scikit-learn classifier is fitted on the series (flattened features,
attributes and generation flags). The score is `|accuracy - 0.5|` on the
test part: 0 when the classifier cannot tell them apart, 0.5 when it always
can.

With `standardize=True` the classifier sees the *shape* of each series
only: every continuous feature column is standardised per series over its
active steps (mean 0, standard deviation 1; a constant series becomes 0;
padding stays 0), and attributes, discrete features and generation flags
are left out. A generator that gets each series' level and scale right but
not its course over time scores high here.

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

from keras_dg.evaluation._utils import active_mask
from keras_dg.evaluation._utils import check_pair
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation._utils import per_series_mean
from keras_dg.evaluation._utils import single_threaded
from keras_dg.validation import check_bool
from keras_dg.validation import check_float
from keras_dg.validation import check_seed


def _inputs(dataset):
    n = len(dataset)
    return np.concatenate(
        [dataset.features.reshape(n, -1), dataset.attributes, dataset.gen_flag],
        axis=1,
    ).astype("float64")


def standardized_shapes(dataset):
    """Continuous features standardised per series, float64 [N, T * C].

    Each of the C continuous feature columns is shifted and scaled to mean
    0 and standard deviation 1 over each series' active steps; a constant
    column becomes 0, and so do the padded steps.
    """
    mask = active_mask(dataset)
    counts = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    shapes = []
    for _, column in continuous_feature_columns(dataset):
        values = dataset.features[:, :, column].astype("float64")
        centred = np.where(
            mask, values - per_series_mean(values, mask)[:, None], 0.0
        )
        sd = np.sqrt((centred**2).sum(axis=1, keepdims=True) / counts)
        # Round-off of a constant series' mean is no shape: below 1e-9 of
        # the series' magnitude the column counts as constant.
        scale = np.abs(np.where(mask, values, 0.0)).max(axis=1, keepdims=True)
        constant = sd <= 1e-9 * np.maximum(scale, 1e-12)
        shapes.append(np.where(constant, 0.0, centred / np.where(
            constant, 1.0, sd
        )))
    return np.stack(shapes, axis=2).reshape(len(dataset), -1)


def discriminative_score(
    real, synthetic, classifier=None, test_size=0.3, seed=0,
    standardize=False,
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
        standardize: bool. Whether the classifier sees only each series'
            standardised continuous features (its shape; see the module
            docstring) instead of the raw series. Needs a continuous
            feature. Defaults to `False`.

    Returns:
        dict with `score` (`|accuracy - 0.5|`), `accuracy`, `n_train` and
        `n_test`.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> def make(low, seed):
    ...     x = np.random.default_rng(seed).uniform(low, low + 0.4, (40, 4, 1))
    ...     return TimeSeriesDataset(x, np.ones((40, 1)), np.ones((40, 4)),
    ...         [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 1)])
    >>> discriminative_score(make(0.0, 0), make(0.6, 1))["score"]
    0.5
    >>> # Noise of the same kind at another level: same shapes.
    >>> shape = discriminative_score(make(0.0, 0), make(0.6, 1),
    ...                              standardize=True)
    >>> shape["score"] < 0.25
    True
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
    standardize = check_bool(standardize, "standardize")
    if standardize and not continuous_feature_columns(real):
        raise ValueError(
            "`standardize=True` needs a continuous feature; feature_outputs "
            f"are {real.feature_outputs}."
        )
    if classifier is None:
        classifier = RandomForestClassifier(n_estimators=100, random_state=seed)
    if not (hasattr(classifier, "fit") and hasattr(classifier, "predict")):
        raise ValueError(
            "`classifier` must be a scikit-learn classifier with fit and "
            f"predict. Received: {classifier!r}"
        )
    inputs = standardized_shapes if standardize else _inputs
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic))
    real_x = inputs(real)[np.sort(rng.choice(len(real), n, replace=False))]
    synthetic_x = inputs(synthetic)[
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
