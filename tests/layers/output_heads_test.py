import numpy as np
import pytest
from keras import ops
from keras.ops import convert_to_numpy as to_numpy
from scipy.special import expit
from scipy.special import softmax

from keras_dg import Output
from keras_dg.layers.output_heads import apply_output_activations
from keras_dg.layers.output_heads import harden


def _expected(logits, outputs):
    pieces, start = [], 0
    for output in outputs:
        block = logits[..., start : start + output.dim]
        start += output.dim
        if output.is_discrete:
            pieces.append(softmax(block, axis=-1))
        elif output.normalization.name == "ZERO_ONE":
            pieces.append(expit(block))
        else:
            pieces.append(np.tanh(block))
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
def test_activations_match_per_output_functions(outputs):
    dim = sum(o.dim for o in outputs)
    logits = np.random.default_rng(0).normal(size=(4, 7, dim)) * 3
    logits = logits.astype("float32")
    result = to_numpy(apply_output_activations(ops.convert_to_tensor(logits), outputs))
    np.testing.assert_allclose(result, _expected(logits, outputs), atol=2e-6)


def test_harden_one_hots_discrete_blocks_only():
    outputs = [Output("CONTINUOUS", 1, "ZERO_ONE"), Output("DISCRETE", 3)]
    values = np.array([[0.3, 0.2, 0.5, 0.3]], "float32")
    np.testing.assert_array_equal(
        to_numpy(harden(ops.convert_to_tensor(values), outputs)),
        np.array([[0.3, 0.0, 1.0, 0.0]], "float32"),
    )
