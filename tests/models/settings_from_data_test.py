import keras
import numpy as np
import pytest

from keras_dg import DoppelGANger
from keras_dg import Output
from keras_dg import TimeSeriesDataset

TINY = dict(
    sample_len=2, gen_feature_num_units=8, gen_attribute_num_units=8,
    disc_num_units=8, attr_disc_num_units=8, seed=0,
)


def _data(lengths, t=8):
    n = len(lengths)
    flag = (np.arange(t)[None] < np.asarray(lengths)[:, None]).astype(
        "float32"
    )
    rng = np.random.default_rng(0)
    return TimeSeriesDataset(
        rng.random((n, t, 1)).astype("float32") * flag[..., None],
        np.eye(2)[rng.integers(0, 2, n)],
        flag,
        [Output("CONTINUOUS", 1, "ZERO_ONE")],
        [Output("DISCRETE", 2)],
    )


def _fit(data, **kwargs):
    model = DoppelGANger(
        data.feature_outputs, data.attribute_outputs, max_sequence_len=8,
        **TINY, **kwargs,
    )
    model.compile()
    model.fit(data, epochs=1, batch_size=10, verbose=0)
    return model


def test_auto_runs_every_series_full_length_on_full_length_data(tmp_path):
    model = _fit(_data([8] * 20))
    assert float(model.full_length_state) == 1.0
    assert set(model.generate(40, seed=0).gen_flag.sum(axis=1)) == {8.0}
    # The decision is saved with the model.
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert float(loaded.full_length_state) == 1.0
    assert loaded.full_length is None


def test_auto_keeps_the_learned_flag_on_variable_lengths():
    model = _fit(_data([8, 4] * 10))
    assert float(model.full_length_state) == 0.0
    lengths = model.generate(200, seed=0).gen_flag.sum(axis=1)
    # An untrained flag ends series anywhere (here: not all at full length).
    assert lengths.min() < 8


def test_explicit_values_win_over_the_data():
    model = _fit(_data([8] * 20), full_length=False)
    assert float(model.full_length_state) == 0.0
    model = _fit(_data([8, 4] * 10), full_length=True)
    assert float(model.full_length_state) == 1.0
    assert set(model.generate(40, seed=0).gen_flag.sum(axis=1)) == {8.0}


def test_bad_value_is_refused():
    data = _data([8] * 4)
    with pytest.raises(ValueError, match="full_length"):
        DoppelGANger(
            data.feature_outputs, data.attribute_outputs, max_sequence_len=8,
            full_length="yes", **TINY,
        )


def _two_features(n=100, t=32, seed=0):
    """Feature 0: a period of 4 (every series); feature 1: noise."""
    rng = np.random.default_rng(seed)
    shape = np.tile(rng.random((n, 1, 4)), (1, t // 4, 1)).reshape(n, t)
    features = np.stack([0.8 * shape + 0.2 * rng.random((n, t)),
                         rng.random((n, t))], axis=-1).astype("float32")
    return TimeSeriesDataset(
        features, np.eye(2)[rng.integers(0, 2, n)], np.ones((n, t), "float32"),
        [Output("CONTINUOUS", 1, "ZERO_ONE")] * 2, [Output("DISCRETE", 2)],
    )


def _check_saved_setting(model, name, expected, tmp_path):
    """The generator's setting `name` is saved with the model, and the
    loaded model generates the same series."""
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(getattr(loaded.feature_generator, name)),
        expected,
    )
    np.testing.assert_array_equal(
        loaded.generate(3, seed=0).features, model.generate(3, seed=0).features
    )


def test_auto_heads_give_the_periodic_feature_per_position_heads(tmp_path):
    data = _two_features()
    model = DoppelGANger(
        data.feature_outputs, data.attribute_outputs, max_sequence_len=32,
        **{**TINY, "sample_len": 4},
    )
    model.compile()
    mask = model.feature_generator.position_mask
    assert keras.ops.convert_to_numpy(mask).sum() == 0
    model.fit(data, epochs=1, batch_size=50, verbose=0)
    # Columns: feature 0, feature 1, the two flag columns.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mask), [1, 0, 0, 0])
    _check_saved_setting(model, "position_mask", [1, 0, 0, 0], tmp_path)


def test_auto_heads_tie_a_period_shorter_than_the_block():
    # Feature 0 has a period of 4; with S=8 its heads are tied across the
    # two repeats of that period in a block (`position_mask` holds 2).
    data = _two_features()
    model = DoppelGANger(
        data.feature_outputs, data.attribute_outputs, max_sequence_len=32,
        **{**TINY, "sample_len": 8},
    )
    model.compile()
    model.fit(data, epochs=1, batch_size=50, verbose=0)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.feature_generator.position_mask),
        [2, 0, 0, 0],
    )
    hidden = np.random.default_rng(0).normal(size=(3, 2, TINY[
        "gen_feature_num_units"])).astype("float32")  # [blocks, batch, units]
    logits = keras.ops.convert_to_numpy(
        model.feature_generator._block_logits(hidden, 2)
    )  # [batch, blocks, S, columns]
    np.testing.assert_allclose(logits[:, :, :4, 0], logits[:, :, 4:, 0],
                               rtol=1e-5, atol=1e-6)


def test_auto_step_noise_and_interpolation_find_the_smooth_feature(tmp_path):
    # Feature 0: slow sine curves; feature 1: noise.
    rng = np.random.default_rng(0)
    n, t = 60, 16
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    slow = 0.5 + 0.4 * np.sin(2 * np.pi * np.arange(t) / 40 + phase)
    data = TimeSeriesDataset(
        np.stack([slow, rng.random((n, t))], axis=-1).astype("float32"),
        np.eye(2)[rng.integers(0, 2, n)], np.ones((n, t), "float32"),
        [Output("CONTINUOUS", 1, "ZERO_ONE")] * 2, [Output("DISCRETE", 2)],
    )
    model = DoppelGANger(
        data.feature_outputs, data.attribute_outputs, max_sequence_len=t,
        **{**TINY, "sample_len": 4},
    )
    assert model.step_noise_outputs == "auto" and model.step_noise_dim
    assert model.interpolate == "auto"
    mask = model.feature_generator.step_noise_mask
    smooth = model.feature_generator.smooth_mask
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mask), [1] * 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(smooth), [0] * 4)
    model.compile()
    model.fit(data, epochs=1, batch_size=30, verbose=0)
    # Columns: feature 0, feature 1, the two flag columns. The smooth
    # feature goes without step noise and blends with the spline.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mask),
                                  [0, 1, 1, 1])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(smooth),
                                  [1, 0, 0, 0])
    # Settings, not weights: the weight average leaves them out.
    assert not any(v.path.endswith(("step_noise_mask", "smooth_mask"))
                   for v in model.ema_sources)
    _check_saved_setting(model, "step_noise_mask", [0, 1, 1, 1], tmp_path)
    _check_saved_setting(model, "smooth_mask", [1, 0, 0, 0], tmp_path)
    # A config saved before the option existed: every output, no mask.
    config = model.get_config()
    del config["step_noise_outputs"]
    old = DoppelGANger.from_config(config)
    assert old.step_noise_outputs == "all"
    assert old.feature_generator.step_noise_mask is None


def test_auto_feature_noise_is_held_when_every_feature_is_smooth(tmp_path):
    rng = np.random.default_rng(0)
    n, t = 60, 16
    phase = rng.uniform(0, 2 * np.pi, (n, 2))
    steps = np.arange(t)[None, :, None]
    slow = 0.5 + 0.4 * np.sin(2 * np.pi * steps / 40 + phase[:, None])
    smooth = TimeSeriesDataset(
        slow.astype("float32"), np.eye(2)[rng.integers(0, 2, n)],
        np.ones((n, t), "float32"),
        [Output("CONTINUOUS", 1, "ZERO_ONE")] * 2, [Output("DISCRETE", 2)],
    )
    model = DoppelGANger(
        smooth.feature_outputs, smooth.attribute_outputs, max_sequence_len=t,
        **{**TINY, "sample_len": 4},
    )
    assert model.feature_noise == "auto"
    held = model.feature_generator.series_noise
    assert keras.ops.convert_to_numpy(held) == 0
    model.compile()
    model.fit(smooth, epochs=1, batch_size=30, verbose=0)
    assert keras.ops.convert_to_numpy(held) == 1
    assert not any(v.path.endswith("series_noise") for v in model.ema_sources)
    _check_saved_setting(model, "series_noise", 1, tmp_path)
    # One rough feature: every step draws its own noise again.
    rough = TimeSeriesDataset(
        np.concatenate([slow[..., :1], rng.random((n, t, 1))], axis=-1)
        .astype("float32"),
        smooth.attributes, smooth.gen_flag, smooth.feature_outputs,
        smooth.attribute_outputs,
    )
    model.fit(rough, epochs=1, batch_size=30, verbose=0)
    assert keras.ops.convert_to_numpy(held) == 0
    # The paper's way, and a config saved before the option existed.
    assert DoppelGANger.from_config(
        {**model.get_config(), "feature_noise": "step"}
    ).feature_generator.series_noise is None
    config = model.get_config()
    del config["feature_noise"]
    old = DoppelGANger.from_config(config)
    assert old.feature_noise == "step"
    assert old.feature_generator.series_noise is None
    with pytest.raises(ValueError, match="`feature_noise` must be one of"):
        DoppelGANger(
            smooth.feature_outputs, smooth.attribute_outputs,
            max_sequence_len=t, feature_noise="block",
            **{**TINY, "sample_len": 4},
        )
