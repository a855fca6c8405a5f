"""DoppelGANger's `train_step` with DP-SGD on the critics (TensorFlow).

The model dispatches here when `dp_noise_multiplier` is set (ALGORITHM §8).
The batch is the non-DP step's (`keras_dg.models.train_steps.tensorflow`):
`d_rounds` critic rounds (the main critic and, with `aux_disc`, the
attribute critic, each with its own alpha), then `g_rounds` generator rounds,
fresh noise every round or one draw per batch with `shared_noise`. Only the
critic updates differ: the batch runs the non-DP step's own `run_rounds`,
with `_dp_critic_round` as the critics' update.

DP-SGD on each critic (Abadi et al. 2016; the original's tensorflow_privacy
`DPAdamGaussianOptimizer` with one microbatch per example):

1. Per-example loss, for packed example i:
   `D(fake_i) - D(real_i) + penalty_weight * GP_i`, with
   `GP_i = (||grad_mixed_i D(mixed_i)|| - 1)^2` on the interpolate of
   example i alone. Its mean over the examples is the non-DP critic loss.
2. Per-example gradients with respect to the critic's variables, vectorised
   with `tf.vectorized_map` (pfor; no loop over examples, and no fallback
   to one: a non-vectorisable op is an error). The gradient penalty's
   input gradient is taken inside the vectorised function, and the outer
   gradient differentiates through it (second order).
3. Each example's gradient (all variables together) is clipped to global
   L2 norm `C = model.dp_l2_norm_clip`: `g_i * C / max(||g_i||, C)`.
4. The clipped gradients are summed, Gaussian noise N(0, (sigma * C)^2),
   `sigma = model.dp_noise_multiplier`, is added to every coordinate (none
   when sigma = 0), and the result is divided by the number of examples B'.
5. The critic's optimizer applies it (Adam by default: post-processing of
   the noisy gradient, as in the original).

The generator sees real data only through the critics: its rounds are
post-processing and run without DP, exactly as in the non-DP step.

What an "example" is, with packing
----------------------------------
An example is one **packed** critic sample: P = `num_packing` real series
scored together (PacGAN). The non-DP step packs the batch with P - 1 random
permutations of itself (`DoppelGANger.pack_real`), so there every series
enters P packed samples and would change P clipped terms (sensitivity
P * C). This step instead packs the batch **disjointly**, as the original
does (it draws B * P series for B packed samples): a batch of b series from
`fit` gives B' = floor(b / P) packed examples made of its first B' * P
series (`fit` shuffles, so the groups are random); packed example i holds
series i, B' + i, ..., (P - 1) * B' + i (the `PackedCritic.pack` layout),
and every series is in exactly one example. The b - B' * P series left over
(only when P does not divide b) are not used in this step. With P = 1 the
batch is used as it is. A batch must hold at least P series (an error
otherwise; choose `batch_size` so that the last batch of an epoch is not
smaller than P).

This is what `keras_dg.privacy` accounts (its module docstring): one step is
one Poisson-subsampled Gaussian event with sampling rate
`q = batch_size * num_packing / n_examples`, where `batch_size` counts
packed examples (B' here, so q = B' * P / N: the series this step uses), and
sensitivity C per series (one series changes one clipped term). The
`k = d_rounds * (2 if aux_disc else 1)` noisy critic updates of a step all
use the same batch; each clips to C and adds its own noise of multiplier
sigma, which the accounting composes (`composition="joint"`: noise
multiplier sigma / sqrt(k); `"original"`: sigma / k). Use
`PrivacyBudgetCallback.for_model(model, n_examples, batch_size)` with `fit`'s
`batch_size`: it passes B' = batch_size // P packed examples and
`ceil(n_examples / batch_size)` steps per epoch. As in the original and the
usual DP-SGD practice, the accounting assumes Poisson sampling, while `fit`
draws shuffled fixed-size batches.

Not covered by epsilon: the loss trackers (`d_loss`, `attr_d_loss` and their
parts) are computed on the real batch without noise, for monitoring, as
the original's summaries are; treat logged critic losses as private.

Cost: the per-example gradients materialise one gradient per example (B'
times the critics' parameters: about 130 MB for the WWT shape, T=550 and
B=100). Measured on 2 shared CPU cores (TensorFlow 2.21, default network
sizes, one WWT-schema feature, whole `fit` steps including the generator
round): T=50, batch 32: 18 ms (non-DP) vs 33 ms (DP), 1.8x; T=50, batch
100: 27 vs 69 ms, 2.6x; T=550, batch 100: 116 vs 246 ms, 2.1x.

Single device only: under a `tf.distribute` strategy with several replicas
every replica would add its own noise; the step raises a `ValueError`.
"""

import functools

import keras
import tensorflow as tf
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate
from keras_dg.models.train_steps.tensorflow import run_rounds


def _check_single_replica():
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        raise ValueError(
            "DP training (dp_noise_multiplier set) runs on one device; it "
            f"was called under a distribution strategy with {replicas} "
            "replicas, each of which would add its own noise. Train without "
            "the strategy."
        )


def disjoint_batch(features, attributes, gen_flag, num_packing):
    """The first `floor(b / P) * P` series of a batch of b (see the module
    docstring): packed disjointly, they form `floor(b / P)` examples."""
    if num_packing == 1:
        return features, attributes, gen_flag
    batch_size = tf.shape(features)[0]
    tf.debugging.assert_greater_equal(
        batch_size,
        num_packing,
        message=(
            f"DP training with num_packing={num_packing} needs batches of "
            f"at least {num_packing} series (every packed example holds "
            f"{num_packing} distinct series); choose fit's batch_size so "
            "that the last batch of an epoch is not smaller."
        ),
    )
    rows = (batch_size // num_packing) * num_packing
    return features[:rows], attributes[:rows], gen_flag[:rows]


def per_example_gradients(critic, real, fake, alpha, penalty_weight):
    """Per-example gradients of the WGAN-GP critic loss, vectorised.

    Args:
        critic: a built `PackedCritic`.
        real, fake: [B, D] packed rows (see `PackedCritic.pack_inputs`).
        alpha: [B, 1] interpolation weights.
        penalty_weight: float. Weight of the gradient penalty.

    Returns:
        `(gradients, real_scores, fake_scores, penalties)`: per variable of
        `critic.trainable_variables` a [B, *variable.shape] tensor, the
        gradient of example i's loss
        `D(fake_i) - D(real_i) + penalty_weight * GP_i` in row i; and the
        [B] scores and penalties.
    """
    variables = critic.trainable_variables
    mixed = interpolate(real, fake, alpha)

    def example_gradients(example):
        real_i, fake_i, mixed_i = (x[None] for x in example)
        with tf.GradientTape() as tape:
            with tf.GradientTape() as penalty_tape:
                penalty_tape.watch(mixed_i)
                scores = critic.score(
                    ops.concatenate([real_i, fake_i, mixed_i], 0)
                )
                mixed_score = scores[2:]
            penalty = gradient_penalty(
                penalty_tape.gradient(mixed_score, mixed_i)
            )
            loss = critic_loss_terms(
                scores[:1], scores[1:2], penalty, penalty_weight
            )["loss"]
        return tape.gradient(loss, variables), scores[0], scores[1], penalty

    return tf.vectorized_map(
        example_gradients, (real, fake, mixed), fallback_to_while_loop=False
    )


def privatize_gradients(gradients, l2_norm_clip, noise_multiplier, seed):
    """Clips per-example gradients, sums them, adds noise, averages.

    Args:
        gradients: list of [B, ...] per-example gradients (one per
            variable; example i's gradient is row i of every tensor).
        l2_norm_clip: float. C, the bound on each example's global L2 norm.
        noise_multiplier: float. sigma; the noise std is sigma * C. No
            noise is drawn when it is 0.
        seed: `keras.random.SeedGenerator` for the noise.

    Returns:
        `(mean_gradients, norms)`: per variable
        `(sum_i g_i * C / max(||g_i||, C) + N(0, (sigma C)^2)) / B`, and the
        [B] unclipped per-example norms.
    """
    num_examples = ops.shape(gradients[0])[0]
    squared = [
        ops.sum(ops.reshape(ops.square(g), (num_examples, -1)), axis=1)
        for g in gradients
    ]
    norms = ops.sqrt(ops.sum(ops.stack(squared, axis=0), axis=0))
    factors = l2_norm_clip / ops.maximum(norms, l2_norm_clip)
    denominator = ops.cast(num_examples, gradients[0].dtype)
    averaged = []
    for g in gradients:
        total = ops.tensordot(factors, g, axes=1)
        if noise_multiplier > 0:
            total = total + keras.random.normal(
                ops.shape(total),
                stddev=noise_multiplier * l2_norm_clip,
                seed=seed,
            )
        averaged.append(total / denominator)
    return averaged, norms


def _dp_critic_round(
    critic, optimizer, real, fake, penalty_weight, seed, l2_norm_clip,
    noise_multiplier,
):
    """One DP-SGD WGAN-GP step of `critic` on packed rows; returns its loss
    terms (means over the examples, as the non-DP step's)."""
    batch_size = ops.shape(real)[0]
    alpha = keras.random.uniform((batch_size, 1), seed=seed)
    gradients, real_scores, fake_scores, penalties = per_example_gradients(
        critic, real, fake, alpha, penalty_weight
    )
    gradients, _ = privatize_gradients(
        gradients, l2_norm_clip, noise_multiplier, seed
    )
    optimizer.apply(gradients, critic.trainable_variables)
    return critic_loss_terms(
        real_scores, fake_scores, ops.mean(penalties), penalty_weight
    )


def train_step(model, data):
    _check_single_replica()
    features, attributes, gen_flag = disjoint_batch(
        *model.unpack_batch(data), model.num_packing
    )
    series_range = model.series_range(data)
    if series_range is not None:
        rows = tf.shape(features)[0]
        series_range = tuple(bound[:rows] for bound in series_range)
    real_features, real_attributes = model.encode(
        features, attributes, gen_flag, series_range
    )
    num_rows = ops.shape(real_features)[0]
    real = model.critic_inputs(real_features, real_attributes)
    run_rounds(
        model, real, num_rows,
        functools.partial(
            _dp_critic_round,
            l2_norm_clip=model.dp_l2_norm_clip,
            noise_multiplier=model.dp_noise_multiplier,
        ),
    )
    # The sub-optimizers count their own steps; the wrapper counts batches.
    model.optimizer.iterations.assign_add(1)
    return {m.name: m.result() for m in model.metrics}
