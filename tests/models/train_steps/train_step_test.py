"""`fit` through the running backend's train step.

Run under each backend: `KERAS_BACKEND=jax pytest tests/models/train_steps`
(also `tensorflow`, `torch`).
"""

import keras
import numpy as np
import pytest

from tests.harness import assert_trained_weights_close
from tests.harness import tiny_dataset
from tests.harness import tiny_model
from tests.harness import unused_by_design

BACKEND = keras.config.backend()
# Without XLA, JAX dispatches (and compiles) op by op: slow to start.
JIT = BACKEND == "jax"


def _values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def _changed(before, variables):
    return [
        not np.allclose(b, keras.ops.convert_to_numpy(v))
        for b, v in zip(before, variables)
    ]


@pytest.mark.parametrize("shared_noise", [False, True])
def test_fit_updates_every_piece_of_state(shared_noise):
    model = tiny_model(
        d_rounds=2, g_rounds=1, num_packing=2, shared_noise=shared_noise
    )
    model.compile(jit_compile=JIT)
    batch_norms = [
        layer
        for generator in (model.attribute_generator, model.addi_generator)
        for layer in generator.batch_norm_layers
    ]
    statistics = [
        v for bn in batch_norms for v in (bn.moving_mean, bn.moving_variance)
    ]
    seeds = [model.seed_generator.state]
    # A critic's score bias has zero gradient (it cancels between D(fake)
    # and D(real)); all its other weights train.
    critic_biases = [
        model.critic.score_layer.bias, model.attribute_critic.score_layer.bias
    ]
    for critic, bias in zip(
        (model.critic, model.attribute_critic), critic_biases
    ):
        assert critic.trainable_variables[-1] is bias
    groups = {
        "critic": model.critic.trainable_variables[:-1],
        "attribute_critic": model.attribute_critic.trainable_variables[:-1],
        "generator": [
            v for v in model.generator_trainable_variables
            if not unused_by_design(v)
        ],
        "statistics": statistics,
        "seed": seeds,
    }
    before = {name: _values(vs) for name, vs in groups.items()}
    biases = _values(critic_biases)

    history = model.fit(
        tiny_dataset(n=8), batch_size=4, epochs=1, verbose=0
    ).history  # 2 batches

    assert int(model.optimizer.iterations) == 2
    assert int(model.g_optimizer.iterations) == 2
    assert int(model.d_optimizer.iterations) == 2 * 2
    assert int(model.attr_d_optimizer.iterations) == 2 * 2
    assert set(history) == {m.name for m in model.metrics}
    assert all(np.isfinite(v).all() for v in history.values())
    for name, variables in groups.items():
        changed = _changed(before[name], variables)
        assert all(changed), (name, changed)
    assert not any(_changed(biases, critic_biases))


@pytest.mark.parametrize(
    "d_rounds, g_rounds, shared_noise", [(1, 2, False), (2, 3, True)]
)
def test_optimizer_steps_follow_the_rounds(d_rounds, g_rounds, shared_noise):
    model = tiny_model(
        d_rounds=d_rounds, g_rounds=g_rounds, shared_noise=shared_noise
    )
    model.compile(jit_compile=JIT)
    model.fit(tiny_dataset(n=12), batch_size=4, epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations) == 3 * g_rounds
    assert int(model.d_optimizer.iterations) == 3 * d_rounds
    assert int(model.attr_d_optimizer.iterations) == 3 * d_rounds


def test_without_aux_disc_and_self_norm():
    model = tiny_model(aux_disc=False, self_norm=False, d_rounds=2)
    model.compile(jit_compile=JIT)
    history = model.fit(
        tiny_dataset(n=8), batch_size=4, epochs=1, verbose=0
    ).history
    assert "attr_d_loss" not in history
    assert int(model.d_optimizer.iterations) == 4
    assert model.attr_d_optimizer is None


# Eager JAX compiles every op on first use: about 20 s each there.
@pytest.mark.parametrize("shared_noise", [False, True])
def test_compiled_and_eager_training_agree(shared_noise):
    """The compiled step (a traced `tf.function`, a jitted JAX function with
    the state threaded through it) does what the eager step does."""

    def train(**compile_kwargs):
        keras.utils.set_random_seed(0)
        model = tiny_model(d_rounds=2, num_packing=2, shared_noise=shared_noise)
        model.compile(**compile_kwargs)
        start = _values(model.weights)
        history = model.fit(
            tiny_dataset(n=8), batch_size=4, epochs=1, shuffle=False,
            verbose=0,
        ).history
        return history, _values(model.weights), start

    eager_history, eager_weights, start = train(run_eagerly=True)
    history, weights, compiled_start = train(jit_compile=JIT)
    for a, b in zip(compiled_start, start):
        np.testing.assert_array_equal(a, b)
    for name, values in eager_history.items():
        # Means of the two batches' losses (of order 1).
        np.testing.assert_allclose(history[name], values, rtol=1e-4, atol=1e-5)
    # Two batches of two critic rounds (critics) or one round (generator).
    assert_trained_weights_close(weights, eager_weights, start, steps=4)


# The harness's tolerance, checked once (on the default backend).
@pytest.mark.skipif(
    BACKEND != "tensorflow", reason="checks the test harness, not a backend"
)
def test_trained_weights_tolerance_catches_a_real_disagreement(monkeypatch):
    """The tolerance of the test above is loose only across CPUs: a run
    with the generator's loss sign flipped, or one batch fewer, fails it."""
    from keras_dg.models.train_steps import base

    def train(**kwargs):
        keras.utils.set_random_seed(0)
        model = tiny_model(d_rounds=2, num_packing=2)
        model.compile(jit_compile=JIT)
        start = _values(model.weights)
        model.fit(tiny_dataset(n=8), shuffle=False, verbose=0, **kwargs)
        return _values(model.weights), start

    weights, start = train(batch_size=4, epochs=1)
    fewer, _ = train(batch_size=8, epochs=1)
    with pytest.raises(AssertionError, match="runs differ"):
        assert_trained_weights_close(fewer, weights, start, steps=4)
    terms = base.TrainStepMixin.generator_loss_terms
    monkeypatch.setattr(
        base.TrainStepMixin, "generator_loss_terms",
        lambda self, *fakes: {k: -v for k, v in terms(self, *fakes).items()},
    )
    flipped, _ = train(batch_size=4, epochs=1)
    with pytest.raises(AssertionError, match="runs differ"):
        assert_trained_weights_close(flipped, weights, start, steps=4)
