"""Argument checks shared by the layers and the model."""


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )


def check_non_negative_float(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        value < 0 or value != value
    ):
        raise ValueError(
            f"`{name}` must be a number >= 0. Received: {name}={value!r}"
        )


def check_positive_float(value, name):
    check_non_negative_float(value, name)
    if value == 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value!r}")


def check_one_of(value, allowed, name):
    if value not in allowed:
        raise ValueError(
            f"`{name}` must be one of {list(allowed)}. Received: "
            f"{name}={value!r}"
        )


def check_bool(value, name):
    if not isinstance(value, bool):
        raise ValueError(
            f"`{name}` must be True or False. Received: {name}={value!r}"
        )
