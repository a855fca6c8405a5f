"""Tables in: long tables, wide tables and ragged arrays.

Each function infers the `Output` specs from the data, builds a
`TimeSeriesDataset` and returns it with the fitted `TableTransformer` that
turns generated data back into a table of the same form.

Inference:
- numeric columns -> continuous, scaled by the column's global min/max to
  [0, 1] (`normalization="ZERO_ONE"`) or [-1, 1] (`"MINUSONE_ONE"`), after
  `log1p` for the columns listed in `log1p` (as the paper did for page
  views).
- strings, categoricals, booleans, and numeric columns listed in `discrete`
  -> discrete, one-hot over the sorted distinct values (a categorical's
  declared categories; `[False, True]` for booleans).
- a constant column (one value in every row, none missing), feature or
  attribute, is left out of the model with a warning and restored on
  output; a table whose every feature is constant is an error.
- lengths come from the data. `max_sequence_len`, when not given, is the
  smallest multiple of `sample_len` (default 1) that holds the longest
  series; when given it must be a multiple of `sample_len`, and longer
  series raise an error naming them unless `truncate=True` (keep their
  first `max_sequence_len` steps). Shorter series are zero-padded and the
  gen flag marks their active steps.

Missing values follow `missing` (`"raise"`, `"interpolate"`, `"drop"` or
`"model"`), described in `keras_dg.data.table_transformer`; so do the gaps
of a regular `time` grid (missing steps; a grid that is not regular is an
error). With `"model"`, each feature with missing values gets a
missingness channel that the model learns like any other output, and the
generated tables have their gaps back.

Nothing is guessed silently (`keras_dg.data.column_checks`): a text column
of mostly numbers with a few words, too many categories, values far outside
a column's bulk and ranges that overflow float64 are errors naming the
column and rows, unless `non_numeric`, `max_categories` or `outliers` say
what to do. Constant columns are left out of the encoding (a warning
names them) and restored by `inverse_transform`; a table may have no
attributes at all.

The argument checks and the fitting of one column (`fit_column_spec`,
`constant_spec`, `long_roles`, ...) are public: the streaming fit over
Parquet files (`keras_dg.data.parquet_series`) uses the same ones, so both
paths refuse and encode alike.
"""

import warnings

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from keras_dg.data.column_checks import NON_NUMERIC_POLICIES
from keras_dg.data.column_checks import OUTLIER_POLICIES
from keras_dg.data.column_checks import check_categories
from keras_dg.data.column_checks import check_magnitude
from keras_dg.data.column_checks import check_text_numbers
from keras_dg.data.column_checks import outlier_error
from keras_dg.data.column_checks import outlier_mask
from keras_dg.data.column_checks import round_trip_error
from keras_dg.data.column_checks import warn_round_trip
from keras_dg.data.columns import check_column_name
from keras_dg.data.columns import check_columns
from keras_dg.data.columns import format_values
from keras_dg.data.columns import to_python
from keras_dg.data.table_rows import MISSING_POLICIES
from keras_dg.data.table_rows import fit_time_grid
from keras_dg.data.table_rows import prepare_long
from keras_dg.data.table_rows import prepare_wide
from keras_dg.data.table_rows import resolve_lengths
from keras_dg.data.table_transformer import TableTransformer
from keras_dg.specs import Normalization
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_int

_JSON_SCALARS = (str, int, float, bool)


# --- Argument checks ----------------------------------------------------------


def column_names(value, argument):
    if value is None:
        return []
    if isinstance(value, (str, int, np.integer)) and not isinstance(
        value, bool
    ):
        value = [value]
    try:
        names = [check_column_name(v, argument) for v in value]
    except TypeError:
        raise ValueError(
            f"`{argument}` must be a column name or a list of column names. "
            f"Received: {value!r}"
        ) from None
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"`{argument}` lists {duplicates} more than once.")
    return names


def _check_dataframe(df):
    if not isinstance(df, pd.DataFrame):
        raise ValueError(
            f"`df` must be a pandas DataFrame. Received: {type(df).__name__}"
        )
    if len(df) == 0:
        raise ValueError("`df` is empty: expected at least one row.")
    if df.columns.has_duplicates:
        duplicates = df.columns[df.columns.duplicated()].unique()
        raise ValueError(
            f"`df` has duplicate column names {format_values(duplicates)}."
        )


def check_missing(missing):
    if missing not in MISSING_POLICIES:
        raise ValueError(
            f"`missing` must be one of {MISSING_POLICIES}. Received: "
            f"missing={missing!r}"
        )


def fit_options(outliers, non_numeric, max_categories):
    """The checked options of the column checks (see
    `keras_dg.data.column_checks`)."""
    return {
        "outliers": check_one_of(outliers, "outliers", OUTLIER_POLICIES),
        "non_numeric": check_one_of(
            non_numeric, "non_numeric", NON_NUMERIC_POLICIES
        ),
        "max_categories": check_positive_int(
            max_categories, "max_categories", allow_none=True
        ),
    }


def check_subset(names, allowed, argument):
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(
            f"`{argument}` names {format_values(unknown)}, which are not among the "
            f"feature and attribute columns {format_values(allowed, 30)}."
        )


def _normalization(value, argument):
    raw = getattr(value, "value", value)
    if isinstance(raw, str):
        for member in Normalization:
            if raw.upper() == member.value:
                return member.value
    raise ValueError(
        f"`{argument}` must be 'ZERO_ONE' or 'MINUSONE_ONE'. Received: "
        f"{value!r}"
    )


def _normalizations(normalization, continuous):
    """Column -> normalization, from one value or a dict per column."""
    if isinstance(normalization, dict):
        check_subset(list(normalization), continuous, "normalization")
        out = {name: "ZERO_ONE" for name in continuous}
        for name, value in normalization.items():
            out[name] = _normalization(value, f"normalization[{name!r}]")
        return out
    value = _normalization(normalization, "normalization")
    return {name: value for name in continuous}


# --- Inference ----------------------------------------------------------------


def infer_kind(dtype, name, discrete):
    if name in discrete:
        return "discrete"
    if (
        isinstance(dtype, pd.CategoricalDtype)
        or pdt.is_bool_dtype(dtype)
        or pdt.is_string_dtype(dtype)
        or pdt.is_object_dtype(dtype)
    ):
        return "discrete"
    if pdt.is_numeric_dtype(dtype):
        return "continuous"
    raise ValueError(
        f"Column {name!r} has dtype {dtype}, which cannot be encoded: use "
        "numbers (continuous) or strings, categoricals or booleans "
        "(discrete). Convert datetimes to numbers first."
    )


def _dtype_name(dtype):
    return "category" if isinstance(dtype, pd.CategoricalDtype) else str(dtype)


def _categories(dtype, values, name, role):
    ordered = False
    if isinstance(dtype, pd.CategoricalDtype):
        categories = list(dtype.categories)
        ordered = bool(dtype.ordered)
    elif pdt.is_bool_dtype(dtype):
        categories = [False, True]
    else:
        present = pd.Series(np.asarray(values, dtype=object)).dropna()
        categories = list(pd.unique(present))
        try:
            categories = sorted(categories)
        except TypeError:
            categories = sorted(
                categories, key=lambda v: (type(v).__name__, str(v))
            )
    categories = [to_python(c) for c in categories]
    bad = [c for c in categories if not isinstance(c, _JSON_SCALARS)]
    if bad:
        raise ValueError(
            f"Discrete {role} column {name!r} has categories {format_values(bad)} of "
            f"type {type(bad[0]).__name__}; only strings, numbers and "
            "booleans can be categories."
        )
    if len(categories) < 2:
        raise ValueError(
            f"Discrete {role} column {name!r} has a single category "
            f"{format_values(categories)}; a discrete column needs at least two "
            "values. Drop the column (it carries no information)."
        )
    return categories, ordered


def fit_column_spec(name, kind, dtype, values, normalization, log1p, role,
                    labels, options):
    spec = {"name": name, "kind": kind, "dtype": _dtype_name(dtype)}
    if kind == "discrete":
        categories, ordered = _categories(dtype, values, name, role)
        check_categories(
            name, role, categories, values,
            isinstance(dtype, pd.CategoricalDtype)
            or pdt.is_bool_dtype(dtype),
            options["max_categories"],
        )
        spec.update(categories=categories, ordered=ordered)
        return spec
    raw = np.asarray(values, dtype="float64")
    x = raw
    if log1p:
        bad = ~(x > -1)
        if bad.any():
            raise ValueError(
                f"Column {name!r} is listed in `log1p`, which needs values "
                f"> -1, but it holds {format_values(x[bad])}."
            )
        x = np.log1p(x)
    far = outlier_mask(x)
    if far.any() and options["outliers"] == "error":
        raise outlier_error(name, role, raw, far, labels, log1p)
    fitted = x[~far] if options["outliers"] == "clip" else x
    low, high = float(np.min(fitted)), float(np.max(fitted))
    if not high > low:
        raise ValueError(
            f"Continuous {role} column {name!r} is constant (every value"
            f"{' but its outliers' if far.any() else ''} is "
            f"{to_python(np.min(raw[~far]))!r}); it cannot be scaled and "
            "carries no information. Drop it."
        )
    check_magnitude(name, role, low, high, log1p)
    spec.update(
        normalization=normalization[name], min=low, max=high,
        log1p=bool(log1p),
    )
    if options["outliers"] == "clip" and far.any():
        spec["outliers"] = "clip"
    spec["round_trip_error"] = round_trip_error(spec, raw, labels)
    warn_round_trip(name, role, raw, spec["round_trip_error"])
    return spec


def constant_spec(values, dtype, role="attribute"):
    """The column spec of a constant column (one value in every row, none
    missing), or `None`."""
    present = pd.Series(np.asarray(values, dtype=object))
    if present.nunique(dropna=False) != 1 or present.isna().any():
        return None
    spec = {"name": None, "role": role, "dtype": _dtype_name(dtype),
            "value": to_python(present.iloc[0])}
    if isinstance(dtype, pd.CategoricalDtype):
        spec.update(categories=[to_python(c) for c in dtype.categories],
                    ordered=bool(dtype.ordered))
    return spec


def _fit(rows, dtypes, features, attributes, *, kinds, normalization, log1p,
         max_sequence_len, sample_len, truncate, options):
    """Specs from prepared rows: lengths, then each column's encoding.

    Constant columns are left out of the encoding (with a warning) and
    returned as `constants`, which the transformer restores on output.
    """
    max_sequence_len, sample_len = resolve_lengths(
        rows.lengths, rows.series_labels, max_sequence_len, sample_len,
        truncate,
    )
    keep = rows.row_step < max_sequence_len
    feature_specs, constants = [], []
    for name in features:
        values = rows.features[name]
        values = values[keep] if isinstance(values, np.ndarray) else (
            values[keep].reset_index(drop=True)
        )
        gaps = rows.missing_masks.get(name)
        gaps = gaps is not None and gaps[keep].any()
        # A feature with gaps modelled as data is not constant (its gaps
        # carry information).
        constant = None if gaps else constant_spec(
            values, dtypes[name], "feature"
        )
        if constant is not None:
            constants.append({**constant, "name": name})
            continue
        spec = fit_column_spec(name, kinds[name], dtypes[name], values,
                               normalization, name in log1p, "feature",
                               rows.row_labels[keep], options)
        if gaps:
            # missing="model": the feature's gaps become a channel.
            spec["missing_channel"] = True
        feature_specs.append(spec)
    check_some_feature_varies(features, constants)
    attribute_specs = []
    series_labels = np.asarray(rows.series_labels, dtype=object)
    for name in attributes:
        constant = constant_spec(rows.attributes[name], dtypes[name])
        if constant is not None:
            constants.append({**constant, "name": name})
            continue
        attribute_specs.append(
            fit_column_spec(name, kinds[name], dtypes[name],
                            rows.attributes[name], normalization,
                            name in log1p, "attribute", series_labels,
                            options)
        )
    warn_constants(constants, stacklevel=4)
    return (feature_specs, attribute_specs, constants, max_sequence_len,
            sample_len, keep)


def check_some_feature_varies(features, constants):
    """Raises unless some of `features` is not among the constant columns
    `constants`."""
    constant = {c["name"]: c["value"] for c in constants}
    if features and all(name in constant for name in features):
        raise ValueError(
            "Every feature column is constant ("
            + ", ".join(f"{n!r} = {constant[n]!r}" for n in features)
            + "): there is no series to model. Pass features that vary."
        )


def warn_constants(constants, stacklevel):
    """Says which constant columns are left out of the model."""
    sentences = [
        f"Constant {role}s are not modelled (they carry no information) and "
        "are restored on output: "
        + ", ".join(
            f"{c['name']!r} = {c['value']!r}"
            for c in constants if c["role"] == role
        )
        + "."
        for role in ("feature", "attribute")
        if any(c["role"] == role for c in constants)
    ]
    if sentences:
        warnings.warn(" ".join(sentences), UserWarning, stacklevel=stacklevel)


def check_options(kinds, normalization, log1p, discrete, names):
    check_subset(discrete, names, "discrete")
    check_subset(log1p, names, "log1p")
    not_continuous = [n for n in log1p if kinds[n] != "continuous"]
    if not_continuous:
        raise ValueError(
            f"`log1p` lists {format_values(not_continuous)}, which are discrete; "
            "log1p applies to numeric (continuous) columns only."
        )
    continuous = [n for n in names if kinds[n] == "continuous"]
    if isinstance(normalization, dict):
        check_subset(list(normalization), names, "normalization")
        discrete_keys = [n for n in normalization if kinds[n] != "continuous"]
        if discrete_keys:
            raise ValueError(
                f"`normalization` lists {format_values(discrete_keys)}, which are "
                "discrete; only continuous columns are normalized."
            )
    return _normalizations(normalization, continuous)


# --- Public API ---------------------------------------------------------------


def from_dataframe(
    df,
    example_id,
    time=None,
    features=None,
    attributes=(),
    *,
    max_sequence_len=None,
    sample_len=None,
    normalization="ZERO_ONE",
    log1p=(),
    discrete=(),
    missing="raise",
    truncate=False,
    outliers="error",
    non_numeric="raise",
    max_categories=100,
):
    """Builds a dataset from a long table: one row per series and step.

    Rows may come in any order and series may have any length: rows are
    grouped by `example_id` (series ordered by sorted id) and ordered by
    `time` within each series (by row order when `time` is `None`).
    Attribute columns must be constant within a series.

    Args:
        df: pandas DataFrame.
        example_id: str or int. The column naming the series of each row.
        time: str, int or `None`. The column ordering the steps (numbers,
            datetimes or timedeltas; one row per series and time). Defaults
            to `None`.
        features: list of column names, or `None` for every column other
            than `example_id`, `time` and `attributes`. Defaults to `None`.
        attributes: list of column names of per-series metadata. Defaults
            to `()`.
        max_sequence_len: int or `None`. The padded length T. Defaults to
            the smallest multiple of `sample_len` holding the longest series.
        sample_len: int or `None`. Steps per generator cell; must divide T.
            Defaults to 1.
        normalization: `"ZERO_ONE"`, `"MINUSONE_ONE"`, or a dict from
            continuous column to one of them (others `"ZERO_ONE"`). Defaults
            to `"ZERO_ONE"`.
        log1p: list of numeric columns to transform with `log1p` before
            scaling (values must be > -1). Defaults to `()`.
        discrete: list of numeric columns to encode one-hot rather than
            scaled. Defaults to `()`.
        missing: `"raise"`, `"interpolate"`, `"drop"` or `"model"` (a
            missingness channel per feature with gaps, learned by the
            model; generated tables have NaN where it says so); see
            `keras_dg.data.table_transformer`. Defaults to `"raise"`.
        truncate: bool. Keep the first T steps of longer series instead of
            raising. Defaults to `False`.
        outliers: `"error"`, `"clip"` or `"keep"`: what to do with values
            far outside the bulk of a continuous column (see
            `keras_dg.data.column_checks`). Defaults to `"error"`.
        non_numeric: `"raise"` or `"missing"`: what to do with the
            non-numeric cells of a mostly numeric text column. Defaults to
            `"raise"`.
        max_categories: int or `None`. The most categories a discrete
            column may have (`None`: no limit, and no check for a
            different value in every row). Defaults to 100.

    A `time` column on a regular grid (every step a multiple of the
    smallest one) has its gaps filled with missing steps, which follow
    `missing`; a grid that is not regular is an error. Constant attributes
    are not modelled (a warning names them) and are restored on output.

    Returns:
        `(TimeSeriesDataset, TableTransformer)`.

    Example:

    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "host": ["a", "a", "a", "b", "b"], "minute": [0, 1, 2, 0, 1],
    ...     "cpu": [0.5, 0.7, 0.2, 0.1, 0.9],
    ...     "os": ["linux"] * 3 + ["bsd"] * 2})
    >>> ds, tt = from_dataframe(df, "host", "minute", ["cpu"], ["os"],
    ...                         sample_len=2)
    >>> ds.features.shape, ds.lengths.tolist()
    ((2, 4, 1), [3, 2])
    """
    _check_dataframe(df)
    example_id, time, features, attributes = long_roles(
        df, example_id, time, features, attributes
    )
    keys = [example_id] + ([time] if time is not None else [])
    check_missing(missing)
    options = fit_options(outliers, non_numeric, max_categories)
    log1p = column_names(log1p, "log1p")
    discrete = column_names(discrete, "discrete")
    names = features + attributes
    check_subset(discrete, names, "discrete")
    df = check_text_numbers(df, names, discrete, options["non_numeric"])
    kinds = {n: infer_kind(df[n].dtype, n, discrete) for n in names}
    norms = check_options(kinds, normalization, log1p, discrete, names)
    rows = prepare_long(df, example_id, time, kinds, features, attributes,
                        missing)
    dtypes = {n: df[n].dtype for n in names}
    feature_specs, attribute_specs, constants, t, s, keep = _fit(
        rows, dtypes, features, attributes, kinds=kinds, normalization=norms,
        log1p=log1p, max_sequence_len=max_sequence_len,
        sample_len=sample_len, truncate=truncate, options=options,
    )
    grid = None
    if time is not None:
        grid = fit_time_grid(rows, time_kind(df[time].dtype), df[time].dtype,
                             keep)
    used = set(keys + names)
    transformer = TableTransformer(
        layout="long", features=feature_specs, attributes=attribute_specs,
        max_sequence_len=t, sample_len=s, example_id=example_id, time=time,
        time_grid=grid,
        column_order=[to_python(c) for c in df.columns if c in used],
        missing=missing, truncate=truncate, constants=constants,
    )
    return transformer.encode_rows(rows), transformer


def long_roles(df, example_id, time, features, attributes):
    """The checked `example_id`, `time`, `features` and `attributes` of a
    long table (`features=None`: every other column)."""
    example_id = check_column_name(example_id, "example_id")
    if time is not None:
        time = check_column_name(time, "time")
    attributes = column_names(attributes, "attributes")
    keys = [example_id] + ([time] if time is not None else [])
    if time == example_id:
        raise ValueError("`time` and `example_id` must be different columns.")
    check_columns(df, keys, "example_id/time")
    check_columns(df, attributes, "attributes")
    if features is None:
        features = [c for c in df.columns if c not in keys + attributes]
        if not features:
            raise ValueError(
                "`df` has no column left for `features` after `example_id`, "
                "`time` and `attributes`."
            )
    features = column_names(features, "features")
    if not features:
        raise ValueError("`features` must list at least one column.")
    check_columns(df, features, "features")
    _check_roles(features, attributes, keys)
    return example_id, time, features, attributes


def time_kind(dtype):
    if pdt.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pdt.is_timedelta64_dtype(dtype):
        return "timedelta"
    return "numeric"


def _check_roles(features, attributes, keys):
    both = [c for c in features if c in attributes]
    if both:
        raise ValueError(
            f"Columns {format_values(both)} are listed in both `features` and "
            "`attributes`."
        )
    clash = [c for c in features + attributes if c in keys]
    if clash:
        raise ValueError(
            f"Columns {format_values(clash)} are the `example_id`/`time` column and "
            "cannot also be features or attributes."
        )


def _wide_features(features):
    """`{feature name: its step columns}` of `from_wide_dataframe`."""
    if isinstance(features, dict):
        feature_columns = {
            check_column_name(name, "features"):
                column_names(cols, f"features[{name!r}]")
            for name, cols in features.items()
        }
    else:
        feature_columns = {"value": column_names(features, "features")}
    if not feature_columns or not all(feature_columns.values()):
        raise ValueError(
            "`features` must list at least one step column per feature. "
            f"Received: {features!r}"
        )
    return feature_columns


def _wide_kinds(df, feature_columns, attributes, discrete):
    """The kind and dtype of each column of a wide table, and each
    feature's step-column dtypes: `(kinds, dtypes, column_dtypes)`."""
    dtypes, column_dtypes, kinds = {}, {}, {}
    for name, cols in feature_columns.items():
        used = [c for c in cols if df[c].notna().any()] or cols
        kind_of = {
            c: infer_kind(df[c].dtype, name, discrete) for c in used
        }
        kinds[name] = (
            "discrete" if "discrete" in kind_of.values() else "continuous"
        )
        first = next(
            (c for c in used if kind_of[c] == kinds[name]), used[0]
        )
        dtypes[name] = df[first].dtype
        column_dtypes[name] = [
            _dtype_name(df[c].dtype)
            if df[c].notna().any() or kinds[name] == "continuous"
            else _dtype_name(dtypes[name])
            for c in cols
        ]
    for name in attributes:
        kinds[name] = infer_kind(df[name].dtype, name, discrete)
        dtypes[name] = df[name].dtype
    return kinds, dtypes, column_dtypes


def from_wide_dataframe(
    df,
    features,
    attributes=(),
    *,
    example_id=None,
    max_sequence_len=None,
    sample_len=None,
    normalization="ZERO_ONE",
    log1p=(),
    discrete=(),
    missing="raise",
    truncate=False,
    outliers="error",
    non_numeric="raise",
    max_categories=100,
):
    """Builds a dataset from a wide table: one row per series, one column
    per time step.

    Missing values at the end of a row mark a shorter series; missing
    values before a row's last value follow `missing` (a wide table's
    attributes cannot be interpolated).

    Args:
        df: pandas DataFrame.
        features: list of the step columns of the single feature (named
            `"value"`), in time order, or a dict from feature name to its
            list of step columns (every feature with as many columns).
        attributes: list of column names of per-series metadata. Defaults
            to `()`.
        example_id: str, int or `None`. An id column, which
            `inverse_transform` fills with 0..n-1. Defaults to `None`.
        max_sequence_len, sample_len, normalization, log1p, discrete,
            missing, truncate, outliers, non_numeric, max_categories: as
            in `from_dataframe`; `log1p`, `discrete` and `normalization`
            name features by their feature name.

    Returns:
        `(TimeSeriesDataset, TableTransformer)`; the transformer's
        `inverse_transform` returns a wide table with the same step columns.

    Example:

    >>> import pandas as pd
    >>> df = pd.DataFrame({"page": ["x", "y"], "d1": [3, 4], "d2": [5, None],
    ...                    "lang": ["en", "de"]})
    >>> ds, tt = from_wide_dataframe(df, ["d1", "d2"], ["lang"])
    >>> ds.lengths.tolist()
    [2, 1]
    """
    _check_dataframe(df)
    feature_columns = _wide_features(features)
    attributes = column_names(attributes, "attributes")
    keys = []
    if example_id is not None:
        keys = [check_column_name(example_id, "example_id")]
        check_columns(df, keys, "example_id")
    for name, cols in feature_columns.items():
        check_columns(df, cols, f"features[{name!r}]")
    check_columns(df, attributes, "attributes")
    step_columns = [c for cols in feature_columns.values() for c in cols]
    repeated = sorted(
        {str(c) for c in step_columns if step_columns.count(c) > 1}
    )
    if repeated:
        raise ValueError(
            f"Step columns {repeated} belong to more than one feature."
        )
    _check_roles(step_columns, attributes, keys)
    names = list(feature_columns) + attributes
    clash = [n for n in feature_columns if n in attributes]
    if clash:
        raise ValueError(
            f"Feature names {format_values(clash)} are also attribute columns."
        )
    check_missing(missing)
    options = fit_options(outliers, non_numeric, max_categories)
    log1p = column_names(log1p, "log1p")
    discrete = column_names(discrete, "discrete")
    check_subset(discrete, names, "discrete")
    declared = [
        c for name in discrete for c in feature_columns.get(name, [name])
    ]
    df = check_text_numbers(
        df, step_columns + attributes, declared, options["non_numeric"]
    )
    kinds, dtypes, column_dtypes = _wide_kinds(
        df, feature_columns, attributes, discrete
    )
    norms = check_options(kinds, normalization, log1p, discrete, names)
    rows = prepare_wide(df, feature_columns, attributes, kinds, missing)
    feature_specs, attribute_specs, constants, t, s, _ = _fit(
        rows, dtypes, list(feature_columns), attributes, kinds=kinds,
        normalization=norms, log1p=log1p, max_sequence_len=max_sequence_len,
        sample_len=sample_len, truncate=truncate, options=options,
    )
    for spec in feature_specs + constants:
        if spec.get("role", "feature") == "feature":
            spec["columns"] = feature_columns[spec["name"]]
            spec["column_dtypes"] = column_dtypes[spec["name"]]
    used = set(keys + attributes + step_columns)
    transformer = TableTransformer(
        layout="wide", features=feature_specs, attributes=attribute_specs,
        max_sequence_len=t, sample_len=s,
        example_id=keys[0] if keys else None,
        column_order=[to_python(c) for c in df.columns if c in used],
        missing=missing, truncate=truncate, constants=constants,
    )
    return transformer.encode_rows(rows), transformer


def _feature_arrays(features):
    """The checked [t_i, F] arrays of `from_arrays`' `features`."""
    if isinstance(features, np.ndarray) and features.ndim == 3:
        features = list(features)
    if isinstance(features, (np.ndarray, pd.DataFrame, str)) or not hasattr(
        features, "__iter__"
    ):
        raise ValueError(
            "`features` must be a list of arrays [t_i, F] (or one array "
            f"[N, T, F]). Received: {type(features).__name__}"
        )
    arrays = []
    for i, array in enumerate(features):
        array = np.asarray(array)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[0] == 0:
            raise ValueError(
                f"`features[{i}]` must be an array [t_i, F] with t_i >= 1. "
                f"Received shape {array.shape}."
            )
        if arrays and array.shape[1] != arrays[0].shape[1]:
            raise ValueError(
                f"`features[{i}]` has {array.shape[1]} columns but "
                f"`features[0]` has {arrays[0].shape[1]}."
            )
        arrays.append(array)
    if not arrays:
        raise ValueError("`features` is empty: expected at least one series.")
    return arrays


def _attribute_table(attributes, attribute_names, n):
    """`from_arrays`' attributes as a DataFrame of `n` rows."""
    if isinstance(attributes, pd.DataFrame):
        attribute_table = attributes.reset_index(drop=True)
    else:
        values = np.asarray(attributes)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise ValueError(
                "`attributes` must be an array [N, A] or a DataFrame. "
                f"Received shape {values.shape}."
            )
        if attribute_names is None:
            attribute_names = [
                f"attribute_{j}" for j in range(values.shape[1])
            ]
        attribute_names = column_names(attribute_names, "attribute_names")
        if len(attribute_names) != values.shape[1]:
            raise ValueError(
                f"`attribute_names` must hold {values.shape[1]} names. "
                f"Received: {attribute_names}"
            )
        attribute_table = pd.DataFrame(
            {name: values[:, j] for j, name in enumerate(attribute_names)}
        )
        attribute_table = attribute_table.infer_objects()
    if len(attribute_table) != n:
        raise ValueError(
            f"`attributes` has {len(attribute_table)} rows but "
            f"`features` holds {n} series; they must match."
        )
    return attribute_table


def from_arrays(
    features,
    attributes=None,
    *,
    feature_names=None,
    attribute_names=None,
    **kwargs,
):
    """Builds a dataset from ragged arrays: one [t_i, F] array per series.

    The arrays become a long table with columns `example_id` (0..n-1),
    `step` (0..t_i-1), the features and the attributes, passed to
    `from_dataframe`; numeric arrays give continuous columns (list integer
    codes in `discrete=`), object arrays of strings discrete ones.

    Args:
        features: list of arrays [t_i, F] (or [t_i] for F=1), or one array
            [N, T, F].
        attributes: array [N, A] (or [N]), a DataFrame with N rows, or
            `None`. Defaults to `None`.
        feature_names: list of F names. Defaults to `feature_0`, ...
        attribute_names: list of A names (ignored for a DataFrame).
            Defaults to `attribute_0`, ...
        **kwargs: `max_sequence_len`, `sample_len`, `normalization`,
            `log1p`, `discrete`, `missing`, `truncate`, `outliers`,
            `non_numeric`, `max_categories`, as in `from_dataframe`.

    Returns:
        `(TimeSeriesDataset, TableTransformer)`.

    Example:

    >>> import numpy as np
    >>> ds, tt = from_arrays([np.arange(3.0), np.arange(5.0)],
    ...                      attributes=np.array([["a"], ["b"]], dtype=object))
    >>> ds.features.shape
    (2, 5, 1)
    """
    arrays = _feature_arrays(features)
    n, f = len(arrays), arrays[0].shape[1]
    if feature_names is None:
        feature_names = [f"feature_{j}" for j in range(f)]
    feature_names = column_names(feature_names, "feature_names")
    if len(feature_names) != f:
        raise ValueError(
            f"`feature_names` must hold {f} names. Received: {feature_names}"
        )
    reserved = [c for c in feature_names if c in ("example_id", "step")]
    if reserved:
        raise ValueError(
            f"`feature_names` {reserved} clash with the reserved "
            "'example_id'/'step' columns."
        )
    lengths = [len(a) for a in arrays]
    stacked = np.concatenate(arrays, axis=0)
    columns = {
        "example_id": np.repeat(np.arange(n), lengths),
        "step": np.concatenate([np.arange(t) for t in lengths]),
    }
    for j, name in enumerate(feature_names):
        columns[name] = stacked[:, j]
    table = pd.DataFrame(columns)
    attribute_columns = []
    if attributes is not None:
        attribute_table = _attribute_table(attributes, attribute_names, n)
        attribute_columns = list(attribute_table.columns)
        clash = [c for c in attribute_columns if c in table.columns]
        if clash:
            raise ValueError(
                f"Attribute names {format_values(clash)} clash with feature "
                "names or the reserved 'example_id'/'step' columns."
            )
        repeated = attribute_table.iloc[table["example_id"].to_numpy()]
        table = pd.concat(
            [table, repeated.reset_index(drop=True)], axis=1
        )
    return from_dataframe(
        table, "example_id", "step", feature_names, attribute_columns,
        **kwargs,
    )
