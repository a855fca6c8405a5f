"""DoppelGANger's `train_step` on the PyTorch backend.

The same batch as on TensorFlow (`d_rounds` critic rounds, each with fresh
fakes, for the main critic and, with `aux_disc`, the attribute critic, then
`g_rounds` generator rounds with fresh fakes; ALGORITHM §6), with
`torch.autograd`: the gradient penalty's input gradient is taken with
`torch.autograd.grad(create_graph=True)` so that the critic's gradient flows
through it (second order), and each round's parameter gradients with
`torch.autograd.grad` on that round's variables only (no `.grad`
accumulation to clear). Optimizer updates run under `torch.no_grad()`.
"""

import keras
import torch
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate


def _gradients(loss, variables):
    """d loss / d variables; None for a variable the loss does not use (the
    optimizer then skips it, as TensorFlow's tape gives None)."""
    return torch.autograd.grad(
        loss, [v.value for v in variables], allow_unused=True
    )


def _detached(terms):
    return {key: value.detach() for key, value in terms.items()}


def _critic_round(critic, optimizer, real, fake, penalty_weight, seed):
    """One WGAN-GP step of `critic` on packed rows; returns its loss terms."""
    batch_size = ops.shape(real)[0]
    alpha = keras.random.uniform((batch_size, 1), seed=seed)
    mixed = interpolate(real, fake, alpha).detach().requires_grad_(True)
    # One forward pass over real, fake and interpolated rows: the critic has
    # no batch statistics, so this equals three passes.
    scores = critic.score(ops.concatenate([real, fake, mixed], 0))
    (mixed_gradients,) = torch.autograd.grad(
        ops.sum(scores[2 * batch_size:]), mixed, create_graph=True
    )
    terms = critic_loss_terms(
        scores[:batch_size],
        scores[batch_size: 2 * batch_size],
        gradient_penalty(mixed_gradients),
        penalty_weight,
    )
    variables = critic.trainable_variables
    grads = _gradients(terms["loss"], variables)
    with torch.no_grad():
        optimizer.apply(grads, variables)
    return _detached(terms)


def train_step(model, data):
    features, attributes, gen_flag = model.unpack_batch(data)
    with torch.no_grad():
        real_features, real_attributes = model.encode(
            features, attributes, gen_flag
        )
        real_features, real_attributes = model.pack_real(
            real_features, real_attributes
        )
        real = model.critic.pack_inputs([real_features, real_attributes])
        if model.aux_disc:
            real_attr = model.attribute_critic.pack_inputs(real_attributes)
    num_rows = ops.shape(real_features)[0]

    for _ in range(model.d_rounds):
        # No graph through the generator in critic rounds (its BatchNorm
        # statistics still update: training=True).
        with torch.no_grad():
            fake_features, fake_attributes, _, _ = model.generate_internal(
                model.sample_noise(num_rows), training=True
            )
            fake = model.critic.pack_inputs([fake_features, fake_attributes])
        terms = _critic_round(
            model.critic, model.d_optimizer, real, fake, model.d_gp_coe,
            model.seed_generator,
        )
        model.update_trackers("d_loss", terms)
        if model.aux_disc:
            with torch.no_grad():
                fake_attr = model.attribute_critic.pack_inputs(
                    fake_attributes
                )
            terms = _critic_round(
                model.attribute_critic,
                model.attr_d_optimizer,
                real_attr,
                fake_attr,
                model.attr_d_gp_coe,
                model.seed_generator,
            )
            model.update_trackers("attr_d_loss", terms)

    for _ in range(model.g_rounds):
        noise = model.sample_noise(num_rows)
        fake_features, fake_attributes, _, _ = model.generate_internal(
            noise, training=True
        )
        g_loss_d = -ops.mean(model.critic([fake_features, fake_attributes]))
        terms = {"loss": g_loss_d, "d": g_loss_d}
        if model.aux_disc:
            g_loss_attr_d = -ops.mean(model.attribute_critic(fake_attributes))
            terms["attr_d"] = g_loss_attr_d
            terms["loss"] = g_loss_d + model.g_attr_d_coe * g_loss_attr_d
        variables = model.generator_trainable_variables
        grads = _gradients(terms["loss"], variables)
        with torch.no_grad():
            model.g_optimizer.apply(grads, variables)
        model.update_trackers("g_loss", _detached(terms))

    return {m.name: m.result() for m in model.metrics}
