import collections
import json
import re

import numpy as np
import pytest

from keras_dg import Output
from keras_dg.evaluation import GROUPS
from keras_dg.evaluation import SCALAR_METRICS
from keras_dg.evaluation import evaluate
from keras_dg.evaluation import unavailable_metrics
from keras_dg.evaluation import metrics as metrics_module
from keras_dg.evaluation.metrics import dumps
from tests.evaluation.helpers import make_dataset
from tests.evaluation.helpers import random_dataset


def test_identical_data_gives_zero_distances():
    real = random_dataset(n=30, categories=(3, 2))
    result = evaluate(real, real, train=real, sample_len=2)
    summary = result["summary"]
    for name in (
        "acf_mse", "block_artifact_score", "attribute_jsd",
        "joint_attribute_jsd", "length_w1", "midpoint_w1",
        "cross_correlation_w1", "conditional_w1",
    ):
        assert summary[name] == 0.0, name
        assert result["floor"][name] == 0.0, name
    assert result["memorization"]["synthetic_to_train"]["min"] == 0.0
    assert result["skipped"] == {}
    assert set(result) == {"summary", "floor", "skipped", "n_series", *GROUPS}
    assert set(summary) == set(SCALAR_METRICS)
    # Memorization has no floor: the training data is its own train set.
    assert set(result["floor"]) == set(SCALAR_METRICS) - {
        "memorization_median_ratio", "membership_inference_success",
    }
    assert result["n_series"]["floor"] == 30
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
    assert result["n_series"] == {
        "real": 24, "synthetic": 24, "train": None, "floor": None,
    }
    assert "floor" not in result


def test_inapplicable_groups_are_skipped_with_a_reason():
    one_feature = random_dataset(n=20, f=1)
    result = evaluate(one_feature, one_feature)
    assert result["skipped"] == {
        "block_artifact": "needs `sample_len` (the generator's steps per "
        "cell)",
        "cross_correlation": "fewer than 2 continuous feature columns",
        "memorization": "needs `train`",
    }
    assert "memorization_median_ratio" not in result["summary"]
    assert "block_artifact_score" not in result["summary"]
    assert unavailable_metrics(one_feature, metrics=["acf_mse"]) == {}
    # The block-artifact score needs blocks and lags k*S with neighbours.
    for sample_len, reason in (
        (1, "sample_len is 1 (no blocks)"),
        (4, "max_sequence_len 8 < 2 * sample_len + 1 = 9"),
    ):
        assert unavailable_metrics(
            one_feature, metrics=["block_artifact"], sample_len=sample_len
        ) == {"block_artifact": reason}
        with pytest.raises(ValueError, match=re.escape(reason)):
            evaluate(one_feature, one_feature, sample_len=sample_len,
                     metrics=["block_artifact_score"])
    result = evaluate(
        one_feature, one_feature, sample_len=3, metrics=["block_artifact"]
    )
    assert result["block_artifact"]["lags"] == [3]
    assert result["summary"] == {"block_artifact_score": 0.0}


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
    for bad in (0, 2.0, "7", True):
        with pytest.raises(ValueError, match="`sample_len` must be a "
                           "positive integer or None"):
            evaluate(ds, ds, sample_len=bad)
    with pytest.raises(ValueError, match="`floor` must be True or False"):
        evaluate(ds, ds, floor=None)
    discrete_features = make_dataset(
        np.ones((6, 4, 1)), feature_outputs=[Output("DISCRETE", 1)]
    )
    with pytest.raises(ValueError, match="no continuous feature"):
        evaluate(discrete_features, discrete_features, metrics=["acf_mse"])
    # With every metric that applies, discrete-only features still work.
    result = evaluate(discrete_features, discrete_features)
    assert "autocorrelation" in result["skipped"]
    assert result["summary"]["length_w1"] == 0.0


def _waves(n, seed, noise=0.05):
    """Noisy sines of period 8; the attribute (0 or 1) sets the level."""
    rng = np.random.default_rng(seed)
    category = rng.integers(0, 2, n)
    level = np.where(category == 0, 0.35, 0.65)[:, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    steps = np.arange(16)[None, :]
    values = level + 0.25 * np.sin(2 * np.pi * steps / 8 + phase)
    values = values + rng.normal(0.0, noise, values.shape)
    return make_dataset(np.clip(values, 0, 1), category)


def test_floor_is_small_for_real_data_and_below_a_bad_generator():
    data = _waves(160, seed=0)
    real, train = data[:80], data[80:]
    rng = np.random.default_rng(1)
    bad = make_dataset(  # Noise, and a rare category unrelated to it.
        rng.uniform(0, 1, (80, 16)), (rng.random(80) < 0.1).astype("int64")
    )
    names = [
        "acf_mse", "attribute_jsd", "discriminative_score",
        "shape_discriminative_score", "tstr_accuracy",
    ]
    result = evaluate(real, bad, train=train, metrics=names)
    floor, summary = result["floor"], result["summary"]
    assert set(floor) == set(summary) >= set(names)
    assert floor["acf_mse"] < 0.01 < 0.1 < summary["acf_mse"]
    assert floor["attribute_jsd"] < 0.02 < 0.1 < summary["attribute_jsd"]
    for name in ("discriminative_score", "shape_discriminative_score"):
        assert floor[name] < 0.15 < 0.3 < summary[name], name
    # TSTR is higher-is-better: the floor trains on real data.
    assert floor["tstr_accuracy"] > 0.9 > 0.7 > summary["tstr_accuracy"]
    assert evaluate(real, bad, train=train, metrics=names,
                    floor=False).keys() == result.keys() - {"floor"}


def test_floor_subsamples_train_to_the_synthetic_size():
    data = _waves(60, seed=0)
    real, train, synthetic = data[:20], data[20:], _waves(10, seed=1)
    result = evaluate(real, synthetic, train=train, seed=3,
                      metrics=["lengths", "acf_mse"])
    assert result["n_series"] == {
        "real": 20, "synthetic": 10, "train": 40, "floor": 10,
    }
    pick = np.sort(np.random.default_rng(3).choice(40, 10, replace=False))
    expected = evaluate(real, train[pick], metrics=["lengths", "acf_mse"])
    assert result["floor"] == expected["summary"]
    # A train set no bigger than the synthetic data is used whole.
    assert evaluate(real, data, train=train, metrics=["lengths"])[
        "n_series"]["floor"] == 40


def test_floor_is_computed_once_per_data(monkeypatch):
    monkeypatch.setattr(
        metrics_module, "_FLOOR_CACHE", collections.OrderedDict()
    )
    calls = []
    function, reason = metrics_module._GROUPS["lengths"]

    def counted(*args):
        calls.append(len(args[1]))
        return function(*args)

    monkeypatch.setitem(metrics_module._GROUPS, "lengths", (counted, reason))
    data = _waves(30, seed=0)
    real, train = data[:10], data[10:]
    first = evaluate(real, _waves(10, seed=1), train=train,
                     metrics=["lengths"])
    second = evaluate(real, _waves(10, seed=2), train=train,
                      metrics=["lengths"])
    assert first["floor"] == second["floor"]
    assert len(calls) == 3  # Two synthetic sets, one floor.
    train.gen_flag[0, -3:] = 0.0  # New data: a new floor.
    changed = evaluate(real, _waves(10, seed=2), train=train,
                       metrics=["lengths"])
    assert len(calls) == 5
    assert changed["floor"] != second["floor"]
