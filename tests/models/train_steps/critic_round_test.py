"""The critic round of the running backend's train step against NumPy.

Run under each backend: `KERAS_BACKEND=jax pytest tests/models/train_steps`.
"""

import importlib

import keras
import numpy as np
import pytest

from keras_dg.layers.packed_critic import PackedCritic
from keras_dg.models.train_steps import _MODULES
from tests.models.train_steps import numpy_reference

P, B, T, F, A = 2, 4, 3, 2, 3


def _train_step_module():
    return importlib.import_module(_MODULES[keras.config.backend()])


def _critic_and_inputs(seed=0):
    rng = np.random.default_rng(seed)
    critic = PackedCritic(num_layers=3, num_units=6, num_packing=P)
    critic.build([(None, T, F), (None, A)])
    weights = [
        rng.normal(0, 0.4, tuple(v.shape)) for v in critic.trainable_variables
    ]
    critic.set_weights([w.astype("float32") for w in weights])
    arrays = {
        name: rng.random(shape).astype("float32")
        for name, shape in (
            ("real_features", (P * B, T, F)),
            ("real_attributes", (P * B, A)),
            ("fake_features", (P * B, T, F)),
            ("fake_attributes", (P * B, A)),
        )
    }
    return critic, [v.numpy() if hasattr(v, "numpy") else v
                    for v in critic.get_weights()], arrays


@pytest.mark.parametrize("penalty_weight", [10.0, 0.0])
def test_critic_round_matches_numpy(penalty_weight):
    critic, weights, arrays = _critic_and_inputs()
    real = critic.pack_inputs(
        [arrays["real_features"], arrays["real_attributes"]]
    )
    fake = critic.pack_inputs(
        [arrays["fake_features"], arrays["fake_attributes"]]
    )
    np_real = np.concatenate(
        [numpy_reference.pack(arrays["real_features"], P),
         numpy_reference.pack(arrays["real_attributes"], P)], axis=-1
    )
    np_fake = np.concatenate(
        [numpy_reference.pack(arrays["fake_features"], P),
         numpy_reference.pack(arrays["fake_attributes"], P)], axis=-1
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(real), np_real)

    seed = keras.random.SeedGenerator(3)
    state = keras.ops.convert_to_numpy(seed.state).copy()
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    optimizer.build(critic.trainable_variables)
    terms = _train_step_module()._critic_round(
        critic, optimizer, real, fake, penalty_weight, seed
    )
    # Replay the interpolation weights the round drew.
    seed.state.assign(state)
    alpha = keras.ops.convert_to_numpy(
        keras.random.uniform((B, 1), seed=seed)
    ).astype(np.float64)

    weights64 = [w.astype(np.float64) for w in weights]
    expected = numpy_reference.critic_loss_terms(
        weights64, np_real, np_fake, alpha, penalty_weight
    )
    assert expected["gp"] > 0.05  # a penalty that matters
    for key in ("loss", "fake", "real", "gp"):
        np.testing.assert_allclose(
            float(keras.ops.convert_to_numpy(terms[key])),
            expected[key], rtol=0, atol=1e-5, err_msg=key,
        )

    # SGD with learning rate 1: the update is minus the gradient, which
    # includes the penalty's second-order term.
    expected_grads = numpy_reference.critic_loss_gradients(
        weights64, np_real, np_fake, alpha, penalty_weight
    )
    for before, variable, grad in zip(
        weights, critic.trainable_variables, expected_grads
    ):
        step = before - keras.ops.convert_to_numpy(variable)
        np.testing.assert_allclose(
            step, grad, rtol=1e-4, atol=1e-5, err_msg=variable.path
        )
