import json

import numpy as np
import pytest

from keras_dg import Output
from keras_dg.evaluation import GROUPS
from keras_dg.evaluation import SCALAR_METRICS
from keras_dg.evaluation import evaluate
from keras_dg.evaluation import unavailable_metrics
from keras_dg.evaluation.metrics import dumps
from tests.evaluation.helpers import make_dataset
from tests.evaluation.helpers import random_dataset


def test_identical_data_gives_zero_distances():
    real = random_dataset(n=30, categories=(3, 2))
    result = evaluate(real, real, train=real)
    summary = result["summary"]
    for name in (
        "acf_mse", "attribute_jsd", "joint_attribute_jsd", "length_w1",
        "midpoint_w1", "cross_correlation_w1", "conditional_w1",
    ):
        assert summary[name] == 0.0, name
    assert result["memorization"]["synthetic_to_train"]["min"] == 0.0
    assert result["skipped"] == {}
    assert set(result) == {"summary", "skipped", "n_series", *GROUPS}
    assert set(summary) == set(SCALAR_METRICS)
    # TSTR on a copy of the training set scores exactly like real training.
    for group in ("tstr_classification", "tstr_regression"):
        for scores in result[group]["models"].values():
            assert scores["train_on_real"] == scores["train_on_synthetic"]


def test_result_is_strict_json_and_deterministic():
    real = random_dataset(n=24)
    synthetic = random_dataset(n=24, shift=0.1)
    result = evaluate(real, synthetic, seed=5)
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert json.loads(dumps(result)) == result
    assert evaluate(real, synthetic, seed=5) == result
    assert result["summary"]["midpoint_w1"] == pytest.approx(0.1)
    assert result["n_series"] == {"real": 24, "synthetic": 24, "train": None}


def test_inapplicable_groups_are_skipped_with_a_reason():
    one_feature = random_dataset(n=20, f=1)
    result = evaluate(one_feature, one_feature)
    assert result["skipped"] == {
        "cross_correlation": "fewer than 2 continuous feature columns",
        "memorization": "needs `train`",
    }
    assert "memorization_median_ratio" not in result["summary"]
    assert unavailable_metrics(one_feature, metrics=["acf_mse"]) == {}


def test_selected_metrics_by_group_or_scalar_name():
    real, synthetic = random_dataset(n=20), random_dataset(n=20, seed=1)
    result = evaluate(real, synthetic, metrics=["acf_mse", "lengths"])
    assert set(result) == {
        "summary", "autocorrelation", "lengths", "skipped", "n_series",
    }
    assert set(result["summary"]) == {"acf_mse", "length_w1"}
    assert evaluate(real, synthetic, metrics="acf_mse")["summary"] == {
        "acf_mse": result["summary"]["acf_mse"]
    }


def test_bad_arguments():
    ds = random_dataset(n=10)
    with pytest.raises(ValueError, match="Unknown metric 'acf'"):
        evaluate(ds, ds, metrics=["acf"])
    with pytest.raises(ValueError, match="must name at least one metric"):
        evaluate(ds, ds, metrics=[])
    with pytest.raises(ValueError, match="list of metric names"):
        evaluate(ds, ds, metrics=3)
    with pytest.raises(ValueError, match="'memorization'.*needs `train`"):
        evaluate(ds, ds, metrics=["memorization"])
    with pytest.raises(ValueError, match="`train` and `real`"):
        evaluate(ds, ds, train=random_dataset(t=5))
    with pytest.raises(ValueError, match="`seed`"):
        evaluate(ds, ds, seed=1.5)
    discrete_features = make_dataset(
        np.ones((6, 4, 1)), feature_outputs=[Output("DISCRETE", 1)]
    )
    with pytest.raises(ValueError, match="no continuous feature"):
        evaluate(discrete_features, discrete_features, metrics=["acf_mse"])
    # With every metric that applies, discrete-only features still work.
    result = evaluate(discrete_features, discrete_features)
    assert "autocorrelation" in result["skipped"]
    assert result["summary"]["length_w1"] == 0.0
