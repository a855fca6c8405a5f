import keras
import numpy as np
import pytest

from keras_dg.callbacks import TerminateOnNaNLoss
from tests.callbacks.helpers import BlowUpCritic
from tests.harness import tiny_dataset
from tests.harness import tiny_model


def _fit(callbacks, epochs=4):
    model = tiny_model()
    model.compile()
    history = model.fit(
        tiny_dataset(n=12), batch_size=4, epochs=epochs, verbose=0,
        callbacks=callbacks,
    )
    return model, history


def test_stops_at_the_diverged_batch_and_names_the_term():
    stop = TerminateOnNaNLoss()
    with pytest.warns(RuntimeWarning) as record:
        model, history = _fit([stop, BlowUpCritic(epoch=1, batch=1)])
    # Other warnings (e.g. NumPy's, from a backend) may come first.
    message = next(
        str(w.message) for w in record if issubclass(w.category, RuntimeWarning)
    )
    assert "Loss term `d_loss_gp` diverged (inf) at epoch 2/4, batch 2/3" in (
        message
    )
    assert "d_loss, d_loss_gp" in message
    assert stop.message == message
    assert stop.divergence["term"] == "d_loss_gp"
    assert (stop.divergence["epoch"], stop.divergence["batch"]) == (1, 1)
    # Training stopped at that batch: 3 + 2 generator steps, 2 epochs.
    assert int(model.g_optimizer.iterations) == 5
    assert history.epoch == [0, 1]


def test_raise_error_raises_the_message():
    with pytest.raises(RuntimeError, match="`d_loss_gp` diverged"):
        _fit(
            [TerminateOnNaNLoss(raise_error=True),
             BlowUpCritic(epoch=0, batch=0)],
            epochs=1,
        )


def test_finite_training_is_not_stopped():
    stop = TerminateOnNaNLoss()
    _, history = _fit([stop], epochs=2)
    assert stop.divergence is None and history.epoch == [0, 1]


def _report(logs):
    stop = TerminateOnNaNLoss()
    stop.set_model(keras.Sequential([keras.layers.Dense(1)]))
    stop.set_params({"epochs": 10, "steps": 50})
    stop.on_epoch_begin(6)
    with pytest.warns(RuntimeWarning):
        stop.on_train_batch_end(11, logs)
    return stop.divergence


@pytest.mark.parametrize(
    "logs, term",
    [
        # A component is named rather than the total that includes it.
        ({"d_loss": np.nan, "d_loss_fake": np.nan, "d_loss_real": 1.0,
          "d_loss_gp": 2.0, "g_loss": np.nan, "g_loss_d": np.nan},
         "d_loss_fake"),
        # The critic's terms come before the generator's.
        ({"d_loss": 1.0, "attr_d_loss": np.inf, "attr_d_loss_gp": np.inf,
          "g_loss": np.nan, "g_loss_attr_d": np.nan}, "attr_d_loss_gp"),
        ({"d_loss": 1.0, "g_loss": np.nan, "g_loss_d": 1.0}, "g_loss"),
    ],
)
def test_the_named_term(logs, term):
    divergence = _report(logs)
    assert divergence["term"] == term
    assert (divergence["epoch"], divergence["batch"]) == (6, 11)


def test_bad_arguments():
    with pytest.raises(ValueError, match="raise_error"):
        TerminateOnNaNLoss(raise_error="yes")
