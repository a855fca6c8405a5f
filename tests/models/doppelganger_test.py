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
    config = model.get_compile_config()
    assert {"g_optimizer", "d_optimizer", "attr_d_optimizer"} <= set(config)


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
    history = quick_fit(model, tiny_dataset(n=8))
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
