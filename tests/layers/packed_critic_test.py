import numpy as np
from keras.ops import convert_to_numpy as to_numpy
import pytest

from keras_dg.layers import PackedCritic
from keras_dg.layers.packed_critic import pack
from tests.harness import run_layer_test


def test_pack_groups_rows_pack_major():
    # Rows k * B + i are the k-th member of packed sample i.
    x = np.arange(12, dtype="float32").reshape(6, 2)  # P=3, B=2
    packed = to_numpy(pack(x, 3))
    np.testing.assert_array_equal(
        packed, [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]]
    )


@pytest.mark.parametrize("num_packing", [1, 2, 3])
def test_packing_widths(num_packing):
    critic = PackedCritic(num_layers=3, num_units=4, num_packing=num_packing)
    features = np.zeros((2 * num_packing, 5, 3), "float32")
    attributes = np.zeros((2 * num_packing, 4), "float32")
    scores = critic([features, attributes])
    assert tuple(scores.shape) == (2,)
    # The first layer is P times wider: P * (T * F' + A) inputs.
    assert critic.hidden_layers[0].kernel.shape == (num_packing * 19, 4)
    assert len(critic.hidden_layers) == 2  # num_layers - 1 hidden layers
    assert critic.compute_output_shape(
        [(2 * num_packing, 5, 3), (2 * num_packing, 4)]
    ) == (2,)


def test_order_of_packed_inputs_is_features_then_attributes():
    critic = PackedCritic(num_layers=1, num_units=1, num_packing=2)
    f = np.arange(4, dtype="float32").reshape(4, 1)
    a = 10 + np.arange(4, dtype="float32").reshape(4, 1)
    packed = to_numpy(critic.pack_inputs([f, a]))
    np.testing.assert_array_equal(packed, [[0, 2, 10, 12], [1, 3, 11, 13]])


def test_score_equals_call_on_packed_rows():
    critic = PackedCritic(num_layers=2, num_units=4, num_packing=2)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    np.testing.assert_allclose(
        to_numpy(critic(x)), to_numpy(critic.score(critic.pack_inputs(x)))
    )


def test_layer_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    inputs = [
        rng.normal(size=(6, 4, 3)).astype("float32"),
        rng.normal(size=(6, 2)).astype("float32"),
    ]
    run_layer_test(
        PackedCritic,
        dict(num_layers=2, num_units=4, num_packing=3, name="critic"),
        inputs,
        expected_output_shape=[(2,)],
        tmp_path=tmp_path,
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_packing"):
        PackedCritic(num_packing=0)
    with pytest.raises(ValueError, match="num_units"):
        PackedCritic(num_units=-1)
