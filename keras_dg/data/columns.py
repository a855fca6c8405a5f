"""The columns of a table: their specs, and encoding and decoding one column.

A column spec is a plain dict (the JSON that `TableTransformer.get_config`
stores): `name`, `kind` (`"continuous"` or `"discrete"`), `dtype` (pandas
dtype string), and `normalization`, `min`, `max`, `log1p` (continuous; min
and max after log1p) or `categories`, `ordered` (discrete); the step
`columns` and `column_dtypes` of a wide table's features. Continuous
specs fitted from a table also hold `round_trip_error` (the largest change
of a value encoded and decoded back) and, when fitted with
`outliers="clip"`, `outliers: "clip"` (values outside [min, max] are
clipped, at fit time and in `transform`).

- continuous: one `Output(CONTINUOUS, 1, normalization)`; values are
  optionally `log1p`-transformed, then scaled by the spec's min/max to
  [0, 1] (`ZERO_ONE`) or [-1, 1] (`MINUSONE_ONE`).
- discrete: one `Output(DISCRETE, k)`, one-hot over the k categories.

Also the small helpers the table modules share to name columns and show
values in error messages (`to_python`, `format_values`, `check_column_name`,
`check_columns`).
"""

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from keras_dg.specs import Normalization
from keras_dg.specs import Output
from keras_dg.specs import OutputType

KINDS = ("continuous", "discrete")
# Encoded values may exceed the scaled range by float round-off.
_TOLERANCE = 1e-6
# How many values an error message shows.
MAX_SHOWN = 5


# === Naming columns and showing values ===


def to_python(value):
    """A JSON-able Python scalar for a numpy/pandas scalar."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def format_values(values, limit=MAX_SHOWN):
    """`values` as a short list for an error message (the first `limit`)."""
    values = list(values)
    text = ", ".join(repr(to_python(v)) for v in values[:limit])
    if len(values) > limit:
        text += f", ... ({len(values)} in all)"
    return f"[{text}]"


def check_column_name(name, argument):
    """A column name (str or int) given as `argument`, as a Python value."""
    if isinstance(name, (bool, np.bool_)) or not isinstance(
        name, (str, int, np.integer)
    ):
        raise ValueError(
            f"`{argument}` must name a column by a string or an integer. "
            f"Received: {name!r}"
        )
    return to_python(name)


def check_columns(df, names, argument):
    """Raises `ValueError` naming the entries of `names` not in `df`."""
    unknown = [name for name in names if name not in df.columns]
    if unknown:
        raise ValueError(
            f"`{argument}` names column(s) {format_values(unknown)} that are not in "
            f"the table. Available columns: {format_values(df.columns, 30)}."
        )


def _nullable_dtype(dtype):
    """The pandas dtype that can also hold missing values."""
    dtype = pd.api.types.pandas_dtype(dtype)
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iu":
            return {"i": "Int", "u": "UInt"}[dtype.kind] + str(
                dtype.itemsize * 8
            )
        if dtype.kind == "b":
            return "boolean"
    return dtype


def is_integer_dtype(dtype):
    """Whether a pandas dtype (or its name) is an integer dtype."""
    return pdt.is_integer_dtype(pd.api.types.pandas_dtype(dtype))


def restore_dtype(values, spec, dtype=None):
    """A Series of `values` (object or float) cast to the column's dtype."""
    dtype = spec["dtype"] if dtype is None else dtype
    series = pd.Series(values)
    if dtype == "category":
        target = pd.CategoricalDtype(spec["categories"], spec.get("ordered"))
    else:
        target = pd.api.types.pandas_dtype(dtype)
        if series.isna().any():
            target = _nullable_dtype(target)
    return series.astype(target)


# === Column specs ===


def check_spec(spec, role, layout):
    """A checked copy of one column spec of `role` (`"features"` or
    `"attributes"`) in `layout`, with its optional keys filled in."""
    if not isinstance(spec, dict):
        raise ValueError(f"`{role}` entries must be dicts. Received: {spec!r}")
    for key in ("name", "kind", "dtype"):
        if key not in spec:
            raise ValueError(f"`{role}` entry {spec!r} lacks the key '{key}'.")
    if spec["kind"] not in KINDS:
        raise ValueError(
            f"`{role}` column {spec['name']!r} has kind={spec['kind']!r}; "
            f"expected one of {KINDS}."
        )
    spec = dict(spec)
    if spec["kind"] == "continuous":
        spec["normalization"] = Normalization(spec["normalization"]).value
        if not spec["max"] > spec["min"]:
            raise ValueError(
                f"`{role}` column {spec['name']!r} needs max > min. Received "
                f"min={spec['min']}, max={spec['max']}."
            )
        spec.setdefault("log1p", False)
    else:
        if len(spec.get("categories", [])) < 2:
            raise ValueError(
                f"`{role}` column {spec['name']!r} needs at least two "
                f"categories. Received: {spec.get('categories')!r}"
            )
        spec.setdefault("ordered", False)
    if layout == "wide" and role == "features":
        if not spec.get("columns"):
            raise ValueError(
                f"Wide-layout feature {spec['name']!r} needs its list of "
                "step `columns`."
            )
        spec.setdefault("column_dtypes", [spec["dtype"]] * len(spec["columns"]))
    return spec


def spec_width(spec):
    """The encoded width of a column: 1, or its number of categories."""
    return 1 if spec["kind"] == "continuous" else len(spec["categories"])


def specs_to_outputs(specs):
    """One Output per column; consecutive continuous columns sharing an
    `"output"` index (only from `from_dataset`) form one wider Output."""
    outputs, groups = [], []
    for spec in specs:
        if spec["kind"] == "discrete":
            outputs.append(Output(OutputType.DISCRETE, len(spec["categories"])))
            groups.append(None)
            continue
        group = spec.get("output")
        if (
            group is not None
            and groups
            and groups[-1] == group
            and outputs[-1].normalization.value == spec["normalization"]
        ):
            outputs[-1] = Output(
                OutputType.CONTINUOUS,
                outputs[-1].dim + 1,
                spec["normalization"],
            )
            continue
        outputs.append(Output(OutputType.CONTINUOUS, 1, spec["normalization"]))
        groups.append(group)
    return outputs


# === Encoding and decoding one column ===


def encode_column(spec, values, row_labels, clip=False):
    """Encodes one column's values ([R]) into an [R, width] float32 array."""
    name = spec["name"]
    if spec["kind"] == "discrete":
        index = pd.Index(spec["categories"]).get_indexer(values)
        unknown = index < 0
        if unknown.any():
            bad = pd.unique(np.asarray(values, dtype=object)[unknown])
            raise ValueError(
                f"Column {name!r} holds value(s) {format_values(bad)} (rows "
                f"{format_values(np.asarray(row_labels, dtype=object)[unknown])}) "
                "that are not among its fitted categories "
                f"{format_values(spec['categories'], 20)}."
            )
        return np.eye(len(spec["categories"]), dtype="float32")[index]
    x = np.asarray(values, dtype="float64")
    if spec["log1p"]:
        bad = ~(x > -1)
        if bad.any():
            raise ValueError(
                f"Column {name!r} uses log1p, which needs values > -1, but "
                f"rows {format_values(np.asarray(row_labels, dtype=object)[bad])} "
                f"hold {format_values(x[bad])}."
            )
        x = np.log1p(x)
    scaled = (x - spec["min"]) / (spec["max"] - spec["min"])
    outside = (scaled < -_TOLERANCE) | (scaled > 1 + _TOLERANCE)
    # A column fitted with outliers="clip" clips its outliers everywhere.
    clip = clip or spec.get("outliers") == "clip"
    if outside.any() and not clip:
        shown = np.expm1(x[outside]) if spec["log1p"] else x[outside]
        low, high = spec["min"], spec["max"]
        if spec["log1p"]:
            low, high = np.expm1(low), np.expm1(high)
        raise ValueError(
            f"Column {name!r} holds values {format_values(shown)} (rows "
            f"{format_values(np.asarray(row_labels, dtype=object)[outside])}) "
            f"outside its fitted range [{low}, {high}]. Pass clip=True to "
            "clip them to the range."
        )
    scaled = np.clip(scaled, 0.0, 1.0)
    if spec["normalization"] == Normalization.MINUSONE_ONE.value:
        scaled = 2.0 * scaled - 1.0
    return scaled.astype("float32")[:, None]


def decode_column(spec, encoded):
    """Decodes an [R, width] block into raw values ([R], float or object)."""
    encoded = np.asarray(encoded, dtype="float64")
    if spec["kind"] == "discrete":
        categories = np.empty(len(spec["categories"]), dtype=object)
        categories[:] = spec["categories"]
        return categories[np.argmax(encoded, axis=-1)]
    scaled = encoded[..., 0]
    if spec["normalization"] == Normalization.MINUSONE_ONE.value:
        scaled = (np.clip(scaled, -1.0, 1.0) + 1.0) / 2.0
    else:
        scaled = np.clip(scaled, 0.0, 1.0)
    x = scaled * (spec["max"] - spec["min"]) + spec["min"]
    if spec["log1p"]:
        x = np.expm1(x)
    return x


def finish_column(spec, values, dtype=None):
    """Raw decoded values -> a Series in the column's original dtype."""
    dtype = spec["dtype"] if dtype is None else dtype
    if spec["kind"] == "continuous" and dtype != "category":
        if is_integer_dtype(dtype):
            values = np.round(values)
    return restore_dtype(values, spec, dtype)
