import keras
import numpy as np
from keras.ops import convert_to_numpy as to_numpy
import pytest

from keras_dg import Output
from keras_dg.layers import AttributeGenerator
from tests.harness import run_layer_test

OUTPUTS = [
    Output("DISCRETE", 3),
    Output("CONTINUOUS", 2, "ZERO_ONE"),
    Output("CONTINUOUS", 1, "MINUSONE_ONE"),
]


def _noise(n=6, d=5):
    return np.random.default_rng(0).normal(size=(n, d)).astype("float32")


def test_shapes_and_heads():
    layer = AttributeGenerator(OUTPUTS, num_layers=3, num_units=4)
    soft, hard = layer(_noise())
    soft, hard = to_numpy(soft), to_numpy(hard)
    assert soft.shape == hard.shape == (6, 6)
    np.testing.assert_allclose(soft[:, :3].sum(1), 1, rtol=1e-5)
    assert ((soft[:, 3:5] > 0) & (soft[:, 3:5] < 1)).all()
    assert ((soft[:, 5] > -1) & (soft[:, 5] < 1)).all()
    # Hard: one-hot argmax for the discrete block, soft elsewhere.
    np.testing.assert_array_equal(
        hard[:, :3], np.eye(3)[soft[:, :3].argmax(1)]
    )
    np.testing.assert_array_equal(hard[:, 3:], soft[:, 3:])
    assert layer.compute_output_shape((6, 5)) == ((6, 6), (6, 6))


def test_list_input_is_concatenated():
    layer = AttributeGenerator(OUTPUTS[1:], num_layers=2, num_units=4)
    soft, _ = layer([_noise(4, 5), np.ones((4, 3), "float32")])
    assert tuple(soft.shape) == (4, 3)
    assert layer.hidden_layers[0].kernel.shape == (8, 4)


def test_architecture_matches_the_original():
    layer = AttributeGenerator(OUTPUTS, num_layers=3, num_units=4)
    layer(_noise())
    # num_layers - 1 hidden blocks Dense -> ReLU -> BN(momentum .9, eps 1e-5).
    assert len(layer.hidden_layers) == 2
    assert all(d.activation is keras.activations.relu for d in layer.hidden_layers)
    assert all(
        bn.momentum == 0.9 and bn.epsilon == 1e-5
        for bn in layer.batch_norm_layers
    )


def test_batch_norm_updates_only_in_training():
    layer = AttributeGenerator(OUTPUTS, num_layers=2, num_units=4)
    layer(_noise())
    before = np.array(layer.batch_norm_layers[0].moving_mean)
    layer(_noise(), training=False)
    np.testing.assert_array_equal(before, layer.batch_norm_layers[0].moving_mean)
    layer(_noise(), training=True)
    assert not np.allclose(before, layer.batch_norm_layers[0].moving_mean)


@pytest.mark.parametrize("list_input", [False, True])
def test_layer_round_trips(tmp_path, list_input):
    noise = [_noise(d=3), _noise(d=2)] if list_input else _noise()
    layer = run_layer_test(
        AttributeGenerator,
        dict(outputs=OUTPUTS, num_layers=2, num_units=4, output_margin=0.01,
             name="attr"),
        noise,
        expected_output_shape=[(6, 6), (6, 6)],
        tmp_path=tmp_path,
    )
    clone = AttributeGenerator.from_config(layer.get_config())
    assert clone.outputs == OUTPUTS
    assert clone.output_margin == 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(outputs=OUTPUTS, num_layers=0), "num_layers"),
        (dict(outputs=OUTPUTS, num_units=2.5), "num_units"),
        (dict(outputs="DISCRETE"), "list of `Output`"),
        (dict(outputs=OUTPUTS, output_margin=-0.1), "output_margin"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttributeGenerator(**kwargs)
