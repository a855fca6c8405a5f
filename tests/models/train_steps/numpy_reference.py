"""An independent NumPy (float64) WGAN-GP critic loss for the backend tests.

The critic is `PackedCritic`'s MLP (ReLU hidden layers, linear score) on
packed rows; its input gradient is back-propagated by hand and its weight
gradient taken by central finite differences, so nothing here shares code
or autodiff with any Keras backend.
"""

import numpy as np

EPSILON = 1e-8


def pack(x, num_packing):
    """[P * B, ...] -> [B, P * d], member k of packed sample i at row k*B+i."""
    flat = np.reshape(x, (num_packing, -1, int(np.prod(x.shape[1:]))))
    return np.transpose(flat, (1, 0, 2)).reshape(flat.shape[1], -1)


def critic_scores(weights, rows):
    """Scores [B] and the input gradient [B, D] of each row's score.

    Args:
        weights: [kernel_0, bias_0, ..., kernel_L, bias_L] as Keras `Dense`
            stores them (kernel [in, out]).
        rows: [B, D] packed rows.
    """
    x = np.asarray(rows, np.float64)
    kernels, biases = weights[0::2], weights[1::2]
    masks = []
    for kernel, bias in zip(kernels[:-1], biases[:-1]):
        pre = x @ kernel + bias
        masks.append(pre > 0)
        x = np.maximum(pre, 0.0)
    scores = (x @ kernels[-1] + biases[-1])[:, 0]
    upstream = np.broadcast_to(kernels[-1][:, 0], x.shape)
    for kernel, mask in zip(kernels[-2::-1], masks[::-1]):
        upstream = (upstream * mask) @ kernel.T
    return scores, upstream


def critic_loss_terms(weights, real, fake, alpha, penalty_weight):
    """`loss`, `fake`, `real`, `gp` as `keras_dg.models.losses` names them."""
    real_scores, _ = critic_scores(weights, real)
    fake_scores, _ = critic_scores(weights, fake)
    _, gradients = critic_scores(weights, real + alpha * (fake - real))
    norm = np.sqrt(np.sum(gradients**2, axis=-1) + EPSILON)
    gp = np.mean((norm - 1.0) ** 2)
    terms = {
        "fake": np.mean(fake_scores),
        "real": -np.mean(real_scores),
        "gp": gp,
    }
    terms["loss"] = terms["fake"] + terms["real"] + penalty_weight * gp
    return terms


def critic_loss_gradients(weights, real, fake, alpha, penalty_weight, h=1e-6):
    """d loss / d weights by central finite differences (float64)."""
    weights = [np.array(w, np.float64) for w in weights]
    gradients = []
    for w in weights:
        gradient = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            saved = w[index]
            w[index] = saved + h
            up = critic_loss_terms(weights, real, fake, alpha, penalty_weight)
            w[index] = saved - h
            down = critic_loss_terms(
                weights, real, fake, alpha, penalty_weight
            )
            w[index] = saved
            gradient[index] = (up["loss"] - down["loss"]) / (2 * h)
        gradients.append(gradient)
    return gradients
