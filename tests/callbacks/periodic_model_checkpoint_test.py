import os

import keras
import numpy as np
import pytest

from keras_dg.callbacks import PeriodicModelCheckpoint
from tests.harness import tiny_dataset
from tests.harness import tiny_model


class _GenerateAtEpochEnd(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.samples = {}

    def on_epoch_end(self, epoch, logs=None):
        self.samples[epoch + 1] = self.model.generate(4, seed=1).features


def _fit(model, callbacks, epochs):
    return model.fit(
        tiny_dataset(n=8), batch_size=4, epochs=epochs, verbose=0,
        callbacks=callbacks,
    )


def test_keeps_a_loadable_copy_every_n_epochs(tmp_path):
    model = tiny_model()
    model.compile()
    snapshots = PeriodicModelCheckpoint(
        tmp_path / "checkpoints" / "epoch_{epoch}.keras", every_n_epochs=2
    )
    samples = _GenerateAtEpochEnd()
    _fit(model, [snapshots, samples], epochs=5)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == [
        "epoch_2.keras", "epoch_4.keras"
    ]
    assert snapshots.saved_paths == [
        str(tmp_path / "checkpoints" / f"epoch_{e}.keras") for e in (2, 4)
    ]
    loaded = keras.saving.load_model(snapshots.saved_paths[0])
    np.testing.assert_array_equal(
        loaded.generate(4, seed=1).features, samples.samples[2]
    )
    assert int(loaded.g_optimizer.iterations) == 2 * 2
    assert int(loaded.d_optimizer.iterations) == 2 * 2


def test_a_crash_during_the_save_leaves_no_file_under_the_final_name(
    tmp_path, monkeypatch
):
    model = tiny_model()
    model.compile()

    def broken_save(path, overwrite=True, **kwargs):
        with open(path, "wb") as f:
            f.write(b"PK half a zip")
        raise KeyboardInterrupt("killed during save")

    monkeypatch.setattr(model, "save", broken_save)
    snapshots = PeriodicModelCheckpoint(
        tmp_path / "epoch_{epoch}.keras", every_n_epochs=1
    )
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [snapshots], epochs=1)
    assert not (tmp_path / "epoch_1.keras").exists()
    assert snapshots.filepath == str(tmp_path / "epoch_{epoch}.keras")


def test_a_diverged_epoch_is_skipped(tmp_path):
    model = tiny_model()
    snapshots = PeriodicModelCheckpoint(tmp_path / "e{epoch}.keras", 1)
    snapshots.set_model(model)
    with pytest.warns(RuntimeWarning, match=r"non-finite logs \['g_loss'\]"):
        snapshots.on_epoch_end(0, {"d_loss": 1.0, "g_loss": float("nan")})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(every_n_epochs=0), "every_n_epochs"),
        (dict(save_freq=10), "save_freq"),
        (dict(filepath="model.txt"), ".keras"),
        (dict(filepath=""), "filepath"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    kwargs.setdefault("filepath", tmp_path / "e{epoch}.keras")
    with pytest.raises(ValueError, match=message):
        PeriodicModelCheckpoint(**kwargs)
