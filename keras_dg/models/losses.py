"""WGAN-GP loss terms, backend-neutral (`keras.ops`).

The critic sees packed rows (see `PackedCritic.pack_inputs`): features and
attributes of all P pack members flattened into one vector per packed
sample. Interpolating and taking the gradient norm on that vector gives the
original's penalty exactly: one alpha ~ U(0, 1) per packed sample shared by
features and attributes, and the joint L2 norm over everything the critic
sees, with an epsilon of 1e-8 inside the square root (ALGORITHM §5).
"""

from keras import ops

GRADIENT_PENALTY_EPSILON = 1e-8


def interpolate(real, fake, alpha):
    """`real + alpha * (fake - real)` with alpha [B, 1] per packed row."""
    return real + alpha * (fake - real)


def gradient_penalty(gradients):
    """`mean((||g|| - 1)^2)` with the joint norm over each packed row.

    Args:
        gradients: [B, D] gradient of the critic's scores with respect to the
            interpolated packed rows.
    """
    squared = ops.sum(ops.square(gradients), axis=-1)
    norm = ops.sqrt(squared + GRADIENT_PENALTY_EPSILON)
    return ops.mean(ops.square(norm - 1.0))


def critic_loss_terms(real_scores, fake_scores, penalty, penalty_weight):
    """The critic's loss and its parts, named as the original's summaries.

    Returns:
        dict with `loss` = `fake + real + penalty_weight * gp`, `fake` =
        mean D(fake), `real` = -mean D(real), and `gp`.
    """
    fake = ops.mean(fake_scores)
    real = -ops.mean(real_scores)
    return {
        "loss": fake + real + penalty_weight * penalty,
        "fake": fake,
        "real": real,
        "gp": penalty,
    }
