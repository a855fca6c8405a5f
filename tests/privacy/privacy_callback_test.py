import keras
import numpy as np
import pytest

from keras_dg.privacy import PrivacyBudgetCallback
from keras_dg.privacy import epsilon_after


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def _fit(callback, epochs, initial_epoch=0, n=10, batch_size=4):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(n, 2)).astype("float32")
    return model.fit(
        x, x[:, :1], batch_size=batch_size, epochs=epochs,
        initial_epoch=initial_epoch, callbacks=[callback], verbose=0,
    )


def test_logs_epsilon_from_steps_taken():
    # n = 10, batch 4 -> ceil(10 / 4) = 3 steps per epoch.
    callback = PrivacyBudgetCallback(
        n_examples=10, batch_size=4, noise_multiplier=1.0, num_packing=2,
        delta=1e-4,
    )
    history = _fit(callback, epochs=3)
    expected = [
        epsilon_after(3 * e, 10, 4, 1.0, delta=1e-4, num_packing=2)
        for e in (1, 2, 3)
    ]
    np.testing.assert_allclose(history.history["epsilon"], expected)
    np.testing.assert_allclose(callback.epsilons, expected)
    assert expected[0] < expected[1] < expected[2]


def test_resumed_training_counts_earlier_epochs():
    callback = PrivacyBudgetCallback(
        n_examples=10, batch_size=4, noise_multiplier=1.5, aux_disc=False
    )
    history = _fit(callback, epochs=3, initial_epoch=2)
    expected = epsilon_after(9, 10, 4, 1.5, aux_disc=False)
    np.testing.assert_allclose(history.history["epsilon"], [expected])


def test_steps_per_epoch_and_options():
    callback = PrivacyBudgetCallback(
        n_examples=100, batch_size=10, noise_multiplier=2.0,
        steps_per_epoch=4, d_rounds=2, composition="original",
    )
    assert callback.epsilon_for_epochs(2) == epsilon_after(
        8, 100, 10, 2.0, d_rounds=2, composition="original"
    )
    logs = {"loss": 1.0}
    callback.on_epoch_end(0, logs)
    assert logs["epsilon"] == callback.epsilon_for_epochs(1)


def test_config_round_trip():
    callback = PrivacyBudgetCallback(
        n_examples=100, batch_size=10, noise_multiplier=2.0, delta=1e-6,
        num_packing=2, aux_disc=False, accountant="pld", d_rounds=3,
        composition="original", steps_per_epoch=7,
    )
    config = callback.get_config()
    restored = PrivacyBudgetCallback.from_config(config)
    assert restored.get_config() == config


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(n_examples=0), "n_examples"),
        (dict(batch_size=200), "q <= 1"),
        (dict(noise_multiplier=0.0), "noise_multiplier"),
        (dict(delta=1.5), "delta"),
        (dict(num_packing=0), "num_packing"),
        (dict(aux_disc="yes"), "aux_disc"),
        (dict(accountant="gdp"), "accountant"),
        (dict(d_rounds=0), "d_rounds"),
        (dict(composition="sum"), "composition"),
        (dict(steps_per_epoch=0), "steps_per_epoch"),
        (dict(steps_per_epoch=2.5), "steps_per_epoch"),
    ],
)
def test_bad_arguments(bad, match):
    kwargs = dict(n_examples=100, batch_size=10, noise_multiplier=1.0)
    with pytest.raises(ValueError, match=match):
        PrivacyBudgetCallback(**{**kwargs, **bad})


def test_numpy_integers_accepted_and_bools_refused():
    callback = PrivacyBudgetCallback(
        n_examples=np.int64(10), batch_size=np.int64(4),
        noise_multiplier=np.float64(1.0), num_packing=np.int64(2),
        steps_per_epoch=np.int64(3),
    )
    assert callback.get_config() == PrivacyBudgetCallback(
        n_examples=10, batch_size=4, noise_multiplier=1.0, num_packing=2,
        steps_per_epoch=3,
    ).get_config()
    for name in ("n_examples", "batch_size", "steps_per_epoch"):
        with pytest.raises(ValueError, match=f"`{name}` must be"):
            PrivacyBudgetCallback(
                **{"n_examples": 10, "batch_size": 4,
                   "noise_multiplier": 1.0, name: np.bool_(True)}
            )
