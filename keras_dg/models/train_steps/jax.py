"""DoppelGANger's `train_step` on the JAX backend.

The same batch as on TensorFlow (`d_rounds` critic rounds, the main critic
and, with `aux_disc`, the attribute critic, each with its own alpha; then
`g_rounds` generator rounds; fresh noise every round, or one draw per batch
with the model's `shared_noise`; ALGORITHM §6), written for JAX's
functional training:

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
- The generators' weight average (`model.update_ema`, after each
  generator update) is a set of non-trainable model variables: its
  assignments are recorded in the same scope and threaded like the
  BatchNorm statistics.
- Gradients come from `jax.value_and_grad` / `jax.vjp` of pure functions of
  the trained variables' values (`_pure`). The gradient penalty takes the
  critic's input gradient with `jax.vjp` inside the critic's loss function,
  so the outer gradient differentiates through it (second order).
"""

import jax
import keras
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate


def _pure(fn, variables, others):
    """`fn` as a pure function `values -> (fn(), updates)` of `variables`.

    `fn` runs in a nested `StatelessScope` where `variables` read as the
    given (traced) values and the variables in `others` (every other
    variable `fn` reads) read their value in the enclosing scope. `updates`
    holds, per variable of `others`, the value `fn` assigned to it
    (BatchNorm moving statistics, seed advances) or None; pass them to
    `_assign` once out of the JAX transformation.
    """
    other_values = [v.value for v in others]

    def pure(values):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            before = [scope.get_current_value(v) for v in others]
            out = fn()
        # A variable's entry is replaced only when it is assigned.
        updates = [
            None if (new := scope.get_current_value(v)) is old else new
            for v, old in zip(others, before)
        ]
        return out, updates

    return pure


def _assign(others, updates):
    for variable, value in zip(others, updates):
        if value is not None:
            variable.assign(value)


def _others(model, variables):
    """The model's variables other than `variables`."""
    ids = {id(v) for v in variables}
    return [
        v
        for v in model.trainable_variables + model.non_trainable_variables
        if id(v) not in ids
    ]


def _value_and_grad(loss_fn, variables, others):
    """`aux, grads` of `loss, aux = loss_fn()` with respect to `variables`
    (see `_pure` for `others`)."""
    pure = _pure(loss_fn, variables, others)

    def loss(values):
        (value, aux), updates = pure(values)
        return value, (aux, updates)

    values = [v.value for v in variables]
    (_, (aux, updates)), grads = jax.value_and_grad(loss, has_aux=True)(
        values
    )
    _assign(others, updates)
    return aux, grads


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

    def score(rows):
        return ops.cast(critic.score(rows), "float32")

    def loss_fn():
        # One forward pass over real, fake and interpolated rows.
        scores, pullback = jax.vjp(
            score, ops.concatenate([real, fake, mixed], 0)
        )
        (input_gradients,) = pullback(selector)
        terms = critic_loss_terms(
            scores[:batch_size],
            scores[batch_size: 2 * batch_size],
            gradient_penalty(input_gradients[2 * batch_size:]),
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


def _critic_rounds(model, real, fake_features, fake_attributes):
    """One round of the main critic and, with `aux_disc`, the aux critic.

    The fakes are constants here: no gradient reaches the generator.
    """
    model.critic_rounds(real, fake_features, fake_attributes, _critic_round)


def _fakes(model, noise):
    return model.training_fakes(noise)


def _generator_round(model, noise):
    """One generator step on fresh fakes from `noise`."""
    variables = model.generator_trainable_variables

    def loss_fn():
        terms = model.generator_loss_terms(*_fakes(model, noise))
        return terms["loss"], terms

    terms, grads = _value_and_grad(
        loss_fn, variables, _others(model, variables)
    )
    model.g_optimizer.apply(grads, variables)
    model.update_ema()
    model.update_trackers("g_loss", terms)


def _shared_noise_rounds(model, real, noise):
    """All rounds on one noise draw, with one generator forward for the
    critic rounds and the first generator round (as on TensorFlow)."""
    variables = model.generator_trainable_variables
    others = _others(model, variables)
    forward = _pure(lambda: _fakes(model, noise), variables, others)
    fakes, pullback, updates = jax.vjp(
        forward, [v.value for v in variables], has_aux=True
    )
    _assign(others, updates)
    for _ in range(model.d_rounds):
        _critic_rounds(model, real, *fakes)

    # The generator loss of those fakes under the updated critics, pulled
    # back through the recorded forward pass.
    def loss_of_fakes(fakes):
        terms = model.generator_loss_terms(*fakes)
        return terms["loss"], terms

    (_, terms), fake_grads = jax.value_and_grad(loss_of_fakes, has_aux=True)(
        fakes
    )
    (grads,) = pullback(fake_grads)
    model.g_optimizer.apply(grads, variables)
    model.update_ema()
    model.update_trackers("g_loss", terms)
    for _ in range(model.g_rounds - 1):
        _generator_round(model, noise)


def _train_batch(model, data):
    real, num_rows = model.real_critic_inputs(data)

    if model.shared_noise:
        _shared_noise_rounds(model, real, model.sample_noise(num_rows))
    else:
        for _ in range(model.d_rounds):
            fakes = _fakes(model, model.sample_noise(num_rows))
            _critic_rounds(model, real, *fakes)
        for _ in range(model.g_rounds):
            _generator_round(model, model.sample_noise(num_rows))

    # The sub-optimizers count their own steps; the wrapper counts batches
    # (what callbacks such as TensorBoard read as the step).
    model.optimizer.iterations.assign_add(1)
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
