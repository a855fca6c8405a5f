"""`TimeSeriesDataset`: features, attributes and generation flags with specs."""

import numpy as np

from keras_dg.specs import output_slices
from keras_dg.specs import outputs_from_config
from keras_dg.specs import total_dim
from keras_dg.validation import check_int

# Values are compared against their declared range with this much slack, so
# float32 round-off (e.g. 1.0000001) is not reported as out of range.
_RANGE_TOLERANCE = 1e-5
# Optional `fit` inputs: per series, each feature column's minimum and
# maximum over the whole series, for windows of longer series (`windows`).
SERIES_RANGE_KEYS = ("series_min", "series_max")
# Extras with one row per series, which indexing selects with the series.
ROW_EXTRAS = ("window_series", "window_start") + SERIES_RANGE_KEYS


def _as_float_array(value, name, rank):
    try:
        array = np.asarray(value, dtype="float32")
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"`{name}` must be a numeric array of rank {rank}. Could not "
            f"convert it: {e}"
        ) from None
    if array.ndim != rank:
        raise ValueError(
            f"`{name}` must have rank {rank}. Received an array of shape "
            f"{array.shape}."
        )
    return array


def _first_bad_index(mask):
    """The first index (as a tuple) where `mask` is True."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _check_finite(array, name):
    bad = ~np.isfinite(array)
    if bad.any():
        index = _first_bad_index(bad)
        raise ValueError(
            f"`{name}` contains {int(bad.sum())} NaN or infinite values; the "
            f"first is at index {index} (value {array[index]}). Fill or drop "
            "missing values before training."
        )


def _check_block(block, output, name, column_start, active=None):
    """Checks one output's columns: one-hot rows or values in range."""
    where = f"`{name}` columns {column_start}:{column_start + output.dim}"
    if active is None:
        active = np.ones(block.shape[:-1], dtype=bool)
    if output.is_discrete:
        is_binary = np.isclose(block, 0.0) | np.isclose(block, 1.0)
        row_ok = is_binary.all(axis=-1) & np.isclose(block.sum(axis=-1), 1.0)
        bad = active & ~row_ok
        if bad.any():
            index = _first_bad_index(bad)
            raise ValueError(
                f"{where} ({output!r}) must be one-hot, but the row at index "
                f"{index} is {block[index].tolist()}."
            )
    else:
        low, high = output.value_range
        outside = (block < low - _RANGE_TOLERANCE) | (
            block > high + _RANGE_TOLERANCE
        )
        bad = active[..., None] & outside
        if bad.any():
            index = _first_bad_index(bad)
            raise ValueError(
                f"{where} ({output!r}) must lie in [{low}, {high}], but index "
                f"{index} holds {block[index]}."
            )


def check_attributes(attributes, attribute_outputs, name="attributes"):
    """Checks an encoded attribute array [N, A] against its specs.

    Raises `ValueError` for a wrong shape, NaN/inf, a discrete block that is
    not one-hot, or a continuous value outside its range.
    """
    attributes = _as_float_array(attributes, name, 2)
    if attributes.shape[1] != total_dim(attribute_outputs):
        raise ValueError(
            f"`{name}` has {attributes.shape[1]} columns but the attribute "
            f"outputs {attribute_outputs} add up to "
            f"{total_dim(attribute_outputs)}."
        )
    _check_finite(attributes, name)
    for output, start, end in output_slices(attribute_outputs):
        _check_block(attributes[:, start:end], output, name, start)
    return attributes


class TimeSeriesDataset:
    """Time series with metadata in the DoppelGANger encoding.

    Holds `features` [N, T, F], `attributes` [N, A], `gen_flag` [N, T] and the
    `Output` specs that describe their columns, and checks that they agree:
    shapes, widths, finite values, one-hot discrete blocks, continuous values
    inside their normalization's range, generation flags of the form
    1...1 0...0 (length >= 1), and zero padding after each series' end.

    Args:
        features: float array [N, T, F]. Discrete parts one-hot, continuous
            parts scaled to [0, 1] or [-1, 1], zero after each series' end.
        attributes: float array [N, A]. Same encoding, one row per series.
        gen_flag: array [N, T]. 1 while the series is active, then 0.
        feature_outputs: list of `Output` (or their dicts) covering F.
        attribute_outputs: list of `Output` (or their dicts) covering A.
        extras: dict of extra named arrays kept alongside (for example the
            original format's `data_feature_min`/`data_feature_max`).
            Defaults to `None`.
        validate: bool. Whether to run the checks. Defaults to `True`.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output
    >>> ds = TimeSeriesDataset(
    ...     features=np.zeros((2, 4, 1)), attributes=[[1, 0], [0, 1]],
    ...     gen_flag=[[1, 1, 0, 0], [1, 1, 1, 1]],
    ...     feature_outputs=[Output("CONTINUOUS", 1, "ZERO_ONE")],
    ...     attribute_outputs=[Output("DISCRETE", 2)])
    >>> ds.lengths.tolist()
    [2, 4]
    """

    def __init__(
        self,
        features,
        attributes,
        gen_flag,
        feature_outputs,
        attribute_outputs,
        extras=None,
        validate=True,
    ):
        self.feature_outputs = outputs_from_config(
            feature_outputs, "feature_outputs"
        )
        self.attribute_outputs = outputs_from_config(
            attribute_outputs, "attribute_outputs"
        )
        self.features = _as_float_array(features, "features", 3)
        self.attributes = _as_float_array(attributes, "attributes", 2)
        self.gen_flag = _as_float_array(gen_flag, "gen_flag", 2)
        self.extras = dict(extras or {})
        if validate:
            self.validate()

    # --- Properties ---------------------------------------------------------

    def __len__(self):
        return self.features.shape[0]

    @property
    def max_sequence_len(self):
        return self.features.shape[1]

    @property
    def lengths(self):
        return self.gen_flag.sum(axis=1).round().astype("int64")

    def __getitem__(self, index):
        """A new dataset with the selected series (index, slice or mask)."""
        if isinstance(index, (int, np.integer)):
            index = [index]
        extras = {
            name: value[index] if name in ROW_EXTRAS else value
            for name, value in self.extras.items()
        }
        return TimeSeriesDataset(
            self.features[index],
            self.attributes[index],
            self.gen_flag[index],
            self.feature_outputs,
            self.attribute_outputs,
            extras=extras,
            validate=False,
        )

    def windows(self, length, stride=None):
        """The series cut into windows of `length` steps, each with its
        series' attributes: to train on series longer than a model can
        take (then `DoppelGANger.generate(n, length=...)` generates them
        whole).

        Windows start at steps 0, `stride`, 2 `stride`, ... as long as they
        fit in `max_sequence_len` and start before their series' end; a
        window that runs past its series' end keeps the shorter flag (the
        series ends inside it). Steps after the last window that fits are
        left out.

        Args:
            length: int. Steps per window, 1 to `max_sequence_len`.
            stride: int or None. Steps between window starts (windows
                overlap when it is below `length`). Defaults to `length`.

        Returns:
            A `TimeSeriesDataset` of `max_sequence_len` `length`, with
            `extras` `window_series` (the index of each window's series),
            `window_start` (its first step), and `series_min` and
            `series_max` [N, F] (each feature column's minimum and maximum
            over the window's whole series, padding included, as
            `self_norm` measures a series); other extras are dropped.
            `fit` normalises each window by its series' range
            (`self_norm`), so the min/max generator learns the ranges of
            whole series, which `generate(n, length=...)` needs.

        Example:

        >>> import numpy as np
        >>> from keras_dg import Output
        >>> ds = TimeSeriesDataset(np.random.rand(2, 12, 1),
        ...     [[1, 0], [0, 1]], np.ones((2, 12)),
        ...     [Output("CONTINUOUS", 1, "ZERO_ONE")],
        ...     [Output("DISCRETE", 2)])
        >>> w = ds.windows(4)
        >>> len(w), w.max_sequence_len, w.extras["window_series"].tolist()
        (6, 4, [0, 0, 0, 1, 1, 1])
        """
        t = self.max_sequence_len
        length = check_int(length, "length", minimum=1, maximum=t)
        stride = length if stride is None else check_int(
            stride, "stride", minimum=1
        )
        starts = np.arange(0, t - length + 1, stride)
        lengths = self.lengths
        series, start = [
            a.ravel() for a in np.meshgrid(
                np.arange(len(self)), starts, indexing="ij"
            )
        ]
        keep = start < lengths[series]
        series, start = series[keep], start[keep]
        steps = start[:, None] + np.arange(length)
        # Windows of windows keep the range of the series they came from.
        lowest = self.extras.get("series_min", self.features.min(axis=1))
        highest = self.extras.get("series_max", self.features.max(axis=1))
        return TimeSeriesDataset(
            self.features[series[:, None], steps],
            self.attributes[series],
            self.gen_flag[series[:, None], steps],
            self.feature_outputs,
            self.attribute_outputs,
            extras={
                "window_series": series,
                "window_start": start,
                "series_min": np.asarray(lowest)[series],
                "series_max": np.asarray(highest)[series],
            },
            validate=False,
        )

    def as_dict(self):
        """The arrays as the dict that `DoppelGANger.fit` consumes (with
        `series_min`/`series_max` when the series are windows: see
        `windows`)."""
        arrays = {
            "features": self.features,
            "attributes": self.attributes,
            "gen_flag": self.gen_flag,
        }
        for name in SERIES_RANGE_KEYS:
            if name in self.extras:
                arrays[name] = np.asarray(self.extras[name], "float32")
        return arrays

    def __repr__(self):
        return (
            f"TimeSeriesDataset(n={len(self)}, "
            f"max_sequence_len={self.max_sequence_len}, "
            f"feature_dim={self.features.shape[-1]}, "
            f"attribute_dim={self.attributes.shape[-1]})"
        )

    # --- Validation ---------------------------------------------------------

    def validate(self):
        """Raises `ValueError` naming the first problem found."""
        n, t, f = self.features.shape
        if n == 0 or t == 0:
            raise ValueError(
                "`features` is empty: expected at least one series and one "
                f"time step. Received shape {self.features.shape}."
            )
        if not self.feature_outputs:
            raise ValueError("`feature_outputs` must not be empty.")
        if self.attributes.shape[0] != n:
            raise ValueError(
                f"`attributes` has {self.attributes.shape[0]} rows but "
                f"`features` has {n} series; they must match."
            )
        if self.gen_flag.shape != (n, t):
            raise ValueError(
                f"`gen_flag` must have shape (N, T) = {(n, t)} to match "
                f"`features`. Received shape {self.gen_flag.shape}."
            )
        if total_dim(self.feature_outputs) != f:
            raise ValueError(
                f"`features` has {f} columns but `feature_outputs` "
                f"{self.feature_outputs} add up to "
                f"{total_dim(self.feature_outputs)}."
            )
        if total_dim(self.attribute_outputs) != self.attributes.shape[1]:
            raise ValueError(
                f"`attributes` has {self.attributes.shape[1]} columns but "
                f"`attribute_outputs` {self.attribute_outputs} add up to "
                f"{total_dim(self.attribute_outputs)}."
            )
        for name, spec in (
            ("feature_outputs", self.feature_outputs),
            ("attribute_outputs", self.attribute_outputs),
        ):
            for i, output in enumerate(spec):
                if output.is_gen_flag:
                    raise ValueError(
                        f"`{name}[{i}]` has is_gen_flag=True; the generation "
                        "flag output is internal. Pass is_gen_flag=False."
                    )
        _check_finite(self.features, "features")
        _check_finite(self.attributes, "attributes")
        _check_finite(self.gen_flag, "gen_flag")
        self._validate_gen_flag()
        active = self.gen_flag > 0.5
        for output, start, end in output_slices(self.feature_outputs):
            _check_block(
                self.features[..., start:end], output, "features", start, active
            )
        check_attributes(self.attributes, self.attribute_outputs)
        padding = ~active[..., None] & (self.features != 0)
        if padding.any():
            index = _first_bad_index(padding)
            raise ValueError(
                f"`features` must be zero after each series' end, but index "
                f"{index} (after the end given by `gen_flag`) holds "
                f"{self.features[index]}."
            )

    def _validate_gen_flag(self):
        flag = self.gen_flag
        not_binary = ~(np.isclose(flag, 0.0) | np.isclose(flag, 1.0))
        if not_binary.any():
            index = _first_bad_index(not_binary)
            raise ValueError(
                f"`gen_flag` must hold only 0 and 1; index {index} holds "
                f"{flag[index]}."
            )
        binary = flag > 0.5
        # 1...1 0...0: once a step is 0, no later step may be 1.
        rises = binary[:, 1:] & ~binary[:, :-1]
        if rises.any():
            row = int(np.argwhere(rises)[0][0])
            raise ValueError(
                "`gen_flag` must be 1...1 0...0 (active, then ended), but "
                f"series {row} restarts after it ended: "
                f"{binary[row].astype(int).tolist()}."
            )
        empty = ~binary[:, 0]
        if empty.any():
            row = int(np.argwhere(empty)[0][0])
            raise ValueError(
                f"Series {row} has length 0 (`gen_flag` starts with 0); every "
                "series needs at least one active step."
            )
