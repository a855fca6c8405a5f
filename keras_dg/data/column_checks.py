"""Checks that keep a table's meaning: what `from_dataframe` and
`from_wide_dataframe` refuse to guess, and how they report what they chose.

- Numbers in text columns (`check_text_numbers`): a column of text whose
  cells are mostly numbers (a CSV column with one `"hello"` among its
  values) is an error naming the rows and values, unless
  `non_numeric="missing"` turns the non-numeric cells into missing values
  (then handled by `missing`). Columns listed in `discrete` are categories
  and are not checked.
- Too many categories (`check_categories`): a discrete column with more than
  `max_categories` categories, or with a different value in every row (an
  identifier or free text, at least `_UNIQUE_MIN` rows), is an error with a
  hint.
- Outliers (`outlier_mask`, `OUTLIER_POLICIES`): a value whose distance from
  the column's median exceeds `OUTLIER_FACTOR` times its median absolute
  deviation would squeeze every other value into a sliver of the scaled
  range; `outliers="error"` (default) names its rows, `"clip"` fits the
  scaling to the other values and clips the outliers to their range,
  `"keep"` scales them with the rest. A range too wide for float64
  (max - min overflows) has its own error.
- Round trip (`round_trip_error`): the largest difference between a
  column's values and their encoding decoded back, in the column's units.
- `describe_columns(transformer)`: one line per column (role, kind, dtype,
  range or categories, round-trip error), what the `keras-dg` command
  prints.
"""

import warnings

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from keras_dg.data.columns import decode_column
from keras_dg.data.columns import encode_column
from keras_dg.data.columns import format_values

NON_NUMERIC_POLICIES = ("raise", "missing")
OUTLIER_POLICIES = ("error", "clip", "keep")
# A value further than this many median absolute deviations from the median
# is an outlier: scaled with it, the values within a few deviations of the
# median would share less than a thousandth of the scaled range.
OUTLIER_FACTOR = 1000.0
# A text column is "mostly numeric" when more than this share of its
# present cells are numbers.
_MOSTLY = 0.5
# A discrete column with a different value in every one of at least this
# many rows is an identifier or free text, not a category.
_UNIQUE_MIN = 20
# The round trip may lose this share of the spread of the bulk of a column
# (its interquartile range) before `fit_column_spec` warns.
_ROUND_TRIP_SHARE = 0.01


# === Numbers in text columns ===


def _is_text_column(dtype):
    return (pdt.is_object_dtype(dtype) or pdt.is_string_dtype(dtype)) and (
        not isinstance(dtype, pd.CategoricalDtype)
    )


def _numeric_cells(series):
    """(present, numeric) boolean masks of a text column's cells."""
    present = series.notna().to_numpy()
    not_bool = ~series.map(
        lambda v: isinstance(v, (bool, np.bool_))
    ).to_numpy(dtype=bool)
    parsed = pd.to_numeric(series.where(not_bool), errors="coerce")
    numeric = parsed.notna().to_numpy() & present & not_bool
    return present, numeric, parsed


def check_text_numbers(df, names, discrete, non_numeric, labels=None):
    """`df` with its mostly-numeric text columns checked (or converted).

    Args:
        df: the table.
        names: the feature/attribute columns to check (a wide table's step
            columns).
        discrete: the columns the user declared as categories (skipped).
        non_numeric: `"raise"` or `"missing"`.
        labels: row labels for messages (default: `df.index`).

    Returns:
        `df`, or a copy with the converted columns (float64; the
        non-numeric cells missing) when `non_numeric="missing"`.
    """
    labels = np.asarray(df.index if labels is None else labels, dtype=object)
    converted = {}
    for name in names:
        if name in discrete or not _is_text_column(df[name].dtype):
            continue
        present, numeric, parsed = _numeric_cells(df[name])
        if not numeric.any() or numeric.sum() <= _MOSTLY * present.sum():
            continue  # Text: categories.
        bad = present & ~numeric
        if non_numeric == "missing":
            converted[name] = parsed.where(numeric).astype("float64")
            continue
        if bad.any():
            raise ValueError(
                f"Column {name!r} holds numbers ({int(numeric.sum())} of "
                f"{int(present.sum())} values) but also "
                f"{int(bad.sum())} non-numeric value(s) "
                f"{format_values(pd.unique(df[name][bad]))} in rows "
                f"{format_values(labels[bad])}: it is neither numeric nor a "
                "set of categories. Fix those cells, pass "
                "non_numeric='missing' (--non-numeric missing) to treat "
                "them as missing values, or list the column in `discrete` "
                "to encode every value as a category."
            )
        raise ValueError(
            f"Column {name!r} holds numbers stored as text (e.g. "
            f"{format_values(df[name][present], 3)}). Convert it "
            "(pd.to_numeric), pass non_numeric='missing' to convert it, or "
            "list it in `discrete` to encode the values as categories."
        )
    if not converted:
        return df
    df = df.copy()
    for name, values in converted.items():
        df[name] = values
    return df


# === Categories ===


def check_categories(name, role, categories, values, explicit,
                     max_categories):
    """Raises unless a discrete column's categories look like categories.

    `values` are the column's values (one per row, or per series for an
    attribute); `explicit`: the column is a categorical or boolean dtype
    (declared categories: only `max_categories` applies).
    """
    if max_categories is None:
        return
    k = len(categories)
    if k > max_categories:
        raise ValueError(
            f"Discrete {role} column {name!r} has {k} categories (e.g. "
            f"{format_values(categories, 3)}), more than "
            f"max_categories={max_categories}. A column with this many "
            "values is rarely a category: if it is a number, fix its "
            "non-numeric cells; if it is an identifier or free text, drop "
            "it; if these are real categories, raise `max_categories` "
            "(--max-categories)."
        )
    present = pd.Series(np.asarray(values, dtype=object)).dropna()
    if (
        not explicit
        and len(present) >= _UNIQUE_MIN
        and present.nunique() == len(present)
    ):
        unit = "series" if role == "attribute" else "row"
        raise ValueError(
            f"Discrete {role} column {name!r} has a different value in "
            f"every {unit} ({len(present)} values, e.g. "
            f"{format_values(present.iloc[:3])}): it is an identifier or "
            "free text, not a category. Drop it (or use it as the "
            "`example_id`), or pass max_categories=None to encode it "
            "anyway."
        )


# === Outliers and magnitudes ===


def outlier_mask(x):
    """The values of `x` (finite float64) far outside its bulk: further
    than `OUTLIER_FACTOR` median absolute deviations from the median. A
    column whose deviations are mostly 0 (one dominant value) measures
    them against the (lower) median of its non-zero deviations instead:
    the spikes of a sparse column are its signal, unless some are far
    beyond the others (several huge values included, which a mean would
    absorb)."""
    if len(x) < 3:
        return np.zeros(len(x), dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        median = np.median(x)
        distance = np.abs(x - median)
        scale = np.median(distance)
        if not scale > 0:
            spikes = np.sort(distance[distance > 0])
            scale = spikes[(len(spikes) - 1) // 2] if len(spikes) else 0.0
        if not (scale > 0 and np.isfinite(scale)):
            return np.zeros(len(x), dtype=bool)
        return distance > OUTLIER_FACTOR * scale


def outlier_error(name, role, x, mask, labels, log1p):
    """The `ValueError` of `outliers="error"`."""
    median = float(np.median(x[~mask]))
    positive = bool(np.all(x > -1)) and not log1p
    hint = (
        " The column is positive: log1p=[...] (--log1p) compresses a "
        "heavy tail." if positive else ""
    )
    return ValueError(
        f"{role.capitalize()} column {name!r} holds {int(mask.sum())} "
        f"value(s) {format_values(x[mask])} in rows "
        f"{format_values(np.asarray(labels, dtype=object)[mask])} far "
        f"outside the bulk of its values (median {median:.6g}; more than "
        f"{OUTLIER_FACTOR:g} median absolute deviations away): scaled "
        "together, every other value would collapse to one end of the "
        "range. Fix them, or choose outliers='clip' (fit the scaling to "
        "the other values and clip these to their range) or "
        "outliers='keep' (--outliers clip|keep)." + hint
    )


def check_magnitude(name, role, low, high, log1p):
    """Raises when the range [low, high] cannot be scaled in float64."""
    with np.errstate(over="ignore"):
        span = np.float64(high) - np.float64(low)
    if not np.isfinite(span):
        where = " after log1p" if log1p else ""
        raise ValueError(
            f"{role.capitalize()} column {name!r} spans [{low:.6g}, "
            f"{high:.6g}]{where}: max - min overflows float64, so it cannot "
            "be scaled (a magnitude problem, not missing values). Rescale "
            "the column (e.g. divide it by a large constant), transform it "
            "(log1p for positive values), or pass outliers='clip' if only "
            "a few values are that large."
        )


def round_trip_error(spec, raw, labels):
    """The largest |value - decode(encode(value))| of a continuous column
    (its fitted `raw` values, before log1p), in the column's units."""
    raw = np.asarray(raw, dtype="float64")
    if len(raw) == 0:
        return 0.0
    encoded = encode_column(spec, raw, labels, clip=True)
    decoded = decode_column(spec, encoded)
    low, high = spec["min"], spec["max"]
    if spec.get("log1p"):
        low, high = np.expm1(low), np.expm1(high)
    kept = (raw >= low) & (raw <= high)  # Clipped outliers aside.
    if not kept.any():
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.abs(decoded[kept] - raw[kept])
    return float(np.max(error))


def warn_round_trip(name, role, raw, error):
    """Warns when the round trip loses a visible share of the bulk."""
    q1, q3 = np.quantile(np.asarray(raw, dtype="float64"), [0.25, 0.75])
    spread = q3 - q1
    if spread > 0 and error > _ROUND_TRIP_SHARE * spread:
        warnings.warn(
            f"{role.capitalize()} column {name!r}: encoding and decoding "
            f"changes values by up to {error:.3g}, more than "
            f"{_ROUND_TRIP_SHARE:.0%} of the spread of its middle half "
            f"({spread:.3g}): its bulk is squeezed by extreme values. "
            "Consider outliers='clip' or log1p.",
            UserWarning,
            stacklevel=4,
        )


# === Describing the columns ===


def _spec_line(spec, role):
    name = repr(spec["name"])
    if spec["kind"] == "continuous":
        text = (
            f"continuous {spec['dtype']}, range [{spec['min']:.6g}, "
            f"{spec['max']:.6g}]" + (" after log1p" if spec["log1p"] else "")
            + f", {spec['normalization']}"
        )
        if spec.get("outliers") == "clip":
            text += ", outliers clipped"
        if "round_trip_error" in spec:
            text += f", round-trip error {spec['round_trip_error']:.3g}"
    else:
        categories = spec["categories"]
        text = (
            f"discrete {spec['dtype']}, {len(categories)} categories "
            f"{format_values(categories, 4)}"
        )
    return f"  {name}: {role}, {text}"


def describe_columns(transformer):
    """One line per column of a fitted `TableTransformer`: its role, kind,
    dtype, range or categories, and round-trip error (continuous)."""
    lines = []
    if transformer.example_id is not None:
        lines.append(f"  {transformer.example_id!r}: series id")
    if transformer.time is not None:
        grid = transformer.time_grid
        if grid is None:
            how = "orders the steps (series start at different times)"
        elif grid["kind"] == "numeric":
            how = f"regular grid from {grid['start']}, step {grid['step']}"
        elif grid["kind"] == "datetime":
            how = (f"regular grid from {grid['start']}, step "
                   f"{pd.Timedelta(grid['step_ns'], unit='ns')}")
        else:
            how = (f"regular grid, step "
                   f"{pd.Timedelta(grid['step_ns'], unit='ns')}")
        lines.append(f"  {transformer.time!r}: time, {how}")
    for spec in transformer.attributes:
        lines.append(_spec_line(spec, "attribute"))
    for spec in getattr(transformer, "constants", None) or []:
        lines.append(
            f"  {spec['name']!r}: {spec['role']}, constant "
            f"{spec['value']!r} (not modelled; restored on output)"
        )
    for spec in transformer.features:
        line = _spec_line(spec, "feature")
        if spec.get("columns"):
            line += f", step columns {format_values(spec['columns'], 3)}"
        if spec.get("missing_channel"):
            line += ", has gaps: a missingness channel (missing='model')"
        lines.append(line)
    return lines
