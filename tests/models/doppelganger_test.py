import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_dg
from keras_dg import Output
from tests.harness import ATTRIBUTE_OUTPUTS
from tests.harness import FEATURE_OUTPUTS
from tests.harness import tiny_dataset
from tests.harness import tiny_model

LOSS_NAMES = {
    "d_loss", "d_loss_fake", "d_loss_real", "d_loss_gp",
    "attr_d_loss", "attr_d_loss_fake", "attr_d_loss_real", "attr_d_loss_gp",
    "g_loss", "g_loss_d", "g_loss_attr_d",
}


def _fit(model, data, **kwargs):
    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("verbose", 0)
    return model.fit(data, **kwargs)


def test_critic_steps_are_d_rounds_times_generator_steps():
    model = tiny_model(d_rounds=3, g_rounds=2)
    model.compile()
    history = _fit(model, tiny_dataset(n=12), epochs=2)  # 3 batches/epoch
    assert int(model.d_optimizer.iterations) == 3 * 6
    assert int(model.attr_d_optimizer.iterations) == 3 * 6
    assert int(model.g_optimizer.iterations) == 2 * 6
    assert set(history.history) == LOSS_NAMES
    assert all(np.isfinite(v).all() for v in history.history.values())


def test_variable_length_training_and_generation():
    data = tiny_dataset(n=16, t=8)
    assert sorted(set(data.lengths)) != [8]
    model = tiny_model(num_packing=2)
    model.compile()
    _fit(model, data, epochs=2)
    synth = model.generate(64, seed=0)
    assert synth.features.shape == (64, 8, 4)
    assert synth.attributes.shape == (64, 4)
    lengths = synth.lengths
    assert lengths.min() >= 1 and lengths.max() <= 8
    np.testing.assert_array_equal(
        synth.gen_flag, np.arange(8)[None] < lengths[:, None]
    )
    after_end = synth.gen_flag[..., None] == 0
    assert np.all(np.where(after_end, synth.features, 0) == 0)
    # Output encoding: the generated dataset passes full validation.
    synth.validate()


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
    from keras_dg.models.doppelganger import _GenerationNoise

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


def test_predict_adds_the_decoded_series_generate_returns():
    from keras_dg.models.doppelganger import _GenerationNoise

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


def test_keras_round_trip_generates_the_same_and_trains_on(tmp_path):
    model = tiny_model(num_packing=2, initial_state="variable")
    model.compile()
    data = tiny_dataset(n=8)
    _fit(model, data)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == model.get_config()
    a, b = model.generate(6, seed=1), loaded.generate(6, seed=1)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.attributes, b.attributes)
    assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations)
    for x, y in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    _fit(loaded, data)
    assert int(loaded.d_optimizer.iterations) == 4


def test_fit_accepts_every_input_kind():
    data = tiny_dataset(n=8)
    model = tiny_model()
    model.compile()
    _fit(model, data)
    _fit(model, data.as_dict())
    _fit(model, (data.features, data.attributes, data.gen_flag))
    full = tiny_dataset(n=8, min_length=8)
    _fit(model, full.features, y=full.attributes)
    pipeline = tf.data.Dataset.from_tensor_slices(data.as_dict()).batch(4)
    _fit(model, pipeline, batch_size=None)
    assert int(model.g_optimizer.iterations) == 5 * 2


def test_last_partial_batch_is_trained_on():
    model = tiny_model()
    model.compile()
    _fit(model, tiny_dataset(n=10), batch_size=4)
    assert int(model.g_optimizer.iterations) == 3


def test_batch_norm_statistics_update_during_fit():
    model = tiny_model()
    model.compile()
    bn = model.attribute_generator.batch_norm_layers[0]
    before = np.array(bn.moving_mean)
    _fit(model, tiny_dataset(n=8))
    assert not np.allclose(before, np.asarray(bn.moving_mean))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(aux_disc=False, self_norm=False),
        dict(self_norm=False, feed_back=True),
        dict(noise=False, feed_back=True, initial_state="zero"),
        dict(gen_feature_num_layers=2, sample_len=4),
    ],
)
def test_configurations_train(kwargs):
    model = tiny_model(**kwargs)
    model.compile()
    history = _fit(model, tiny_dataset(n=8))
    expected = LOSS_NAMES
    if not model.aux_disc:
        expected = {n for n in LOSS_NAMES if "attr" not in n}
    assert set(history.history) == expected
    assert model.generate(3, seed=0).features.shape == (3, 8, 4)


def test_gradient_penalty_of_a_linear_critic():
    # With one dense layer the critic is linear: its gradient is its kernel
    # for every input, so GP = (sqrt(|w|^2 + 1e-8) - 1)^2 exactly.
    model = tiny_model(disc_num_layers=1, aux_disc=False, num_packing=2)
    model.compile(d_optimizer=keras.optimizers.SGD(0.0))
    kernel = model.critic.score_layer.kernel
    w = np.random.default_rng(0).normal(size=kernel.shape).astype("float32")
    kernel.assign(w * 0.05)
    history = _fit(model, tiny_dataset(n=4))
    expected = (np.sqrt(np.sum((w * 0.05) ** 2) + 1e-8) - 1) ** 2
    np.testing.assert_allclose(history.history["d_loss_gp"][0], expected, rtol=1e-5)
    # Packing doubles the critic's input: 2 * (T * (F + 2) + A).
    assert kernel.shape[0] == 2 * (8 * 6 + 4 + 4)  # A = 4 real + 4 min/max


def test_compile_defaults_match_the_original():
    model = tiny_model()
    model.compile()
    for optimizer in (model.g_optimizer, model.d_optimizer, model.attr_d_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(1e-3)
        assert optimizer.beta_1 == 0.5 and optimizer.epsilon == 1e-8
    config = model.get_compile_config()
    assert {"g_optimizer", "d_optimizer", "attr_d_optimizer"} <= set(config)


def test_compile_rejects_single_optimizer_and_loss():
    model = tiny_model()
    with pytest.raises(ValueError, match="g_optimizer"):
        model.compile(optimizer="adam")
    no_aux = tiny_model(aux_disc=False)
    with pytest.raises(ValueError, match="aux_disc=False"):
        no_aux.compile(attr_d_optimizer="adam")


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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sample_len=3), r"Valid values: \[1, 2, 4, 8\]"),
        (dict(num_packing=0), "num_packing"),
        (dict(d_gp_coe=-1.0), "d_gp_coe"),
        (dict(initial_state="ones"), "initial_state"),
        (dict(aux_disc="yes"), "aux_disc"),
        (dict(g_lr=0.0), "g_lr"),
    ],
)
def test_bad_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_model(**kwargs)


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


def test_spec_mismatch_is_reported():
    model = keras_dg.DoppelGANger(
        FEATURE_OUTPUTS[:1], ATTRIBUTE_OUTPUTS, max_sequence_len=8,
        sample_len=2, gen_feature_num_units=4, disc_num_units=4,
    )
    model.compile()
    with pytest.raises(ValueError, match="feature_outputs"):
        model.fit(tiny_dataset(n=4), verbose=0)


def test_empty_specs_are_rejected():
    with pytest.raises(ValueError, match="attribute_outputs"):
        keras_dg.DoppelGANger(FEATURE_OUTPUTS, [], max_sequence_len=4, sample_len=2)
    with pytest.raises(ValueError, match="is_gen_flag"):
        keras_dg.DoppelGANger(
            [Output("DISCRETE", 2, is_gen_flag=True)], ATTRIBUTE_OUTPUTS,
            max_sequence_len=4, sample_len=2,
        )


@pytest.mark.parametrize("d_rounds, g_rounds", [(1, 1), (2, 3)])
def test_shared_noise_trains_with_the_same_step_counts(d_rounds, g_rounds):
    model = tiny_model(shared_noise=True, d_rounds=d_rounds, g_rounds=g_rounds)
    model.compile()
    before = [np.array(v) for v in model.generator_trainable_variables]
    history = _fit(model, tiny_dataset(n=8))
    assert int(model.d_optimizer.iterations) == 2 * d_rounds
    assert int(model.g_optimizer.iterations) == 2 * g_rounds
    assert set(history.history) == LOSS_NAMES
    after = model.generator_trainable_variables
    # The recorded forward pass gives the generator real gradients.
    assert all(not np.allclose(b, np.asarray(a)) for b, a in zip(before, after))


def test_transformer_is_saved_with_the_model(tmp_path):
    pd = pytest.importorskip("pandas")
    from keras_dg.data import from_dataframe

    rng = np.random.default_rng(0)
    rows = [
        {"id": i, "t": t, "value": float(rng.integers(0, 100)),
         "kind": "ab"[i % 2]}
        for i in range(6) for t in range(4)
    ]
    dataset, transformer = from_dataframe(
        pd.DataFrame(rows), example_id="id", time="t", features=["value"],
        attributes=["kind"], sample_len=2,
    )
    model = keras_dg.DoppelGANger(
        dataset.feature_outputs, dataset.attribute_outputs,
        max_sequence_len=dataset.max_sequence_len, sample_len=2,
        transformer=transformer, **{k: v for k, v in tiny_model().get_config().items()
                                    if k.startswith(("gen_", "disc_", "attr_disc_"))},
    )
    table = model.generate_dataframe(3, seed=0)
    assert set(table.columns) >= {"id", "t", "value", "kind"}
    assert set(table["kind"]) <= {"a", "b"}
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    reloaded = loaded.generate_dataframe(3, seed=0)
    pd.testing.assert_frame_equal(table, reloaded)
    with pytest.raises(ValueError, match="no `transformer`"):
        tiny_model().generate_dataframe(2)


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
    with pytest.raises(ValueError, match="not an attribute output index"):
        model.generate(2, fixed_attributes={5: 0})
    with pytest.raises(ValueError, match="category index"):
        model.generate(2, fixed_attributes={0: 3})
    with pytest.raises(ValueError, match="must lie in"):
        model.generate(2, fixed_attributes={1: 2.0})
    with pytest.raises(ValueError, match="not both"):
        model.generate(attributes=tiny_dataset(n=2).attributes, fixed_attributes={0: 1})
    with pytest.raises(ValueError, match="acceptance rate"):
        model.generate(5, fixed_attributes={1: 0.999}, tolerance=1e-9, max_draws=2000)


def test_a_fresh_process_loads_the_model_after_import_keras_dg(tmp_path):
    import subprocess
    import sys

    path = str(tmp_path / "m.keras")
    model = tiny_model()
    model.compile()
    model.save(path)
    expected = model.generate(2, seed=0).features
    np.save(tmp_path / "expected.npy", expected)
    script = (
        "import sys, keras, numpy as np, keras_dg\n"
        f"m = keras.saving.load_model({path!r})\n"
        f"e = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "sys.exit(0 if np.array_equal(m.generate(2, seed=0).features, e) else 3)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


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
    from keras_dg.models.doppelganger import _generation_pools

    drawer, runner = _generation_pools(2)
    assert _generation_pools(2) == (drawer, runner)
    assert _generation_pools(1)[0] is drawer
    assert _generation_pools(1)[1] is not runner
