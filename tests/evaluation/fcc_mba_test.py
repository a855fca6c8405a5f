"""The evaluation on the paper's MBA data (skipped without ../shared/data)."""

import math

from keras_dg.evaluation import SCALAR_METRICS
from keras_dg.evaluation import evaluate
from tests.data.shared_data import FCC_MBA
from tests.data.shared_data import needs_shared_data


@needs_shared_data
def test_train_split_as_synthetic_against_test_split():
    from keras_dg.data.original_format import load_dg

    train = load_dg(FCC_MBA, "train")
    test = load_dg(FCC_MBA, "test")
    result = evaluate(test, train, train=train, seed=0, sample_len=8)
    assert result["skipped"] == {}
    assert set(result["summary"]) == set(SCALAR_METRICS)
    for name, value in result["summary"].items():
        assert value is not None and math.isfinite(value), name
    # The synthetic data is the training data: it scores the floor.
    floor = result["floor"]
    assert floor == {
        name: value for name, value in result["summary"].items()
        if name in floor
    }
    assert set(floor) == set(SCALAR_METRICS) - {
        "memorization_median_ratio", "membership_inference_success",
    }
    # The "generator" returned its training set: memorization is obvious.
    assert result["memorization"]["synthetic_to_train"]["median"] == 0.0
    assert result["summary"]["membership_inference_success"] == 1.0
    # Fixed-length data (56 steps): identical length distributions.
    assert result["summary"]["length_w1"] == 0.0
    assert result["tstr_regression"]["horizon"] == 5
    # 15 ISPs, 5 technologies, 53 states -> three attributes plus the joint.
    assert len(result["attributes"]["js_divergence"]) == 4
