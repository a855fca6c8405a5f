"""DP-SGD train step of the critics (TensorFlow backend only)."""

import math

import dp_accounting
import keras
import numpy as np
import pytest

from keras_dg.layers.packed_critic import PackedCritic
from keras_dg.privacy import PrivacyBudgetCallback
from keras_dg.privacy import compute_epsilon
from tests.harness import run_model_saving_test
from tests.harness import tiny_dataset
from tests.harness import tiny_model
from tests.harness import unused_by_design

pytestmark = pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="DP training is implemented on the TensorFlow backend only.",
)

if keras.config.backend() == "tensorflow":
    import tensorflow as tf

    from keras_dg.models.train_steps import tensorflow_dp

B, D = 6, 5


def _critic(seed=0, units=8, dim=D):
    rng = np.random.default_rng(seed)
    critic = PackedCritic(num_layers=3, num_units=units)
    critic.build((None, dim))
    critic.set_weights(
        [
            rng.normal(0, 0.5, tuple(v.shape)).astype("float32")
            for v in critic.trainable_variables
        ]
    )
    return critic


def _rows(seed, scale=1.0):
    rng = np.random.default_rng(seed)
    real = (scale * rng.normal(size=(B, D))).astype("float32")
    fake = (scale * rng.normal(size=(B, D))).astype("float32")
    alpha = rng.random((B, 1)).astype("float32")
    return real, fake, alpha


def _loop_gradients(critic, real, fake, alpha, penalty_weight):
    """Each example's gradient, one example at a time (test only)."""
    variables = critic.trainable_variables
    gradients = []
    for i in range(len(real)):
        r, f = tf.constant(real[i: i + 1]), tf.constant(fake[i: i + 1])
        mixed = r + alpha[i: i + 1] * (f - r)
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(mixed)
                mixed_score = critic.score(mixed)[0]
            input_gradient = inner.gradient(mixed_score, mixed)
            norm = tf.sqrt(tf.reduce_sum(input_gradient ** 2) + 1e-8)
            loss = (
                critic.score(f)[0] - critic.score(r)[0]
                + penalty_weight * (norm - 1.0) ** 2
            )
        gradients.append(
            [g.numpy().astype(np.float64)
             for g in tape.gradient(loss, variables)]
        )
    return gradients


def _global_norm(gradient):
    return math.sqrt(sum(float(np.sum(g ** 2)) for g in gradient))


def test_per_example_gradients_match_a_loop_over_examples():
    critic = _critic()
    real, fake, alpha = _rows(1)
    gradients, real_scores, fake_scores, penalties = (
        tensorflow_dp.per_example_gradients(critic, real, fake, alpha, 10.0)
    )
    expected = _loop_gradients(critic, real, fake, alpha, 10.0)
    assert float(np.mean(penalties)) > 0.05  # the penalty matters
    for i, example in enumerate(expected):
        for got, want in zip(gradients, example):
            np.testing.assert_allclose(
                got[i].numpy(), want, rtol=1e-4, atol=1e-5
            )
    scores = critic.score(np.concatenate([real, fake])).numpy()
    np.testing.assert_allclose(real_scores, scores[:B], rtol=1e-5)
    np.testing.assert_allclose(fake_scores, scores[B:], rtol=1e-5)


def test_update_is_the_mean_of_clipped_per_example_gradients():
    # A huge penalty weight and scaled inputs: every unclipped per-example
    # gradient is far above the clip.
    clip, weight = 0.5, 1000.0
    critic = _critic()
    before = [v.numpy().astype(np.float64) for v in critic.trainable_variables]
    real, fake, _ = _rows(2, scale=3.0)
    seed = keras.random.SeedGenerator(7)
    state = seed.state.numpy().copy()
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    optimizer.build(critic.trainable_variables)
    tensorflow_dp._dp_critic_round(
        critic, optimizer, tf.constant(real), tf.constant(fake), weight,
        seed, l2_norm_clip=clip, noise_multiplier=0.0,
    )
    # Replay the interpolation weights the round drew.
    seed.state.assign(state)
    alpha = keras.random.uniform((B, 1), seed=seed).numpy()

    reference = _critic()
    expected = _loop_gradients(reference, real, fake, alpha, weight)
    norms = [_global_norm(g) for g in expected]
    assert min(norms) > 10 * clip
    clipped = [
        [g * min(1.0, clip / norm) for g in gradient]
        for gradient, norm in zip(expected, norms)
    ]
    for gradient in clipped:
        assert _global_norm(gradient) <= clip * (1 + 1e-6)
    mean = [sum(parts) / B for parts in zip(*clipped)]
    after = [v.numpy() for v in critic.trainable_variables]
    for old, new, step in zip(before, after, mean):
        np.testing.assert_allclose(old - new, step, rtol=1e-3, atol=1e-6)
    # The update is bounded by the clip, unlike the unclipped mean.
    assert _global_norm([old - new for old, new in zip(before, after)]) <= (
        clip * (1 + 1e-5)
    )


def test_privatize_clips_sums_and_averages():
    gradients = [
        tf.constant([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]]),
        tf.constant([[0.0], [0.0], [0.0]]),
    ]
    averaged, norms = tensorflow_dp.privatize_gradients(
        gradients, 1.0, 0.0, keras.random.SeedGenerator(0)
    )
    np.testing.assert_allclose(norms, [5.0, 0.5, 0.0], rtol=1e-6)
    # (3, 4) is scaled to (0.6, 0.8); (0.3, 0.4) is below the clip.
    np.testing.assert_allclose(averaged[0], [0.9 / 3, 1.2 / 3], rtol=1e-6)
    np.testing.assert_allclose(averaged[1], [0.0])


def test_noise_has_the_right_scale():
    # real == fake and no penalty: every per-example gradient is exactly 0,
    # so the update is the noise alone, N(0, (sigma C)^2) / B per weight.
    sigma, clip = 2.0, 0.5
    critic = _critic(units=64, dim=32)
    rows = np.random.default_rng(3).normal(size=(B, 32)).astype("float32")
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    optimizer.build(critic.trainable_variables)
    seed = keras.random.SeedGenerator(1)
    steps = []
    for _ in range(3):
        before = [v.numpy() for v in critic.trainable_variables]
        tensorflow_dp._dp_critic_round(
            critic, optimizer, tf.constant(rows), tf.constant(rows), 0.0,
            seed, l2_norm_clip=clip, noise_multiplier=sigma,
        )
        steps.append(
            np.concatenate(
                [
                    (b - v.numpy()).ravel()
                    for b, v in zip(before, critic.trainable_variables)
                ]
            )
        )
    steps = np.concatenate(steps)
    expected_std = sigma * clip / B
    assert steps.size > 10_000
    # Standard errors: std / sqrt(n) for the mean, std / sqrt(2 n) for the
    # std; bounds at about 5 standard errors.
    assert abs(steps.mean()) < 5 * expected_std / math.sqrt(steps.size)
    assert abs(steps.std() / expected_std - 1) < 5 / math.sqrt(2 * steps.size)
    # Fresh noise every step.
    third = steps.size // 3
    assert not np.allclose(steps[:third], steps[third: 2 * third])


def _sgd_compiled(model):
    model.compile(
        g_optimizer=keras.optimizers.SGD(0.05),
        d_optimizer=keras.optimizers.SGD(0.05),
        attr_d_optimizer=keras.optimizers.SGD(0.05),
    )
    return model


def _weights(model):
    """Trainable weights by path below the model's own name."""
    return {
        v.path.split("/", 1)[1]: v.numpy() for v in model.trainable_variables
    }


@pytest.mark.parametrize("shared_noise", [False, True])
def test_without_noise_and_clipping_it_is_the_non_dp_step(shared_noise):
    data = tiny_dataset(n=8).as_dict()
    models = []
    for dp in (None, 0.0):
        keras.utils.set_random_seed(0)
        models.append(
            _sgd_compiled(
                tiny_model(
                    dp_noise_multiplier=dp, dp_l2_norm_clip=1e9,
                    shared_noise=shared_noise,
                )
            )
        )
    plain, private = models
    start = _weights(plain)
    for key, value in _weights(private).items():
        np.testing.assert_array_equal(value, start[key])
    histories = [
        m.fit(data, batch_size=8, epochs=1, shuffle=False, verbose=0).history
        for m in models
    ]
    after_plain, after_private = _weights(plain), _weights(private)
    unused = {
        v.path.split("/", 1)[1] for v in plain.trainable_variables
        if unused_by_design(v)
    }
    for key, value in after_plain.items():
        # Everything trained but the critics' output biases, whose gradient
        # in fake - real (+ a penalty on input gradients) is exactly 0.
        if not key.endswith("critic/score/bias") and key not in unused:
            assert not np.allclose(value, start[key]), key
        np.testing.assert_allclose(
            after_private[key], value, rtol=1e-4, atol=1e-6, err_msg=key
        )
    for name, values in histories[0].items():
        np.testing.assert_allclose(histories[1][name], values, rtol=1e-4)


# 8: several DP steps per call of the train function (what a long fit
# runs by default), here more than an epoch has.
@pytest.mark.parametrize("steps_per_execution", [None, 8])
def test_dp_training_with_aux_critic_and_packing_two(steps_per_execution):
    model = tiny_model(num_packing=2, dp_noise_multiplier=1.0,
                       dp_l2_norm_clip=1.0)
    model.compile(steps_per_execution=steps_per_execution)
    data = tiny_dataset(n=12)
    start = _weights(model)
    history = model.fit(data, batch_size=6, epochs=2, verbose=0).history
    assert model.d_optimizer.iterations.numpy() == 4
    assert model.attr_d_optimizer.iterations.numpy() == 4
    assert model.g_optimizer.iterations.numpy() == 4
    for values in history.values():
        assert np.all(np.isfinite(values))
    after = _weights(model)
    for prefix in ("critic/", "attribute_critic/", "feature_generator/"):
        # The output biases of the critics get noise only.
        changed = [
            not np.allclose(after[k], start[k])
            for k in after
            if k.startswith(prefix) and "position_heads" not in k
        ]
        assert changed and all(changed), prefix
    assert model.generate(3, seed=0).features.shape == (3, 8, 4)


def test_dp_training_on_windows_uses_their_series_range():
    """Windows carry their series' range; the DP step drops the rows
    beyond whole packs from the range as from the batch."""
    model = tiny_model(t=4, num_packing=2, dp_noise_multiplier=1.0,
                       dp_l2_norm_clip=1.0)
    model.compile()
    windows = tiny_dataset(n=6, t=8, min_length=8).windows(4)  # 12 windows
    history = model.fit(windows, batch_size=5, epochs=1, verbose=0).history
    assert model.d_optimizer.iterations.numpy() == 3  # batches 5, 5, 2
    for values in history.values():
        assert np.all(np.isfinite(values))


def test_packing_is_disjoint():
    # Series i carries the value i: each packed example must hold P
    # distinct series, each series in one example.
    P, b = 3, 8
    features = np.arange(b, dtype="float32").reshape(b, 1, 1)
    attributes = np.zeros((b, 1), "float32")
    gen_flag = np.ones((b, 1), "float32")
    kept, _, _ = tensorflow_dp.disjoint_batch(
        tf.constant(features), tf.constant(attributes), tf.constant(gen_flag),
        P,
    )
    critic = PackedCritic(num_layers=1, num_units=1, num_packing=P)
    packed = critic.pack_inputs(kept).numpy()
    assert packed.shape == (2, P)
    np.testing.assert_array_equal(packed, [[0, 2, 4], [1, 3, 5]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 3"):
        tensorflow_dp.disjoint_batch(
            tf.constant(features[:2]), tf.constant(attributes[:2]),
            tf.constant(gen_flag[:2]), P,
        )


def _independent_epsilon(n, packed_batch, num_packing, sigma, steps, delta):
    """RDP epsilon straight from dp-accounting: one Poisson-sampled Gaussian
    per step, the critic and the aux critic's noise composed jointly."""
    q = packed_batch * num_packing / n
    event = dp_accounting.PoissonSampledDpEvent(
        q, dp_accounting.GaussianDpEvent(sigma / math.sqrt(2))
    )
    accountant = dp_accounting.rdp.RdpAccountant()
    accountant.compose(event, steps)
    return accountant.get_epsilon(delta)


def test_budget_is_logged_stored_and_agrees_with_dp_accounting(tmp_path):
    n, batch_size, sigma = 12, 4, 1.5
    model = tiny_model(num_packing=2, dp_noise_multiplier=sigma,
                       dp_l2_norm_clip=0.7)
    model.compile()
    callback = PrivacyBudgetCallback.for_model(
        model, n_examples=n, batch_size=batch_size, delta=1e-3
    )
    assert callback.batch_size == 2 and callback.steps_per_epoch == 3
    history = model.fit(
        tiny_dataset(n=n), batch_size=batch_size, epochs=2, verbose=0,
        callbacks=[callback],
    ).history
    epsilon = _independent_epsilon(n, 2, 2, sigma, 6, 1e-3)
    np.testing.assert_allclose(history["epsilon"][-1], epsilon, rtol=1e-9)
    np.testing.assert_allclose(
        epsilon,
        compute_epsilon(n, 2, None, sigma, delta=1e-3, num_packing=2,
                        steps=6),
        rtol=1e-9,
    )
    privacy = model.privacy
    assert privacy["epsilon"] == history["epsilon"][-1]
    expected = {
        "delta": 1e-3, "noise_multiplier": sigma, "l2_norm_clip": 0.7,
        "n_examples": n, "batch_size": 2, "num_packing": 2, "steps": 6,
        "accountant": "rdp", "aux_disc": True, "d_rounds": 1,
        "composition": "joint",
    }
    assert {k: privacy[k] for k in expected} == expected

    restored = run_model_saving_test(model, tmp_path)
    assert restored.privacy == model.privacy
    assert restored.dp_noise_multiplier == sigma

    # Training on: the new steps are composed with the stored ones.
    callback = PrivacyBudgetCallback.for_model(
        restored, n_examples=n, batch_size=batch_size, delta=1e-3
    )
    restored.fit(tiny_dataset(n=n), batch_size=batch_size, epochs=1,
                 verbose=0, callbacks=[callback])
    assert restored.privacy["steps"] == 9
    assert [s["steps"] for s in restored.privacy["segments"]] == [6, 3]
    np.testing.assert_allclose(
        restored.privacy["epsilon"],
        _independent_epsilon(n, 2, 2, sigma, 9, 1e-3),
        rtol=1e-9,
    )


def test_callback_must_match_the_model():
    model = tiny_model(dp_noise_multiplier=1.0)
    model.compile()
    data = tiny_dataset(n=8)
    wrong = PrivacyBudgetCallback(n_examples=8, batch_size=4,
                                  noise_multiplier=2.0)
    with pytest.raises(ValueError, match="noise_multiplier: model 1.0"):
        model.fit(data, batch_size=4, epochs=1, verbose=0, callbacks=[wrong])
    short = PrivacyBudgetCallback(n_examples=8, batch_size=8,
                                  noise_multiplier=1.0)
    with pytest.raises(ValueError, match="2 steps per epoch"):
        model.fit(data, batch_size=4, epochs=1, verbose=0, callbacks=[short])
    plain = tiny_model()
    plain.compile()
    with pytest.raises(ValueError, match="does not train with differential"):
        PrivacyBudgetCallback.for_model(plain, 8, 4)
    callback = PrivacyBudgetCallback(n_examples=8, batch_size=4,
                                     noise_multiplier=1.0)
    with pytest.raises(ValueError, match="without differential privacy"):
        plain.fit(data, batch_size=4, epochs=1, verbose=0,
                  callbacks=[callback])
    packed = tiny_model(num_packing=3, dp_noise_multiplier=1.0)
    with pytest.raises(ValueError, match="last batch of each epoch holds 2"):
        PrivacyBudgetCallback.for_model(packed, 14, 4)
    with pytest.raises(ValueError, match="smaller than the model's"):
        PrivacyBudgetCallback.for_model(packed, 14, 2)
