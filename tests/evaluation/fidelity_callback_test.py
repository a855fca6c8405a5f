import math

import keras
import numpy as np
import pytest

from keras_dg.evaluation import FidelityCallback
from keras_dg.evaluation import evaluate
from tests.evaluation.helpers import make_dataset
from tests.evaluation.helpers import random_dataset

try:
    from keras_dg import DoppelGANger
except ImportError:  # the model lands separately
    DoppelGANger = None


class ShrinkingGenerator(keras.Model):
    """A trainable toy whose `generate` cuts every series `calls` steps short.

    The length distance to the full-length real data is then exactly the
    number of evaluations so far, which makes the logged values predictable.
    """

    def __init__(self, real, **kwargs):
        super().__init__(**kwargs)
        self.real = real
        self.dense = keras.layers.Dense(1)
        self.calls = []

    def call(self, x):
        return self.dense(x)

    def generate(self, n, seed=0):
        self.calls.append((n, seed))
        keep = self.real.max_sequence_len - len(self.calls)
        rows = np.arange(n) % len(self.real)
        return make_dataset(
            self.real.features[rows, :, 0], lengths=np.full(n, keep)
        )


def _fit(model, callbacks, epochs):
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((8, 2), "float32")
    return model.fit(
        x, x[:, :1], epochs=epochs, batch_size=4, verbose=0,
        callbacks=callbacks,
    )


def test_metrics_reach_history_every_n_epochs():
    real = make_dataset(np.random.default_rng(0).uniform(size=(6, 8)))
    model = ShrinkingGenerator(real)
    callback = FidelityCallback(
        real, every_n_epochs=2, n_samples=5, seed=7,
        metrics=["length_w1", "acf_mse"],
    )
    history = _fit(model, [callback], epochs=4)
    assert model.calls == [(5, 7), (5, 7)]
    # Epochs 2 and 4 only; History keeps the values it saw.
    assert history.history["val_length_w1"] == [1.0, 2.0]
    assert all(isinstance(v, float) for v in history.history["val_acf_mse"])
    assert callback.latest["summary"]["length_w1"] == 2.0


def test_early_stopping_and_checkpoint_see_the_metric(tmp_path):
    real = make_dataset(np.random.default_rng(0).uniform(size=(6, 8)))
    model = ShrinkingGenerator(real)
    path = str(tmp_path / "best.weights.h5")
    history = _fit(
        model,
        [
            FidelityCallback(real, metrics=["length_w1"], prefix="fid_"),
            keras.callbacks.EarlyStopping(
                "fid_length_w1", patience=1, mode="min"
            ),
            keras.callbacks.ModelCheckpoint(
                path, monitor="fid_length_w1", mode="min",
                save_best_only=True, save_weights_only=True,
            ),
        ],
        epochs=10,
    )
    # The distance grows every epoch: stop after the first non-improvement.
    assert history.history["fid_length_w1"] == [1.0, 2.0]
    assert (tmp_path / "best.weights.h5").exists()


def test_undefined_values_are_logged_as_nan():
    # Two tied classifiers have no ranking: the Spearman value is undefined.
    real = random_dataset(n=12)
    callback = FidelityCallback(real, metrics=["tstr_accuracy_spearman"])

    class Copy(ShrinkingGenerator):
        def generate(self, n, seed=0):
            return make_dataset(
                np.full((n, 8, 2), 0.5), np.zeros(n, "int64"),
                attribute_outputs=real.attribute_outputs,
            )

    callback.set_model(Copy(real))
    logs = {}
    callback.on_epoch_end(0, logs)
    assert math.isnan(logs["val_tstr_accuracy_spearman"])


def test_argument_validation():
    real = random_dataset(n=8)
    with pytest.raises(ValueError, match="`real` must be a"):
        FidelityCallback(np.zeros((2, 3, 1)))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="every_n_epochs"):
            FidelityCallback(real, every_n_epochs=bad)
        with pytest.raises(ValueError, match="n_samples"):
            FidelityCallback(real, n_samples=bad)
    with pytest.raises(ValueError, match="Unknown metric 'autocorrelation'"):
        FidelityCallback(real, metrics=["autocorrelation"])
    with pytest.raises(ValueError, match="at least one"):
        FidelityCallback(real, metrics=[])
    with pytest.raises(ValueError, match="needs `train`"):
        FidelityCallback(real, metrics=["membership_inference_success"])
    with pytest.raises(ValueError, match="fewer than 2 continuous"):
        FidelityCallback(random_dataset(f=1), metrics=["cross_correlation_w1"])
    with pytest.raises(ValueError, match="prefix"):
        FidelityCallback(real, prefix=None)
    with pytest.raises(ValueError, match="seed"):
        FidelityCallback(real, seed="0")
    with pytest.raises(ValueError, match="`train` and `real`"):
        FidelityCallback(real, train=random_dataset(t=4))
    assert FidelityCallback(real, metrics="acf_mse").metrics == ("acf_mse",)
    assert FidelityCallback(real).n_samples == 8


class WeightLog(keras.callbacks.Callback):
    """The model's weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def _fit_learning(model, callbacks, epochs):
    """`_fit` on data that moves the weights every epoch."""
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 2), "float32")
    return model.fit(
        x, x[:, :1], epochs=epochs, batch_size=4, verbose=0,
        callbacks=callbacks,
    )


def _assert_weights(model, expected):
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


def test_best_weights_are_restored_at_the_end():
    real = make_dataset(np.random.default_rng(0).uniform(size=(6, 8)))
    model = ShrinkingGenerator(real)
    # The length distance grows at every evaluation: epoch 0 is the best.
    callback = FidelityCallback(
        real, metrics=["acf_mse", "length_w1"], monitor="length_w1",
        restore_best_weights=True,
    )
    log = WeightLog()
    history = _fit_learning(model, [callback, log], epochs=3)
    assert history.history["val_length_w1"] == [1.0, 2.0, 3.0]
    assert (callback.best_epoch, callback.best) == (0, 1.0)
    assert not all(
        np.array_equal(a, b) for a, b in zip(log.weights[0], log.weights[-1])
    )
    _assert_weights(model, log.weights[0])


def test_higher_is_better_with_mode_max():
    real = make_dataset(np.random.default_rng(0).uniform(size=(6, 8)))
    model = ShrinkingGenerator(real)
    callback = FidelityCallback(
        real, metrics=["length_w1"], restore_best_weights=True, mode="max",
    )
    log = WeightLog()
    _fit_learning(model, [callback, log], epochs=3)
    assert (callback.best_epoch, callback.best) == (2, 3.0)
    _assert_weights(model, log.weights[-1])
    assert FidelityCallback(real, metrics=["acf_mse"]).mode == "min"


def test_an_unevaluated_last_epoch_competes_at_the_end():
    real = make_dataset(np.random.default_rng(0).uniform(size=(6, 8)))
    model = ShrinkingGenerator(real)
    callback = FidelityCallback(
        real, every_n_epochs=2, metrics=["length_w1"],
        restore_best_weights=True, mode="max",
    )
    log = WeightLog()
    history = _fit_learning(model, [callback, log], epochs=3)
    # Epoch 2 (index 1) in the logs; epoch 3 evaluated at the end of
    # training, and better.
    assert history.history["val_length_w1"] == [1.0]
    assert len(model.calls) == 2
    assert callback.best_epoch == 2
    _assert_weights(model, log.weights[-1])


def test_without_restore_the_final_weights_stay():
    real = make_dataset(np.random.default_rng(0).uniform(size=(6, 8)))
    model = ShrinkingGenerator(real)
    callback = FidelityCallback(real, metrics=["length_w1"])
    log = WeightLog()
    _fit_learning(model, [callback, log], epochs=2)
    assert callback.best_weights is None and callback.best_epoch is None
    _assert_weights(model, log.weights[-1])


def test_selection_argument_validation():
    real = random_dataset(n=8)
    with pytest.raises(ValueError, match="monitor.*attribute_jsd"):
        FidelityCallback(real, metrics=["acf_mse"], monitor="attribute_jsd")
    with pytest.raises(ValueError, match="mode"):
        FidelityCallback(real, mode="lower")
    with pytest.raises(ValueError, match="restore_best_weights"):
        FidelityCallback(real, restore_best_weights="yes")
    assert FidelityCallback(real).monitor == "acf_mse"


def test_model_without_generate_is_rejected():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="generate"):
        _fit(model, [FidelityCallback(random_dataset(n=8))], epochs=1)


def test_generate_must_return_a_dataset():
    real = random_dataset(n=8)

    class Bad(ShrinkingGenerator):
        def generate(self, n, seed=0):
            return np.zeros((n, 8, 2))

    with pytest.raises(ValueError, match="TimeSeriesDataset"):
        _fit(Bad(real), [FidelityCallback(real)], epochs=1)


@pytest.mark.skipif(
    DoppelGANger is None, reason="keras_dg.DoppelGANger is not importable"
)
def test_with_doppelganger():
    from tests.harness import ATTRIBUTE_OUTPUTS
    from tests.harness import FEATURE_OUTPUTS
    from tests.harness import TINY
    from tests.harness import tiny_dataset

    train, held_out = tiny_dataset(n=16, seed=0), tiny_dataset(n=12, seed=1)
    model = DoppelGANger(
        FEATURE_OUTPUTS, ATTRIBUTE_OUTPUTS, max_sequence_len=8, sample_len=2,
        seed=0, **TINY,
    )
    model.compile()
    metrics = ["acf_mse", "attribute_jsd", "length_w1", "discriminative_score"]
    callback = FidelityCallback(
        held_out, every_n_epochs=1, n_samples=12, metrics=metrics, seed=3,
    )
    history = model.fit(
        train, epochs=2, batch_size=8, verbose=0, callbacks=[callback]
    )
    for name in metrics:
        values = history.history[f"val_{name}"]
        assert len(values) == 2 and all(np.isfinite(values)), name
    # The logged values are those of the model's own seeded sample.
    expected = evaluate(
        held_out, model.generate(12, seed=3), seed=3, metrics=metrics
    )["summary"]
    for name in metrics:
        assert history.history[f"val_{name}"][-1] == pytest.approx(
            expected[name]
        )


def test_keras_tuner_reads_the_metric_as_objective(tmp_path, monkeypatch):
    import importlib.util

    import keras_tuner

    if importlib.util.find_spec("tensorboard") is None:
        # Under the TensorFlow backend the tuner imports tensorboard only to
        # patch TensorBoard callbacks (there are none here); it is not
        # installed with tensorflow-cpu.
        monkeypatch.setattr(
            keras_tuner.Tuner, "_configure_tensorboard_dir",
            lambda self, callbacks, trial, execution=0: None,
        )

    real = make_dataset(np.random.default_rng(0).uniform(size=(6, 8)))

    def build(hp):
        hp.Int("unused", 1, 2)
        model = ShrinkingGenerator(real)
        model.compile(optimizer="sgd", loss="mse")
        return model

    tuner = keras_tuner.RandomSearch(
        build,
        objective=keras_tuner.Objective("val_length_w1", direction="min"),
        max_trials=1,
        directory=str(tmp_path),
        project_name="fidelity",
    )
    x = np.zeros((8, 2), "float32")
    tuner.search(
        x, x[:, :1], epochs=2, verbose=0,
        callbacks=[FidelityCallback(real, metrics=["length_w1"])],
    )
    trial = tuner.oracle.get_best_trials(1)[0]
    # Best of the epochs' values 1.0 and 2.0.
    assert trial.score == 1.0
