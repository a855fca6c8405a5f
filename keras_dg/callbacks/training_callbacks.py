"""`training_callbacks`: the original's checkpoint, visualisation and
logging options as a list of Keras callbacks."""

import importlib.util
import os

import keras

from keras_dg.callbacks._utils import check_optional_positive_int
from keras_dg.callbacks.periodic_model_checkpoint import (
    PeriodicModelCheckpoint,
)
from keras_dg.callbacks.sample_visualizer import SampleVisualizer
from keras_dg.callbacks.terminate_on_nan_loss import TerminateOnNaNLoss
from keras_dg.callbacks.training_checkpoint import TrainingCheckpoint
from keras_dg.files import BACKUP_DIR
from keras_dg.files import CHECKPOINTS_DIR
from keras_dg.files import LOGS_DIR
from keras_dg.files import SAMPLES_DIR
from keras_dg.validation import check_directory
from keras_dg.validation import check_bool
from keras_dg.validation import check_positive_int


def training_callbacks(
    out_dir,
    epoch_checkpoint_freq=1,
    extra_checkpoint_freq=5,
    vis_freq=200,
    vis_num_sample=5,
    real=None,
    tensorboard=True,
    seed=0,
):
    """The callbacks of a long, resumable DoppelGANger run.

    Pass the list to `fit`; run the same command again after a crash or a
    `kill -9` and training resumes after the last checkpointed epoch, with
    the generator, both critics, all three optimizer states and the noise
    generator's state as they were, and stops at the requested `epochs`.

    The original's options map as follows (files under `out_dir`):

    - `epoch_checkpoint_freq` (the original's latest state,
      `checkpoint/model-*`): `TrainingCheckpoint` in `backup/`, after every
      `epoch_checkpoint_freq`-th epoch and the last one.
    - `restore: True`: automatic; `fit` resumes from `backup/` when it
      holds a checkpoint.
    - `extra_checkpoint_freq` (`checkpoint/epoch_id-{e}/`):
      `PeriodicModelCheckpoint`, `checkpoints/epoch_{epoch}.keras` after
      every `extra_checkpoint_freq`-th epoch.
    - `vis_freq`, `vis_num_sample` (`sample/`): `SampleVisualizer`,
      `samples/batch_*.png` every `vis_freq` batches and
      `samples/epoch_*.png` at every checkpointed epoch, each with `.npz`.
    - TensorBoard `loss/...` scalars: `keras.callbacks.TensorBoard` in
      `logs/`, every loss term per epoch (`epoch_d_loss_gp`, ...).
    - (new; the original let NaN go unnoticed) `TerminateOnNaNLoss`: stops
      at the first non-finite loss term and names it.

    The list's order matters and is: `TerminateOnNaNLoss` (so a diverged
    batch stops training before anything else saves it), `SampleVisualizer`,
    `PeriodicModelCheckpoint`, `TrainingCheckpoint` (after the permanent
    copy, so a kill between the two never skips a copy on resume),
    `TensorBoard`. Callbacks that add entries to the epoch logs (such as
    `keras_dg.evaluation.FidelityCallback`) go before this list:
    `[fidelity] + training_callbacks(...)`.

    Args:
        out_dir: str. Folder of the run; created when needed. Use one
            folder per model: a checkpoint of another model there makes
            `fit` raise `ValueError`.
        epoch_checkpoint_freq: int. Epochs between resumable checkpoints.
            Defaults to 1.
        extra_checkpoint_freq: int or None. Epochs between permanent
            `.keras` copies; None or 0 for none. Defaults to 5.
        vis_freq: int or None. Batches between sample pictures; None or 0
            for pictures at checkpointed epochs only. Defaults to 200.
        vis_num_sample: int or None. Series per picture; None or 0 turns
            the pictures off. Defaults to 5.
        real: `TimeSeriesDataset` or None. Real series drawn beside the
            generated ones. Defaults to None.
        tensorboard: bool. Write TensorBoard logs (needs the `tensorboard`
            package). Defaults to True.
        seed: int. Seed of the pictures' noise. Defaults to 0.

    Returns:
        A list of `keras.callbacks.Callback`.

    Example:

    ```python
    callbacks = keras_dg.callbacks.training_callbacks(
        "runs/web", epoch_checkpoint_freq=1, extra_checkpoint_freq=5,
        vis_freq=200, vis_num_sample=5, real=train_set)
    model.fit(train_set, epochs=400, batch_size=100, callbacks=callbacks)
    # tensorboard --logdir runs/web/logs
    ```

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020; the original code's training options
        (`shared/ALGORITHM.md` §5-6).
    """
    out_dir = check_directory(out_dir, "out_dir")
    epoch_checkpoint_freq = check_positive_int(
        epoch_checkpoint_freq, "epoch_checkpoint_freq"
    )
    extra_checkpoint_freq = check_optional_positive_int(
        extra_checkpoint_freq, "extra_checkpoint_freq"
    )
    vis_freq = check_optional_positive_int(vis_freq, "vis_freq")
    vis_num_sample = check_optional_positive_int(
        vis_num_sample, "vis_num_sample"
    )
    tensorboard = _check_tensorboard(tensorboard)
    return _callbacks(
        out_dir, epoch_checkpoint_freq, extra_checkpoint_freq, vis_freq,
        vis_num_sample, real, tensorboard, seed,
    )


def _check_tensorboard(tensorboard):
    tensorboard = check_bool(tensorboard, "tensorboard")
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        # Keras' TensorBoard callback writes through the `tensorboard`
        # package, which TensorFlow >= 2.20 no longer installs. Fail now,
        # not at the end of the first epoch.
        raise ValueError(
            "`tensorboard=True` needs the `tensorboard` package (`pip install"
            " tensorboard`); install it or pass tensorboard=False."
        )
    return tensorboard


def _callbacks(
    out_dir, epoch_checkpoint_freq, extra_checkpoint_freq, vis_freq,
    vis_num_sample, real, tensorboard, seed,
):
    """`training_callbacks`' list, from checked arguments."""
    callbacks = [TerminateOnNaNLoss()]
    if vis_num_sample is not None:
        callbacks.append(
            SampleVisualizer(
                os.path.join(out_dir, SAMPLES_DIR),
                every_n_batches=vis_freq,
                every_n_epochs=epoch_checkpoint_freq,
                num_samples=vis_num_sample,
                real=real,
                seed=seed,
            )
        )
    elif real is not None:
        raise ValueError(
            "`real` is only used for the sample pictures, which "
            "vis_num_sample=None turns off; pass one of them."
        )
    if extra_checkpoint_freq is not None:
        callbacks.append(
            PeriodicModelCheckpoint(
                os.path.join(out_dir, CHECKPOINTS_DIR, "epoch_{epoch}.keras"),
                every_n_epochs=extra_checkpoint_freq,
            )
        )
    callbacks.append(
        TrainingCheckpoint(
            os.path.join(out_dir, BACKUP_DIR),
            every_n_epochs=epoch_checkpoint_freq,
        )
    )
    if tensorboard:
        callbacks.append(
            keras.callbacks.TensorBoard(
                log_dir=os.path.join(out_dir, LOGS_DIR), update_freq="epoch"
            )
        )
    return callbacks
