import json
import os

import keras
import numpy as np
import pytest

from keras_dg.callbacks import TerminateOnNaNLoss
from keras_dg.callbacks import TrainingCheckpoint
from keras_dg.callbacks import training_checkpoint as module
from tests.callbacks.helpers import BlowUpCritic
from tests.callbacks.helpers import StateRecorder
from tests.callbacks.helpers import assert_same_state
from tests.callbacks.helpers import training_state
from tests.harness import tiny_dataset
from tests.harness import tiny_model

STEPS = 3  # 12 series, batch size 4


def _model(**kwargs):
    # The same initial weights for every model of a test.
    keras.utils.set_random_seed(0)
    model = tiny_model(**kwargs)
    model.compile()
    return model


def _fit(model, callbacks, epochs, **kwargs):
    return model.fit(
        tiny_dataset(n=12), batch_size=4, epochs=epochs, verbose=0,
        callbacks=callbacks, **kwargs,
    )


def test_resume_restores_everything_and_trains_to_the_requested_epochs(
    tmp_path,
):
    recorder = StateRecorder()
    model = _model(d_rounds=2)
    _fit(model, [TrainingCheckpoint(tmp_path), recorder], epochs=2)

    # A new process would build a fresh model: it gets the epoch-2 state.
    resumed = _model(d_rounds=2)
    checkpoint = TrainingCheckpoint(tmp_path)
    assert checkpoint.latest_epoch == 2
    assert checkpoint.restore_into(resumed) == 2
    assert_same_state(training_state(resumed), recorder.states[2])
    assert int(resumed.d_optimizer.iterations) == 2 * STEPS * 2
    assert int(resumed.attr_d_optimizer.iterations) == 2 * STEPS * 2
    assert int(resumed.g_optimizer.iterations) == 2 * STEPS

    # Fitting with the callback continues at epoch 3 and stops at 4.
    resumed = _model(d_rounds=2)
    checkpoint = TrainingCheckpoint(tmp_path)
    history = _fit(resumed, [checkpoint], epochs=4)
    assert checkpoint.restored_epoch == 2
    assert history.epoch == [2, 3]
    assert int(resumed.g_optimizer.iterations) == 4 * STEPS
    assert int(resumed.d_optimizer.iterations) == 4 * STEPS * 2
    assert checkpoint.latest_epoch == 4
    # The model's start epoch is not left set for later fits.
    assert resumed._initial_epoch is None

    # Running the command once more trains no more; asking for fewer
    # epochs than the checkpoint holds is an error.
    history = _fit(resumed, [TrainingCheckpoint(tmp_path)], epochs=4)
    assert history.epoch == []
    assert int(resumed.g_optimizer.iterations) == 4 * STEPS
    with pytest.raises(ValueError, match="past the requested epochs=3"):
        _fit(resumed, [TrainingCheckpoint(tmp_path)], epochs=3)


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    # Same weights, optimizer moments and noise state: epochs 3-4 after a
    # restore give exactly what an uninterrupted run gives (fixed data
    # order, so only the restored state can make a difference).
    straight = _model()
    recorder = StateRecorder()
    _fit(straight, [recorder], epochs=4, shuffle=False)

    first = _model()
    _fit(first, [TrainingCheckpoint(tmp_path)], epochs=2, shuffle=False)
    second = _model()
    _fit(second, [TrainingCheckpoint(tmp_path)], epochs=4, shuffle=False)
    for x, y in zip(training_state(second), recorder.states[4]):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_saves_every_n_epochs_and_the_last_keeping_max_to_keep(tmp_path):
    checkpoint = TrainingCheckpoint(tmp_path, every_n_epochs=2, max_to_keep=2)
    _fit(_model(), [checkpoint], epochs=5)
    assert checkpoint.saved_epochs == [2, 4, 5]
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint.json", "ckpt-4.weights.h5", "ckpt-5.weights.h5"
    ]
    pointer = json.loads((tmp_path / "checkpoint.json").read_text())
    assert [e["epoch"] for e in pointer["checkpoints"]] == [4, 5]
    assert pointer["checkpoints"][-1]["iterations"]["g_optimizer"] == 5 * STEPS


def test_a_crash_during_a_save_keeps_the_last_good_checkpoint(
    tmp_path, monkeypatch
):
    recorder = StateRecorder()
    model = _model()
    checkpoint = TrainingCheckpoint(tmp_path)
    _fit(model, [checkpoint, recorder], epochs=1)

    # Dies half-way through writing the weights of epoch 2...
    def broken_save_weights(path, overwrite=True):
        with open(path, "wb") as f:
            f.write(b"\x89HDF\r\n half a file")
        raise KeyboardInterrupt("killed during save_weights")

    monkeypatch.setattr(model, "save_weights", broken_save_weights)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [checkpoint], epochs=2)
    monkeypatch.undo()
    fresh = _model()
    assert TrainingCheckpoint(tmp_path).restore_into(fresh) == 1
    assert_same_state(training_state(fresh), recorder.states[1])

    # ...or between the weights file and the pointer.
    def broken_pointer(path, value):
        raise KeyboardInterrupt("killed before the pointer was written")

    monkeypatch.setattr(module, "atomic_write_json", broken_pointer)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [TrainingCheckpoint(tmp_path)], epochs=2)
    monkeypatch.undo()
    fresh = _model()
    assert TrainingCheckpoint(tmp_path).restore_into(fresh) == 1
    assert_same_state(training_state(fresh), recorder.states[1])


def test_an_unreadable_newest_checkpoint_falls_back_to_the_previous(
    tmp_path,
):
    recorder = StateRecorder()
    _fit(_model(), [TrainingCheckpoint(tmp_path), recorder], epochs=2)
    (tmp_path / "ckpt-2.weights.h5").write_bytes(b"not an HDF5 file")
    fresh = _model()
    with pytest.warns(RuntimeWarning, match="ckpt-2"):
        assert TrainingCheckpoint(tmp_path).restore_into(fresh) == 1
    assert_same_state(training_state(fresh), recorder.states[1])


def test_a_diverged_epoch_is_not_saved(tmp_path):
    recorder = StateRecorder()
    model = _model()
    checkpoint = TrainingCheckpoint(tmp_path)
    with pytest.warns(RuntimeWarning, match="d_loss_gp"):
        _fit(
            model,
            [TerminateOnNaNLoss(), BlowUpCritic(epoch=2, batch=1), checkpoint,
             recorder],
            epochs=5,
        )
    assert checkpoint.saved_epochs == [1, 2]
    assert not all(np.isfinite(v).all() for v in training_state(model))
    fresh = _model()
    assert TrainingCheckpoint(tmp_path).restore_into(fresh) == 2
    assert_same_state(training_state(fresh), recorder.states[2])


def test_non_finite_weights_after_finite_logs_are_not_saved(tmp_path):
    model = _model()
    checkpoint = TrainingCheckpoint(tmp_path)
    _fit(model, [checkpoint], epochs=1)
    checkpoint.set_model(model)
    checkpoint.set_params({"epochs": 3, "steps": STEPS})
    model.critic.trainable_variables[0].assign(
        np.full(model.critic.trainable_variables[0].shape, np.nan)
    )
    with pytest.warns(RuntimeWarning, match="non-finite variables"):
        checkpoint.on_epoch_end(1, {"d_loss": 0.5})
    assert checkpoint.latest_epoch == 1


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    _fit(_model(), [TrainingCheckpoint(tmp_path)], epochs=1)
    other = _model(sample_len=4)
    with pytest.raises(ValueError, match="sample_len"):
        _fit(other, [TrainingCheckpoint(tmp_path)], epochs=2)


def test_restore_false_starts_over(tmp_path):
    _fit(_model(), [TrainingCheckpoint(tmp_path)], epochs=1)
    history = _fit(
        _model(), [TrainingCheckpoint(tmp_path, restore=False)], epochs=1
    )
    assert history.epoch == [0]


def test_a_damaged_pointer_is_reported(tmp_path):
    (tmp_path / "checkpoint.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        TrainingCheckpoint(tmp_path).restore_into(_model())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(directory=""), "directory"),
        (dict(every_n_epochs=0), "every_n_epochs"),
        (dict(max_to_keep=0), "max_to_keep"),
        (dict(restore="yes"), "restore"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    kwargs.setdefault("directory", tmp_path)
    with pytest.raises(ValueError, match=message):
        TrainingCheckpoint(**kwargs)


def test_a_file_as_directory_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        TrainingCheckpoint(path)
