"""`TerminateOnNaNLoss`: stop on the first NaN loss term, and say which."""

import warnings

import keras

from keras_dg.callbacks._utils import non_finite_logs
from keras_dg.validation import check_bool


class TerminateOnNaNLoss(keras.callbacks.TerminateOnNaN):
    """Stops training when any loss term becomes NaN or infinite.

    After every batch the callback looks at every entry of the batch logs
    (for `keras_dg.DoppelGANger`: `d_loss`, `d_loss_fake`, `d_loss_real`,
    `d_loss_gp`, the `attr_d_loss*` terms and the `g_loss*` terms, running
    means over the epoch so far). At the first non-finite one it stops
    training and reports which term diverged, where, and the others that
    followed, e.g. ``Loss term `d_loss_gp` diverged (nan) at epoch 3/400,
    batch 17/500; non-finite: d_loss, d_loss_gp, g_loss, g_loss_d.`` The
    term named is the first non-finite one in the order the train step
    computes them (critic, auxiliary critic, generator), preferring a
    component (`d_loss_gp`) over the total that includes it (`d_loss`).

    Why not `keras.callbacks.TerminateOnNaN` as is: it only reads
    `logs["loss"]`, which a GAN does not have (DoppelGANger logs eleven
    terms and no `loss`), so it would never fire; and its message does not
    say what diverged. This subclass keeps its two modes.

    By default the stop is graceful (`model.stop_training = True`, and a
    `RuntimeWarning` with the message): the other callbacks still run their
    end-of-epoch and end-of-training hooks, and the checkpoint callbacks of
    this package skip the diverged epoch, so the last good checkpoint is
    kept. The details stay in `divergence`.

    Args:
        raise_error: bool. Raise a `RuntimeError` with the message at once
            instead (no other callback runs after it). Defaults to False.

    Example:

    ```python
    stop = keras_dg.callbacks.TerminateOnNaNLoss()
    model.fit(data, epochs=400, callbacks=[stop, checkpoint])
    if stop.divergence:
        print(stop.divergence["term"], stop.divergence["epoch"])
    ```
    """

    def __init__(self, raise_error=False):
        raise_error = check_bool(raise_error, "raise_error")
        super().__init__(raise_error=raise_error)
        self.divergence = None
        self.message = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.divergence = None
        self.message = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        bad = non_finite_logs(logs)
        if not bad:
            return
        term = _diverged_term(bad)
        value = float(logs[term])
        params = self.params or {}
        epochs, steps = params.get("epochs"), params.get("steps")
        epoch_text = f"{self._epoch + 1}" + (f"/{epochs}" if epochs else "")
        batch_text = f"{batch + 1}" + (f"/{steps}" if steps else "")
        self.message = (
            f"Loss term `{term}` diverged ({value}) at epoch {epoch_text}, "
            f"batch {batch_text}; non-finite: {', '.join(sorted(bad))}. "
            "Training stopped; the last good checkpoint is kept. Try lower "
            "learning rates or a different seed, and resume from it."
        )
        self.divergence = {
            "term": term,
            "value": value,
            "epoch": self._epoch,
            "batch": batch,
            "non_finite": bad,
        }
        if self.raise_error:
            raise RuntimeError(self.message)
        warnings.warn(self.message, RuntimeWarning, stacklevel=2)
        self.model.stop_training = True


def _diverged_term(names):
    """The first name (in log order) that is not a total of others."""
    for name in names:
        if not any(o != name and o.startswith(name + "_") for o in names):
            return name
    return names[0]
