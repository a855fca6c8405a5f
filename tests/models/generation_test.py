"""`generate` and decoding (`keras_dg/models/generation.py`)."""

import os

import keras
import numpy as np
import pytest

import keras_dg
from keras_dg import Output
from tests.harness import tiny_dataset
from tests.harness import tiny_model


def test_generation_is_reproducible_by_seed():
    model = tiny_model()
    a = model.generate(5, seed=3)
    b = model.generate(5, seed=3)
    c = model.generate(5, seed=4)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.attributes, b.attributes)
    assert not np.array_equal(a.features, c.features)
    # Other chunk sizes: the same data up to float round-off (XLA may sum
    # in another order for another batch shape; a flipped one-hot category
    # would differ by 1).
    chunked = model.generate(5, seed=3, batch_size=2)
    np.testing.assert_allclose(a.features, chunked.features, atol=1e-6)
    np.testing.assert_allclose(a.attributes, chunked.attributes, atol=1e-6)
    # A row's noise depends only on the seed and its index: fewer series
    # are a prefix of more.
    prefix = model.generate(3, seed=3)
    np.testing.assert_allclose(prefix.features, a.features[:3], atol=1e-6)
    np.testing.assert_allclose(prefix.attributes, a.attributes[:3], atol=1e-6)


def test_generation_noise_rows_do_not_depend_on_how_they_are_cut():
    from keras_dg.models.generation import _GenerationNoise

    shapes = {"a": (1, 3), "b": (1, 2, 4)}
    whole = _GenerationNoise(shapes, 2500, entropy=7).rows(0, 2500)
    assert whole["a"].shape == (2500, 3) and whole["b"].shape == (2500, 2, 4)
    assert whole["a"].dtype == np.float32
    pieces = _GenerationNoise(shapes, 2500, entropy=7)
    cut = [pieces.rows(lo, hi) for lo, hi in [(0, 700), (700, 1999), (1999, 2500)]]
    for name in shapes:
        np.testing.assert_array_equal(
            np.concatenate([c[name] for c in cut]), whole[name]
        )
    # Fewer rows: a prefix; another seed: other noise.
    fewer = _GenerationNoise(shapes, 1200, entropy=7).rows(0, 1200)
    np.testing.assert_array_equal(fewer["b"], whole["b"][:1200])
    other = _GenerationNoise(shapes, 1200, entropy=8).rows(0, 1200)
    assert not np.allclose(other["a"], fewer["a"])
    # Blocks and inputs have streams of their own.
    assert not np.allclose(whole["a"][:1000], whole["a"][1000:2000])


def test_generate_compiles_one_chunk_shape(monkeypatch):
    model = tiny_model()
    rows = []
    predict_on_batch = model.predict_on_batch

    def record(inputs):
        rows.append({len(v) for v in inputs.values()})
        return predict_on_batch(inputs)

    monkeypatch.setattr(model, "predict_on_batch", record)
    model.generate(7, seed=0, batch_size=3)
    # 3 + 3 + 1 rows, the last chunk padded to 3.
    assert rows == [{3}, {3}, {3}]
    assert model.generate(7, seed=0, batch_size=3).features.shape[0] == 7


@pytest.mark.xla_generation
@pytest.mark.parametrize(
    "setting, expected",
    [(None, keras.config.backend() in ("tensorflow", "jax")), (True, True),
     (False, False)],
)
def test_predict_jit_compile(monkeypatch, setting, expected):
    model = tiny_model()
    model.compile(predict_jit_compile=setting)
    seen = []

    def fake(self, force=False):
        seen.append(self.jit_compile)
        return "predict function"

    monkeypatch.setattr(keras.Model, "make_predict_function", fake)
    assert model.make_predict_function() == "predict function"
    assert seen == [expected]
    # The train step's own setting is left as it was.
    assert model.jit_compile == (keras.config.backend() == "jax")
    if setting is not None:
        assert model.get_compile_config()["predict_jit_compile"] is setting
    with pytest.raises(ValueError, match="predict_jit_compile"):
        model.compile(predict_jit_compile="yes")


@pytest.mark.xla_generation
def test_generation_with_and_without_xla_agrees():
    model = tiny_model(t=8, sample_len=2)
    model.compile()
    model.fit(tiny_dataset(n=8), batch_size=4, epochs=1, verbose=0)
    default = model.generate(6, seed=4)
    model.compile(predict_jit_compile=False)
    plain = model.generate(6, seed=4)
    for part in ("features", "attributes", "gen_flag"):
        np.testing.assert_allclose(
            getattr(default, part), getattr(plain, part), atol=1e-5,
            err_msg=part,
        )


def test_predict_adds_the_decoded_series_generate_returns():
    from keras_dg.models.generation import _GenerationNoise

    model = tiny_model()
    # The noise generate(5, seed=3) draws.
    noise = _GenerationNoise(model._noise_shapes(1), 5, entropy=3).rows(0, 5)
    out = model.predict(noise, batch_size=5, verbose=0)
    decoded = model.decode(out["features"], out["attributes"], out["gen_flag"])
    np.testing.assert_allclose(out["decoded_features"], decoded.features, atol=1e-6)
    np.testing.assert_array_equal(out["decoded_attributes"], decoded.attributes)
    generated = model.generate(5, seed=3)
    np.testing.assert_allclose(generated.features, decoded.features, atol=1e-6)
    # Decoded: one-hot discrete blocks, zero after each series' end.
    flag = out["gen_flag"][..., None]
    assert np.all(out["decoded_features"] * (1 - flag) == 0)
    one_hot = out["decoded_attributes"][:, :3]  # the DISCRETE(3) attribute
    np.testing.assert_array_equal(one_hot.sum(1), 1)
    assert set(np.unique(one_hot)) <= {0.0, 1.0}


def test_conditional_generation_returns_the_given_attributes():
    model = tiny_model()
    given = tiny_dataset(n=5).attributes
    synth = model.generate(attributes=given, seed=0)
    np.testing.assert_array_equal(synth.attributes, given)
    assert synth.features.shape == (5, 8, 4)
    # The features depend on the given attributes.
    other = model.generate(attributes=given[::-1], seed=0)
    assert not np.allclose(synth.features, other.features)


def test_bad_generate_arguments():
    model = tiny_model()
    with pytest.raises(ValueError, match="`n`"):
        model.generate(0)
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        model.generate(attributes=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one-hot"):
        model.generate(attributes=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="disagrees"):
        model.generate(3, attributes=tiny_dataset(n=2).attributes)
    for seed in (-1, 1.5, "0", True):
        with pytest.raises(ValueError, match="`seed`"):
            model.generate(3, seed=seed)


def test_fixed_attributes_sample_the_others_from_the_conditional():
    model = tiny_model()
    synth = model.generate(300, fixed_attributes={0: 1}, seed=0)
    np.testing.assert_array_equal(synth.attributes[:, :3], np.eye(3)[[1] * 300])
    # The free (continuous) attribute follows the generator's own conditional
    # distribution: compare with unconditional draws filtered on category 1.
    free = model.generate(3000, seed=1).attributes
    reference = free[free[:, 1] == 1, 3]
    assert len(reference) > 100
    spread = np.sqrt(reference.var() / len(reference) + synth.attributes[:, 3].var() / 300)
    assert abs(synth.attributes[:, 3].mean() - reference.mean()) < 4 * spread + 1e-6
    fixed = model.generate(20, fixed_attributes={1: 0.5}, tolerance=0.5, seed=0)
    np.testing.assert_allclose(fixed.attributes[:, 3], 0.5)


def test_bad_fixed_attributes():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"`fixed_attributes key` must be an integer between 0 and 1"):
        model.generate(2, fixed_attributes={5: 0})
    with pytest.raises(ValueError, match=r"`fixed_attributes\[0\]` must be an integer between 0 and 2"):
        model.generate(2, fixed_attributes={0: 3})
    with pytest.raises(ValueError, match="must lie in"):
        model.generate(2, fixed_attributes={1: 2.0})
    with pytest.raises(ValueError, match="not both"):
        model.generate(attributes=tiny_dataset(n=2).attributes, fixed_attributes={0: 1})
    with pytest.raises(ValueError, match="acceptance rate"):
        model.generate(5, fixed_attributes={1: 0.999}, tolerance=1e-9, max_draws=2000)


def test_fixed_attributes_follow_a_learned_known_conditional():
    # Data where the second attribute always equals the first: after
    # training, fixing the first must give the same category for the second.
    rng = np.random.default_rng(0)
    n, t = 64, 4
    first = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    attributes = np.concatenate([np.eye(3)[first], np.eye(3)[first]], 1)
    data = keras_dg.TimeSeriesDataset(
        rng.random((n, t, 1)), attributes, np.ones((n, t)),
        [Output("CONTINUOUS", 1, "ZERO_ONE")],
        [Output("DISCRETE", 3), Output("DISCRETE", 3)],
    )
    model = keras_dg.DoppelGANger(
        data.feature_outputs, data.attribute_outputs, max_sequence_len=t,
        sample_len=2, gen_feature_num_units=8, gen_attribute_num_units=16,
        disc_num_units=16, attr_disc_num_units=16, disc_num_layers=2,
        attr_disc_num_layers=2, g_lr=1e-2, d_lr=1e-2, attr_d_lr=1e-2, seed=0,
    )
    model.compile()
    model.fit(data, epochs=60, batch_size=16, verbose=0)
    for category in range(3):
        synth = model.generate(100, fixed_attributes={0: category}, seed=category)
        assert np.all(synth.attributes[:, :3].argmax(1) == category)
        assert np.mean(synth.attributes[:, 3:].argmax(1) == category) > 0.8


def test_generation_thread_pools_live_across_calls():
    from keras_dg.models.generation import _generation_pools

    drawer, runner = _generation_pools(2)
    assert _generation_pools(2) == (drawer, runner)
    assert _generation_pools(1)[0] is drawer
    assert _generation_pools(1)[1] is not runner


def test_generate_uses_the_weight_average():
    model = tiny_model(ema_decay=0.999)
    model.compile()
    model.fit(tiny_dataset(n=8), batch_size=4, epochs=2, verbose=0)
    raw = [np.array(keras.ops.convert_to_numpy(v)) for v in model.ema_sources]
    averaged = model.generate(4, seed=0)
    from_raw = model.generate(4, seed=0, use_ema=False)
    assert not np.allclose(averaged.features, from_raw.features)
    # The raw weights are back after generating.
    for v, r in zip(model.ema_sources, raw):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), r)
    # Generating from the average is generating with its values as weights.
    for v, average in zip(model.ema_sources, model.ema_variables):
        v.assign(keras.ops.convert_to_numpy(average))
    np.testing.assert_array_equal(
        model.generate(4, seed=0, use_ema=False).features, averaged.features
    )
    with pytest.raises(ValueError, match="use_ema"):
        model.generate(4, use_ema="no")


def test_untrained_model_generates_from_its_weights():
    model = tiny_model()
    np.testing.assert_array_equal(
        model.generate(3, seed=0).features,
        model.generate(3, seed=0, use_ema=False).features,
    )


# Fast from the first call (#17): the path by request size, JAX's cache.


def test_generation_jit_depends_only_on_the_request(monkeypatch):
    from keras_dg.models import generation

    model = tiny_model()  # 4 LSTM steps
    monkeypatch.setattr(generation, "XLA_MIN_WORK", 40)
    small = False if keras.config.backend() == "tensorflow" else None
    assert model._generation_jit(None, 9) is small
    assert model._generation_jit(None, 10) is None
    # A request of unknown size: the model's own choice.
    assert model._generation_jit(None, None) is None
    # Long series count their LSTM steps: 3 series of 24 steps (12 LSTM
    # steps) are 36, 4 are 48.
    assert model._generation_jit(24, 3) is small
    assert model._generation_jit(24, 4) is None
    # A setting of the user's wins.
    for setting in (True, False):
        model.compile(predict_jit_compile=setting)
        assert model._generation_jit(None, 1) is None


@pytest.mark.xla_generation
def test_small_requests_skip_xla_and_agree_with_big_ones(monkeypatch):
    from keras_dg.models import generation

    model = tiny_model()  # 4 LSTM steps
    model.compile()
    monkeypatch.setattr(generation, "XLA_MIN_WORK", 24)
    made = []
    make = keras.Model.make_predict_function

    def spy(self, force=False):
        if force or self.predict_function is None:
            made.append(self.jit_compile)
        return make(self, force)

    monkeypatch.setattr(keras.Model, "make_predict_function", spy)
    small = model.generate(5, seed=3)
    big = model.generate(6, seed=3)
    again = model.generate(5, seed=3)
    backend = keras.config.backend()
    # TensorFlow: a plain function for 20 series x steps, XLA for 24;
    # each made once. JAX always compiles, PyTorch never.
    assert made == {
        "tensorflow": [False, True], "jax": [True], "torch": [False],
    }[backend]
    # The same request takes the same path: the same bytes.
    np.testing.assert_array_equal(small.features, again.features)
    np.testing.assert_array_equal(small.attributes, again.attributes)
    # Both paths give the same series to float32 round-off.
    np.testing.assert_allclose(small.features, big.features[:5], atol=1e-5)
    np.testing.assert_allclose(
        small.attributes, big.attributes[:5], atol=1e-5
    )
    np.testing.assert_array_equal(small.gen_flag, big.gen_flag[:5])
    # The model's own predict function is the XLA one (TensorFlow).
    if backend == "tensorflow":
        assert model.predict_function is not None


def test_small_long_requests_keep_one_function_per_length(monkeypatch):
    from keras_dg.models import generation

    model = tiny_model()
    monkeypatch.setattr(generation, "_KEPT_LENGTH_FUNCTIONS", 2)
    for length in (10, 12, 14, 10):
        model.generate(2, seed=0, length=length)
    kept = generation._LENGTH_FUNCTIONS[model]["functions"]
    # 5, 6 and 7 LSTM steps asked for, the last two kept (5 again last).
    assert [steps for steps, _ in kept] == [7, 5]


def test_jax_cache_dir_from_the_environment(monkeypatch, tmp_path):
    from keras_dg.models.generation import JAX_CACHE_ENV
    from keras_dg.models.generation import jax_cache_dir

    monkeypatch.delenv(JAX_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert jax_cache_dir() == str(tmp_path / "keras_dg" / "jax_cache")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert jax_cache_dir().endswith(
        f".cache{os.sep}keras_dg{os.sep}jax_cache"
    )
    monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "mine"))
    assert jax_cache_dir() == str(tmp_path / "mine")
    for off in ("off", "OFF", ""):
        monkeypatch.setenv(JAX_CACHE_ENV, off)
        assert jax_cache_dir() is None
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "a_file"))
    with pytest.raises(ValueError, match="KERAS_DG_JAX_CACHE_DIR.*a_file"):
        jax_cache_dir()


class _FakeJaxConfig:
    def __init__(self, folder=None):
        self.jax_compilation_cache_dir = folder
        self.jax_persistent_cache_min_compile_time_secs = 1.0
        self.jax_compilation_cache_max_size = -1

    def update(self, name, value):
        setattr(self, name, value)


def _fake_jax(monkeypatch, folder=None):
    """A stand-in `jax` module for `_use_jax_cache` (the real setting is
    process-wide); the once-per-process flag reset."""
    import sys
    import types

    from keras_dg.models import generation

    fake = types.SimpleNamespace(config=_FakeJaxConfig(folder))
    monkeypatch.setitem(sys.modules, "jax", fake)
    monkeypatch.setattr(generation, "_JAX_CACHE_DONE", [])
    return fake.config


def test_use_jax_cache_turns_the_cache_on_once(monkeypatch, tmp_path):
    from keras_dg.models.generation import JAX_CACHE_ENV
    from keras_dg.models.generation import _use_jax_cache

    folder = tmp_path / "cache"
    monkeypatch.setenv(JAX_CACHE_ENV, str(folder))
    config = _fake_jax(monkeypatch)
    _use_jax_cache()
    assert folder.is_dir()
    assert config.jax_compilation_cache_dir == str(folder)
    assert config.jax_persistent_cache_min_compile_time_secs == 0.1
    assert config.jax_compilation_cache_max_size == 1 << 30
    # Once per process.
    config.jax_compilation_cache_dir = "elsewhere"
    _use_jax_cache()
    assert config.jax_compilation_cache_dir == "elsewhere"


def test_use_jax_cache_leaves_other_settings_alone(monkeypatch, tmp_path):
    from keras_dg.models.generation import JAX_CACHE_ENV
    from keras_dg.models.generation import _use_jax_cache

    # JAX's own folder wins.
    monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "ours"))
    config = _fake_jax(monkeypatch, folder=str(tmp_path / "theirs"))
    _use_jax_cache()
    assert config.jax_compilation_cache_dir == str(tmp_path / "theirs")
    assert config.jax_persistent_cache_min_compile_time_secs == 1.0
    assert not (tmp_path / "ours").exists()
    # Off.
    monkeypatch.setenv(JAX_CACHE_ENV, "off")
    config = _fake_jax(monkeypatch)
    _use_jax_cache()
    assert config.jax_compilation_cache_dir is None
    # A folder that cannot be made: a warning, no cache.
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "a_file" / "sub"))
    config = _fake_jax(monkeypatch)
    with pytest.warns(UserWarning, match="could not make"):
        _use_jax_cache()
    assert config.jax_compilation_cache_dir is None


def test_bad_jax_cache_dir_fails_before_generating(monkeypatch, tmp_path):
    from keras_dg.models.generation import JAX_CACHE_ENV

    if keras.config.backend() != "jax":
        pytest.skip("the cache is JAX's")
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "a_file"))
    model = tiny_model()
    with pytest.raises(ValueError, match=JAX_CACHE_ENV):
        model.generate(2, seed=0)


def test_the_step_noise_draw_is_standard_normal_and_row_by_row():
    from scipy import stats

    from keras_dg.models.generation import _box_muller

    big = _box_muller(np.random.default_rng(3), (2000, 11, 5))
    assert big.dtype == np.float32 and big.shape == (2000, 11, 5)
    # A row's values do not depend on how many rows are drawn.
    np.testing.assert_array_equal(
        _box_muller(np.random.default_rng(3), (7, 11, 5)), big[:7]
    )
    values = big.reshape(-1)
    assert stats.kstest(values, "norm").pvalue > 1e-3
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1) < 0.02
    # Neighbouring values (a cosine and a sine of one pair, or of two
    # pairs) are uncorrelated.
    rows = big.reshape(2000, -1)
    for a, b in [(0, 1), (0, 28), (27, 54)]:
        assert abs(np.corrcoef(rows[:, a], rows[:, b])[0, 1]) < 0.1
    assert np.isfinite(values).all() and np.abs(values).max() < 6.0


# --- Missingness channels: drawn from the softmax (`draw_missing`) ---------

CHANNEL_OUTPUTS = [
    Output("CONTINUOUS", 1, "ZERO_ONE"),
    Output("DISCRETE", 2, is_missing_channel=True),
]


def channel_model(p_missing=0.2, t=8, **kwargs):
    """A tiny untrained model whose missingness channel's softmax is
    `(1 - p_missing, p_missing)` at every step (the channel's logits
    forced: zero weights, a bias of the log-odds) and whose series all run
    the full length."""
    from tests.harness import TINY

    config = dict(TINY, seed=0, full_length=True, block_heads="shared")
    config.update(kwargs)
    model = keras_dg.DoppelGANger(
        CHANNEL_OUTPUTS, [Output("DISCRETE", 2)], max_sequence_len=t,
        sample_len=2, **config,
    )
    channel = [1, 2]  # The channel's columns of the heads' logits.
    log_odds = np.log(p_missing / (1.0 - p_missing))
    generator = model.feature_generator
    for variable in generator.weights:
        name = variable.path.rsplit("/", 2)
        if name[-1] not in ("kernel", "bias", "step_noise_kernel"):
            continue
        if name[-2].startswith("lstm_cell"):
            continue
        value = np.array(keras.ops.convert_to_numpy(variable))
        width = len(CHANNEL_OUTPUTS[0:1]) + 2 + 2  # value, channel, flag.
        columns = [
            c for c in range(value.shape[-1]) if c % width in channel
        ]
        value[..., columns] = 0.0
        if name[-1] == "bias" and name[-2] == "heads":
            value[2] = log_odds
        variable.assign(value)
    return model


def channel_rate(dataset):
    return float(dataset.features[..., 2].mean())


def test_missingness_channel_is_drawn_from_the_softmax():
    model = channel_model(0.2)
    drawn = model.generate(1000, seed=0)
    # 8,000 steps: the rate's standard error is 0.0045.
    assert abs(channel_rate(drawn) - 0.2) < 0.02
    # One-hot, everywhere.
    np.testing.assert_array_equal(drawn.features[..., 1:3].sum(-1), 1.0)
    # The argmax never says missing at p = 0.2; at p = 0.8 always.
    argmax = model.generate(1000, seed=0, draw_missing=False)
    assert channel_rate(argmax) == 0.0
    np.testing.assert_array_equal(argmax.features[..., 0],
                                  drawn.features[..., 0])
    often = channel_model(0.8)
    assert abs(channel_rate(often.generate(1000, seed=0)) - 0.8) < 0.02
    assert channel_rate(often.generate(50, seed=0, draw_missing=False)) == 1
    with pytest.raises(ValueError, match="draw_missing"):
        model.generate(2, draw_missing="yes")


def test_drawn_channels_keep_the_seed_contract():
    model = channel_model(0.3)
    a = model.generate(37, seed=5)
    np.testing.assert_array_equal(
        a.features[..., 1:3], model.generate(37, seed=5).features[..., 1:3]
    )
    for batch_size in (1, 6, 1000):
        chunked = model.generate(37, seed=5, batch_size=batch_size)
        np.testing.assert_array_equal(
            chunked.features[..., 1:3], a.features[..., 1:3]
        )
    prefix = model.generate(11, seed=5)
    np.testing.assert_array_equal(
        prefix.features[..., 1:3], a.features[:11, :, 1:3]
    )
    assert not np.array_equal(
        model.generate(37, seed=6).features[..., 1:3], a.features[..., 1:3]
    )
    # Long series: the first window is `generate`'s, a shorter length a
    # prefix of a longer one, and the draw goes on at the same rate.
    long = model.generate(37, seed=5, length=40)
    np.testing.assert_array_equal(
        long.features[:, :8, 1:3], a.features[..., 1:3]
    )
    np.testing.assert_array_equal(
        model.generate(37, seed=5, length=21).features[..., 1:3],
        long.features[:, :21, 1:3],
    )
    assert abs(channel_rate(long) - 0.3) < 0.05
    assert channel_rate(model.generate(37, seed=5, length=40,
                                       draw_missing=False)) == 0


def test_drawn_channels_follow_the_seeded_uniforms():
    # The draw's uniforms are a row-by-row noise input drawn by NumPy from
    # the seed (the last but one; the copula's levels are the last), so
    # every backend draws the same channel. Uncalibrated, the draw is the
    # plain threshold.
    from keras_dg.models.generation import MISSING_LEVEL
    from keras_dg.models.generation import MISSING_UNIFORM

    model = channel_model(0.3)
    noise = model._generation_noise(40, np.random.SeedSequence(1).entropy)
    uniform = noise.rows(0, 40)[MISSING_UNIFORM]
    assert uniform.shape == (40, 8, 1) and uniform.dtype == np.float32
    assert list(noise.rows(0, 40))[-2:] == [MISSING_UNIFORM, MISSING_LEVEL]
    missing = model.generate(40, seed=1).features[..., 2]
    np.testing.assert_array_equal(missing, uniform[..., 0] < 0.3)
    # Without channels there is no such input (the other inputs' noise,
    # hence every model's series, are those of before).
    assert MISSING_UNIFORM not in tiny_model()._generation_noise(
        2, 0).rows(0, 2)


def test_decoding_draws_channels_only_with_uniforms():
    model = channel_model(0.2)
    features = np.zeros((2, 8, 5), "float32")
    features[..., 1:3] = [0.7, 0.3]
    features[..., 3:5] = [1.0, 0.0]
    attributes = np.zeros((2, 2 + model.addi_attribute_dim), "float32")
    attributes[:, 2:] = 0.5
    gen_flag = np.ones((2, 8), "float32")
    plain = model.decode(features, attributes, gen_flag)
    assert not plain.features[..., 2].any()  # argmax
    uniform = np.full((2, 8, 1), 0.29, "float32")
    uniform[1] = 0.31
    drawn = model.decode(features, attributes, gen_flag,
                         missing_uniform=uniform)
    np.testing.assert_array_equal(drawn.features[0, :, 2], 1.0)
    np.testing.assert_array_equal(drawn.features[1, :, 2], 0.0)


def test_saved_model_keeps_the_channel_flag(tmp_path):
    model = channel_model(0.25)
    path = str(tmp_path / "channel.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.feature_outputs == CHANNEL_OUTPUTS
    assert loaded.feature_outputs[1].is_missing_channel
    np.testing.assert_array_equal(
        loaded.generate(20, seed=2).features[..., 1:3],
        model.generate(20, seed=2).features[..., 1:3],
    )
    # A config saved before the flag existed: plain 2-way outputs, which
    # generate by argmax.
    config = model.get_config()
    config["feature_outputs"] = [
        {k: v for k, v in o.items() if k != "is_missing_channel"}
        for o in config["feature_outputs"]
    ]
    old = keras_dg.DoppelGANger.from_config(config)
    assert not any(o.is_missing_channel for o in old.feature_outputs)
    assert old.missing_channel_count == 0
