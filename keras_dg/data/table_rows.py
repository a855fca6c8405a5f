"""Cutting a table into series: rows per series, cleaned values, lengths
and the time grid, before `TableTransformer` encodes them.

`prepare_long` (one row per series and step) and `prepare_wide` (one row
per series, one column per step) return a `PreparedRows`; both apply the
`missing` policy (`MISSING_POLICIES`, see `keras_dg.data.table_transformer`)
and name the column and rows of every problem. `resolve_lengths` picks and
checks the padded length and `sample_len`; `fit_time_grid` finds a long
table's regular time grid and `grid_times` gives its times back.
"""

import warnings

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from keras_dg.data.columns import MAX_SHOWN
from keras_dg.data.columns import format_values
from keras_dg.data.columns import to_python
from keras_dg.preprocessing.gen_flag import check_sample_len
from keras_dg.validation import check_positive_int

MISSING_POLICIES = ("raise", "interpolate", "drop", "model")
# The policies that keep a series with gaps and fill its missing values.
FILLING_POLICIES = ("interpolate", "model")


# === Rows of series ===


class PreparedRows:
    """A table cut into series: per-row series index and step, cleaned
    values per column, and labels for error messages.

    With `missing="model"`, `missing_masks` maps each feature that had
    missing values to a boolean array over the rows (True where the value
    was missing and has been filled); other policies leave it empty.
    """

    def __init__(
        self, series_labels, row_series, row_step, row_labels, features,
        attributes, times=None, missing_masks=None,
    ):
        self.series_labels = list(series_labels)
        self.row_series = np.asarray(row_series, dtype="int64")
        self.row_step = np.asarray(row_step, dtype="int64")
        self.row_labels = np.asarray(row_labels, dtype=object)
        self.features = features
        self.attributes = attributes
        self.times = times
        self.missing_masks = dict(missing_masks or {})
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
            f"{format_values(series.index[missing])}; every row needs a time."
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
            f"{format_values(series.index[np.isinf(values)])}."
        )
    return values, kind


def _float_values(series, name, labels):
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(
            f"Column {name!r} holds infinite values in rows "
            f"{format_values(np.asarray(labels, dtype=object)[infinite])}. Replace "
            "them (infinite values are not treated as missing)."
        )
    return values


def _missing_error(name, labels, argument, where="rows"):
    return ValueError(
        f"Column {name!r} ({argument}) has {len(labels)} missing values "
        f"(NaN/None) in {where} {format_values(labels)}. Fill them, or pass "
        "missing='interpolate' (fill inside each series), missing='drop' "
        "(drop those series) or missing='model' (learn where values are "
        "missing)."
    )


def _warn_dropped(dropped, total):
    warnings.warn(
        f"missing='drop': dropped {len(dropped)} of {total} series that have "
        f"missing values: {format_values(dropped)}.",
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


def _fill_modelled(rows, values, name, kind):
    """Fills a feature's missing values for `missing="model"`.

    The values stay smooth where they are missing (the missingness channel,
    not the value, says a step is missing): as `"interpolate"` inside each
    series; a series with no value of the feature at all takes the column's
    median (continuous) or most frequent value (discrete). A feature with
    no value in any row is an error: there is nothing to learn.
    """
    missing = np.asarray(pd.isna(values))
    if missing.all():
        raise ValueError(
            f"Column {name!r} (feature) is missing in every row ({len(missing)}"
            " rows): there is nothing to learn from it. Drop the column or "
            "fill it."
        )
    groups = rows.row_series
    known = np.bincount(groups[~missing], minlength=len(rows.lengths))
    empty = np.flatnonzero((known == 0) & (rows.lengths > 0))
    if len(empty):
        whole = np.isin(groups, empty)
        if kind == "continuous":
            values = np.array(values, dtype="float64")
            values[whole] = np.median(values[~missing])
        else:
            values = pd.Series(values).copy()
            values[whole] = pd.Series(values[~missing]).mode().iloc[0]
    return _fill_in_series(rows, values, name, kind, "feature")


def _factorize(ids):
    try:
        return pd.factorize(ids, sort=True)
    except TypeError:  # Unorderable mixed ids: keep first appearance.
        return pd.factorize(ids, sort=False)


def _check_ids(df, example_id):
    if len(df) == 0:
        raise ValueError("`df` is empty: expected at least one row.")
    no_id = df[example_id].isna().to_numpy()
    if no_id.any():
        raise ValueError(
            f"The `example_id` column {example_id!r} is missing in rows "
            f"{format_values(df.index[no_id])}; every row needs a series id."
        )


def _series_with_missing(df, ids, columns):
    """The ids of the series with a missing value in `columns`."""
    bad = np.zeros(len(df), dtype=bool)
    for c in columns:
        bad |= df[c].isna().to_numpy()
    return pd.unique(ids[bad]) if bad.any() else []


def _long_order(df, example_id, time):
    """Sorts the rows by series and time: (order, codes, uniques, times)."""
    codes, uniques = _factorize(df[example_id])
    if time is None:
        order = np.argsort(codes, kind="stable")
        return order, codes[order], uniques, None
    times, _ = _time_values(df[time], time)
    order = np.lexsort((times, codes))
    return order, codes[order], uniques, times[order]


def _check_one_row_per_time(rows, df, time, order):
    times, steps, labels = rows.times, rows.row_step, rows.row_labels
    same = (steps[1:] > 0) & (times[1:] == times[:-1])
    if same.any():
        row = int(np.argmax(same)) + 1
        series = rows.series_labels[rows.row_series[row]]
        raise ValueError(
            f"Series {series!r} has two rows at the same `time` "
            f"({to_python(df[time].iloc[order[row]])!r}; rows "
            f"{format_values([labels[row - 1], labels[row]])}). Each series "
            "needs one row per time step."
        )


def _series_attribute(rows, column, name):
    """The value of an attribute per series; raises unless constant."""
    starts, lengths, codes = rows.starts, rows.lengths, rows.row_series
    codes_c = pd.factorize(np.asarray(column, dtype=object))[0]
    differs = codes_c != codes_c[starts][codes]
    if differs.any():
        row = int(np.argmax(differs))
        series = codes[row]
        segment = np.asarray(column, dtype=object)[
            starts[series]:starts[series] + lengths[series]
        ]
        shown_rows = [rows.row_labels[starts[series]], rows.row_labels[row]]
        raise ValueError(
            f"Attribute column {name!r} must be constant within each "
            f"series, but series {rows.series_labels[series]!r} holds "
            f"{format_values(pd.unique(segment))} (rows "
            f"{format_values(shown_rows)}). List it in `features` if it "
            "changes over time."
        )
    if isinstance(column, pd.Series):
        return column.iloc[starts].reset_index(drop=True)
    return column[starts]


# Filling a time grid's gaps may add at most this many rows per row.
_MAX_GAP_GROWTH = 100


def _grid_step(times, codes, series_labels, df, time):
    """The step of a long table's time grid and, per row of the sorted
    times, how many steps separate it from the previous row of its series
    (0 for a series' first row), or `(None, None)` without two rows in a
    series. Raises for a grid that is not regular."""
    same = codes[1:] == codes[:-1]
    diffs = times[1:] - times[:-1]
    positive = diffs[same & (diffs > 0)]
    if len(positive) == 0 or (same & (diffs == 0)).any():
        return None, None  # Two rows at one time: an error later.
    step = positive.min()
    steps = np.zeros(len(times), dtype="int64")
    if np.issubdtype(times.dtype, np.floating):
        ratio = diffs / step
        whole = np.round(ratio)
        off = np.abs(ratio - whole) > 1e-6 * np.maximum(whole, 1)
    else:
        whole = diffs // step
        off = diffs % step != 0
    off &= same
    if off.any():
        row = int(np.argmax(off)) + 1
        raise ValueError(
            f"The `time` column {time!r} is not a regular grid: series "
            f"{series_labels[codes[row]]!r} goes from "
            f"{_time_text(df, time, row - 1)} to {_time_text(df, time, row)}"
            f", which is not a multiple of the smallest step "
            f"{_step_text(df[time].dtype, step)}. Put the times on a grid "
            "(e.g. round them), or sort the rows and pass time=None to use "
            "the row order as the steps."
        )
    steps[1:] = np.where(same, whole, 0)
    return step, steps


def _time_text(df, time, row):
    return repr(to_python(df[time].iloc[row]))


def _step_text(dtype, step):
    if pdt.is_datetime64_any_dtype(dtype) or pdt.is_timedelta64_dtype(dtype):
        return str(pd.Timedelta(int(step), unit="ns"))
    return repr(to_python(step))


def _grid_values(dtype, values):
    """Sortable time values (as `_time_values` returns) back in `dtype`."""
    if pdt.is_datetime64_any_dtype(dtype):
        stamps = pd.to_datetime(values, unit="ns")
        if getattr(dtype, "tz", None) is not None:
            stamps = stamps.tz_localize("UTC").tz_convert(dtype.tz)
        return pd.Series(stamps).astype(dtype)
    if pdt.is_timedelta64_dtype(dtype):
        return pd.Series(pd.to_timedelta(values, unit="ns")).astype(dtype)
    return pd.Series(values).astype(dtype)


def _fill_time_gaps(df, example_id, time, missing):
    """Checks a long table's time grid; gaps become missing steps.

    A grid is regular when every step between two rows of a series is a
    multiple of the smallest one; a larger multiple is a gap of missing
    steps, which follow `missing`: an error naming the series and times
    (`"raise"`), the series dropped (`"drop"`), or rows with missing values
    inserted (`"interpolate"`, which then fills them; `"model"`, which
    fills them and marks them missing).
    """
    codes, uniques = _factorize(df[example_id])
    raw, _ = _time_values(df[time], time)
    order = np.lexsort((raw, codes))
    sorted_df = df.iloc[order]
    codes, times = codes[order], raw[order]
    labels = [to_python(u) for u in uniques]
    step, steps = _grid_step(times, codes, labels, sorted_df, time)
    if step is None or not (steps > 1).any():
        return df
    gaps = np.flatnonzero(steps > 1)
    gapped = pd.unique(np.asarray(labels, dtype=object)[codes[gaps]])
    added = int((steps[gaps] - 1).sum())
    if missing == "raise":
        first = gaps[0]
        raise ValueError(
            f"The `time` column {time!r} has {added} missing steps (gaps in "
            f"its grid of step {_step_text(df[time].dtype, step)}) in "
            f"{len(gapped)} series {format_values(gapped)}; e.g. series "
            f"{labels[codes[first]]!r} goes from "
            f"{_time_text(sorted_df, time, first - 1)} to "
            f"{_time_text(sorted_df, time, first)}. Add the rows, or pass "
            "missing='interpolate' (fill the missing steps), "
            "missing='drop' (drop those series) or missing='model' (learn "
            "the gaps)."
        )
    if missing == "drop":
        keep = ~df[example_id].isin(gapped).to_numpy()
        if not keep.any():
            raise ValueError(
                "missing='drop' left nothing: every series has gaps in its "
                f"`time` column {time!r}."
            )
        _warn_dropped(gapped, len(labels))
        return df[keep]
    if added > _MAX_GAP_GROWTH * len(df):
        raise ValueError(
            f"Filling the gaps of the `time` column {time!r} (step "
            f"{_step_text(df[time].dtype, step)}) would add {added} rows to "
            f"a table of {len(df)}: the grid is too fine for these times. "
            "Put the times on a coarser grid."
        )
    count = steps[gaps] - 1
    offsets = np.concatenate([np.arange(1, k + 1) for k in count])
    before = np.repeat(times[gaps - 1], count)
    new_times = before + offsets * step
    ids = np.repeat(sorted_df[example_id].to_numpy()[gaps], count)
    new_times = _grid_values(df[time].dtype, new_times)
    # Rows labelled by what they are, for error messages.
    labels = pd.Index(
        [f"<missing step of {to_python(i)!r} at {to_python(t)}>"
         for i, t in zip(ids, new_times)],
        dtype=object,
    )
    new_rows = pd.DataFrame(
        {example_id: ids, time: new_times.array}, index=labels
    )
    filled = pd.concat([df, new_rows])
    for column in df.columns:  # Keep the key columns' dtypes.
        if column in (example_id, time):
            filled[column] = filled[column].astype(df[column].dtype)
    return filled


def prepare_long(df, example_id, time, kinds, features, attributes, missing):
    """Cuts a long table (one row per series and step) into series.

    With a `time` column, gaps in its grid become missing steps (see
    `_fill_time_gaps`)."""
    _check_ids(df, example_id)
    if time is not None:
        _time_values(df[time], time)  # Checks dtype and missing values.
        df = _fill_time_gaps(df, example_id, time, missing)
    columns = list(features) + list(attributes)
    float_cols = _continuous_values(df, columns, kinds, df.index)
    if missing == "drop":
        ids = df[example_id]
        dropped = _series_with_missing(df, ids, columns)
        if len(dropped):
            keep = ~ids.isin(dropped).to_numpy()
            if not keep.any():
                raise ValueError(
                    "missing='drop' left nothing: every series has missing "
                    "values."
                )
            _warn_dropped(dropped, ids.nunique())
            df = df[keep]
            float_cols = {c: v[keep] for c, v in float_cols.items()}
    order, codes, uniques, times = _long_order(df, example_id, time)
    starts = np.concatenate(
        [[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]]
    )
    rows = PreparedRows(
        [to_python(u) for u in uniques], codes,
        np.arange(len(codes)) - starts[codes], df.index.to_numpy()[order],
        {}, {}, times,
    )
    if times is not None:
        _check_one_row_per_time(rows, df, time, order)
    values = {}
    for c in columns:
        if kinds[c] == "continuous":
            values[c] = float_cols[c][order]
        else:
            values[c] = df[c].iloc[order].reset_index(drop=True)
        argument = "feature" if c in features else "attribute"
        missing_rows = np.asarray(pd.isna(values[c]))
        if not missing_rows.any():
            continue
        if missing == "raise":
            raise _missing_error(c, rows.row_labels[missing_rows], argument)
        # missing == "interpolate"/"model": attributes are filled from the
        # series' other rows (they are constant within a series).
        if missing == "model" and argument == "feature":
            values[c] = _fill_modelled(rows, values[c], c, kinds[c])
            rows.missing_masks[c] = missing_rows
            continue
        kind = kinds[c] if argument == "feature" else "discrete"
        values[c] = _fill_in_series(rows, values[c], c, kind, argument)
    for c in features:
        rows.features[c] = values[c]
    for c in attributes:
        rows.attributes[c] = _series_attribute(rows, values[c], c)
    return rows


def _continuous_values(df, columns, kinds, labels):
    """The float64 values of the continuous `columns` (no infinities)."""
    return {
        c: _float_values(df[c], c, labels)
        for c in columns
        if kinds[c] == "continuous"
    }


def _wide_lengths(df, feature_columns, kinds, labels):
    """Which cells hold a value, per feature, and each series' length."""
    widths = {name: len(cols) for name, cols in feature_columns.items()}
    if len(set(widths.values())) != 1:
        raise ValueError(
            "Every feature of a wide table needs the same number of step "
            f"columns. Received: {widths}."
        )
    width = next(iter(widths.values()))
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
    return present, lengths


def _wide_problems(df, feature_columns, attributes, missing, present,
                   lengths, labels):
    """The series with missing values, and the problems to report."""
    width = len(next(iter(feature_columns.values())))
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
            if missing not in FILLING_POLICIES:
                cells = [(to_python(labels[i]), cols[j]) for i, j in zip(r, s)]
                problems.append((name, cells, None))
    for name in attributes:
        gaps = df[name].isna().to_numpy()
        if gaps.any():
            bad_series |= gaps
            problems.append((name, labels[gaps], "attribute"))
    return bad_series, problems


def _wide_problem_error(name, where, what):
    if name is None:
        return ValueError(
            f"Rows {format_values(where)} {what}: each series needs at "
            "least one step."
        )
    if what == "attribute":
        return ValueError(
            f"Attribute column {name!r} has missing values in rows "
            f"{format_values(where)}. Fill them or pass missing='drop' (a "
            "wide table's attributes cannot be interpolated)."
        )
    return _missing_error(name, where, "feature", "(row, step column) cells")


def _wide_rows(df, feature_columns, attributes, kinds, missing, labels,
               lengths):
    """The `PreparedRows` of the kept series of a wide table."""
    n = len(df)
    row_series = np.repeat(np.arange(n), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    row_step = np.arange(len(row_series)) - starts[row_series]
    rows = PreparedRows(
        [to_python(v) for v in labels], row_series, row_step,
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
        gaps = np.asarray(pd.isna(values))
        if missing == "model" and gaps.any():
            values = _fill_modelled(rows, values, name, kinds[name])
            rows.missing_masks[name] = gaps
        elif missing == "interpolate":
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


def prepare_wide(df, feature_columns, attributes, kinds, missing):
    """Cuts a wide table (one row per series, one column per step) into
    series. Trailing missing steps mark the end of a shorter series."""
    if len(df) == 0:
        raise ValueError("`df` is empty: expected at least one row.")
    labels = df.index.to_numpy()
    present, lengths = _wide_lengths(df, feature_columns, kinds, labels)
    bad_series, problems = _wide_problems(
        df, feature_columns, attributes, missing, present, lengths, labels
    )
    if missing == "drop" and bad_series.any():
        if bad_series.all():
            raise ValueError(
                "missing='drop' left nothing: every series has missing values."
            )
        _warn_dropped(labels[bad_series], len(df))
        keep = ~bad_series
        df, labels, lengths = df[keep], labels[keep], lengths[keep]
    elif problems:
        raise _wide_problem_error(*problems[0])
    return _wide_rows(
        df, feature_columns, attributes, kinds, missing, labels, lengths
    )


def resolve_lengths(lengths, series_labels, max_sequence_len, sample_len,
                    truncate):
    """The padded length T and sample_len S, checked against the data."""
    if sample_len is None:
        sample_len = 1
    longest = int(np.max(lengths))
    if max_sequence_len is None:
        sample_len = check_positive_int(sample_len, "sample_len")
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
            f"{max_sequence_len}: {', '.join(shown[:MAX_SHOWN])}"
            f"{', ...' if len(shown) > MAX_SHOWN else ''}. Pass a larger "
            f"`max_sequence_len`, or truncate=True to keep the first "
            f"{max_sequence_len} steps of each."
        )
    return max_sequence_len, sample_len


# === Time grids ===


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
        grid.update(start=to_python(firsts[0]), step=to_python(step))
    return grid


def grid_times(grid, steps):
    """The times of `steps` on a grid from `fit_time_grid`, as a Series."""
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
