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
- `"model"`: missing values are data. Each feature with missing values
  (in the fitted table's first `max_sequence_len` steps) gets a
  missingness channel, one `Output(DISCRETE, 2)` (present, missing) per
  such feature, appended after the features' outputs in feature order;
  the generator learns it like any other output. The missing values
  themselves are filled as with `"interpolate"` (a series with no value
  of the feature takes the column's median, or its most frequent
  category) so that the value channel stays smooth; `inverse_transform`
  puts NaN (None for discrete columns; nullable dtypes for integers and
  booleans) where the channel says missing (the larger of its two
  values). Features without gaps get no channel; a feature missing in
  every row is an error (nothing to learn). Attributes are filled as with
  `"interpolate"`. The channel is a 2-way discrete output rather than one
  [0, 1] continuous value: missingness is a yes/no event, and a continuous
  channel goes through the per-series min/max normalization (`self_norm`)
  like every continuous feature. Measured on the flights data (dep_delay
  missing on 2.4% of route-days, `benchmarks/missingness.py`): the 2-way
  softmax's mean probability of "missing" was 2.6%, the continuous
  channel's mean 10%. The channel's `Output` has `is_missing_channel`
  (saved with the model), and `DoppelGANger.generate` draws each step's
  category from the generator's softmax (missing with its probability p,
  from one more seeded noise input, so the seed contract holds) where the
  other discrete outputs take the argmax: the argmax loses most of a rare
  event (missing only where p > 0.5: 0.04% of the generated steps against
  2.2% on flights), the draw's rate is the generator's mean p.
  `generate(..., draw_missing=False)` (`generate_dataframe`,
  `generate_to`, `keras-dg generate --missing-argmax`) takes the argmax
  instead. A fresh model's first `fit` starts each channel at the data's
  missing rate. Measured on flights (150 s, 3 seeds): the drawn rate is
  0.023 against 0.022 held out (0.024 in training), but the gaps are
  single days spread over every route (gap-length W1 2.2x the floor):
  runs of gaps, and which series have them, are not learnt in that time.

Infinite values, missing series ids or time values are always errors.

The column specs and their encoding are in `keras_dg.data.columns`; cutting
a table into series (`prepare_long`, `prepare_wide`) in
`keras_dg.data.table_rows`.

Reference:
    Lin et al., "Using GANs for Sharing Networked Time Series Data", IMC
    2020, §4 (Output specs; the log1p of page views).
"""

import keras
import numpy as np
import pandas as pd

from keras_dg.data.columns import check_columns
from keras_dg.data.columns import check_spec
from keras_dg.data.columns import decode_column
from keras_dg.data.columns import encode_column
from keras_dg.data.columns import finish_column
from keras_dg.data.columns import format_values
from keras_dg.data.columns import is_integer_dtype
from keras_dg.data.columns import restore_dtype
from keras_dg.data.columns import spec_width
from keras_dg.data.columns import specs_to_outputs
from keras_dg.data.columns import to_python
from keras_dg.data.table_rows import MISSING_POLICIES
from keras_dg.data.table_rows import grid_times
from keras_dg.data.table_rows import prepare_long
from keras_dg.data.table_rows import prepare_wide
from keras_dg.data.table_rows import resolve_lengths
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.preprocessing.gen_flag import check_sample_len
from keras_dg.specs import Output
from keras_dg.specs import OutputType
from keras_dg.specs import output_slices
from keras_dg.validation import check_one_of

LAYOUTS = ("long", "wide")
_REQUIRED_KEYS = ("layout", "features", "attributes", "max_sequence_len")
_CONFIG_KEYS = _REQUIRED_KEYS + (
    "sample_len", "example_id", "time", "time_grid", "column_order",
    "missing", "truncate", "constants",
)


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
            tables add `columns` (the step columns) and `column_dtypes`;
            `missing_channel: True` marks a feature with a missingness
            channel (`missing="model"`).
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
            `"drop"`, `"model"`; see the module docstring). Defaults to
            `"raise"`.
        constants: list of dicts or `None`. Constant columns, left out
            of the encoding and restored on output: `name`, `role`
            (`"attribute"` or `"feature"`), `dtype`, `value` (and
            `categories`, `ordered` for a categorical; wide tables'
            features `columns` and `column_dtypes`). A constant feature
            has its value on every active step. Defaults to `None`.
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
        constants=None,
    ):
        check_one_of(layout, "layout", LAYOUTS)
        check_one_of(missing, "missing", MISSING_POLICIES)
        if not features:
            raise ValueError("`features` must list at least one column.")
        check_sample_len(max_sequence_len, sample_len)
        self.layout = layout
        self.features = [
            _check_channel(check_spec(s, "features", layout), missing)
            for s in features
        ]
        self.attributes = [
            check_spec(s, "attributes", layout) for s in attributes
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
            column_order += [
                c["name"] for c in constants or [] if c["role"] == "attribute"
            ]
            for spec in self.features + [
                c for c in constants or [] if c["role"] == "feature"
            ]:
                column_order += spec.get("columns", [spec["name"]])
        self.column_order = list(column_order)
        self.missing = missing
        self.truncate = bool(truncate)
        self.constants = [
            _check_constant(c, layout) for c in constants or []
        ]
        self.feature_outputs = specs_to_outputs(self.features) + [
            Output(OutputType.DISCRETE, 2, is_missing_channel=True)
            for _ in self.missing_channels
        ]
        self.attribute_outputs = specs_to_outputs(self.attributes)

    # --- Properties -----------------------------------------------------------

    @property
    def feature_names(self):
        return [s["name"] for s in self.features]

    @property
    def attribute_names(self):
        return [s["name"] for s in self.attributes]

    @property
    def missing_channels(self):
        """The features with a missingness channel (`missing="model"`), in
        the order of their channels (after the features' own outputs)."""
        return [s["name"] for s in self.features if s.get("missing_channel")]

    @property
    def feature_output_specs(self):
        """One column spec per feature output column, in output order: the
        feature specs, then one discrete spec per missingness channel
        (`name` "<feature> missing", categories `[False, True]`,
        `missing_of` the feature), for code that names the outputs."""
        return list(self.features) + [
            {"name": f"{name} missing", "kind": "discrete", "dtype": "bool",
             "categories": [False, True], "ordered": False,
             "missing_of": name}
            for name in self.missing_channels
        ]

    def _value_width(self):
        return sum(map(spec_width, self.features))

    def _feature_width(self):
        return self._value_width() + 2 * len(self.missing_channels)

    def missing_masks(self, dataset):
        """Where each channelled feature is missing, from encoded data.

        Args:
            dataset: `TimeSeriesDataset` with this transformer's specs, or a
                dict with `features`, `attributes` and `gen_flag` arrays
                (e.g. generated data).

        Returns:
            dict from feature name (`missing_channels`) to a boolean array
            [N, T]: True at the active steps whose channel says missing
            (argmax), False elsewhere and after each series' end.
        """
        features, _, lengths = self._check_data(dataset)
        n, t = features.shape[:2]
        active = np.arange(t)[None, :] < np.clip(lengths, 0, t)[:, None]
        start = self._value_width()
        masks = {}
        for name in self.missing_channels:
            block = features[:, :, start:start + 2]
            masks[name] = (block[..., 1] > block[..., 0]) & active
            start += 2
        return masks

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
        features = np.zeros((n, t, self._feature_width()), dtype="float32")
        start = 0
        for spec in self.features:
            width = spec_width(spec)
            values = rows.features[spec["name"]]
            values = values[keep] if isinstance(values, np.ndarray) else (
                values[keep].reset_index(drop=True)
            )
            features[series, step, start:start + width] = encode_column(
                spec, values, labels, clip
            )
            start += width
        for spec in self.features:
            if spec.get("missing_channel"):
                gaps = rows.missing_masks.get(spec["name"])
                gaps = (
                    np.zeros(len(series), dtype=bool)
                    if gaps is None else np.asarray(gaps)[keep]
                )
                features[series, step, start + gaps.astype("int64")] = 1.0
                start += 2
                continue
            gaps = rows.missing_masks.get(spec["name"])
            if gaps is not None and np.asarray(gaps)[keep].any():
                bad = labels[np.asarray(gaps)[keep]]
                raise ValueError(
                    f"Column {spec['name']!r} (feature) has {len(bad)} "
                    f"missing values in rows {format_values(bad)}, but the "
                    "transformer was fitted on a table where it had none, "
                    "so it has no missingness channel. Fill them, or fit "
                    "the transformer on data with gaps in this column."
                )
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
            f = self._feature_width()
            a = sum(map(spec_width, self.attributes))
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
            width = spec_width(spec)
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
        return pd.DataFrame(self.inverse_columns(dataset))

    def inverse_columns(self, dataset):
        """`inverse_transform`'s columns, without the DataFrame: a dict from
        column name to `pd.Series`, in the table's column order.

        For writers that convert each column on its own (to Arrow, say):
        building the DataFrame copies every column into pandas' 2-D blocks,
        which was half of `inverse_transform`'s time at 950,000 rows.
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
                columns[self.time] = grid_times(self.time_grid, step)
            else:
                columns[self.time] = pd.Series(step, dtype="int64")
        for spec in self.attributes:
            # Finished once per series, then repeated per row: the dtype
            # restoration of every row was most of this method's time.
            per_series = finish_column(spec, decoded_attributes[spec["name"]])
            columns[spec["name"]] = pd.Series(per_series.array.take(series))
        masks = self._gap_masks(features, lengths)
        start = 0
        for spec in self.features:
            width = spec_width(spec)
            block = features[series, step, start:start + width]
            values = decode_column(spec, block)
            if spec["name"] in masks:
                values = _blank(spec, values, masks[spec["name"]][series, step])
            columns[spec["name"]] = finish_column(spec, values)
            start += width
        self._restore_constants(columns, len(series))
        return self._ordered(columns)

    def _gap_masks(self, features, lengths):
        """`missing_masks` of decoded arrays (features, lengths)."""
        if not self.missing_channels:
            return {}
        n, t = features.shape[:2]
        attributes = np.zeros((n, sum(map(spec_width, self.attributes))))
        gen_flag = (np.arange(t)[None, :] < lengths[:, None]).astype("float32")
        return self.missing_masks(
            {"features": features, "attributes": attributes,
             "gen_flag": gen_flag}
        )

    def _inverse_wide(self, features, decoded_attributes, lengths):
        n, t = features.shape[:2]
        masks = self._gap_masks(features, lengths)
        columns = {}
        if self.example_id is not None:
            columns[self.example_id] = pd.Series(np.arange(n), dtype="int64")
        for spec in self.attributes:
            columns[spec["name"]] = finish_column(
                spec, decoded_attributes[spec["name"]]
            )
        start = 0
        for spec in self.features:
            width = spec_width(spec)
            for j, (column, dtype) in enumerate(
                zip(spec["columns"], spec["column_dtypes"])
            ):
                if j < t:
                    values = decode_column(
                        spec, features[:, j, start:start + width]
                    )
                    if spec["name"] in masks:
                        values = _blank(spec, values, masks[spec["name"]][:, j])
                else:
                    values = np.zeros(n, dtype="float64")
                ended = lengths <= j
                if spec["kind"] == "continuous":
                    values = np.where(ended, np.nan, values)
                    if is_integer_dtype(dtype):
                        values = np.round(values)
                else:
                    values = np.where(ended, None, values)
                columns[column] = restore_dtype(values, spec, dtype)
            start += width
        self._restore_constants(columns, n, lengths)
        return self._ordered(columns)

    def _ordered(self, columns):
        """`columns` as `pd.Series`, in `column_order`."""
        return {
            name: (
                columns[name] if isinstance(columns[name], pd.Series)
                else pd.Series(columns[name])
            )
            for name in self.column_order if name in columns
        }

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
            "constants": [dict(c) for c in self.constants],
        }

    def _restore_constants(self, columns, rows, lengths=None):
        """Adds the constant columns to `columns` (`rows` rows): one column
        each, or with `lengths` (wide tables) a feature's step columns,
        missing after each series' end."""
        for spec in self.constants:
            values = np.empty(rows, dtype=object)
            values[:] = [spec["value"]] * rows
            if lengths is None or spec["role"] == "attribute":
                columns[spec["name"]] = restore_dtype(values, spec)
                continue
            for j, (column, dtype) in enumerate(
                zip(spec["columns"], spec["column_dtypes"])
            ):
                step = values.copy()
                step[lengths <= j] = None
                columns[column] = restore_dtype(step, spec, dtype)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def to_json_config(self):
        """`get_config` as plain JSON (a preset's `transformer.json`):
        raises `ValueError` naming the value JSON cannot hold."""
        import json

        config = self.get_config()
        try:
            return json.loads(json.dumps(config, allow_nan=False))
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"The transformer's config is not plain JSON ({e}); a "
                "preset cannot hold it."
            ) from None

    @classmethod
    def from_json_config(cls, config):
        """The transformer of `to_json_config`'s output (parsed JSON)."""
        if not isinstance(config, dict):
            raise ValueError(
                "A transformer config must be a JSON object. Received: "
                f"{type(config).__name__}"
            )
        unknown = sorted(set(config) - set(_CONFIG_KEYS))
        missing = sorted(set(_REQUIRED_KEYS) - set(config))
        if unknown or missing:
            raise ValueError(
                f"A transformer config lacks {missing} or has unknown keys "
                f"{unknown}."
            )
        return cls.from_config(config)

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
        specs = {
            role: _column_specs(
                outputs, names, prefix, dataset.extras, categories
            )
            for role, outputs, names, prefix in (
                ("features", dataset.feature_outputs, feature_names,
                 "feature"),
                ("attributes", dataset.attribute_outputs, attribute_names,
                 "attribute"),
            )
        }
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


def _check_channel(spec, missing):
    """`spec` with its `missing_channel` flag checked (only under
    `missing="model"`)."""
    channel = spec.get("missing_channel", False)
    if not isinstance(channel, (bool, np.bool_)):
        raise ValueError(
            f"`features` column {spec['name']!r} has missing_channel="
            f"{channel!r}; expected true or false."
        )
    if channel and missing != "model":
        raise ValueError(
            f"`features` column {spec['name']!r} has a missingness channel, "
            f"which needs missing='model'. Received: missing={missing!r}"
        )
    if "missing_channel" in spec:
        spec["missing_channel"] = bool(channel)
        if not channel:
            del spec["missing_channel"]
    return spec


def _blank(spec, values, missing):
    """Decoded `values` with the `missing` steps set to NaN (continuous) or
    None (discrete)."""
    if not missing.any():
        return values
    if spec["kind"] == "continuous":
        return np.where(missing, np.nan, values)
    values = np.array(values, dtype=object)
    values[missing] = None
    return values


def _check_constant(spec, layout):
    """A checked copy of one entry of `constants`."""
    if not isinstance(spec, dict) or any(
        key not in spec for key in ("name", "role", "dtype", "value")
    ):
        raise ValueError(
            "`constants` entries must be dicts with the keys name, role, "
            f"dtype and value. Received: {spec!r}"
        )
    if spec["role"] not in ("attribute", "feature"):
        raise ValueError(
            f"`constants` entry {spec['name']!r} has role={spec['role']!r};"
            " expected 'attribute' or 'feature'."
        )
    if spec["role"] == "feature" and layout == "wide" and not (
        isinstance(spec.get("columns"), list)
        and isinstance(spec.get("column_dtypes"), list)
        and len(spec["columns"]) == len(spec["column_dtypes"])
    ):
        raise ValueError(
            f"`constants` entry {spec['name']!r} is a feature of a wide table"
            " and needs `columns` and `column_dtypes`, lists of one length."
        )
    return dict(spec)


def _column_specs(outputs, names, prefix, extras, categories):
    """The column specs of one role of `TableTransformer.from_dataset`.

    Takes the labels it uses out of `categories`.
    """
    width = sum(o.dim for o in outputs)
    n_columns = sum(1 if o.is_discrete else o.dim for o in outputs)
    low, high = _extras_bounds(extras, prefix, outputs, width)
    if names is None:
        names = [f"{prefix}_{i}" for i in range(n_columns)]
    names = list(names)
    if len(names) != n_columns:
        raise ValueError(
            f"`{prefix}_names` must hold {n_columns} names (one per "
            f"column of {outputs}). Received {len(names)}: {names}"
        )
    column_specs, k = [], 0
    for index, (output, start, end) in enumerate(output_slices(outputs)):
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
                "categories": [to_python(v) for v in labels],
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
    return column_specs


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
