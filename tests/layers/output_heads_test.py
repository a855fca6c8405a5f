import numpy as np
import pytest
from keras import ops
from keras.ops import convert_to_numpy as to_numpy
from scipy.special import expit
from scipy.special import softmax

from keras_dg import Output
from keras_dg.layers.output_heads import apply_output_activations
from keras_dg.layers.output_heads import harden


def _expected(logits, outputs, margin=0.0):
    pieces, start = [], 0
    for output in outputs:
        block = logits[..., start : start + output.dim]
        start += output.dim
        if output.is_discrete:
            pieces.append(softmax(block, axis=-1))
        elif output.normalization.name == "ZERO_ONE":
            pieces.append(np.clip((1 + 2 * margin) * expit(block) - margin, 0, 1))
        else:
            pieces.append(np.clip((1 + 2 * margin) * np.tanh(block), -1, 1))
    return np.concatenate(pieces, -1)


@pytest.mark.parametrize(
    "outputs",
    [
        # Only 2-way softmax blocks: the one-sigmoid form.
        [Output("CONTINUOUS", 2, "ZERO_ONE"), Output("DISCRETE", 2),
         Output("CONTINUOUS", 1, "MINUSONE_ONE")],
        # A 3-way softmax block: sliced activations.
        [Output("CONTINUOUS", 1, "MINUSONE_ONE"), Output("DISCRETE", 3),
         Output("DISCRETE", 2)],
    ],
)
@pytest.mark.parametrize("margin", [0.0, 0.05])
def test_activations_match_per_output_functions(outputs, margin):
    dim = sum(o.dim for o in outputs)
    logits = np.random.default_rng(0).normal(size=(4, 7, dim)) * 3
    logits = logits.astype("float32")
    result = to_numpy(
        apply_output_activations(ops.convert_to_tensor(logits), outputs, margin)
    )
    np.testing.assert_allclose(
        result, _expected(logits, outputs, margin), atol=2e-6
    )


@pytest.mark.parametrize("margin", [0.0, 0.01])
def test_a_margin_lets_continuous_outputs_take_their_bounds(margin):
    outputs = [Output("CONTINUOUS", 1, "ZERO_ONE"), Output("DISCRETE", 2),
               Output("CONTINUOUS", 1, "MINUSONE_ONE")]
    logits = np.array([[-8.0, -8.0, 8.0, -8.0], [8.0, 3.0, 1.0, 8.0]], "float32")
    result = to_numpy(
        apply_output_activations(ops.convert_to_tensor(logits), outputs, margin)
    )
    lows, highs = result[0, [0, 3]], result[1, [0, 3]]
    if margin:
        np.testing.assert_array_equal(lows, [0.0, -1.0])
        np.testing.assert_array_equal(highs, [1.0, 1.0])
    else:
        assert np.all(lows > [0.0, -1.0]) and np.all(highs < 1.0)
    # The 2-way softmax (the flag's form) is a probability either way.
    np.testing.assert_allclose(result[:, 1] + result[:, 2], 1.0, atol=1e-6)


def test_harden_one_hots_discrete_blocks_only():
    outputs = [Output("CONTINUOUS", 1, "ZERO_ONE"), Output("DISCRETE", 3)]
    values = np.array([[0.3, 0.2, 0.5, 0.3]], "float32")
    np.testing.assert_array_equal(
        to_numpy(harden(ops.convert_to_tensor(values), outputs)),
        np.array([[0.3, 0.0, 1.0, 0.0]], "float32"),
    )


def _gradient_of_sum(fn, x):
    """d sum(fn(x)) / dx on the current backend."""
    import keras

    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(fn(x))
        return tape.gradient(total, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: fn(v).sum())(x))
    import torch

    x = torch.tensor(x, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize("three_way", [False, True])
def test_clipped_outputs_still_pass_gradients(three_way):
    # Beyond a bound the value is clipped but the gradient is the stretched
    # activation's: a generator output can leave a bound the critic pulls
    # it away from.
    outputs = [Output("CONTINUOUS", 1, "ZERO_ONE"),
               Output("CONTINUOUS", 1, "MINUSONE_ONE"),
               Output("DISCRETE", 3 if three_way else 2)]
    logits = np.array([[-9.0, -4.0] + [0.0] * outputs[2].dim], "float32")

    def fn(x):
        return apply_output_activations(x, outputs, margin=0.01)

    values = to_numpy(fn(ops.convert_to_tensor(logits)))
    np.testing.assert_array_equal(values[0, :2], [0.0, -1.0])
    gradient = _gradient_of_sum(fn, logits)
    expected = [1.02 * expit(-9.0) * expit(9.0), 1.02 * (1 - np.tanh(-4.0) ** 2)]
    np.testing.assert_allclose(gradient[0, :2], expected, rtol=1e-3)
    assert np.all(gradient[0, :2] > 0)
