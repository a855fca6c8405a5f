import keras
import numpy as np
import pytest

import keras_dg
from keras_dg import Output
from tests.harness import ATTRIBUTE_OUTPUTS
from tests.harness import FEATURE_OUTPUTS
from tests.harness import run_model_saving_test
from tests.harness import quick_fit
from tests.harness import tiny_dataset
from tests.harness import tiny_model
from tests.harness import tiny_table_data
from tests.harness import unused_by_design

LOSS_NAMES = {
    "d_loss", "d_loss_fake", "d_loss_real", "d_loss_gp",
    "attr_d_loss", "attr_d_loss_fake", "attr_d_loss_real", "attr_d_loss_gp",
    "g_loss", "g_loss_d", "g_loss_attr_d",
}


def test_critic_steps_are_d_rounds_times_generator_steps():
    model = tiny_model(d_rounds=3, g_rounds=2)
    model.compile()
    history = quick_fit(model, tiny_dataset(n=12), epochs=2)  # 3 batches/epoch
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
    quick_fit(model, data, epochs=2)
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


def test_keras_round_trip_generates_the_same_and_trains_on(tmp_path):
    model = tiny_model(num_packing=2, initial_state="variable")
    model.compile()
    data = tiny_dataset(n=8)
    quick_fit(model, data)
    loaded = run_model_saving_test(model, tmp_path, n=6, seed=1)
    assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations)
    quick_fit(loaded, data)
    assert int(loaded.d_optimizer.iterations) == 4


def test_batch_norm_statistics_update_during_fit():
    model = tiny_model()
    model.compile()
    bn = model.attribute_generator.batch_norm_layers[0]
    before = np.array(bn.moving_mean)
    quick_fit(model, tiny_dataset(n=8))
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
    history = quick_fit(model, tiny_dataset(n=8))
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
    history = quick_fit(model, tiny_dataset(n=4))
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
        assert optimizer.beta_2 == 0.999
    config = model.get_compile_config()
    assert {"g_optimizer", "d_optimizer", "attr_d_optimizer"} <= set(config)


def test_steps_per_execution_is_chosen_per_fit_unless_given(tmp_path):
    from keras_dg.models.train_steps.base import AUTO_STEPS_PER_EXECUTION

    torch = keras.config.backend() == "torch"
    tensorflow = keras.config.backend() == "tensorflow"
    several = AUTO_STEPS_PER_EXECUTION if tensorflow else 1
    model = tiny_model()
    model.compile()
    assert model.steps_per_execution == several
    # The choice is not saved: a file loads with the loading backend's.
    assert "steps_per_execution" not in model.get_compile_config()
    # A short fit (6 steps) runs one step per call; a long one several.
    quick_fit(model, tiny_dataset(n=12), epochs=2)
    assert model.steps_per_execution == 1
    model._pick_steps_per_execution(500)
    assert model.steps_per_execution == several
    model._pick_steps_per_execution(None)  # a pipeline, a time budget
    assert model.steps_per_execution == several

    # Given: kept by every fit and saved. 3 steps per epoch, fewer than a
    # call runs: every step still trains once.
    model = tiny_model()
    model.compile(steps_per_execution=1 if torch else 8)
    quick_fit(model, tiny_dataset(n=12), epochs=2)
    assert int(keras.ops.convert_to_numpy(model.g_optimizer.iterations)) == 6
    assert model.steps_per_execution == (1 if torch else 8)
    assert model.get_compile_config()["given_steps_per_execution"] == (
        1 if torch else 8
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.steps_per_execution == (1 if torch else 8)
    # Files saved before keras-dg chose it hold Keras' value in use (1):
    # they load with keras-dg's choice.
    config = dict(model.get_compile_config(), steps_per_execution=1)
    del config["given_steps_per_execution"]
    old = tiny_model()
    old.compile_from_config(config)
    assert old.steps_per_execution == several
    assert "given_steps_per_execution" not in old.get_compile_config()
    for bad in (0, 2.5, "8"):
        with pytest.raises(ValueError, match="steps_per_execution"):
            tiny_model().compile(steps_per_execution=bad)
    if torch:
        with pytest.raises(ValueError, match="PyTorch"):
            tiny_model().compile(steps_per_execution=2)


def test_compile_uses_the_configured_learning_rates_and_betas():
    model = tiny_model(g_lr=2e-4, d_lr=8e-4, attr_d_lr=6e-4, beta1=0.0, beta2=0.9)
    model.compile()
    for optimizer, lr in ((model.g_optimizer, 2e-4), (model.d_optimizer, 8e-4),
                          (model.attr_d_optimizer, 6e-4)):
        assert float(optimizer.learning_rate) == pytest.approx(lr)
        assert optimizer.beta_1 == 0.0 and optimizer.beta_2 == 0.9


def test_compile_rejects_single_optimizer_and_loss():
    model = tiny_model()
    with pytest.raises(ValueError, match="g_optimizer"):
        model.compile(optimizer="adam")
    no_aux = tiny_model(aux_disc=False)
    with pytest.raises(ValueError, match="aux_disc=False"):
        no_aux.compile(attr_d_optimizer="adam")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sample_len=3), r"Valid values: \[1, 2, 4, 8\]"),
        (dict(num_packing=0), "num_packing"),
        (dict(d_gp_coe=-1.0), "d_gp_coe"),
        (dict(initial_state="ones"), "initial_state"),
        (dict(aux_disc="yes"), "aux_disc"),
        (dict(g_lr=0.0), "g_lr"),
        (dict(ema_decay=1.0), r"ema_decay.*< 1.*ema_decay=1.0"),
        (dict(ema_decay=-0.1), "ema_decay"),
        (dict(ema_decay="0.9"), "ema_decay"),
        (dict(ema_decay=True), "ema_decay"),
    ],
)

def test_bad_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_model(**kwargs)


def test_spec_mismatch_is_reported():
    model = keras_dg.DoppelGANger(
        FEATURE_OUTPUTS[:1], ATTRIBUTE_OUTPUTS, max_sequence_len=8,
        sample_len=2, gen_feature_num_units=4, disc_num_units=4,
    )
    model.compile()
    with pytest.raises(ValueError, match="feature_outputs"):
        model.fit(tiny_dataset(n=4), verbose=0)


def test_empty_specs_are_rejected():
    # No attributes is fine (tests/models/no_attributes_test.py); no
    # features is not.
    with pytest.raises(ValueError, match="feature_outputs"):
        keras_dg.DoppelGANger([], ATTRIBUTE_OUTPUTS, max_sequence_len=4,
                              sample_len=2)
    with pytest.raises(ValueError, match="is_gen_flag"):
        keras_dg.DoppelGANger(
            [Output("DISCRETE", 2, is_gen_flag=True)], ATTRIBUTE_OUTPUTS,
            max_sequence_len=4, sample_len=2,
        )


@pytest.mark.parametrize("d_rounds, g_rounds", [(1, 1), (2, 3)])
def test_shared_noise_trains_with_the_same_step_counts(d_rounds, g_rounds):
    model = tiny_model(shared_noise=True, d_rounds=d_rounds, g_rounds=g_rounds)
    model.compile()
    trained = [
        v for v in model.generator_trainable_variables
        if not unused_by_design(v)
    ]
    before = [np.array(v) for v in trained]
    history = quick_fit(model, tiny_dataset(n=8))
    assert int(model.d_optimizer.iterations) == 2 * d_rounds
    assert int(model.g_optimizer.iterations) == 2 * g_rounds
    assert set(history.history) == LOSS_NAMES
    after = trained
    # The recorded forward pass gives the generator real gradients.
    assert all(not np.allclose(b, np.asarray(a)) for b, a in zip(before, after))


def test_transformer_is_saved_with_the_model(tmp_path):
    pd = pytest.importorskip("pandas")
    dataset, transformer = tiny_table_data()
    model = keras_dg.DoppelGANger(
        dataset.feature_outputs, dataset.attribute_outputs,
        max_sequence_len=dataset.max_sequence_len, sample_len=2,
        transformer=transformer, **{k: v for k, v in tiny_model().get_config().items()
                                    if k.startswith(("gen_", "disc_", "attr_disc_"))},
    )
    table = model.generate_dataframe(3, seed=0)
    assert set(table.columns) >= {"id", "t", "value", "kind"}
    assert set(table["kind"]) <= {"a", "b"}
    loaded = run_model_saving_test(model, tmp_path, n=3, seed=0)
    reloaded = loaded.generate_dataframe(3, seed=0)
    pd.testing.assert_frame_equal(table, reloaded)
    with pytest.raises(ValueError, match="no `transformer`"):
        tiny_model().generate_dataframe(2)


# The child process generates with the default (XLA) too: the same bytes.
@pytest.mark.xla_generation
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


def _values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def test_weight_average_tracks_the_generators():
    model = tiny_model(ema_decay=0.999)
    model.compile()
    sources = model.ema_sources
    assert len(model.ema_variables) == len(sources) > 0
    assert all(not v.trainable for v in model.ema_variables)
    # Every generator weight and BatchNorm statistic, no critic weight.
    assert not any("critic" in v.path for v in sources)
    assert any("moving_mean" in v.path for v in sources)
    assert not model.has_ema_weights()
    quick_fit(model, tiny_dataset(n=8), epochs=2)  # 2 updates an epoch
    assert float(model.ema_updates) == 4
    assert model.has_ema_weights()
    raw = _values(sources)
    average = _values(model.ema_variables)
    differs = [not np.allclose(a, r) for a, r in zip(average, raw)]
    assert any(differs)
    # Each update moves the average towards the current weights.
    distance = sum(np.linalg.norm(a - r) for a, r in zip(average, raw))
    model.update_ema()
    closer = sum(np.linalg.norm(a - r)
                 for a, r in zip(_values(model.ema_variables), raw))
    assert 0 < closer < distance
    np.testing.assert_allclose(closer, distance * 4 / 14, rtol=1e-4)


def test_first_average_update_copies_the_weights():
    model = tiny_model(ema_decay=0.999)
    model.compile()
    model.update_ema()
    for average, raw in zip(_values(model.ema_variables),
                            _values(model.ema_sources)):
        np.testing.assert_array_equal(average, raw)
    assert float(model.ema_updates) == 1


def test_average_update_follows_the_warm_started_decay():
    model = tiny_model(ema_decay=0.5)
    model.compile()
    model.update_ema()  # copy
    old = _values(model.ema_variables)
    for v in model.ema_sources:
        v.assign(keras.ops.zeros(v.shape))
    model.update_ema()  # k = 1: decay min(0.5, 1 / 11)
    for average, previous in zip(_values(model.ema_variables), old):
        np.testing.assert_allclose(average, previous / 11, rtol=1e-5,
                                   atol=1e-7)
    model.ema_updates.assign(1000.0)  # decay 0.5 from here
    old = _values(model.ema_variables)
    model.update_ema()
    for average, previous in zip(_values(model.ema_variables), old):
        np.testing.assert_allclose(average, previous * 0.5, rtol=1e-5,
                                   atol=1e-7)


def test_weight_average_is_saved_and_restored(tmp_path):
    model = tiny_model(ema_decay=0.999)
    model.compile()
    quick_fit(model, tiny_dataset(n=8))
    loaded = run_model_saving_test(model, tmp_path, n=4, seed=1)
    assert float(loaded.ema_updates) == float(model.ema_updates) == 2
    for a, b in zip(_values(loaded.ema_variables),
                    _values(model.ema_variables)):
        np.testing.assert_array_equal(a, b)
    raw = loaded.generate(4, seed=1, use_ema=False)
    np.testing.assert_array_equal(
        raw.features, model.generate(4, seed=1, use_ema=False).features
    )


def test_without_ema_decay_the_model_is_the_original(tmp_path):
    model = tiny_model(ema_decay=None)
    model.compile()
    assert model.ema_variables == [] and model.ema_updates is None
    assert not model.non_trainable_variables or not any(
        "ema" in v.path for v in model.non_trainable_variables
    )
    quick_fit(model, tiny_dataset(n=8))
    assert model.get_config()["ema_decay"] is None
    a = model.generate(4, seed=0)
    b = model.generate(4, seed=0, use_ema=False)
    np.testing.assert_array_equal(a.features, b.features)
    loaded = run_model_saving_test(model, tmp_path)
    assert loaded.ema_decay is None


def test_same_training_with_and_without_the_average():
    # The average never feeds back into training.
    weights = []
    for ema_decay in (None, 0.9):
        keras.utils.set_random_seed(0)
        model = tiny_model(ema_decay=ema_decay)
        model.compile()
        quick_fit(model, tiny_dataset(n=8))
        weights.append(_values(model.trainable_variables))
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
