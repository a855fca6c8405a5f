"""Downstream use: train on synthetic, test on real (TSTR), paper §5.3.

Two tasks, each with several scikit-learn models:

- classification: predict a discrete attribute (its category) from the
  series (the flattened features and generation flags); scored by accuracy.
  The paper does this on GCUT with an MLP, naive Bayes, logistic regression,
  a decision tree and a linear SVM.
- regression: predict the last `horizon` steps of the continuous features
  from the steps before them; scored by R^2 (averaged over the predicted
  values weighted by their variance, so near-constant targets do not
  dominate).
  The paper does this on WWT with several regressors.

Every model is trained once on real training data and once on synthetic
data, and both are tested on the same held-out real series. The models'
ranking agreement is the Spearman correlation of their real-trained and
synthetic-trained scores (`scipy.stats.spearmanr`).

Real training data is `train` when given; otherwise `real` is split in two
halves (seeded): one half trains, the other tests. The synthetic training
set is subsampled (seeded) to the real training set's size when larger, so
both sides train on as many series.

Reference:
    Lin et al., "Using GANs for Sharing Networked Time Series Data",
    IMC 2020, §5.3 (`shared/ALGORITHM.md` §9).
"""

import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score
from sklearn.metrics import r2_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPClassifier
from sklearn.neural_network import MLPRegressor
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree import DecisionTreeRegressor

from keras_dg.evaluation._utils import category_indices
from keras_dg.evaluation._utils import check_compatible
from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation._utils import check_pair
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation._utils import discrete_attribute_blocks
from keras_dg.evaluation._utils import mean_of
from keras_dg.evaluation._utils import single_threaded
from keras_dg.evaluation._utils import to_float
from keras_dg.validation import check_int
from keras_dg.validation import check_seed


def default_classifiers(seed=0):
    """The paper's five GCUT classifiers.

    Inputs are already scaled to [0, 1] or [-1, 1] by the encoding, so no
    standardization is applied (standardizing near-constant columns, such
    as a mostly-zero loss rate, blows rare values up to large z-scores).
    """
    return {
        "mlp": MLPClassifier(
            hidden_layer_sizes=(32,), max_iter=200, random_state=seed
        ),
        "naive_bayes": GaussianNB(),
        "logistic_regression": LogisticRegression(max_iter=200),
        "decision_tree": DecisionTreeClassifier(random_state=seed),
        "linear_svm": LinearSVC(random_state=seed),
    }


def default_regressors(seed=0):
    """Five regressors for next-values prediction (inputs not rescaled)."""
    return {
        "ridge": Ridge(alpha=1.0),
        "kernel_ridge": KernelRidge(kernel="rbf", alpha=1.0),
        "knn": KNeighborsRegressor(n_neighbors=5),
        "decision_tree": DecisionTreeRegressor(max_depth=8, random_state=seed),
        "mlp": MLPRegressor(
            hidden_layer_sizes=(32,), max_iter=200, random_state=seed
        ),
    }


def _check_tstr_arguments(
    real, synthetic, seed, max_train_series, models, default_models
):
    """The checks both TSTR tasks share: the cleaned seed, training-set cap
    and models (`default_models(seed)` when `models` is `None`)."""
    check_pair(real, synthetic)
    seed = check_seed(seed)
    max_train_series = check_int(
        max_train_series, "max_train_series", minimum=2
    )
    models = _check_models(
        default_models(seed) if models is None else models, "models"
    )
    return seed, max_train_series, models


def _check_models(models, name):
    if not isinstance(models, dict) or not models:
        raise ValueError(
            f"`{name}` must be a non-empty dict of name -> scikit-learn "
            f"estimator. Received: {models!r}"
        )
    for key, model in models.items():
        if not (hasattr(model, "fit") and hasattr(model, "predict")):
            raise ValueError(
                f"`{name}[{key!r}]` must be a scikit-learn estimator with "
                f"fit and predict. Received: {model!r}"
            )
    return models


def _splits(real, synthetic, train, seed, max_train_series):
    """(real_train, real_test, synthetic_train) as datasets."""
    rng = np.random.default_rng(seed)
    if train is None:
        check_dataset(real, "real", min_series=4)
        order = rng.permutation(len(real))
        half = len(real) // 2
        real_train, real_test = real[order[:half]], real[order[half:]]
    else:
        check_dataset(train, "train", min_series=2)
        check_compatible(real, train, "real", "train")
        real_train, real_test = train, real
    if len(real_train) > max_train_series:
        real_train = real_train[
            np.sort(rng.choice(len(real_train), max_train_series, False))
        ]
    synthetic_train = synthetic
    if len(synthetic) > len(real_train):
        synthetic_train = synthetic[
            np.sort(rng.choice(len(synthetic), len(real_train), False))
        ]
    return real_train, real_test, synthetic_train


def _fit_and_score(model, x_train, y_train, x_test, y_test, task):
    if task == "classification" and np.unique(y_train).size < 2:
        # One class only: every classifier would predict it.
        model = DummyClassifier(strategy="most_frequent")
    elif hasattr(model, "n_neighbors") and model.n_neighbors > len(x_train):
        model = clone(model).set_params(n_neighbors=len(x_train))
    estimator = clone(model)
    with warnings.catch_warnings(), single_threaded():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x_train, y_train)
        prediction = estimator.predict(x_test)
    if task == "classification":
        return float(accuracy_score(y_test, prediction))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return to_float(
            r2_score(y_test, prediction, multioutput="variance_weighted")
        )


def _compare(models, real_xy, synthetic_xy, test_xy, task):
    results, real_scores, synthetic_scores = {}, [], []
    for name, model in models.items():
        on_real = _fit_and_score(model, *real_xy, *test_xy, task)
        on_synthetic = _fit_and_score(model, *synthetic_xy, *test_xy, task)
        results[name] = {
            "train_on_real": on_real,
            "train_on_synthetic": on_synthetic,
        }
        real_scores.append(np.nan if on_real is None else on_real)
        synthetic_scores.append(
            np.nan if on_synthetic is None else on_synthetic
        )
    rho = None
    if len(models) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = to_float(
                spearmanr(real_scores, synthetic_scores, nan_policy="omit")
                .statistic
            )
    return {
        "models": results,
        "train_on_real_mean": mean_of(
            r["train_on_real"] for r in results.values()
        ),
        "train_on_synthetic_mean": mean_of(
            r["train_on_synthetic"] for r in results.values()
        ),
        "spearman": rho,
    }


def _series_inputs(dataset):
    return np.concatenate(
        [dataset.features.reshape(len(dataset), -1), dataset.gen_flag], axis=1
    ).astype("float64")


def tstr_classification(
    real,
    synthetic,
    train=None,
    target_attribute=None,
    models=None,
    seed=0,
    max_train_series=5000,
):
    """TSTR accuracy of classifiers predicting a discrete attribute.

    Args:
        real: `TimeSeriesDataset`. Held-out real series (the test set; also
            the real training set's source when `train` is `None`).
        synthetic: `TimeSeriesDataset` with the same specs.
        train: `TimeSeriesDataset` or `None`. The real training set.
            Defaults to `None` (split `real` in halves).
        target_attribute: int or `None`. Index into `attribute_outputs` of a
            discrete attribute to predict. Defaults to the first discrete
            attribute with at least two categories in the real data.
        models: dict of name -> scikit-learn classifier, or `None` for
            `default_classifiers(seed)`.
        seed: int. Seeds the split and the models. Defaults to 0.
        max_train_series: int. Cap on the training set size. Defaults to
            5000.

    Returns:
        dict with `target`, `n_train`, `n_test`, `models` `{name:
        {"train_on_real": acc, "train_on_synthetic": acc}}`, the two means,
        and `spearman` (rank correlation of the models' two scores).
    """
    seed, max_train_series, models = _check_tstr_arguments(
        real, synthetic, seed, max_train_series, models, default_classifiers
    )
    blocks = {
        int(name.split("_")[1]): (name, start, end)
        for name, start, end in discrete_attribute_blocks(real)
    }
    if target_attribute is None:
        for index, (_, start, end) in blocks.items():
            if np.unique(category_indices(real, start, end)).size >= 2:
                target_attribute = index
                break
        else:
            raise ValueError(
                "TSTR classification needs a discrete attribute with at least "
                "two categories in `real`; none found in attribute_outputs "
                f"{real.attribute_outputs}."
            )
    target_attribute = check_int(target_attribute, "target_attribute")
    if target_attribute not in blocks:
        raise ValueError(
            "`target_attribute` must be the index of a discrete attribute "
            f"output, one of {sorted(blocks)}. Received: "
            f"target_attribute={target_attribute!r}"
        )
    name, start, end = blocks[target_attribute]
    real_train, real_test, synthetic_train = _splits(
        real, synthetic, train, seed, max_train_series
    )

    def xy(dataset):
        return _series_inputs(dataset), category_indices(dataset, start, end)

    result = _compare(
        models, xy(real_train), xy(synthetic_train), xy(real_test),
        "classification",
    )
    return {
        "target": name,
        "n_train": len(real_train),
        "n_test": len(real_test),
        **result,
    }


def tstr_regression(
    real,
    synthetic,
    train=None,
    horizon=None,
    models=None,
    seed=0,
    max_train_series=5000,
):
    """TSTR R^2 of regressors predicting the next values from the past.

    Inputs are the continuous features at steps `[0, T - horizon)`, targets
    those at steps `[T - horizon, T)` (zeros after a series' end are kept,
    as in the encoding).

    Args:
        real: `TimeSeriesDataset`. Held-out real series (see
            `tstr_classification`).
        synthetic: `TimeSeriesDataset` with the same specs.
        train: `TimeSeriesDataset` or `None`. Defaults to `None`.
        horizon: int or `None`. Steps to predict, 1..T-1. Defaults to
            `max(1, T // 10)`.
        models: dict of name -> scikit-learn regressor, or `None` for
            `default_regressors(seed)`.
        seed: int. Defaults to 0.
        max_train_series: int. Defaults to 5000.

    Returns:
        dict with `horizon`, `n_train`, `n_test`, `models` `{name:
        {"train_on_real": r2, "train_on_synthetic": r2}}`, the two means, and
        `spearman`.
    """
    seed, max_train_series, models = _check_tstr_arguments(
        real, synthetic, seed, max_train_series, models, default_regressors
    )
    columns = [c for _, c in continuous_feature_columns(real)]
    if not columns:
        raise ValueError(
            "TSTR regression needs a continuous feature; feature_outputs "
            f"are {real.feature_outputs}."
        )
    t = real.max_sequence_len
    if t < 2:
        raise ValueError(
            f"TSTR regression needs max_sequence_len >= 2. Received {t}."
        )
    if horizon is None:
        horizon = max(1, t // 10)
    horizon = check_int(horizon, "horizon", minimum=1, maximum=t - 1)
    real_train, real_test, synthetic_train = _splits(
        real, synthetic, train, seed, max_train_series
    )

    def xy(dataset):
        values = dataset.features[:, :, columns].astype("float64")
        n = len(dataset)
        targets = values[:, t - horizon :].reshape(n, -1)
        if targets.shape[1] == 1:
            targets = targets[:, 0]
        return values[:, : t - horizon].reshape(n, -1), targets

    result = _compare(
        models, xy(real_train), xy(synthetic_train), xy(real_test),
        "regression",
    )
    return {
        "horizon": int(horizon),
        "n_train": len(real_train),
        "n_test": len(real_test),
        **result,
    }
