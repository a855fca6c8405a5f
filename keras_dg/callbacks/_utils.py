"""Helpers shared by the training callbacks: finiteness checks, checks of
their arguments, and the epoch bookkeeping Keras passes to callbacks."""

import math

import keras
import numpy as np

from keras_dg.validation import check_int


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


def is_last_epoch(callback, epoch):
    """Whether `epoch` (0-based) is the last one `fit` was asked for."""
    epochs = (callback.params or {}).get("epochs")
    return epochs is not None and epoch + 1 >= epochs


def check_optional_positive_int(value, name):
    """`None` or an int >= 1, as `int`; 0 is read as `None` (turned off)."""
    value = check_int(value, name, minimum=0, allow_none=True)
    return value or None
