"""`TableTransformer`: tables to the DoppelGANger encoding and back.

A fitted transformer (see `keras_dg.data.from_dataframe`,
`from_wide_dataframe` and `from_arrays`) knows, for each column it encodes,
its name, pandas dtype, kind and encoding parameters:

- continuous (numbers): one `Output(CONTINUOUS, 1, normalization)`; values
  are optionally `log1p`-transformed, then scaled by the column's global
  min/max (over all series and steps of the fitted table) to [0, 1]
  (`ZERO_ONE`) or [-1, 1] (`MINUSONE_ONE`).
- discrete (strings, categoricals, booleans, or numbers listed in
  `discrete=`): one `Output(DISCRETE, k)`, one-hot over the k categories.

Missing values (NaN, None, NA) follow the `missing` policy chosen at fit
time and are never propagated silently:

- `"raise"` (default): a `ValueError` names the column and the rows.
- `"interpolate"`: inside each series, continuous features are filled by
  linear interpolation along the steps (the nearest value at the ends) and
  discrete features by the previous (else the next) value. Attributes may be
  missing on some rows of a long table (filled from the series' other rows)
  but not in a wide table. A column with no value at all in a series is
  still an error.
- `"drop"`: every series with any missing value is dropped, with a warning
  naming them.

Infinite values, missing series ids or time values are always errors.

Reference:
    Lin et al., "Using GANs for Sharing Networked Time Series Data", IMC
    2020, §4 (Output specs; the log1p of page views).
"""

import warnings

import keras
import numpy as np
import pandas as pd
from pandas.api import types as pdt

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.preprocessing.gen_flag import check_sample_len
from keras_dg.specs import Normalization
from keras_dg.specs import Output
from keras_dg.specs import OutputType
from keras_dg.specs import output_slices

LAYOUTS = ("long", "wide")
MISSING_POLICIES = ("raise", "interpolate", "drop")
_KINDS = ("continuous", "discrete")
# Encoded values may exceed the scaled range by float round-off.
_TOLERANCE = 1e-6
_MAX_SHOWN = 5


# --- Small helpers ------------------------------------------------------------


def _py(value):
    """A JSON-able Python scalar for a numpy/pandas scalar."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _shown(values, limit=_MAX_SHOWN):
    values = list(values)
    text = ", ".join(repr(_py(v)) for v in values[:limit])
    if len(values) > limit:
        text += f", ... ({len(values)} in all)"
    return f"[{text}]"


def _check_name(name, argument):
    if isinstance(name, (bool, np.bool_)) or not isinstance(
        name, (str, int, np.integer)
    ):
        raise ValueError(
            f"`{argument}` must name a column by a string or an integer. "
            f"Received: {name!r}"
        )
    return _py(name)


def check_columns(df, names, argument):
    """Raises `ValueError` naming the entries of `names` not in `df`."""
    unknown = [name for name in names if name not in df.columns]
    if unknown:
        raise ValueError(
            f"`{argument}` names column(s) {_shown(unknown)} that are not in "
            f"the table. Available columns: {_shown(df.columns, 30)}."
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


def _is_integer_dtype(dtype):
    return pdt.is_integer_dtype(pd.api.types.pandas_dtype(dtype))


def _restore_dtype(values, spec, dtype=None):
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


# --- Column specs -------------------------------------------------------------


def _check_spec(spec, role, layout):
    if not isinstance(spec, dict):
        raise ValueError(f"`{role}` entries must be dicts. Received: {spec!r}")
    for key in ("name", "kind", "dtype"):
        if key not in spec:
            raise ValueError(f"`{role}` entry {spec!r} lacks the key '{key}'.")
    if spec["kind"] not in _KINDS:
        raise ValueError(
            f"`{role}` column {spec['name']!r} has kind={spec['kind']!r}; "
            f"expected one of {_KINDS}."
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


def _spec_width(spec):
    return 1 if spec["kind"] == "continuous" else len(spec["categories"])


def _specs_to_outputs(specs):
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


# --- Encoding and decoding one column -----------------------------------------


def encode_column(spec, values, row_labels, clip=False):
    """Encodes one column's values ([R]) into an [R, width] float32 array."""
    name = spec["name"]
    if spec["kind"] == "discrete":
        index = pd.Index(spec["categories"]).get_indexer(values)
        unknown = index < 0
        if unknown.any():
            bad = pd.unique(np.asarray(values, dtype=object)[unknown])
            raise ValueError(
                f"Column {name!r} holds value(s) {_shown(bad)} (rows "
                f"{_shown(np.asarray(row_labels, dtype=object)[unknown])}) "
                "that are not among its fitted categories "
                f"{_shown(spec['categories'], 20)}."
            )
        return np.eye(len(spec["categories"]), dtype="float32")[index]
    x = np.asarray(values, dtype="float64")
    if spec["log1p"]:
        bad = ~(x > -1)
        if bad.any():
            raise ValueError(
                f"Column {name!r} uses log1p, which needs values > -1, but "
                f"rows {_shown(np.asarray(row_labels, dtype=object)[bad])} "
                f"hold {_shown(x[bad])}."
            )
        x = np.log1p(x)
    scaled = (x - spec["min"]) / (spec["max"] - spec["min"])
    outside = (scaled < -_TOLERANCE) | (scaled > 1 + _TOLERANCE)
    if outside.any() and not clip:
        shown = np.expm1(x[outside]) if spec["log1p"] else x[outside]
        low, high = spec["min"], spec["max"]
        if spec["log1p"]:
            low, high = np.expm1(low), np.expm1(high)
        raise ValueError(
            f"Column {name!r} holds values {_shown(shown)} (rows "
            f"{_shown(np.asarray(row_labels, dtype=object)[outside])}) "
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


def _finish_column(spec, values, dtype=None):
    """Raw decoded values -> a Series in the column's original dtype."""
    dtype = spec["dtype"] if dtype is None else dtype
    if spec["kind"] == "continuous" and dtype != "category":
        if _is_integer_dtype(dtype):
            values = np.round(values)
    return _restore_dtype(values, spec, dtype)


# --- Preparing tables ---------------------------------------------------------


class _PreparedRows:
    """A table cut into series: per-row series index and step, cleaned
    values per column, and labels for error messages."""

    def __init__(
        self, series_labels, row_series, row_step, row_labels, features,
        attributes, times=None,
    ):
        self.series_labels = list(series_labels)
        self.row_series = np.asarray(row_series, dtype="int64")
        self.row_step = np.asarray(row_step, dtype="int64")
        self.row_labels = np.asarray(row_labels, dtype=object)
        self.features = features
        self.attributes = attributes
        self.times = times
        n = len(self.series_labels)
        self.lengths = np.bincount(self.row_series, minlength=n)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])


def _time_values(series, name):
    """Sortable int64/float64 values of a time column and their kind."""
    dtype = series.dtype
    if pdt.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        kind = "datetime"
    elif pdt.is_timedelta64_dtype(dtype):
        kind = "timedelta"
    elif pdt.is_numeric_dtype(dtype) and not pdt.is_bool_dtype(dtype):
        kind = "numeric"
    else:
        raise ValueError(
            f"The `time` column {name!r} has dtype {dtype}; expected numbers, "
            "datetimes or timedeltas (convert with pd.to_datetime or "
            "pd.to_numeric)."
        )
    missing = series.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"The `time` column {name!r} is missing in rows "
            f"{_shown(series.index[missing])}; every row needs a time."
        )
    if kind == "datetime":
        return series.to_numpy().astype("datetime64[ns]").view("int64"), kind
    if kind == "timedelta":
        return series.to_numpy().astype("timedelta64[ns]").view("int64"), kind
    values = series.to_numpy()
    if pdt.is_integer_dtype(dtype):
        return values.astype("int64"), kind
    values = values.astype("float64")
    if np.isinf(values).any():
        raise ValueError(
            f"The `time` column {name!r} holds infinite values in rows "
            f"{_shown(series.index[np.isinf(values)])}."
        )
    return values, kind


def _float_values(series, name, labels):
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(
            f"Column {name!r} holds infinite values in rows "
            f"{_shown(np.asarray(labels, dtype=object)[infinite])}. Replace "
            "them (infinite values are not treated as missing)."
        )
    return values


def _missing_error(name, labels, argument, where="rows"):
    return ValueError(
        f"Column {name!r} ({argument}) has {len(labels)} missing values "
        f"(NaN/None) in {where} {_shown(labels)}. Fill them, or pass "
        "missing='interpolate' (fill inside each series) or missing='drop' "
        "(drop those series)."
    )


def _warn_dropped(dropped, total):
    warnings.warn(
        f"missing='drop': dropped {len(dropped)} of {total} series that have "
        f"missing values: {_shown(dropped)}.",
        UserWarning,
        stacklevel=4,
    )


def _fill_in_series(rows, values, name, kind, argument):
    """Fills missing values inside each series (see `missing`)."""
    missing = pd.isna(values)
    if not missing.any():
        return values
    groups = rows.row_series
    if kind == "continuous":
        values = np.array(values, dtype="float64")
        for series in np.unique(groups[missing]):
            start = rows.starts[series]
            segment = values[start:start + rows.lengths[series]]
            known = ~np.isnan(segment)
            if not known.any():
                raise ValueError(
                    f"Column {name!r} ({argument}) has no value at all in "
                    f"series {rows.series_labels[series]!r}; there is "
                    "nothing to interpolate from."
                )
            steps = np.arange(len(segment))
            segment[~known] = np.interp(
                steps[~known], steps[known], segment[known]
            )
        return values
    series = pd.Series(values)
    filled = series.groupby(groups).ffill()
    filled = filled.fillna(series.groupby(groups).bfill())
    still = filled.isna().to_numpy()
    if still.any():
        raise ValueError(
            f"Column {name!r} ({argument}) has no value at all in series "
            f"{rows.series_labels[groups[still][0]]!r}; there is nothing to "
            "fill from."
        )
    return filled


def _factorize(ids):
    try:
        return pd.factorize(ids, sort=True)
    except TypeError:  # Unorderable mixed ids: keep first appearance.
        return pd.factorize(ids, sort=False)


def prepare_long(df, example_id, time, kinds, features, attributes, missing):
    """Cuts a long table (one row per series and step) into series."""
    if len(df) == 0:
        raise ValueError("`df` is empty: expected at least one row.")
    ids = df[example_id]
    no_id = ids.isna().to_numpy()
    if no_id.any():
        raise ValueError(
            f"The `example_id` column {example_id!r} is missing in rows "
            f"{_shown(df.index[no_id])}; every row needs a series id."
        )
    if time is not None:
        _time_values(df[time], time)  # Checks dtype and missing values.
    columns = list(features) + list(attributes)
    float_cols = {
        c: _float_values(df[c], c, df.index)
        for c in columns
        if kinds[c] == "continuous"
    }
    if missing == "drop":
        bad = np.zeros(len(df), dtype=bool)
        for c in columns:
            bad |= df[c].isna().to_numpy()
        if bad.any():
            dropped = pd.unique(ids[bad])
            keep = ~ids.isin(dropped).to_numpy()
            if not keep.any():
                raise ValueError(
                    "missing='drop' left nothing: every series has missing "
                    "values."
                )
            _warn_dropped(dropped, ids.nunique())
            df = df[keep]
            ids = df[example_id]
            float_cols = {c: v[keep] for c, v in float_cols.items()}
    codes, uniques = _factorize(ids)
    if time is not None:
        times, _ = _time_values(df[time], time)
        order = np.lexsort((times, codes))
        times = times[order]
    else:
        times = None
        order = np.argsort(codes, kind="stable")
    codes = codes[order]
    n = len(uniques)
    lengths = np.bincount(codes, minlength=n)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(len(codes)) - starts[codes]
    labels = df.index.to_numpy()[order]
    if times is not None:
        same = (steps[1:] > 0) & (times[1:] == times[:-1])
        if same.any():
            row = int(np.argmax(same)) + 1
            raise ValueError(
                f"Series {_py(uniques[codes[row]])!r} has two rows at the "
                f"same `time` ({_py(df[time].iloc[order[row]])!r}; rows "
                f"{_shown([labels[row - 1], labels[row]])}). Each series "
                "needs one row per time step."
            )
    rows = _PreparedRows(
        [_py(u) for u in uniques], codes, steps, labels, {}, {}, times
    )
    values = {}
    for c in columns:
        if kinds[c] == "continuous":
            values[c] = float_cols[c][order]
        else:
            values[c] = df[c].iloc[order].reset_index(drop=True)
    for c in columns:
        argument = "feature" if c in features else "attribute"
        missing_rows = pd.isna(values[c])
        if not np.any(missing_rows):
            continue
        if missing == "raise":
            raise _missing_error(c, labels[np.asarray(missing_rows)], argument)
        # missing == "interpolate": attributes are filled from the series'
        # other rows (they are constant within a series).
        kind = kinds[c] if argument == "feature" else "discrete"
        values[c] = _fill_in_series(rows, values[c], c, kind, argument)
    for c in features:
        rows.features[c] = values[c]
    for c in attributes:
        column = values[c]
        codes_c = pd.factorize(np.asarray(column, dtype=object))[0]
        differs = codes_c != codes_c[starts][codes]
        if differs.any():
            row = int(np.argmax(differs))
            series = codes[row]
            segment = np.asarray(column, dtype=object)[
                starts[series]:starts[series] + lengths[series]
            ]
            raise ValueError(
                f"Attribute column {c!r} must be constant within each "
                f"series, but series {rows.series_labels[series]!r} holds "
                f"{_shown(pd.unique(segment))} (rows "
                f"{_shown([labels[starts[series]], labels[row]])}). List it "
                "in `features` if it changes over time."
            )
        if isinstance(column, pd.Series):
            rows.attributes[c] = column.iloc[starts].reset_index(drop=True)
        else:
            rows.attributes[c] = column[starts]
    return rows


def prepare_wide(df, feature_columns, attributes, kinds, missing):
    """Cuts a wide table (one row per series, one column per step) into
    series. Trailing missing steps mark the end of a shorter series."""
    if len(df) == 0:
        raise ValueError("`df` is empty: expected at least one row.")
    widths = {name: len(cols) for name, cols in feature_columns.items()}
    if len(set(widths.values())) != 1:
        raise ValueError(
            "Every feature of a wide table needs the same number of step "
            f"columns. Received: {widths}."
        )
    width = next(iter(widths.values()))
    labels = df.index.to_numpy()
    present = {}
    for name, cols in feature_columns.items():
        present[name] = ~df[cols].isna().to_numpy()
        if kinds[name] == "continuous":
            for col in cols:
                _float_values(df[col], col, labels)
    any_present = np.logical_or.reduce(list(present.values()))
    lengths = np.where(
        any_present.any(axis=1),
        width - np.argmax(any_present[:, ::-1], axis=1),
        0,
    )
    inside = np.arange(width)[None, :] < lengths[:, None]
    bad_series = lengths == 0
    problems = []
    if bad_series.any():
        problems.append(
            (None, labels[bad_series], "have no value in any step column")
        )
    for name, cols in feature_columns.items():
        gaps = inside & ~present[name]
        if gaps.any():
            bad_series |= gaps.any(axis=1)
            r, s = np.nonzero(gaps)
            if missing != "interpolate":
                problems.append(
                    (
                        name,
                        [(_py(labels[i]), cols[j]) for i, j in zip(r, s)],
                        None,
                    )
                )
    for name in attributes:
        gaps = df[name].isna().to_numpy()
        if gaps.any():
            bad_series |= gaps
            problems.append((name, labels[gaps], "attribute"))
    if missing == "drop" and bad_series.any():
        if bad_series.all():
            raise ValueError(
                "missing='drop' left nothing: every series has missing values."
            )
        _warn_dropped(labels[bad_series], len(df))
        keep = ~bad_series
        df = df[keep]
        labels = labels[keep]
        lengths = lengths[keep]
        present = {k: v[keep] for k, v in present.items()}
    elif problems:
        name, where, what = problems[0]
        if name is None:
            raise ValueError(
                f"Rows {_shown(where)} {what}: each series needs at least "
                "one step."
            )
        if what == "attribute":
            raise ValueError(
                f"Attribute column {name!r} has missing values in rows "
                f"{_shown(where)}. Fill them or pass missing='drop' (a wide "
                "table's attributes cannot be interpolated)."
            )
        raise _missing_error(
            name, where, "feature", "(row, step column) cells"
        )
    n = len(df)
    row_series = np.repeat(np.arange(n), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    row_step = np.arange(len(row_series)) - starts[row_series]
    rows = _PreparedRows(
        [_py(v) for v in labels], row_series, row_step,
        labels[row_series], {}, {},
    )
    for name, cols in feature_columns.items():
        if kinds[name] == "continuous":
            matrix = np.stack(
                [
                    df[col].to_numpy(dtype="float64", na_value=np.nan)
                    for col in cols
                ],
                axis=1,
            )
            values = matrix[row_series, row_step]
        else:
            matrix = df[cols].to_numpy(dtype=object)
            values = pd.Series(matrix[row_series, row_step])
        if missing == "interpolate":
            values = _fill_in_series(rows, values, name, kinds[name], "feature")
        rows.features[name] = values
    for name in attributes:
        column = df[name]
        if kinds[name] == "continuous":
            rows.attributes[name] = column.to_numpy(
                dtype="float64", na_value=np.nan
            )
        else:
            rows.attributes[name] = column.reset_index(drop=True)
    return rows


def resolve_lengths(lengths, series_labels, max_sequence_len, sample_len,
                    truncate):
    """The padded length T and sample_len S, checked against the data."""
    if sample_len is None:
        sample_len = 1
    longest = int(np.max(lengths))
    if max_sequence_len is None:
        if isinstance(sample_len, bool) or not isinstance(
            sample_len, (int, np.integer)
        ) or sample_len < 1:
            raise ValueError(
                "`sample_len` must be a positive integer. Received: "
                f"sample_len={sample_len!r}"
            )
        sample_len = int(sample_len)
        max_sequence_len = -(-longest // sample_len) * sample_len
    if isinstance(max_sequence_len, np.integer):
        max_sequence_len = int(max_sequence_len)
    if isinstance(sample_len, np.integer):
        sample_len = int(sample_len)
    check_sample_len(max_sequence_len, sample_len)
    too_long = np.flatnonzero(np.asarray(lengths) > max_sequence_len)
    if len(too_long) and not truncate:
        shown = [
            f"{series_labels[i]!r} (length {lengths[i]})" for i in too_long
        ]
        raise ValueError(
            f"{len(too_long)} series are longer than max_sequence_len="
            f"{max_sequence_len}: {', '.join(shown[:_MAX_SHOWN])}"
            f"{', ...' if len(shown) > _MAX_SHOWN else ''}. Pass a larger "
            f"`max_sequence_len`, or truncate=True to keep the first "
            f"{max_sequence_len} steps of each."
        )
    return max_sequence_len, sample_len


# --- Time grids ---------------------------------------------------------------


def fit_time_grid(rows, kind, dtype, keep):
    """The shared regular time grid of a long table, or `None`.

    Regular means every series starts at the same time and every step
    advances by the same amount.
    """
    times, steps = rows.times[keep], rows.row_step[keep]
    firsts = times[steps == 0]
    if not np.all(firsts == firsts[0]):
        return None
    later = np.flatnonzero(steps > 0)
    if len(later) == 0:
        return None
    diffs = times[later] - times[later - 1]
    step = diffs[0]
    if np.issubdtype(diffs.dtype, np.floating):
        regular = np.allclose(diffs, step, rtol=1e-9, atol=0.0)
    else:
        regular = bool(np.all(diffs == step))
    if not regular or step <= 0:
        return None
    grid = {"kind": kind, "dtype": str(dtype)}
    if kind == "datetime":
        start = pd.Timestamp(int(firsts[0]), unit="ns")
        tz = getattr(dtype, "tz", None)
        if tz is not None:
            start = start.tz_localize("UTC").tz_convert(tz)
        grid.update(start=start.isoformat(), step_ns=int(step))
    elif kind == "timedelta":
        grid.update(start_ns=int(firsts[0]), step_ns=int(step))
    else:
        grid.update(start=_py(firsts[0]), step=_py(step))
    return grid


def _grid_times(grid, steps):
    steps = np.asarray(steps, dtype="int64")
    if grid["kind"] == "datetime":
        values = pd.Timestamp(grid["start"]) + pd.to_timedelta(
            steps * grid["step_ns"], unit="ns"
        )
        return pd.Series(values).astype(grid["dtype"])
    if grid["kind"] == "timedelta":
        values = pd.to_timedelta(
            grid["start_ns"] + steps * grid["step_ns"], unit="ns"
        )
        return pd.Series(values).astype(grid["dtype"])
    return pd.Series(grid["start"] + steps * grid["step"]).astype(grid["dtype"])


# --- The transformer ----------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_dg")
class TableTransformer:
    """Turns tables into `TimeSeriesDataset`s and generated data back.

    Built by `keras_dg.data.from_dataframe` (long tables),
    `from_wide_dataframe` (wide tables), `from_arrays` (ragged numpy) or
    `TableTransformer.from_dataset` (an original-format dataset); the
    constructor takes the fitted state, which `get_config` returns as plain
    JSON so that the model can store it in its `.keras` file.

    `inverse_transform` returns a DataFrame in the original column names,
    dtypes (integers rounded, categories and booleans restored) and units,
    with only the active steps of each series:
    - long layout: one row per series and step; the `example_id` column
      numbers the series 0..n-1, the `time` column follows the fitted time
      grid when it was regular (every series starting at the same time with
      a constant step), else it is the step index 0, 1, ...; attribute
      columns repeat on every row of their series.
    - wide layout: one row per series, the original step columns in order,
      missing (NaN/NA, with nullable dtypes for integers and booleans)
      after each series' end; generated steps beyond the table's step
      columns are dropped.

    Args:
        layout: str. `"long"` or `"wide"`.
        features: list of dicts, one per feature column: `name`, `kind`
            (`"continuous"`/`"discrete"`), `dtype` (pandas dtype string),
            and `normalization`, `min`, `max`, `log1p` (continuous; min and
            max after log1p) or `categories`, `ordered` (discrete). Wide
            tables add `columns` (the step columns) and `column_dtypes`.
        attributes: list of dicts, the same for attribute columns.
        max_sequence_len: int. The padded series length T.
        sample_len: int. Steps per generator cell; divides T. Defaults to 1.
        example_id: str, int or `None`. The series-id column. Defaults to
            `None`.
        time: str, int or `None`. The time column (long layout). Defaults
            to `None`.
        time_grid: dict or `None`. The regular time grid, if any. Defaults
            to `None`.
        column_order: list or `None`. Column order of the returned tables.
            Defaults to `None` (id, time, attributes, features).
        missing: str. The missing-value policy (`"raise"`, `"interpolate"`,
            `"drop"`; see the module docstring). Defaults to `"raise"`.
        truncate: bool. Whether `transform` keeps the first T steps of
            longer series instead of raising. Defaults to `False`.

    Example:

    >>> import pandas as pd
    >>> from keras_dg.data import from_dataframe
    >>> df = pd.DataFrame({"id": [0, 0, 1, 1, 1], "t": [0, 1, 0, 1, 2],
    ...                    "load": [1.0, 3.0, 2.0, 5.0, 4.0],
    ...                    "kind": ["a", "a", "b", "b", "b"]})
    >>> ds, tt = from_dataframe(df, example_id="id", time="t",
    ...                         features=["load"], attributes=["kind"])
    >>> ds.features.shape
    (2, 3, 1)
    >>> tt.inverse_transform(ds).equals(df)
    True
    """

    def __init__(
        self,
        layout,
        features,
        attributes,
        max_sequence_len,
        sample_len=1,
        example_id=None,
        time=None,
        time_grid=None,
        column_order=None,
        missing="raise",
        truncate=False,
    ):
        if layout not in LAYOUTS:
            raise ValueError(
                f"`layout` must be one of {LAYOUTS}. Received: "
                f"layout={layout!r}"
            )
        if missing not in MISSING_POLICIES:
            raise ValueError(
                f"`missing` must be one of {MISSING_POLICIES}. Received: "
                f"missing={missing!r}"
            )
        if not features:
            raise ValueError("`features` must list at least one column.")
        check_sample_len(max_sequence_len, sample_len)
        self.layout = layout
        self.features = [_check_spec(s, "features", layout) for s in features]
        self.attributes = [
            _check_spec(s, "attributes", layout) for s in attributes
        ]
        names = [s["name"] for s in self.features + self.attributes]
        duplicates = sorted({str(n) for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Columns {duplicates} are listed twice.")
        keys = (example_id, time)
        clashes = [n for n in names if n is not None and n in keys]
        if clashes:
            raise ValueError(
                f"Columns {clashes} are both data columns and the "
                "`example_id`/`time` column."
            )
        self.max_sequence_len = max_sequence_len
        self.sample_len = sample_len
        self.example_id = example_id
        self.time = time
        self.time_grid = time_grid
        if column_order is None:
            column_order = [c for c in (example_id, time) if c is not None]
            column_order += [s["name"] for s in self.attributes]
            for spec in self.features:
                column_order += spec.get("columns", [spec["name"]])
        self.column_order = list(column_order)
        self.missing = missing
        self.truncate = bool(truncate)
        self.feature_outputs = _specs_to_outputs(self.features)
        self.attribute_outputs = _specs_to_outputs(self.attributes)

    # --- Properties -----------------------------------------------------------

    @property
    def feature_names(self):
        return [s["name"] for s in self.features]

    @property
    def attribute_names(self):
        return [s["name"] for s in self.attributes]

    def __repr__(self):
        return (
            f"TableTransformer(layout={self.layout!r}, "
            f"features={self.feature_names}, "
            f"attributes={self.attribute_names}, "
            f"max_sequence_len={self.max_sequence_len}, "
            f"sample_len={self.sample_len})"
        )

    # --- Encoding -------------------------------------------------------------

    def _kinds(self):
        return {s["name"]: s["kind"] for s in self.features + self.attributes}

    def _prepare(self, df):
        if not isinstance(df, pd.DataFrame):
            raise ValueError(
                "`df` must be a pandas DataFrame. Received: "
                f"{type(df).__name__}"
            )
        if self.layout == "long":
            needed = [c for c in (self.example_id, self.time) if c is not None]
            needed += self.feature_names + self.attribute_names
            check_columns(df, needed, "df")
            return prepare_long(
                df, self.example_id, self.time, self._kinds(),
                self.feature_names, self.attribute_names, self.missing,
            )
        feature_columns = {s["name"]: s["columns"] for s in self.features}
        needed = self.attribute_names + [
            c for cols in feature_columns.values() for c in cols
        ]
        check_columns(df, needed, "df")
        return prepare_wide(
            df, feature_columns, self.attribute_names, self._kinds(),
            self.missing,
        )

    def encode_rows(self, rows, clip=False):
        """Encodes prepared rows (see `prepare_long`/`prepare_wide`)."""
        n, t = len(rows.series_labels), self.max_sequence_len
        keep = rows.row_step < t
        series, step = rows.row_series[keep], rows.row_step[keep]
        labels = rows.row_labels[keep]
        features = np.zeros((n, t, sum(map(_spec_width, self.features))),
                            dtype="float32")
        start = 0
        for spec in self.features:
            width = _spec_width(spec)
            values = rows.features[spec["name"]]
            values = values[keep] if isinstance(values, np.ndarray) else (
                values[keep].reset_index(drop=True)
            )
            features[series, step, start:start + width] = encode_column(
                spec, values, labels, clip
            )
            start += width
        blocks = [
            encode_column(
                spec, rows.attributes[spec["name"]],
                np.asarray(rows.series_labels, dtype=object), clip,
            )
            for spec in self.attributes
        ]
        attributes = (
            np.concatenate(blocks, axis=1)
            if blocks
            else np.zeros((n, 0), dtype="float32")
        )
        lengths = np.minimum(rows.lengths, t)
        gen_flag = (np.arange(t)[None, :] < lengths[:, None]).astype("float32")
        return TimeSeriesDataset(
            features, attributes, gen_flag, self.feature_outputs,
            self.attribute_outputs,
        )

    def transform(self, df, clip=False, truncate=None):
        """Encodes a table with the fitted encoding (e.g. held-out data).

        Args:
            df: pandas DataFrame in the fitted layout and column names.
            clip: bool. Clip continuous values outside the fitted range
                instead of raising. Defaults to `False`.
            truncate: bool or `None`. Keep the first `max_sequence_len`
                steps of longer series instead of raising. Defaults to the
                fitted setting.

        Returns:
            A `TimeSeriesDataset`.
        """
        rows = self._prepare(df)
        truncate = self.truncate if truncate is None else truncate
        resolve_lengths(
            rows.lengths, rows.series_labels, self.max_sequence_len,
            self.sample_len, truncate,
        )
        return self.encode_rows(rows, clip=clip)

    # --- Decoding -------------------------------------------------------------

    def _check_data(self, dataset):
        if isinstance(dataset, TimeSeriesDataset):
            for name, got, expected in (
                ("feature_outputs", dataset.feature_outputs,
                 self.feature_outputs),
                ("attribute_outputs", dataset.attribute_outputs,
                 self.attribute_outputs),
            ):
                if got != expected:
                    raise ValueError(
                        f"`dataset.{name}` {got} do not match the "
                        f"transformer's {expected}."
                    )
            return dataset.features, dataset.attributes, dataset.lengths
        if isinstance(dataset, dict):
            missing = {"features", "attributes", "gen_flag"} - set(dataset)
            if missing:
                raise ValueError(
                    f"`dataset` dict lacks the keys {sorted(missing)}."
                )
            checked = TimeSeriesDataset(
                dataset["features"], dataset["attributes"],
                dataset["gen_flag"], self.feature_outputs,
                self.attribute_outputs, validate=False,
            )
            n = len(checked)
            f = sum(map(_spec_width, self.features))
            a = sum(map(_spec_width, self.attributes))
            if checked.features.shape[-1] != f or checked.attributes.shape != (
                n, a
            ) or checked.gen_flag.shape != checked.features.shape[:2]:
                raise ValueError(
                    "`dataset` arrays have shapes features "
                    f"{checked.features.shape}, attributes "
                    f"{checked.attributes.shape}, gen_flag "
                    f"{checked.gen_flag.shape}; expected (N, T, {f}), "
                    f"(N, {a}) and (N, T)."
                )
            return checked.features, checked.attributes, checked.lengths
        raise ValueError(
            "`dataset` must be a TimeSeriesDataset or a dict of arrays. "
            f"Received: {type(dataset).__name__}"
        )

    def _decode_attributes(self, attributes):
        columns, start = {}, 0
        for spec in self.attributes:
            width = _spec_width(spec)
            columns[spec["name"]] = decode_column(
                spec, attributes[:, start:start + width]
            )
            start += width
        return columns

    def inverse_transform(self, dataset):
        """Turns encoded (e.g. generated) data back into a table.

        Args:
            dataset: `TimeSeriesDataset` with this transformer's specs, or a
                dict with `features`, `attributes` and `gen_flag` arrays.

        Returns:
            A pandas DataFrame; see the class docstring for its layout.
        """
        features, attributes, lengths = self._check_data(dataset)
        n, t = features.shape[:2]
        lengths = np.clip(lengths, 0, t)
        decoded_attributes = self._decode_attributes(attributes)
        if self.layout == "wide":
            return self._inverse_wide(features, decoded_attributes, lengths)
        series = np.repeat(np.arange(n), lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        step = np.arange(len(series)) - starts[series]
        columns = {}
        if self.example_id is not None:
            columns[self.example_id] = pd.Series(series, dtype="int64")
        if self.time is not None:
            if self.time_grid is not None:
                columns[self.time] = _grid_times(self.time_grid, step)
            else:
                columns[self.time] = pd.Series(step, dtype="int64")
        for spec in self.attributes:
            columns[spec["name"]] = _finish_column(
                spec, decoded_attributes[spec["name"]][series]
            )
        start = 0
        for spec in self.features:
            width = _spec_width(spec)
            block = features[series, step, start:start + width]
            columns[spec["name"]] = _finish_column(
                spec, decode_column(spec, block)
            )
            start += width
        table = pd.DataFrame(columns)
        return table[[c for c in self.column_order if c in table.columns]]

    def _inverse_wide(self, features, decoded_attributes, lengths):
        n, t = features.shape[:2]
        columns = {}
        if self.example_id is not None:
            columns[self.example_id] = pd.Series(np.arange(n), dtype="int64")
        for spec in self.attributes:
            columns[spec["name"]] = _finish_column(
                spec, decoded_attributes[spec["name"]]
            )
        start = 0
        for spec in self.features:
            width = _spec_width(spec)
            for j, (column, dtype) in enumerate(
                zip(spec["columns"], spec["column_dtypes"])
            ):
                if j < t:
                    values = decode_column(
                        spec, features[:, j, start:start + width]
                    )
                else:
                    values = np.zeros(n, dtype="float64")
                ended = lengths <= j
                if spec["kind"] == "continuous":
                    values = np.where(ended, np.nan, values)
                    if _is_integer_dtype(dtype):
                        values = np.round(values)
                else:
                    values = np.where(ended, None, values)
                columns[column] = _restore_dtype(values, spec, dtype)
            start += width
        table = pd.DataFrame(columns)
        return table[[c for c in self.column_order if c in table.columns]]

    # --- Config ---------------------------------------------------------------

    def get_config(self):
        return {
            "layout": self.layout,
            "features": [dict(s) for s in self.features],
            "attributes": [dict(s) for s in self.attributes],
            "max_sequence_len": self.max_sequence_len,
            "sample_len": self.sample_len,
            "example_id": self.example_id,
            "time": self.time,
            "time_grid": (
                None if self.time_grid is None else dict(self.time_grid)
            ),
            "column_order": list(self.column_order),
            "missing": self.missing,
            "truncate": self.truncate,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- Original-format datasets ---------------------------------------------

    @classmethod
    def from_dataset(
        cls, dataset, feature_names=None, attribute_names=None,
        categories=None,
    ):
        """A long-layout transformer for a dataset without a source table.

        Continuous columns are mapped back to real units with the extras
        `data_feature_min`/`data_feature_max` (and
        `data_attribute_min`/`data_attribute_max`) when present, one value
        per continuous column (or per column of the whole array), assuming
        the original scaled each column linearly to its normalization's
        range; otherwise they keep their encoded values. Discrete outputs
        decode to the category index 0..k-1 unless `categories` names them.

        Args:
            dataset: `TimeSeriesDataset`, e.g. from `load_dg`.
            feature_names: list of str or `None`. One name per feature
                column (continuous outputs of dim d give d columns).
                Defaults to `feature_0`, `feature_1`, ...
            attribute_names: list of str or `None`. Likewise for attributes.
                Defaults to `attribute_0`, ...
            categories: dict or `None`. Column name -> list of category
                labels for discrete columns. Defaults to `None`.

        Returns:
            A `TableTransformer` with columns `example_id`, `step`, the
            attributes and the features.
        """
        if not isinstance(dataset, TimeSeriesDataset):
            raise ValueError(
                "`dataset` must be a TimeSeriesDataset. Received: "
                f"{type(dataset).__name__}"
            )
        categories = dict(categories or {})
        specs = {}
        for role, outputs, names, prefix in (
            ("features", dataset.feature_outputs, feature_names, "feature"),
            ("attributes", dataset.attribute_outputs, attribute_names,
             "attribute"),
        ):
            width = sum(o.dim for o in outputs)
            n_columns = sum(1 if o.is_discrete else o.dim for o in outputs)
            low, high = _extras_bounds(dataset.extras, prefix, outputs, width)
            if names is None:
                names = [f"{prefix}_{i}" for i in range(n_columns)]
            names = list(names)
            if len(names) != n_columns:
                raise ValueError(
                    f"`{prefix}_names` must hold {n_columns} names (one per "
                    f"column of {outputs}). Received {len(names)}: {names}"
                )
            column_specs, k = [], 0
            for index, (output, start, end) in enumerate(
                output_slices(outputs)
            ):
                if output.is_discrete:
                    name = names[k]
                    labels = categories.pop(name, list(range(output.dim)))
                    if len(labels) != output.dim:
                        raise ValueError(
                            f"`categories[{name!r}]` must hold {output.dim} "
                            f"labels. Received: {labels!r}"
                        )
                    column_specs.append({
                        "name": name, "kind": "discrete",
                        "dtype": "int64" if all(
                            isinstance(v, int) for v in labels
                        ) else "object",
                        "categories": [_py(v) for v in labels],
                        "ordered": False,
                    })
                    k += 1
                    continue
                for column in range(start, end):
                    lo, hi = output.value_range
                    if low is not None:
                        lo, hi = low[column], high[column]
                    column_specs.append({
                        "name": names[k], "kind": "continuous",
                        "dtype": "float64",
                        "normalization": output.normalization.value,
                        "min": float(lo), "max": float(hi), "log1p": False,
                        "output": index,
                    })
                    k += 1
            specs[role] = column_specs
        if categories:
            raise ValueError(
                f"`categories` names columns {sorted(categories)} that are "
                "not discrete columns of the dataset."
            )
        return cls(
            layout="long",
            features=specs["features"],
            attributes=specs["attributes"],
            max_sequence_len=dataset.max_sequence_len,
            sample_len=1,
            example_id="example_id",
            time="step",
        )


def _extras_bounds(extras, prefix, outputs, width):
    """Per-column (min, max) arrays from `data_{prefix}_min/max`, or None."""
    low_key, high_key = f"data_{prefix}_min", f"data_{prefix}_max"
    if low_key not in extras and high_key not in extras:
        return None, None
    if low_key not in extras or high_key not in extras:
        raise ValueError(
            f"`dataset.extras` has only one of {low_key!r} and {high_key!r}."
        )
    continuous = [
        c for o, s, e in output_slices(outputs) if not o.is_discrete
        for c in range(s, e)
    ]
    bounds = []
    for key in (low_key, high_key):
        values = np.asarray(extras[key], dtype="float64").reshape(-1)
        if len(values) == width:
            full = values
        elif len(values) == len(continuous):
            full = np.full(width, np.nan)
            full[continuous] = values
        else:
            raise ValueError(
                f"`dataset.extras[{key!r}]` has {len(values)} values; "
                f"expected one per continuous column ({len(continuous)}) or "
                f"per column ({width})."
            )
        bounds.append(full)
    low, high = bounds
    bad = [c for c in continuous if not high[c] > low[c]]
    if bad:
        raise ValueError(
            f"`dataset.extras` {low_key!r}/{high_key!r} need max > min for "
            f"every continuous column; columns {bad} do not."
        )
    return low, high

