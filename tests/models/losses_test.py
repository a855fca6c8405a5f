import numpy as np
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate


def test_gradient_penalty_hand_computed():
    gradients = np.array([[3.0, 4.0], [0.0, 0.0]], "float32")
    # norms: 5 and sqrt(1e-8) = 1e-4 (the epsilon keeps it differentiable).
    expected = ((5 - 1) ** 2 + (1e-4 - 1) ** 2) / 2
    np.testing.assert_allclose(
        ops.convert_to_numpy(gradient_penalty(gradients)), expected, rtol=1e-6
    )


def test_interpolate_shares_alpha_per_row():
    real = np.zeros((2, 3), "float32")
    fake = np.ones((2, 3), "float32")
    alpha = np.array([[0.25], [0.5]], "float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(interpolate(real, fake, alpha)),
        [[0.25] * 3, [0.5] * 3],
    )


def test_critic_loss_terms():
    terms = critic_loss_terms(
        np.array([1.0, 3.0]), np.array([0.0, 1.0]), 0.5, 10.0
    )
    terms = {k: float(ops.convert_to_numpy(v)) for k, v in terms.items()}
    assert terms == {"loss": 0.5 - 2.0 + 5.0, "fake": 0.5, "real": -2.0, "gp": 0.5}
