"""DoppelGANger's `train_step` on the JAX backend.

The same batch as on TensorFlow (`d_rounds` critic rounds, each with fresh
fakes, for the main critic and, with `aux_disc`, the attribute critic, then
`g_rounds` generator rounds with fresh fakes; ALGORITHM §6), written for
JAX's functional training:

- `fit` calls `train_step(state, data)` with the values of the model's
  trainable, non-trainable (BatchNorm statistics, `SeedGenerator` states),
  optimizer and metric variables, and expects `(logs, new_state)` back. The
  whole batch runs in one `keras.StatelessScope` over that state: every
  variable read sees the threaded value and every write (optimizer updates,
  moving statistics, seed advances, tracker updates) is recorded in the
  scope, from which the new state is read at the end. `fit` threads only
  `model.optimizer`'s variables; the model's optimizer is one
  `keras.optimizers.MultiOptimizer` holding the generator's, the critic's and
  the attribute critic's optimizers, so all three states are carried.
- Each round's gradient is `jax.value_and_grad` of a pure function of the
  trained variables' values (`_value_and_grad`). The gradient penalty takes
  the critic's input gradient with `jax.vjp` inside that function, so the
  outer gradient differentiates through it (second order).
"""

import jax
import keras
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate


def _value_and_grad(loss_fn, variables, others):
    """`aux, grads` of `loss, aux = loss_fn()` with respect to `variables`.

    `loss_fn` runs in a nested `StatelessScope` where `variables` read as the
    traced values being differentiated and the variables in `others` (every
    other variable it reads) read their value in the enclosing scope. Values
    it assigns to `others` (BatchNorm moving statistics, seed advances) are
    assigned in the enclosing scope afterwards.
    """
    other_values = [v.value for v in others]

    def pure(values):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            before = [scope.get_current_value(v) for v in others]
            loss, aux = loss_fn()
        # A variable's entry is replaced only when it is assigned.
        updates = [
            None if (new := scope.get_current_value(v)) is old else new
            for v, old in zip(others, before)
        ]
        return loss, (aux, updates)

    values = [v.value for v in variables]
    (_, (aux, updates)), grads = jax.value_and_grad(pure, has_aux=True)(
        values
    )
    for variable, value in zip(others, updates):
        if value is not None:
            variable.assign(value)
    return aux, grads


def _model_variables_except(model, variables):
    ids = {id(v) for v in variables}
    return [
        v
        for v in model.trainable_variables + model.non_trainable_variables
        if id(v) not in ids
    ]


def _critic_round(critic, optimizer, real, fake, penalty_weight, seed):
    """One WGAN-GP step of `critic` on packed rows; returns its loss terms."""
    batch_size = ops.shape(real)[0]
    alpha = keras.random.uniform((batch_size, 1), seed=seed)
    mixed = interpolate(real, fake, alpha)
    # Cotangent selecting the interpolated rows: the critic has no batch
    # statistics, so the gradient of their summed scores with respect to the
    # whole input, restricted to those rows, is the penalty's gradient.
    selector = ops.concatenate(
        [ops.zeros((2 * batch_size,)), ops.ones((batch_size,))], axis=0
    )

    def loss_fn():
        # One forward pass over real, fake and interpolated rows.
        scores, pullback = jax.vjp(
            critic.score, ops.concatenate([real, fake, mixed], 0)
        )
        (input_gradients,) = pullback(selector)
        penalty = gradient_penalty(input_gradients[2 * batch_size:])
        terms = critic_loss_terms(
            scores[:batch_size],
            scores[batch_size: 2 * batch_size],
            penalty,
            penalty_weight,
        )
        return terms["loss"], terms

    # The critic reads only its own weights (it has no state).
    variables = critic.trainable_variables
    terms, grads = _value_and_grad(
        loss_fn, variables, critic.non_trainable_variables
    )
    optimizer.apply(grads, variables)
    return terms


def _generator_terms(model, noise):
    """The generator's loss terms on fresh fakes from `noise`."""
    fake_features, fake_attributes, _, _ = model.generate_internal(
        noise, training=True
    )
    g_loss_d = -ops.mean(model.critic([fake_features, fake_attributes]))
    terms = {"loss": g_loss_d, "d": g_loss_d}
    if model.aux_disc:
        g_loss_attr_d = -ops.mean(model.attribute_critic(fake_attributes))
        terms["attr_d"] = g_loss_attr_d
        terms["loss"] = g_loss_d + model.g_attr_d_coe * g_loss_attr_d
    return terms["loss"], terms


def _train_batch(model, data):
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
        # Fakes are constants of the critic's loss function: no gradient
        # reaches the generator. Their BatchNorm updates are recorded.
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
        variables = model.generator_trainable_variables
        terms, grads = _value_and_grad(
            lambda: _generator_terms(model, noise),
            variables,
            _model_variables_except(model, variables),
        )
        model.g_optimizer.apply(grads, variables)
        model.update_trackers("g_loss", terms)

    return {m.name: m.result() for m in model.metrics}


def train_step(model, state, data):
    """One batch on JAX: `(logs, new_state)` from `fit`'s threaded `state`."""
    groups = list(
        zip(
            (
                model.trainable_variables,
                model.non_trainable_variables,
                model.optimizer.variables,
                model.metrics_variables,
            ),
            state,
        )
    )
    mapping = [
        pair for variables, values in groups for pair in zip(variables, values)
    ]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = _train_batch(model, data)
    new_state = tuple(
        [scope.get_current_value(v) for v in variables]
        for variables, _ in groups
    )
    return logs, new_state
