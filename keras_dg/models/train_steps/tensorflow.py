"""DoppelGANger's `train_step` on the TensorFlow backend.

Everything TensorFlow-specific about training lives here: the gradient tapes
(nested for the gradient penalty's second-order gradient). The model supplies
the backend-neutral pieces: batch unpacking and encoding, noise, the
generator forward, packing, and the loss terms (`keras_dg.models.losses`).

One batch: `d_rounds` critic rounds, each with fresh fakes (the main critic
and, with `aux_disc`, the attribute critic, each with its own alpha), then
`g_rounds` generator rounds, each with fresh fakes (ALGORITHM §6).
"""

import keras
import tensorflow as tf
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate


def _critic_round(critic, optimizer, real, fake, penalty_weight, seed):
    """One WGAN-GP step of `critic` on packed rows; returns its loss terms."""
    batch_size = ops.shape(real)[0]
    alpha = keras.random.uniform((batch_size, 1), seed=seed)
    mixed = interpolate(real, fake, alpha)
    with tf.GradientTape() as tape:
        with tf.GradientTape() as penalty_tape:
            penalty_tape.watch(mixed)
            # One forward pass over real, fake and interpolated rows: the
            # critic has no batch statistics, so this equals three passes.
            scores = critic.score(ops.concatenate([real, fake, mixed], 0))
            mixed_scores = scores[2 * batch_size:]
        penalty = gradient_penalty(
            penalty_tape.gradient(mixed_scores, mixed)
        )
        terms = critic_loss_terms(
            scores[:batch_size],
            scores[batch_size: 2 * batch_size],
            penalty,
            penalty_weight,
        )
    variables = critic.trainable_variables
    optimizer.apply(tape.gradient(terms["loss"], variables), variables)
    return terms


def train_step(model, data):
    features, attributes, gen_flag = model.unpack_batch(data)
    real_features, real_attributes = model.encode(
        features, attributes, gen_flag
    )
    real_features, real_attributes = model.pack_real(
        real_features, real_attributes
    )
    num_rows = ops.shape(real_features)[0]
    real = model.critic.pack_inputs([real_features, real_attributes])
    if model.aux_disc:
        real_attr = model.attribute_critic.pack_inputs(real_attributes)

    for _ in range(model.d_rounds):
        fake_features, fake_attributes, _, _ = model.generate_internal(
            model.sample_noise(num_rows), training=True
        )
        fake_features = ops.stop_gradient(fake_features)
        fake_attributes = ops.stop_gradient(fake_attributes)
        fake = model.critic.pack_inputs([fake_features, fake_attributes])
        terms = _critic_round(
            model.critic, model.d_optimizer, real, fake, model.d_gp_coe,
            model.seed_generator,
        )
        model.update_trackers("d_loss", terms)
        if model.aux_disc:
            terms = _critic_round(
                model.attribute_critic,
                model.attr_d_optimizer,
                real_attr,
                model.attribute_critic.pack_inputs(fake_attributes),
                model.attr_d_gp_coe,
                model.seed_generator,
            )
            model.update_trackers("attr_d_loss", terms)

    for _ in range(model.g_rounds):
        noise = model.sample_noise(num_rows)
        with tf.GradientTape() as tape:
            fake_features, fake_attributes, _, _ = model.generate_internal(
                noise, training=True
            )
            g_loss_d = -ops.mean(
                model.critic([fake_features, fake_attributes])
            )
            terms = {"loss": g_loss_d, "d": g_loss_d}
            if model.aux_disc:
                g_loss_attr_d = -ops.mean(
                    model.attribute_critic(fake_attributes)
                )
                terms["attr_d"] = g_loss_attr_d
                terms["loss"] = g_loss_d + model.g_attr_d_coe * g_loss_attr_d
        variables = model.generator_trainable_variables
        model.g_optimizer.apply(tape.gradient(terms["loss"], variables), variables)
        model.update_trackers("g_loss", terms)

    return {m.name: m.result() for m in model.metrics}
