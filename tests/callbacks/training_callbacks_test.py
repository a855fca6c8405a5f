import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import keras
import numpy as np
import pytest

from keras_dg.callbacks import PeriodicModelCheckpoint
from keras_dg.callbacks import SampleVisualizer
from keras_dg.callbacks import TerminateOnNaNLoss
from keras_dg.callbacks import TrainingCheckpoint
from keras_dg.callbacks import training_callbacks
from tests.callbacks.helpers import BlowUpCritic
from tests.harness import tiny_dataset
from tests.harness import tiny_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
EPOCHS = 5
STEPS = 4  # 16 series, batch size 4
D_ROUNDS = 2

# The training command a user would run (and re-run after a kill). The
# Probe callback, last in the list, records what the test checks: the
# state right after the restore, the state after every epoch, a marker
# "epoch batch" after every batch (sleeping a little in the first run so
# the kill lands mid-epoch), and the final counters.
TRAIN_SCRIPT = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
import keras
import numpy as np
from keras_dg.callbacks import training_callbacks
from tests.callbacks.helpers import training_state
from tests.harness import tiny_dataset, tiny_model

out, run = sys.argv[1], sys.argv[2]
keras.utils.set_random_seed(0)
model = tiny_model(d_rounds={d_rounds})
model.compile()


def dump(name):
    state = training_state(model)
    np.savez(os.path.join(out, name), *state)


class Probe(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        dump(f"state_at_start_{{run}}.npz")
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        with open(os.path.join(out, "marker"), "w") as f:
            f.write(f"{{self.epochs[-1]}} {{batch}}")
        if run == "first":
            time.sleep(0.15)

    def on_epoch_end(self, epoch, logs=None):
        dump(f"state_after_epoch_{{epoch + 1}}_{{run}}.npz")


probe = Probe()
callbacks = training_callbacks(
    os.path.join(out, "run"), epoch_checkpoint_freq=1,
    extra_checkpoint_freq=2, vis_freq=6, vis_num_sample=2,
    tensorboard=False,
)
model.fit(tiny_dataset(n=16), batch_size=4, epochs={epochs}, verbose=0,
          callbacks=callbacks + [probe])
with open(os.path.join(out, f"result_{{run}}.json"), "w") as f:
    json.dump({{
        "epochs": probe.epochs,
        "g": int(model.g_optimizer.iterations),
        "d": int(model.d_optimizer.iterations),
        "attr_d": int(model.attr_d_optimizer.iterations),
    }}, f)
""".format(d_rounds=D_ROUNDS, epochs=EPOCHS)


def _start(script, out, run):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(
        [sys.executable, str(script), str(out), run], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _read_marker(path):
    try:
        epoch, batch = path.read_text().split()
        return int(epoch), int(batch)
    except (OSError, ValueError):
        return None


def _state(path):
    with np.load(path) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


# Slow (a child process killed and resumed): run with `pytest -m slow`.
@pytest.mark.slow
def test_resumes_after_kill_9_mid_epoch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    marker = tmp_path / "marker"

    # First run: SIGKILL once it is in the middle of epoch 3 (0-based 2),
    # i.e. two epochs are done and saved.
    first = _start(script, tmp_path, "first")
    deadline = time.time() + 120
    position = None
    while time.time() < deadline and first.poll() is None:
        position = _read_marker(marker)
        if position and position[0] >= 2 and 1 <= position[1] < STEPS - 1:
            break
        time.sleep(0.02)
    assert first.poll() is None, first.communicate()[0].decode()[-3000:]
    assert position and position[0] >= 2, "the first run never got to epoch 3"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    epochs_done = position[0]
    assert not (tmp_path / "result_first.json").exists()

    # Second run: the same command, to completion.
    second = _start(script, tmp_path, "second")
    output = second.communicate(timeout=180)[0].decode()
    assert second.returncode == 0, output[-3000:]
    result = json.loads((tmp_path / "result_second.json").read_text())

    # It continued after the last saved epoch and ended at the requested one.
    assert result["epochs"] == list(range(epochs_done, EPOCHS))
    # Optimizer steps: one run's worth over the kept epochs, none lost or
    # counted twice (the killed epoch's steps were discarded).
    assert result["g"] == EPOCHS * STEPS
    assert result["d"] == result["attr_d"] == EPOCHS * STEPS * D_ROUNDS
    # Generator, both critics, the three optimizers' variables and the
    # seed-generator states were exactly those after the last saved epoch.
    resumed = _state(tmp_path / "state_at_start_second.npz")
    saved = _state(tmp_path / f"state_after_epoch_{epochs_done}_first.npz")
    assert len(resumed) == len(saved)
    for x, y in zip(resumed, saved):
        np.testing.assert_array_equal(x, y)
    # And not those of a fresh model.
    fresh = _state(tmp_path / "state_at_start_first.npz")
    assert not all(np.array_equal(x, y) for x, y in zip(fresh, saved))

    run = tmp_path / "run"
    assert TrainingCheckpoint(run / "backup").latest_epoch == EPOCHS
    snapshots = sorted(os.listdir(run / "checkpoints"))
    assert [s for s in snapshots if not s.startswith(".")] == [
        "epoch_2.keras", "epoch_4.keras"
    ]
    assert all(
        zipfile.is_zipfile(run / "checkpoints" / s)
        for s in ("epoch_2.keras", "epoch_4.keras")
    )
    samples = set(os.listdir(run / "samples"))
    assert {f"epoch_{e:04d}.png" for e in range(1, EPOCHS + 1)} <= samples
    assert "batch_00000018.png" in samples  # counted across both runs


def test_the_set_and_its_order(tmp_path):
    callbacks = training_callbacks(
        tmp_path, epoch_checkpoint_freq=3, extra_checkpoint_freq=7,
        vis_freq=11, vis_num_sample=2, tensorboard=False,
    )
    assert [type(c) for c in callbacks] == [
        TerminateOnNaNLoss, SampleVisualizer, PeriodicModelCheckpoint,
        TrainingCheckpoint,
    ]
    _, vis, snapshots, checkpoint = callbacks
    assert (vis.every_n_batches, vis.every_n_epochs, vis.num_samples) == (
        11, 3, 2
    )
    assert snapshots.every_n_epochs == 7
    assert snapshots.filepath == os.path.join(
        tmp_path, "checkpoints", "epoch_{epoch}.keras"
    )
    assert checkpoint.every_n_epochs == 3
    assert checkpoint.directory == os.path.join(tmp_path, "backup")
    minimal = training_callbacks(
        tmp_path, extra_checkpoint_freq=None, vis_num_sample=None,
        tensorboard=False,
    )
    assert [type(c) for c in minimal] == [
        TerminateOnNaNLoss, TrainingCheckpoint
    ]


def test_tensorboard_comes_last_or_its_absence_is_reported(tmp_path):
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(ValueError, match="pip install tensorboard"):
            training_callbacks(tmp_path)
        return
    board = training_callbacks(tmp_path)[-1]
    assert isinstance(board, keras.callbacks.TensorBoard)
    assert board.log_dir == os.path.join(tmp_path, "logs")


def test_tensorboard_logs_every_loss_term(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorflow.compat.v1.train import summary_iterator
    from tensorflow.python.framework import tensor_util

    model = tiny_model()
    model.compile()
    history = model.fit(
        tiny_dataset(n=8), batch_size=4, epochs=2, verbose=0,
        callbacks=training_callbacks(
            tmp_path, vis_num_sample=None, extra_checkpoint_freq=None
        ),
    )
    scalars = {}
    train_dir = tmp_path / "logs" / "train"
    for name in os.listdir(train_dir):
        for event in summary_iterator(str(train_dir / name)):
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = float(
                    tensor_util.MakeNdarray(value.tensor)
                )
    assert len(history.history) == 11
    for term, values in history.history.items():
        logged = scalars[f"epoch_{term}"]
        assert sorted(logged) == [0, 1]
        np.testing.assert_allclose(
            [logged[0], logged[1]], values, rtol=1e-6
        )


def test_a_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    model = tiny_model()
    model.compile()
    callbacks = training_callbacks(
        tmp_path, extra_checkpoint_freq=1, vis_freq=None, vis_num_sample=2,
        tensorboard=False,
    )
    with pytest.warns(RuntimeWarning) as record:
        model.fit(
            tiny_dataset(n=8), batch_size=4, epochs=4, verbose=0,
            callbacks=[BlowUpCritic(epoch=2, batch=1)] + callbacks,
        )
    messages = [
        str(w.message) for w in record if w.category is RuntimeWarning
    ]
    assert "`d_loss_gp` diverged (inf) at epoch 3/4, batch 2/2" in messages[0]
    assert any(
        m.startswith("TrainingCheckpoint: not saving epoch 3")
        and "the last good checkpoint (epoch 2)" in m
        for m in messages
    )
    assert TrainingCheckpoint(tmp_path / "backup").latest_epoch == 2
    assert sorted(os.listdir(tmp_path / "checkpoints")) == [
        "epoch_1.keras", "epoch_2.keras"
    ]
    assert sorted(os.listdir(tmp_path / "samples")) == [
        "epoch_0001.npz", "epoch_0001.png", "epoch_0002.npz", "epoch_0002.png"
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epoch_checkpoint_freq=0), "epoch_checkpoint_freq"),
        (dict(extra_checkpoint_freq=-5), "extra_checkpoint_freq"),
        (dict(vis_freq="200"), "vis_freq"),
        (dict(vis_num_sample=2.0), "vis_num_sample"),
        (dict(tensorboard="yes"), "tensorboard"),
        (dict(vis_num_sample=None, real=tiny_dataset(n=2)), "real"),
        (dict(real=np.zeros(3)), "TimeSeriesDataset"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    kwargs.setdefault("tensorboard", False)
    with pytest.raises(ValueError, match=message):
        training_callbacks(tmp_path, **kwargs)


def test_numpy_integers_are_accepted_and_bools_refused(tmp_path):
    callbacks = training_callbacks(
        tmp_path, epoch_checkpoint_freq=np.int64(2),
        extra_checkpoint_freq=np.int64(0), vis_freq=np.int32(3),
        vis_num_sample=np.int64(2), tensorboard=np.bool_(False),
        seed=np.int64(1),
    )
    kinds = [type(c) for c in callbacks]
    # extra_checkpoint_freq=0 turns the permanent copies off.
    assert kinds == [TerminateOnNaNLoss, SampleVisualizer, TrainingCheckpoint]
    visualizer, checkpoint = callbacks[1], callbacks[2]
    assert (visualizer.every_n_batches, visualizer.every_n_epochs) == (3, 2)
    assert type(visualizer.every_n_batches) is int
    assert (visualizer.num_samples, visualizer.seed) == (2, 1)
    assert checkpoint.every_n_epochs == 2
    for name in ("epoch_checkpoint_freq", "extra_checkpoint_freq",
                 "vis_freq", "vis_num_sample"):
        with pytest.raises(ValueError, match=f"`{name}` must be"):
            training_callbacks(tmp_path, tensorboard=False,
                               **{name: np.bool_(True)})
