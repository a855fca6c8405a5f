"""DoppelGANger's `train_step` on the TensorFlow backend.

Everything TensorFlow-specific about training lives here: the gradient tapes
(nested for the gradient penalty's second-order gradient). The model supplies
the backend-neutral pieces: batch unpacking and encoding, noise, the
generator forward, packing, and the loss terms (`keras_dg.models.losses`).

One batch: `d_rounds` critic rounds (the main critic and, with `aux_disc`,
the attribute critic, each with its own alpha), then `g_rounds` generator
rounds (ALGORITHM §6). By default every round draws fresh noise. With the
model's `shared_noise`, one draw per batch serves every round, as in the
original; the generator's forward pass for the critic rounds is then
recorded once and reused by the first generator round.
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


def _critic_rounds(model, real, fake_features, fake_attributes):
    """One round of the main critic and, with `aux_disc`, the aux critic."""
    fake_features = ops.stop_gradient(fake_features)
    fake_attributes = ops.stop_gradient(fake_attributes)
    terms = _critic_round(
        model.critic,
        model.d_optimizer,
        real["critic"],
        model.critic.pack_inputs([fake_features, fake_attributes]),
        model.d_gp_coe,
        model.seed_generator,
    )
    model.update_trackers("d_loss", terms)
    if model.aux_disc:
        terms = _critic_round(
            model.attribute_critic,
            model.attr_d_optimizer,
            real["attribute_critic"],
            model.attribute_critic.pack_inputs(fake_attributes),
            model.attr_d_gp_coe,
            model.seed_generator,
        )
        model.update_trackers("attr_d_loss", terms)


def _fakes(model, noise):
    features, attributes, _, _ = model.generate_internal(noise, training=True)
    return features, attributes


def _apply_generator_loss(model, tape, terms):
    variables = model.generator_trainable_variables
    model.g_optimizer.apply(tape.gradient(terms["loss"], variables), variables)
    model.update_trackers("g_loss", terms)


def _generator_round(model, noise):
    with tf.GradientTape() as tape:
        terms = model.generator_loss_terms(*_fakes(model, noise))
    _apply_generator_loss(model, tape, terms)


def train_step(model, data):
    features, attributes, gen_flag = model.unpack_batch(data)
    real_features, real_attributes = model.pack_real(
        *model.encode(features, attributes, gen_flag)
    )
    num_rows = ops.shape(real_features)[0]
    real = {"critic": model.critic.pack_inputs([real_features, real_attributes])}
    if model.aux_disc:
        real["attribute_critic"] = model.attribute_critic.pack_inputs(
            real_attributes
        )

    if model.shared_noise:
        noise = model.sample_noise(num_rows)
        with tf.GradientTape() as tape:
            fake_features, fake_attributes = _fakes(model, noise)
            with tape.stop_recording():
                for _ in range(model.d_rounds):
                    _critic_rounds(model, real, fake_features, fake_attributes)
            terms = model.generator_loss_terms(fake_features, fake_attributes)
        _apply_generator_loss(model, tape, terms)
        for _ in range(model.g_rounds - 1):
            _generator_round(model, noise)
    else:
        for _ in range(model.d_rounds):
            fakes = _fakes(model, model.sample_noise(num_rows))
            _critic_rounds(model, real, *fakes)
        for _ in range(model.g_rounds):
            _generator_round(model, model.sample_noise(num_rows))

    return {m.name: m.result() for m in model.metrics}
