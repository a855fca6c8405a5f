import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.tree import DecisionTreeClassifier

from keras_dg import Output
from keras_dg.evaluation import tstr_classification
from keras_dg.evaluation import tstr_regression
from tests.evaluation.helpers import make_dataset


def labelled(n, seed, noise=0.05):
    """Series whose level reveals the attribute: class c is near 0.2 + 0.3c."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, n)
    features = 0.2 + 0.3 * label[:, None] + rng.normal(0, noise, (n, 6))
    return make_dataset(np.clip(features, 0, 1), label)


def ramps(n, seed, t=8):
    """x_t = a + b t with random a, b: the future is linear in the past."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.0, 0.4, n)[:, None]
    b = rng.uniform(0.0, 0.07, n)[:, None]
    return make_dataset(a + b * np.arange(t)[None], np.zeros(n, "int64"))


def test_synthetic_equal_to_train_scores_like_real():
    train, test = labelled(60, seed=0), labelled(40, seed=1)
    result = tstr_classification(test, train, train=train)
    assert result["target"] == "attribute_0"
    assert (result["n_train"], result["n_test"]) == (60, 40)
    assert set(result["models"]) == {
        "mlp", "naive_bayes", "logistic_regression", "decision_tree",
        "linear_svm",
    }
    for scores in result["models"].values():
        assert scores["train_on_real"] == scores["train_on_synthetic"]
    assert result["train_on_real_mean"] > 0.9
    assert result["train_on_synthetic_mean"] == result["train_on_real_mean"]


def test_single_class_synthetic_gets_majority_accuracy():
    test = make_dataset(np.full((20, 5), 0.5), np.arange(20) % 2)
    train = make_dataset(
        np.random.default_rng(0).uniform(size=(20, 5)), np.arange(20) % 2
    )
    only_zero = make_dataset(
        np.full((20, 5), 0.5), np.zeros(20, "int64"),
        attribute_outputs=[Output("DISCRETE", 2)],
    )
    result = tstr_classification(test, only_zero, train=train)
    # Every model trained on one class predicts it: half the test is right.
    for scores in result["models"].values():
        assert scores["train_on_synthetic"] == 0.5


def test_spearman_of_model_rankings():
    train, test = labelled(60, 0, noise=0.15), labelled(40, 1, noise=0.15)
    models = {
        "depth_1": DecisionTreeClassifier(max_depth=1, random_state=0),
        "depth_4": DecisionTreeClassifier(max_depth=4, random_state=0),
    }
    result = tstr_classification(test, train, train=train, models=models)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["models"]["depth_1"]["train_on_real"] < (
        result["models"]["depth_4"]["train_on_real"]
    )


def test_regression_recovers_linear_future():
    train, test = ramps(50, 0), ramps(30, 1)
    result = tstr_regression(test, train, train=train, horizon=2)
    assert result["horizon"] == 2
    ridge = result["models"]["ridge"]
    assert ridge["train_on_real"] == ridge["train_on_synthetic"]
    exact = tstr_regression(
        test, train, train=train, horizon=2,
        models={"ols": LinearRegression(), "ols2": LinearRegression()},
    )
    assert exact["models"]["ols"]["train_on_real"] == pytest.approx(1.0)
    # Tied scores have no ranking.
    assert exact["spearman"] is None
    # Constant synthetic series teach nothing: R^2 <= 0 on real.
    flat = make_dataset(np.full((50, 8), 0.3), np.zeros(50, "int64"))
    poor = tstr_regression(test, flat, train=train, horizon=2)
    assert poor["models"]["ridge"]["train_on_synthetic"] <= 0.0


def test_without_train_real_is_split_in_halves_and_is_deterministic():
    real, synthetic = labelled(41, 0), labelled(100, 2)
    first = tstr_classification(real, synthetic, seed=3)
    assert (first["n_train"], first["n_test"]) == (20, 21)
    assert tstr_classification(real, synthetic, seed=3) == first
    assert tstr_regression(real, synthetic, seed=3) == tstr_regression(
        real, synthetic, seed=3
    )


def test_bad_arguments():
    real = labelled(20, 0)
    with pytest.raises(ValueError, match="target_attribute"):
        tstr_classification(real, real, target_attribute=1)
    with pytest.raises(ValueError, match="target_attribute"):
        tstr_classification(real, real, target_attribute="attribute_0")
    with pytest.raises(ValueError, match="horizon"):
        tstr_regression(real, real, horizon=6)
    with pytest.raises(ValueError, match="horizon"):
        tstr_regression(real, real, horizon=0)
    with pytest.raises(ValueError, match=r"`models\['x'\]`"):
        tstr_classification(real, real, models={"x": object()})
    with pytest.raises(ValueError, match="`models` must be a non-empty"):
        tstr_regression(real, real, models={})
    with pytest.raises(ValueError, match="`seed`"):
        tstr_regression(real, real, seed=-1)
    assert tstr_regression(
        real, real, horizon=np.int64(2), seed=np.int64(3)
    ) == tstr_regression(real, real, horizon=2, seed=3)
    with pytest.raises(ValueError, match="`target_attribute` must be an"):
        tstr_classification(real, real, target_attribute=True)
    with pytest.raises(ValueError, match="`max_train_series` must be an"):
        tstr_regression(real, real, max_train_series=np.bool_(True))
    with pytest.raises(ValueError, match="`real` needs at least 4"):
        tstr_regression(labelled(3, 0), real)
    one_category = make_dataset(np.full((8, 4), 0.5))
    with pytest.raises(ValueError, match="at least two categories"):
        tstr_classification(one_category, one_category)
