"""`PeriodicModelCheckpoint`: a permanent `.keras` copy every N epochs."""

import os
import warnings

import keras

from keras_dg.callbacks._utils import non_finite_logs
from keras_dg.files import atomic_write
from keras_dg.files import temp_path
from keras_dg.validation import check_path
from keras_dg.validation import check_positive_int


class PeriodicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` every N epochs, written atomically.

    After epochs N, 2N, ... the model is saved to `filepath` (formatted
    with `epoch`, 1-based, and the epoch's logs, as in `ModelCheckpoint`),
    e.g. `checkpoints/epoch_{epoch}.keras`. With a `{epoch}` placeholder
    every copy is kept: these are the permanent snapshots of the original's
    `extra_checkpoint_freq` (its `checkpoint/epoch_id-{e}/`), to pick a
    model from or to generate with later (`keras.saving.load_model`). A
    `.keras` file holds the weights, the optimizer states and the compile
    config, so a loaded copy also trains on.

    What it adds to `ModelCheckpoint`, and why: `ModelCheckpoint` saves
    every epoch or every N batches, not every N epochs; it writes the file
    in place, so a kill during the save leaves a truncated file under the
    final name (here the model goes to `keras_dg.files.atomic_write`'s
    temporary file in the same folder, renamed with `os.replace` once
    complete); and it saves the
    weights of an epoch whose losses are NaN (here such an epoch is skipped
    with a warning). Everything else (`monitor`, `save_best_only`,
    `save_weights_only`, `verbose`, ...) is `ModelCheckpoint`'s.

    Args:
        filepath: str. Where to save, ending in `.keras` (or `.weights.h5`
            with `save_weights_only=True`); may contain `{epoch}` and log
            names as placeholders.
        every_n_epochs: int. Save after every N-th epoch (the original's
            `extra_checkpoint_freq`). Defaults to 5.
        **kwargs: other `keras.callbacks.ModelCheckpoint` arguments, except
            `save_freq`.

    Example:

    ```python
    snapshots = keras_dg.callbacks.PeriodicModelCheckpoint(
        "run/checkpoints/epoch_{epoch}.keras", every_n_epochs=5)
    model.fit(data, epochs=400, callbacks=[snapshots])
    model = keras.saving.load_model("run/checkpoints/epoch_400.keras")
    ```

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020; the original code's `extra_checkpoint_freq`
        (`shared/ALGORITHM.md` §6).
    """

    def __init__(self, filepath, every_n_epochs=5, **kwargs):
        if "save_freq" in kwargs:
            raise ValueError(
                "PeriodicModelCheckpoint saves every `every_n_epochs` epochs;"
                f" `save_freq` is not accepted. Received: "
                f"save_freq={kwargs['save_freq']!r}"
            )
        filepath = check_path(filepath, "filepath")
        super().__init__(filepath, save_freq="epoch", **kwargs)
        self.every_n_epochs = check_positive_int(
            every_n_epochs, "every_n_epochs"
        )
        self.saved_paths = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs != 0:
            return
        bad = non_finite_logs(logs)
        if bad:
            warnings.warn(
                f"PeriodicModelCheckpoint: not saving epoch {epoch + 1} "
                f"(non-finite logs {bad}).",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        final_pattern = self.filepath
        # `ModelCheckpoint` formats and writes `self.filepath`: point it at
        # `atomic_write`'s temp name for this one save.
        self.filepath = temp_path(final_pattern)
        try:
            super().on_epoch_end(epoch, logs)
        finally:
            self.filepath = final_pattern
        final = final_pattern.format(epoch=epoch + 1, **(logs or {}))
        if not os.path.exists(temp_path(final)):
            return  # `save_best_only` decided not to save.
        with atomic_write(final):
            pass  # The temp file is written: flush it and rename it.
        self.saved_paths.append(final)
