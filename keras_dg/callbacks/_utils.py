"""Helpers shared by the training callbacks: finiteness checks, atomic
writes, and the epoch bookkeeping Keras passes to callbacks."""

import math
import os

import keras
import numpy as np


def non_finite_logs(logs):
    """Names of the `logs` entries whose value is NaN or infinite, in order.

    Entries that are not scalars (or not numbers) are ignored.
    """
    names = []
    for name, value in (logs or {}).items():
        try:
            value = float(keras.ops.convert_to_numpy(value))
        except (TypeError, ValueError, AttributeError):
            continue
        if not math.isfinite(value):
            names.append(name)
    return names


def non_finite_variables(model):
    """Paths of the model's and its optimizer's variables that hold a NaN or
    an infinity (empty when all are finite)."""
    variables = list(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        variables += list(optimizer.variables)
    bad = []
    seen = set()
    for variable in variables:
        if id(variable) in seen:
            continue
        seen.add(id(variable))
        value = keras.ops.convert_to_numpy(variable)
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            bad.append(variable.path)
    return bad


def fsync_file(path):
    """Flushes a written file to disk, so a rename after it is durable."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def atomic_write_text(path, text):
    """Writes `text` to `path` so that readers see the old or the new
    content, never a mix (temp file in the same folder + `os.replace`)."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".tmp-{name}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def is_last_epoch(callback, epoch):
    """Whether `epoch` (0-based) is the last one `fit` was asked for."""
    epochs = (callback.params or {}).get("epochs")
    return epochs is not None and epoch + 1 >= epochs


def check_directory(directory, name):
    if not isinstance(directory, (str, os.PathLike)) or not str(directory):
        raise ValueError(
            f"`{name}` must be a non-empty path. Received: "
            f"{name}={directory!r}"
        )
    directory = os.fspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(
            f"`{name}` must be a directory, but {directory!r} is a file."
        )
    return directory


def check_optional_positive_int(value, name):
    """`None` or an int >= 1 (0 is read as `None`: disabled)."""
    if value is None or (
        isinstance(value, int) and not isinstance(value, bool) and value == 0
    ):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer, or None (or 0) to turn it "
            f"off. Received: {name}={value!r}"
        )
    return value
