"""DoppelGANger's `train_step` on the PyTorch backend.

The same batch as on TensorFlow (`d_rounds` critic rounds, the main critic
and, with `aux_disc`, the attribute critic, each with its own alpha; then
`g_rounds` generator rounds; fresh noise every round, or one draw per batch
with the model's `shared_noise`; ALGORITHM §6), with `torch.autograd`: the
gradient penalty's input gradient is taken with
`torch.autograd.grad(create_graph=True)` so that the critic's gradient flows
through it (second order), and each round's parameter gradients with
`torch.autograd.grad` on that round's variables only (no `.grad`
accumulation to clear). Optimizer updates, and the generators' weight
average after each generator update (`model.update_ema`), run under
`torch.no_grad()`.

`torch.compile` (what Keras uses for `jit_compile=True` on this backend)
does not support the double backward of the gradient penalty
(aot_autograd), so the train step is excluded from compilation and runs
eagerly whatever `jit_compile` says; a model compiled with
`jit_compile=True` elsewhere (a `.keras` file saved on JAX) trains here.
"""

import keras
import torch
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate


def _apply(optimizer, loss, variables):
    """One optimizer step on d loss / d variables. A variable the loss does
    not use gets None, which the optimizer skips (as a TensorFlow tape)."""
    grads = torch.autograd.grad(
        loss, [v.value for v in variables], allow_unused=True
    )
    with torch.no_grad():
        optimizer.apply(list(grads), variables)


def _detached(terms):
    return {key: value.detach() for key, value in terms.items()}


def _critic_round(critic, optimizer, real, fake, penalty_weight, seed):
    """One WGAN-GP step of `critic` on packed rows; returns its loss terms."""
    batch_size = ops.shape(real)[0]
    alpha = keras.random.uniform((batch_size, 1), seed=seed)
    real = real.detach()
    fake = fake.detach()
    mixed = interpolate(real, fake, alpha).detach().requires_grad_(True)
    # One forward pass over real, fake and interpolated rows: the critic has
    # no batch statistics, so this equals three passes.
    scores = ops.cast(
        critic.score(ops.concatenate([real, fake, mixed], 0)), "float32"
    )
    (mixed_gradients,) = torch.autograd.grad(
        ops.sum(scores[2 * batch_size:]), mixed, create_graph=True
    )
    terms = critic_loss_terms(
        scores[:batch_size],
        scores[batch_size: 2 * batch_size],
        gradient_penalty(mixed_gradients),
        penalty_weight,
    )
    _apply(optimizer, terms["loss"], critic.trainable_variables)
    return _detached(terms)


def _critic_rounds(model, real, fake_features, fake_attributes):
    """One round of the main critic and, with `aux_disc`, the aux critic.

    The fakes are detached: no gradient reaches the generator.
    """
    model.critic_rounds(
        real, fake_features.detach(), fake_attributes.detach(), _critic_round
    )


def _fakes(model, noise):
    return model.training_fakes(noise)


def _apply_generator_loss(model, terms):
    _apply(
        model.g_optimizer, terms["loss"], model.generator_trainable_variables
    )
    with torch.no_grad():
        model.update_ema()
    model.update_trackers("g_loss", _detached(terms))


@torch.compiler.disable
def train_step(model, data):
    with torch.no_grad():
        real, num_rows = model.real_critic_inputs(data)

    if model.shared_noise:
        # One generator forward (with its graph) for the critic rounds and
        # the first generator round.
        noise = model.sample_noise(num_rows)
        fakes = _fakes(model, noise)
        for _ in range(model.d_rounds):
            _critic_rounds(model, real, *fakes)
        _apply_generator_loss(model, model.generator_loss_terms(*fakes))
        for _ in range(model.g_rounds - 1):
            _apply_generator_loss(
                model, model.generator_loss_terms(*_fakes(model, noise))
            )
    else:
        for _ in range(model.d_rounds):
            # No graph through the generator in critic rounds; its BatchNorm
            # statistics still update (training=True).
            with torch.no_grad():
                fakes = _fakes(model, model.sample_noise(num_rows))
            _critic_rounds(model, real, *fakes)
        for _ in range(model.g_rounds):
            noise = model.sample_noise(num_rows)
            _apply_generator_loss(
                model, model.generator_loss_terms(*_fakes(model, noise))
            )

    # The sub-optimizers count their own steps; the wrapper counts batches
    # (what callbacks such as TensorBoard read as the step).
    model.optimizer.iterations.assign_add(1)
    return {m.name: m.result() for m in model.metrics}
