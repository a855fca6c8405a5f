"""Argument checks: the one source for every module of keras-dg.

Every check takes `(value, name, ...)`, raises a `ValueError` that names the
argument, what was expected and what was received, and returns the cleaned
value (a Python `int`, `float` or `bool`), so callers write
`n = check_int(n, "n")`. NumPy integers, floats and booleans are accepted
wherever their Python counterparts are; `bool` is never taken for a number.
"""

import math
import numbers
import os

import numpy as np


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _bounds_text(minimum, maximum):
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f">= {minimum}"
    if maximum is not None:
        return f"<= {maximum}"
    return ""


def check_int(value, name, minimum=None, maximum=None, allow_none=False):
    """An integer in `[minimum, maximum]` (either bound optional), as `int`.

    With `allow_none=True`, `None` passes through unchanged.
    """
    if value is None and allow_none:
        return None
    if minimum == 1 and maximum is None:
        expected = "a positive integer"
    else:
        bounds = _bounds_text(minimum, maximum)
        expected = f"an integer {bounds}".rstrip()
    if allow_none:
        expected += " or None"
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"`{name}` must be {expected}. Received: {name}={value!r}"
        )
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(
            f"`{name}` must be {expected}. Received: {name}={value!r}"
        )
    return int(value)


def check_positive_int(value, name, allow_none=False):
    """An integer >= 1, as `int`."""
    return check_int(value, name, minimum=1, allow_none=allow_none)


def check_seed(value, name="seed", allow_none=False):
    """A random seed: an integer >= 0, as `int`."""
    return check_int(value, name, minimum=0, allow_none=allow_none)


def check_float(
    value,
    name,
    minimum=None,
    maximum=None,
    exclusive_minimum=False,
    exclusive_maximum=False,
    allow_none=False,
):
    """A finite real number within the bounds, as `float`.

    `exclusive_minimum` / `exclusive_maximum` make the bounds strict.
    """
    if value is None and allow_none:
        return None
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if exclusive_minimum else '>='} {minimum}")
    if maximum is not None:
        parts.append(f"{'<' if exclusive_maximum else '<='} {maximum}")
    expected = "a finite number" + (f" {' and '.join(parts)}" if parts else "")
    if allow_none:
        expected += " or None"
    message = f"`{name}` must be {expected}. Received: {name}={value!r}"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise ValueError(message)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(message)
    if minimum is not None and (
        value < minimum or (exclusive_minimum and value == minimum)
    ):
        raise ValueError(message)
    if maximum is not None and (
        value > maximum or (exclusive_maximum and value == maximum)
    ):
        raise ValueError(message)
    return value


def check_non_negative_float(value, name, allow_none=False):
    """A finite number >= 0, as `float`."""
    return check_float(value, name, minimum=0, allow_none=allow_none)


def check_positive_float(value, name, allow_none=False):
    """A finite number > 0, as `float`."""
    return check_float(
        value, name, minimum=0, exclusive_minimum=True, allow_none=allow_none
    )


def check_bool(value, name):
    """`True` or `False` (NumPy booleans too), as `bool`."""
    if not _is_bool(value):
        raise ValueError(
            f"`{name}` must be True or False. Received: {name}={value!r}"
        )
    return bool(value)


def check_one_of(value, name, allowed):
    """One of `allowed`; returns it unchanged."""
    allowed = list(allowed)
    try:
        ok = value in allowed
    except (TypeError, ValueError):  # e.g. an array compared to strings
        ok = False
    if not ok:
        raise ValueError(
            f"`{name}` must be one of {allowed}. Received: {name}={value!r}"
        )
    return value


def check_path(value, name):
    """A non-empty `str` or `os.PathLike`, as `str`."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(
            f"`{name}` must be a non-empty path. Received: {name}={value!r}"
        )
    return os.fspath(value)


def check_directory(value, name):
    """A path as for `check_path` that is not an existing file (it may not
    exist yet), as `str`."""
    value = check_path(value, name)
    if os.path.exists(value) and not os.path.isdir(value):
        raise ValueError(
            f"`{name}` must be a folder, but {value!r} is a file."
        )
    return value
