"""DoppelGANger's `train_step` on the TensorFlow backend.

Everything TensorFlow-specific about training lives here: the gradient tapes
(nested for the gradient penalty's second-order gradient). The model supplies
the backend-neutral pieces: batch unpacking and encoding, noise, the
generator forward, packing, and the loss terms (`keras_dg.models.losses`).

One batch: `d_rounds` critic rounds (the main critic and, with `aux_disc`,
the attribute critic, each with its own alpha), then `g_rounds` generator
rounds (ALGORITHM §6); after each generator update the weight average
moves (`model.update_ema`, with `ema_decay`). By default every round draws
fresh noise. With the
model's `shared_noise`, one draw per batch serves every round, as in the
original; the generator's forward pass for the critic rounds is then
recorded once and reused by the first generator round.

Under a `tf.distribute` strategy with R replicas (`docs/scaling.md`),
Keras's optimizer sums the replicas' gradients, so each replica's gradients
are scaled by 1/R, which makes every loss a mean over the global batch.
The gradient penalty is a mean of per-row terms, so computing it per
replica is exact. Every replica draws the random inputs (noise,
interpolation weights) of the whole global batch with the same seed and
keeps its own rows, so the replicas' fakes differ from each other and equal
those of one device. Batch-norm statistics are synchronized across replicas
(those of the global batch). Under mixed precision the critics' inputs and
scores, hence the gradient penalty, are float32.
"""

import keras
import tensorflow as tf
from keras import ops

from keras_dg.models.losses import critic_loss_terms
from keras_dg.models.losses import gradient_penalty
from keras_dg.models.losses import interpolate


def _replica_rows(draw, num_rows):
    """This replica's `num_rows` rows of `draw(global_rows)` (a tensor or a
    dict of tensors): rows `[id * num_rows, (id + 1) * num_rows)`."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return draw(num_rows)
    context = tf.distribute.get_replica_context()
    start = context.replica_id_in_sync_group * num_rows
    return tf.nest.map_structure(
        lambda x: x[start: start + num_rows], draw(num_rows * replicas)
    )


def _synchronize_batch_norm(model):
    """Batch-norm statistics over the global batch when distributed."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = replicas > 1


def _reducible_logs(logs):
    """Keras 3.15 averages a multi-worker step's logs with
    `strategy.reduce("MEAN", value, axis=0)`, which fails for scalars
    (tensorflow/tensorflow#72388): there, give each value a batch axis."""
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()
    ):
        return {name: ops.reshape(value, (1,)) for name, value in logs.items()}
    return logs


def _sample_noise(model, num_rows):
    return _replica_rows(model.sample_noise, num_rows)


def _apply(optimizer, loss, tape, variables):
    """Applies `loss`'s gradients, scaled by 1/replicas (the optimizer sums
    them over replicas: the mean over the global batch)."""
    gradients = tape.gradient(loss, variables)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        gradients = [
            None if g is None else g / replicas for g in gradients
        ]
    optimizer.apply(gradients, variables)


def _critic_round(critic, optimizer, real, fake, penalty_weight, seed):
    """One WGAN-GP step of `critic` on packed rows; returns its loss terms."""
    batch_size = ops.shape(real)[0]
    alpha = _replica_rows(
        lambda rows: keras.random.uniform((rows, 1), seed=seed), batch_size
    )
    mixed = interpolate(real, fake, alpha)
    with tf.GradientTape() as tape:
        with tf.GradientTape() as penalty_tape:
            penalty_tape.watch(mixed)
            # One forward pass over real, fake and interpolated rows: the
            # critic has no batch statistics, so this equals three passes.
            scores = ops.cast(
                critic.score(ops.concatenate([real, fake, mixed], 0)),
                "float32",
            )
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
    _apply(optimizer, terms["loss"], tape, critic.trainable_variables)
    return terms


def _critic_rounds(model, real, fake_features, fake_attributes, step):
    """One round of the main critic and, with `aux_disc`, the aux critic,
    each updated by `step` (`_critic_round`, or the DP step's)."""
    model.critic_rounds(
        real, ops.stop_gradient(fake_features),
        ops.stop_gradient(fake_attributes), step,
    )


def _fakes(model, noise):
    return model.training_fakes(noise)


def _apply_generator_loss(model, tape, terms):
    _apply(
        model.g_optimizer, terms["loss"], tape,
        model.generator_trainable_variables,
    )
    model.update_ema()
    model.update_trackers("g_loss", terms)


def _generator_round(model, noise):
    with tf.GradientTape() as tape:
        terms = model.generator_loss_terms(*_fakes(model, noise))
    _apply_generator_loss(model, tape, terms)


def run_rounds(model, real, num_rows, critic_step):
    """A batch's rounds: `d_rounds` critic rounds (each critic updated by
    `critic_step`), then `g_rounds` generator rounds; one noise draw for
    all of them with `shared_noise`, else a fresh draw per round."""
    if model.shared_noise:
        noise = _sample_noise(model, num_rows)
        with tf.GradientTape() as tape:
            fake_features, fake_attributes = _fakes(model, noise)
            with tape.stop_recording():
                for _ in range(model.d_rounds):
                    _critic_rounds(
                        model, real, fake_features, fake_attributes,
                        critic_step,
                    )
            terms = model.generator_loss_terms(fake_features, fake_attributes)
        _apply_generator_loss(model, tape, terms)
        for _ in range(model.g_rounds - 1):
            _generator_round(model, noise)
    else:
        for _ in range(model.d_rounds):
            fakes = _fakes(model, _sample_noise(model, num_rows))
            _critic_rounds(model, real, *fakes, critic_step)
        for _ in range(model.g_rounds):
            _generator_round(model, _sample_noise(model, num_rows))


def train_step(model, data):
    _synchronize_batch_norm(model)
    real, num_rows = model.real_critic_inputs(data)
    run_rounds(model, real, num_rows, _critic_round)
    # The sub-optimizers count their own steps; the wrapper counts batches
    # (what callbacks such as TensorBoard read as the step).
    model.optimizer.iterations.assign_add(1)
    return _reducible_logs({m.name: m.result() for m in model.metrics})
