"""`TimeBudget`: stop training when a wall-clock budget is spent."""

import re
import time

import keras

from keras_dg.validation import check_non_negative_float

# `fit`'s epochs when only a time budget is given: the budget ends training.
UNLIMITED_EPOCHS = 1_000_000
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = r"(\d+(?:\.\d*)?|\.\d+)\s*([hms])"


def parse_duration(value, name="time_budget", allow_none=False):
    """A duration in seconds (a float >= 0) from seconds or a string.

    Args:
        value: a number of seconds, or a string: a number of seconds
            (`"90"`), or numbers with units `s`, `m`, `h` (`"90s"`,
            `"10m"`, `"1.5h"`, `"1h30m"`).
        name: str. The argument's name, for the error.
        allow_none: bool. Return None for None.

    Returns:
        The duration in seconds, as `float`.

    Raises:
        ValueError: naming the argument, the value and what is expected.
    """
    if value is None and allow_none:
        return None
    expected = (
        "a number of seconds >= 0 or a duration such as '90s', '10m', "
        "'1h' or '1h30m'" + (" or None" if allow_none else "")
    )
    message = f"`{name}` must be {expected}. Received: {name}={value!r}"
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return check_non_negative_float(float(text), name)
        except ValueError:
            pass
        if not text or not re.fullmatch(rf"(?:{_PART}\s*)+", text):
            raise ValueError(message)
        seconds = sum(
            float(number) * _UNITS[unit]
            for number, unit in re.findall(_PART, text)
        )
        return seconds
    try:
        return check_non_negative_float(value, name)
    except ValueError:
        raise ValueError(message) from None


def format_duration(seconds):
    """`"10m 0s"`-style text for a number of seconds."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


class TimeBudget(keras.callbacks.Callback):
    """Stops training once a wall-clock budget is spent.

    The clock starts when training begins (so the budget includes the first
    step's compilation). At the end of every batch, the callback compares
    the time spent with the budget; at the first batch that crosses it, it
    sets `model.stop_training = True`: Keras finishes that batch, runs the
    end-of-epoch hooks for the (partial) epoch and the end-of-training
    hooks, so checkpoints and `FidelityCallback`'s model selection still
    run. Training can thus run past the budget by one batch and those
    hooks. Use it instead of choosing an epoch count (`epochs` large),
    or through `DoppelGANger.fit(..., time_budget="10m")`.

    Args:
        seconds: float >= 0 or str. The budget: seconds, or a duration
            such as `"90s"`, `"10m"`, `"1h"` (see `parse_duration`). 0 stops
            after the first batch.
        clock: callable returning seconds (monotonic). Defaults to
            `time.monotonic`; tests pass a fake clock.

    Attributes:
        stopped_epoch: the epoch (0-based) in which the budget ran out, or
            None when training ended first.
        elapsed: seconds from the start of training to the stop (or to the
            last batch).

    Example:

    ```python
    budget = keras_dg.callbacks.TimeBudget("10m")
    model.fit(data, epochs=keras_dg.callbacks.UNLIMITED_EPOCHS,
              callbacks=[budget])
    ```
    """

    def __init__(self, seconds, clock=time.monotonic):
        super().__init__()
        self.seconds = parse_duration(seconds, "seconds")
        if not callable(clock):
            raise ValueError(
                f"`clock` must be callable. Received: clock={clock!r}"
            )
        self.clock = clock
        self.stopped_epoch = None
        self.elapsed = 0.0
        self._start = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self._start = self.clock()
        self.stopped_epoch = None
        self.elapsed = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._start is None:
            return
        self.elapsed = self.clock() - self._start
        if self.elapsed >= self.seconds and self.stopped_epoch is None:
            self.stopped_epoch = self._epoch
            self.model.stop_training = True
