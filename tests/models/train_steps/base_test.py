"""The train-step interface (`keras_dg/models/train_steps/base.py`): `fit`'s
inputs and the backend-neutral pieces every backend's step uses."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import keras_dg
import keras_dg.callbacks

from tests.harness import quick_fit
from tests.harness import tiny_dataset
from tests.harness import tiny_model


def test_fit_accepts_every_input_kind():
    data = tiny_dataset(n=8)
    model = tiny_model()
    model.compile()
    quick_fit(model, data)
    quick_fit(model, data.as_dict())
    quick_fit(model, (data.features, data.attributes, data.gen_flag))
    full = tiny_dataset(n=8, min_length=8)
    quick_fit(model, full.features, y=full.attributes)
    pipeline = tf.data.Dataset.from_tensor_slices(data.as_dict()).batch(4)
    quick_fit(model, pipeline, batch_size=None)
    assert int(model.g_optimizer.iterations) == 5 * 2


def test_last_partial_batch_is_trained_on():
    model = tiny_model()
    model.compile()
    quick_fit(model, tiny_dataset(n=10), batch_size=4)
    assert int(model.g_optimizer.iterations) == 3


def test_bad_training_data_raises_before_training():
    model = tiny_model()
    model.compile()
    data = tiny_dataset(n=8)
    nan = data.features.copy()
    nan[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\(2, 1, 0\)"):
        model.fit({**data.as_dict(), "features": nan}, verbose=0)
    with pytest.raises(ValueError, match="gen_flag"):
        model.fit({**data.as_dict(), "gen_flag": data.gen_flag[:, :4]}, verbose=0)
    with pytest.raises(ValueError, match="columns"):
        model.fit({**data.as_dict(), "features": data.features[..., :3]}, verbose=0)
    with pytest.raises(ValueError, match="missing"):
        model.fit({"features": data.features}, verbose=0)
    longer = tiny_dataset(n=4, t=10)
    with pytest.raises(ValueError, match="max_sequence_len is 8"):
        model.fit(longer, verbose=0)
    with pytest.raises(ValueError, match="validation"):
        model.fit(data, validation_split=0.5, verbose=0)
    assert int(model.g_optimizer.iterations) == 0


@pytest.mark.parametrize("aux_disc", [True, False])
def test_critic_rounds_run_every_critic_and_track_its_terms(aux_disc):
    model = tiny_model(aux_disc=aux_disc, num_packing=2)
    model.compile()
    data = tiny_dataset(n=4)
    real, num_rows = model.real_critic_inputs(data.as_dict())
    assert int(num_rows) == 8  # the batch and one permutation of it
    fakes = model.training_fakes(model.sample_noise(8))
    calls = []

    def step(critic, optimizer, real_rows, fake_rows, weight, seed):
        calls.append((critic, optimizer, weight, seed))
        assert tuple(real_rows.shape) == tuple(fake_rows.shape)
        assert real_rows.shape[0] == 4  # 8 rows, packed by 2
        zero = ops.zeros(())
        return {"loss": zero + 1, "fake": zero, "real": zero, "gp": zero}

    model.critic_rounds(real, *fakes, step)
    expected = [(model.critic, model.d_optimizer, model.d_gp_coe)]
    if aux_disc:
        expected.append((model.attribute_critic, model.attr_d_optimizer,
                         model.attr_d_gp_coe))
    assert [c[:3] for c in calls] == expected
    assert all(c[3] is model.seed_generator for c in calls)
    for prefix in ("d_loss", "attr_d_loss") if aux_disc else ("d_loss",):
        assert float(model.loss_trackers[prefix].result()) == 1.0
        assert float(model.loss_trackers[f"{prefix}_gp"].result()) == 0.0


def test_unpack_batch_takes_dicts_and_tuples():
    model = tiny_model()
    arrays = tiny_dataset(n=2).as_dict()
    triple = (arrays["features"], arrays["attributes"], arrays["gen_flag"])
    for batch in (arrays, triple, (arrays,)):
        unpacked = model.unpack_batch(batch)
        for got, want in zip(unpacked, triple):
            np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"missing \['gen_flag'\]"):
        model.unpack_batch({"features": 1, "attributes": 2})
    with pytest.raises(ValueError, match="Received: int"):
        model.unpack_batch(3)


def test_fit_with_a_time_budget_stops_after_it():
    model = tiny_model()
    model.compile(steps_per_execution=1)
    # A budget of 0 s ends training at the first batch, whatever `epochs`.
    history = quick_fit(model, tiny_dataset(n=12), epochs=None,
                        time_budget=0)
    assert history.epoch == [0]
    assert int(model.g_optimizer.iterations) == 1
    # Without `epochs`, the budget replaces the epoch count.
    assert history.params["epochs"] == keras_dg.callbacks.UNLIMITED_EPOCHS
    history = quick_fit(model, tiny_dataset(n=8), epochs=2,
                        time_budget="1h")
    assert history.epoch == [0, 1]


def test_fit_refuses_a_bad_time_budget_before_training():
    model = tiny_model()
    model.compile()
    with pytest.raises(ValueError, match=r"`time_budget` must be .*'10m'"):
        quick_fit(model, tiny_dataset(n=8), time_budget="10 minutes")
    assert int(model.g_optimizer.iterations) == 0


def test_fit_with_validation_data_keeps_the_best_weights():
    model = tiny_model(ema_decay=0.999)
    model.compile()
    train, held_out = tiny_dataset(n=8), tiny_dataset(n=8, seed=1)
    weights = []
    log = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: weights.append(model.get_weights())
    )
    history = quick_fit(model, train, epochs=3, validation_data=held_out,
                        callbacks=[log])
    scores = history.history["val_acf_mse"]
    assert len(scores) == 3 and np.all(np.isfinite(scores))
    best = int(np.argmin(scores))
    # The weight average is among the restored weights.
    for a, b in zip(model.get_weights(), weights[best]):
        np.testing.assert_array_equal(a, b)
    ema = {id(v) for v in model.ema_variables}
    assert any(id(v) in ema for v in model.weights)


def test_fit_refuses_other_validation_data():
    model = tiny_model()
    model.compile()
    data = tiny_dataset(n=8)
    with pytest.raises(ValueError, match="validation_data.*TimeSeriesDataset"):
        quick_fit(model, data, validation_data=data.as_dict())
    with pytest.raises(ValueError, match="validation_freq"):
        quick_fit(model, data, validation_data=data, validation_freq=0)
    with pytest.raises(ValueError, match="max_sequence_len"):
        quick_fit(model, data, validation_data=tiny_dataset(n=4, t=10))
    assert int(model.g_optimizer.iterations) == 0


def _channel_data(rate=0.1, n=40, t=8, seed=0):
    """Series with a missingness channel missing on a `rate` share of the
    steps."""
    from tests.harness import channel_dataset

    rng = np.random.default_rng(seed)
    return channel_dataset(rng.random((n, t)) < rate, rng)


def _active_rate(dataset):
    return float(dataset.features[..., 2].sum() / dataset.gen_flag.sum())


def _channel_model(data):
    from tests.harness import TINY

    model = keras_dg.DoppelGANger(
        data.feature_outputs, data.attribute_outputs, data.max_sequence_len,
        sample_len=2, **dict(TINY, seed=0),
    )
    model.compile()
    # No generator update: what `fit` set up is what generates.
    model.g_optimizer.learning_rate.assign(0.0)
    return model


def test_a_fresh_model_starts_its_channels_at_the_data_rate():
    data = _channel_data(rate=0.1)
    rate = float(data.features[..., 2].mean())
    model = _channel_model(data)
    untrained = _active_rate(model.generate(500, seed=0))
    assert abs(untrained - rate) > 0.1  # p about 0.5 at random weights.
    quick_fit(model, data)
    drawn = _active_rate(model.generate(500, seed=0))
    assert abs(drawn - rate) < 0.02
    # Only once: a later `fit` leaves the channel's weights as they are.
    heads = model.feature_generator.heads
    bias = np.array(ops.convert_to_numpy(heads.bias))
    bias[2] = 0.0
    heads.bias.assign(bias)
    quick_fit(model, data)
    assert float(ops.convert_to_numpy(heads.bias)[2]) == 0.0


def test_loaded_or_set_weights_keep_their_channels(tmp_path):
    data = _channel_data(rate=0.1)
    source = _channel_model(data)
    path = str(tmp_path / "m.keras")
    source.save(path)
    before = np.array(ops.convert_to_numpy(source.feature_generator.heads
                                           .bias))
    loaded = keras.saving.load_model(path)
    loaded.g_optimizer.learning_rate.assign(0.0)
    quick_fit(loaded, data)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(loaded.feature_generator.heads.bias), before
    )
    copied = _channel_model(data)
    copied.set_weights(source.get_weights())
    quick_fit(copied, data)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(copied.feature_generator.heads.bias), before
    )
