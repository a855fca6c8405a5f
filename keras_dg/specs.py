"""Output specs: how each feature and attribute variable is encoded.

These mirror the original DoppelGANger `gan/output.py` (`Output`, `OutputType`,
`Normalization`) so that the paper's pickled specs map onto them one to one, and
add validation and a JSON-able form.

Reference:
    Lin et al., "Using GANs for Sharing Networked Time Series Data", IMC 2020,
    and the original code's data format (`shared/ALGORITHM.md` §1).
"""

import enum

import numpy as np


class OutputType(enum.Enum):
    """Whether a variable is continuous (scaled values) or discrete (one-hot)."""

    CONTINUOUS = "CONTINUOUS"
    DISCRETE = "DISCRETE"


class Normalization(enum.Enum):
    """The range a continuous variable is scaled to: [0, 1] or [-1, 1]."""

    ZERO_ONE = "ZERO_ONE"
    MINUSONE_ONE = "MINUSONE_ONE"


def _as_enum(enum_cls, value, argument):
    if isinstance(value, enum_cls):
        return value
    # Accept the member's value or name as a string, and members of a
    # look-alike enum (e.g. the original `output.OutputType`) by value.
    raw = getattr(value, "value", value)
    if isinstance(raw, str):
        for member in enum_cls:
            if raw.upper() in (member.value, member.name):
                return member
    valid = ", ".join(repr(m.value) for m in enum_cls)
    raise ValueError(
        f"`{argument}` must be one of {valid} (or {enum_cls.__name__} "
        f"members). Received: {argument}={value!r}"
    )


_CONFIG_KEYS = (
    "type_", "dim", "normalization", "is_gen_flag", "is_missing_channel",
)


class Output:
    """One variable (a feature or an attribute) and how it is encoded.

    A `DISCRETE` output of `dim` d is a one-hot block of width d. A
    `CONTINUOUS` output of `dim` d is d scalar columns scaled to the range of
    its `normalization`.

    Args:
        type_: `OutputType` or its string value. The kind of variable.
        dim: int. One-hot width (discrete) or number of scalar columns
            (continuous). Must be >= 1.
        normalization: `Normalization`, its string value, or `None`.
            Required for continuous outputs, forbidden for discrete ones.
        is_gen_flag: bool. Marks the internal generation-flag output. Users
            never set it. Defaults to `False`.
        is_missing_channel: bool. Marks a missingness channel: a
            `DISCRETE` output of `dim` 2 (present, missing) that
            `keras_dg.data.from_dataframe(..., missing="model")` adds for a
            feature with gaps. `DoppelGANger.generate` draws such a
            channel's category from the generator's softmax instead of
            taking the argmax (see its `draw_missing`). Only in `to_config`
            when True, so the configs of other outputs are unchanged.
            Defaults to `False`.

    Example:

    >>> Output(OutputType.CONTINUOUS, 2, Normalization.ZERO_ONE)
    Output(type_=CONTINUOUS, dim=2, normalization=ZERO_ONE)
    >>> Output("DISCRETE", 3).to_config()
    {'type_': 'DISCRETE', 'dim': 3, 'normalization': None, 'is_gen_flag': False}
    """

    def __init__(
        self, type_, dim, normalization=None, is_gen_flag=False,
        is_missing_channel=False,
    ):
        self.type_ = _as_enum(OutputType, type_, "type_")
        if isinstance(dim, (bool, np.bool_)) or not isinstance(
            dim, (int, np.integer)
        ):
            raise ValueError(
                f"`dim` must be an integer >= 1. Received: dim={dim!r}"
            )
        if dim < 1:
            raise ValueError(
                f"`dim` must be an integer >= 1. Received: dim={dim}"
            )
        self.dim = int(dim)
        if normalization is not None:
            normalization = _as_enum(
                Normalization, normalization, "normalization"
            )
        if self.type_ is OutputType.CONTINUOUS and normalization is None:
            raise ValueError(
                "A CONTINUOUS output needs a `normalization` (ZERO_ONE or "
                "MINUSONE_ONE). Received: normalization=None"
            )
        if self.type_ is OutputType.DISCRETE and normalization is not None:
            raise ValueError(
                "A DISCRETE output must not have a `normalization`. "
                f"Received: normalization={normalization.value!r}"
            )
        self.normalization = normalization
        self.is_gen_flag = bool(is_gen_flag)
        self.is_missing_channel = bool(is_missing_channel)
        if self.is_missing_channel and (
            self.type_ is not OutputType.DISCRETE or self.dim != 2
            or self.is_gen_flag
        ):
            raise ValueError(
                "A missingness channel (is_missing_channel=True) is a "
                "DISCRETE output of dim 2 (present, missing), not the "
                f"generation flag. Received: type_={self.type_.value!r}, "
                f"dim={self.dim}, is_gen_flag={self.is_gen_flag}"
            )

    @property
    def is_discrete(self):
        return self.type_ is OutputType.DISCRETE

    @property
    def value_range(self):
        """The (low, high) range of the encoded values."""
        if self.normalization is Normalization.MINUSONE_ONE:
            return (-1.0, 1.0)
        return (0.0, 1.0)

    @property
    def activation(self):
        """The output activation the generator uses for this variable."""
        if self.is_discrete:
            return "softmax"
        if self.normalization is Normalization.ZERO_ONE:
            return "sigmoid"
        return "tanh"

    def to_config(self):
        config = {
            "type_": self.type_.value,
            "dim": self.dim,
            "normalization": (
                None if self.normalization is None else self.normalization.value
            ),
            "is_gen_flag": self.is_gen_flag,
        }
        if self.is_missing_channel:
            config["is_missing_channel"] = True
        return config

    @classmethod
    def from_config(cls, config):
        if isinstance(config, Output):
            return config
        if not isinstance(config, dict):
            raise ValueError(
                "An output spec must be an `Output` or a dict with keys "
                f"{', '.join(_CONFIG_KEYS)}. Received: {config!r}"
            )
        unknown = set(config) - set(_CONFIG_KEYS)
        if unknown:
            raise ValueError(
                f"Unknown keys {sorted(unknown)} in output spec {config!r}; "
                f"expected {', '.join(_CONFIG_KEYS)}."
            )
        return cls(**config)

    def __eq__(self, other):
        if not isinstance(other, Output):
            return NotImplemented
        return self.to_config() == other.to_config()

    def __hash__(self):
        return hash(tuple(self.to_config().items()))

    def __repr__(self):
        parts = [f"type_={self.type_.value}", f"dim={self.dim}"]
        if self.normalization is not None:
            parts.append(f"normalization={self.normalization.value}")
        if self.is_gen_flag:
            parts.append("is_gen_flag=True")
        if self.is_missing_channel:
            parts.append("is_missing_channel=True")
        return f"Output({', '.join(parts)})"


def outputs_from_config(outputs, argument="outputs"):
    """Turns a list of `Output`s or their dicts into a list of `Output`s."""
    if isinstance(outputs, (Output, dict, str, bytes)) or not hasattr(
        outputs, "__iter__"
    ):
        raise ValueError(
            f"`{argument}` must be a list of `Output` specs. "
            f"Received: {outputs!r}"
        )
    return [Output.from_config(o) for o in outputs]


def outputs_to_config(outputs):
    return [o.to_config() for o in outputs]


def total_dim(outputs):
    """The summed width of a list of outputs."""
    return int(sum(o.dim for o in outputs))


def output_slices(outputs):
    """`(output, start, end)` column ranges, in order."""
    start = 0
    slices = []
    for output in outputs:
        slices.append((output, start, start + output.dim))
        start += output.dim
    return slices
