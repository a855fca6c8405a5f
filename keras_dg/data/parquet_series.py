"""Training from a folder of Parquet files larger than memory.

`from_parquet(path, example_id, time, features, attributes, ...)` is
`from_dataframe` for a long table stored as Parquet files (a folder written
by `DoppelGANger.generate_to`, Spark, `DataFrame.to_parquet`, ...) that need
not fit in memory. It fits the `TableTransformer` in one streaming pass over
the files, one row group at a time, and returns a `ParquetSeries`, which
feeds `fit` by reading the files again each epoch in shuffled row groups,
encoding them with the fitted transformer and mixing the series in a shuffle
buffer:

```python
series, transformer = keras_dg.data.from_parquet(
    "table/", example_id="id", time="t", features=["load"],
    attributes=["kind"], sample_len=8)
model = DoppelGANger(transformer.feature_outputs,
                     transformer.attribute_outputs,
                     max_sequence_len=transformer.max_sequence_len,
                     sample_len=8, transformer=transformer)
model.compile()
series.fit(model, batch_size=100, epochs=10)   # or model.fit(series.training_data(100))
```

**What is assumed.** The rows of each series are contiguous: the files (in
sorted path order) and, within them, the rows, hold each series in one run
of rows, in any order of series and, within a series, in any order of
`time` (a series may span row groups, not files). `generate_to`'s folders,
and any table sorted or grouped by the id before it was written, qualify.
A series whose rows come back after another series' rows is an error
naming its id and the files. Memory is one row group (plus the series
that continues past it) while fitting, and the shuffle buffer of encoded
series while training; what grows with the number of series N is 8 bytes
per series (the check that no id comes back) and a few numbers per row
group.

**What equals `from_dataframe`.** On the same table (the files read with
`pandas.read_parquet(path)`) and the same arguments, the fitted transformer
is the same (`get_config()` equal), and the encoded series are the same,
as long as each continuous column has at most `sample_size` values; every
check of `from_dataframe` runs, and errors name the file and its rows.
Where one pass cannot do what the in-memory fit does, this is what it does
instead:
- outliers (`outliers=`, the median absolute deviation) and the round-trip
  error are measured on a uniform sample of `sample_size` values per
  continuous column (the whole column when it is smaller), to which the
  exact minimum and maximum are added: the range is exact with
  `outliers="keep"` and whenever no outlier is found; with
  `outliers="clip"` on a larger column the range is the sample's
  non-outliers' (values beyond it are clipped, as `"clip"` does anyway);
  an `outliers="error"` message counts and names the sampled outliers (the
  extremes always among them).
- text columns that hold numbers are checked one row group at a time, and
  `non_numeric="missing"` is refused: convert such columns before writing
  the files (their kind must be known before the pass).
- a time grid must have one step for the whole folder: every series'
  smallest step between rows is the same (in memory, a series with only
  larger steps is a series with gaps).
- `missing="model"`: a series missing a feature in every row takes the
  median (most frequent value) of its row group, not of the column.
- a categorical column whose categories differ between files is encoded
  over the sorted union of its categories.

**Settings from the data.** `DoppelGANger.fit` decides `full_length=None`
and `block_heads="auto"` from in-memory data only; `ParquetSeries.fit` (or
`ParquetSeries.apply_settings(model)` before `model.fit`) makes the same
decisions from what the pass measured: whether every series has the full
length, and the periodic features of up to 1,000 series (a uniform sample;
all series when there are at most 1,000, and then the decisions are the
in-memory fit's).
"""

import os
import queue
import threading
import warnings

import keras
import numpy as np
import pandas as pd

from keras_dg.data.column_checks import check_categories
from keras_dg.data.column_checks import check_text_numbers
from keras_dg.data.column_checks import outlier_mask
from keras_dg.data.columns import format_values
from keras_dg.data.columns import to_python
from keras_dg.data.table_rows import fit_time_grid
from keras_dg.data.table_rows import prepare_long
from keras_dg.data.table_rows import resolve_lengths
from keras_dg.data.table_transformer import TableTransformer
from keras_dg.data.tables import check_missing
from keras_dg.data.tables import check_options
from keras_dg.data.tables import check_some_feature_varies
from keras_dg.data.tables import check_subset
from keras_dg.data.tables import column_names
from keras_dg.data.tables import constant_spec
from keras_dg.data.tables import fit_column_spec
from keras_dg.data.tables import fit_options
from keras_dg.data.tables import infer_kind
from keras_dg.data.tables import long_roles
from keras_dg.data.tables import time_kind
from keras_dg.data.tables import warn_constants
from keras_dg.validation import check_bool
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed

# Values per continuous column kept for the outlier check and the
# round-trip error (8 MiB each).
DEFAULT_SAMPLE_SIZE = 1_000_000
# Series kept for `block_heads="auto"` (what `periodic_outputs` reads).
SETTINGS_SERIES = 1000
# Series mixed at once by the training input's shuffle.
DEFAULT_SHUFFLE_BUFFER = 10_000
# Batches the training input prepares ahead, on its own thread.
_PREFETCH = 8


# === The public entry point ===


def from_parquet(
    path,
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
    sample_size=DEFAULT_SAMPLE_SIZE,
    seed=0,
):
    """Fits a transformer on a long table in Parquet files, in one pass.

    Args:
        path: str or path. A Parquet file, or a folder of them (read
            recursively; names starting with `_` or `.` are skipped, as
            pyarrow does), or a list of files.
        example_id, time, features, attributes, max_sequence_len,
            sample_len, normalization, log1p, discrete, missing, truncate,
            outliers, non_numeric, max_categories: as in
            `keras_dg.data.from_dataframe` (`non_numeric` must be
            `"raise"`); see the module docstring for what is assumed.
        sample_size: int. Values per continuous column sampled for the
            outlier check and the round-trip error. Defaults to 1,000,000.
        seed: int. Seed of those samples. Defaults to 0.

    Returns:
        `(ParquetSeries, TableTransformer)`.

    Example:

    >>> import pandas as pd, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> pd.DataFrame({"id": [0, 0, 1, 1], "t": [0, 1, 0, 1],
    ...               "x": [1.0, 2.0, 3.0, 5.0]}).to_parquet(folder + "/a.parquet")
    >>> series, tt = from_parquet(folder, "id", "t", ["x"])
    >>> len(series), tt.max_sequence_len
    (2, 2)
    """
    files = parquet_files(path)
    sample_size = check_positive_int(sample_size, "sample_size")
    seed = check_seed(seed)
    empty = _empty_table(files[0])
    example_id, time, features, attributes = long_roles(
        empty, example_id, time, features, attributes
    )
    check_missing(missing)
    options = fit_options(outliers, non_numeric, max_categories)
    if options["non_numeric"] != "raise":
        raise ValueError(
            "`non_numeric` must be 'raise' when fitting from Parquet files: "
            "a column's kind must be known before the pass. Convert the "
            f"column when writing the files. Received: "
            f"non_numeric={non_numeric!r}"
        )
    log1p = column_names(log1p, "log1p")
    discrete = column_names(discrete, "discrete")
    names = features + attributes
    check_subset(discrete, names, "discrete")
    kinds = {n: infer_kind(empty[n].dtype, n, discrete) for n in names}
    norms = check_options(kinds, normalization, log1p, discrete, names)
    truncate = check_bool(truncate, "truncate")
    if max_sequence_len is not None:
        resolve_lengths([1], [None], max_sequence_len, sample_len, truncate)
    keys = [example_id] + ([time] if time is not None else [])
    columns = [c for c in empty.columns if c in set(keys + names)]
    for file in files[1:]:
        _check_file_columns(file, columns)

    fit = _StreamingFit(
        files, example_id, time, features, attributes, kinds, missing,
        log1p, discrete, max_sequence_len, sample_len, truncate, options,
        sample_size, seed,
    )
    fit.run(columns)
    transformer = fit.transformer(norms, columns)
    series = ParquetSeries(
        files, transformer, fit.units, fit.num_series, fit.full_length,
        fit.settings_sample, columns,
    )
    return series, transformer


def parquet_files(path):
    """The sorted Parquet files of `path` (a file, a folder, or a list)."""
    if isinstance(path, (list, tuple)):
        files = [os.fspath(p) for p in path]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing or not files:
            raise ValueError(
                "`path` must list existing Parquet files. Not found: "
                f"{format_values(missing)}"
            )
        return files
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(
            "`path` must be a Parquet file, a folder of them, or a list of "
            f"files. Received: {type(path).__name__}"
        )
    path = os.fspath(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise ValueError(f"`path` {path!r} is neither a file nor a folder.")
    import pyarrow.dataset as pads

    files = sorted(pads.dataset(path, format="parquet").files)
    if not files:
        raise ValueError(
            f"`path` {path!r} holds no Parquet files (files starting with "
            "'_' or '.' are skipped)."
        )
    return files


def _parquet_file(file):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file)
    except Exception as e:  # pyarrow raises several kinds.
        raise ValueError(f"{file!r} is not a readable Parquet file: {e}") from None


def _empty_table(file):
    """An empty DataFrame with the file's columns and pandas dtypes."""
    return _parquet_file(file).schema_arrow.empty_table().to_pandas()


def _check_file_columns(file, columns):
    names = _parquet_file(file).schema_arrow.names
    absent = [c for c in columns if c not in names]
    if absent:
        raise ValueError(
            f"{file!r} lacks the column(s) {format_values(absent)}, which "
            "the first file has; every file needs the same columns."
        )


def _where(file, start, stop):
    return f"In {os.path.basename(file)!r} (rows {start}..{stop - 1}): "


# === The training input ===


class ParquetSeries:
    """The series of a folder of Parquet files, encoded on the fly for
    `fit` (built by `from_parquet`, which fits its transformer).

    Each epoch reads the files once, row group by row group in a shuffled
    order, encodes each group's series with the transformer and mixes them
    in a buffer of `shuffle_buffer` series before cutting batches: every
    series is in exactly one batch of an epoch (the last batch may be
    smaller), and the same seed gives the same batches. A thread prepares
    the batches ahead of the training step.

    Args:
        files: list of the Parquet files.
        transformer: the fitted `TableTransformer` (long layout).
        units, num_series, full_length, settings_sample, columns: what
            `from_parquet`'s pass measured (the row groups where series
            start and how many start in each, the number of series, whether
            all have the full length, a sample of series encoded as a
            `TimeSeriesDataset`, the columns to read).

    Example:

    >>> series, transformer = from_parquet(folder, "id", "t", ["x"])  # doctest: +SKIP
    >>> series.fit(model, batch_size=100, epochs=5)                   # doctest: +SKIP
    """

    def __init__(self, files, transformer, units, num_series, full_length,
                 settings_sample, columns):
        self.files = list(files)
        self.transformer = transformer
        self.units = list(units)
        self.num_series = int(num_series)
        self.full_length = bool(full_length)
        self.settings_sample = settings_sample
        self.columns = list(columns)

    def __len__(self):
        return self.num_series

    def __repr__(self):
        return (
            f"ParquetSeries(files={len(self.files)}, "
            f"series={self.num_series}, "
            f"max_sequence_len={self.max_sequence_len})"
        )

    @property
    def max_sequence_len(self):
        return self.transformer.max_sequence_len

    @property
    def feature_outputs(self):
        return self.transformer.feature_outputs

    @property
    def attribute_outputs(self):
        return self.transformer.attribute_outputs

    def num_batches(self, batch_size):
        return -(-self.num_series // batch_size)

    # --- Batches ----------------------------------------------------------

    def batches(self, batch_size=100, *, seed=0, epoch=0, shuffle=True,
                shuffle_buffer=DEFAULT_SHUFFLE_BUFFER):
        """Yields one epoch of batches: dicts of float32 arrays `features`
        [B, T, F], `attributes` [B, A] and `gen_flag` [B, T].

        Args:
            batch_size: int. Defaults to 100.
            seed: int. Seed of the shuffle. Defaults to 0.
            epoch: int. The epoch (each has its own order). Defaults to 0.
            shuffle: bool. False reads the series in file order (the
                order of `from_dataframe` when the files are sorted by
                id). Defaults to True.
            shuffle_buffer: int. Series mixed at once. Defaults to 10,000.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        for arrays in self.blocks(batch_size, seed=seed, epoch=epoch,
                                  shuffle=shuffle,
                                  shuffle_buffer=shuffle_buffer):
            for start in range(0, len(arrays[0]), batch_size):
                yield _batch(arrays, start, start + batch_size)

    def blocks(self, batch_size=100, *, seed=0, epoch=0, shuffle=True,
               shuffle_buffer=DEFAULT_SHUFFLE_BUFFER):
        """`batches`' series in blocks `(features, attributes, gen_flag)`
        of whole batches (the last block may end with a smaller one):
        batch k of the epoch is rows `[k * batch_size, (k + 1) *
        batch_size)` of the blocks put end to end."""
        batch_size = check_positive_int(batch_size, "batch_size")
        seed = check_seed(seed)
        shuffle = check_bool(shuffle, "shuffle")
        shuffle_buffer = check_positive_int(shuffle_buffer, "shuffle_buffer")
        rng = np.random.default_rng([seed, int(epoch)])
        order = (
            rng.permutation(len(self.units)) if shuffle
            else np.arange(len(self.units))
        )
        pool, pooled = [], 0
        for k in order:
            arrays = self.encode_unit(self.units[k])
            if arrays is None:
                continue
            pool.append(arrays)
            pooled += len(arrays[0])
            if pooled >= max(shuffle_buffer, batch_size):
                arrays = _mix(pool, rng if shuffle else None)
                full = len(arrays[0]) // batch_size * batch_size
                yield tuple(a[:full] for a in arrays)
                pool = [tuple(a[full:] for a in arrays)]
                pooled = len(arrays[0]) - full
        if pooled:
            yield _mix(pool, rng if shuffle else None)

    def encode_unit(self, unit):
        """`(features, attributes, gen_flag)` of the series that start in
        one row group, or None when `missing="drop"` dropped them all."""
        table, first = unit.read_table(self.columns)
        arrays = _encode_plain(self.transformer, table)
        if arrays is not None:
            return arrays
        df = table.to_pandas()
        df.index = pd.RangeIndex(first, first + len(df))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Dropped series: told at fit.
            try:
                encoded = self.transformer.transform(df)
            except ValueError as e:
                if str(e).startswith("missing='drop' left nothing"):
                    return None
                raise ValueError(
                    _where(unit.file, df.index[0], df.index[-1] + 1) + str(e)
                ) from None
        return encoded.features, encoded.attributes, encoded.gen_flag

    def training_data(self, batch_size=100, *, seed=0, shuffle=True,
                      shuffle_buffer=DEFAULT_SHUFFLE_BUFFER, kind=None):
        """The input of `model.fit`: a `tf.data.Dataset` on TensorFlow, a
        `keras.utils.PyDataset` elsewhere, of `batches` (epoch k of `fit`
        is `batches(..., epoch=k)`), prepared ahead on a thread.

        Args:
            batch_size, seed, shuffle, shuffle_buffer: as in `batches`.
            kind: `"tf.data"`, `"pydataset"` or None (the backend's).
                Defaults to None.
        """
        check_positive_int(batch_size, "batch_size")
        check_positive_int(shuffle_buffer, "shuffle_buffer")
        if kind is None:
            kind = (
                "tf.data" if keras.config.backend() == "tensorflow"
                else "pydataset"
            )
        options = dict(batch_size=batch_size, seed=check_seed(seed),
                       shuffle=check_bool(shuffle, "shuffle"),
                       shuffle_buffer=shuffle_buffer)
        if kind == "pydataset":
            return _ParquetBatches(self, options)
        if kind != "tf.data":
            raise ValueError(
                "`kind` must be 'tf.data', 'pydataset' or None. Received: "
                f"{kind!r}"
            )
        return self._tf_dataset(options)

    def _tf_dataset(self, options):
        import tensorflow as tf

        t = self.max_sequence_len
        f = sum(o.dim for o in self.feature_outputs)
        a = sum(o.dim for o in self.attribute_outputs)
        signature = {
            "features": tf.TensorSpec((None, t, f), tf.float32),
            "attributes": tf.TensorSpec((None, a), tf.float32),
            "gen_flag": tf.TensorSpec((None, t), tf.float32),
        }
        epochs = iter(range(1 << 62))
        batch_size = options.pop("batch_size")

        def epoch():
            blocks = _ahead(self.blocks(batch_size, epoch=next(epochs),
                                        **options))
            try:
                for features, attributes, gen_flag in blocks:
                    yield {"features": features, "attributes": attributes,
                           "gen_flag": gen_flag}
            finally:
                blocks.close()

        # Blocks cross into TensorFlow in one piece; tf.data cuts them.
        dataset = tf.data.Dataset.from_generator(
            epoch, output_signature=signature
        ).flat_map(
            lambda block: tf.data.Dataset.from_tensor_slices(block).batch(
                batch_size
            )
        )
        dataset = dataset.apply(
            tf.data.experimental.assert_cardinality(
                self.num_batches(batch_size)
            )
        )
        return dataset.prefetch(2)

    # --- Settings from the data -------------------------------------------

    def settings_data(self):
        """What `DoppelGANger.fit` reads from in-memory data to decide
        `full_length=None` and `block_heads="auto"`, to start the
        missingness channels and to calibrate their draws, from the pass: a
        dict with the `features` and `gen_flag` of up to 1,000 sampled
        series, and `full_length` (whether every series has the full
        length, not only the sampled ones)."""
        return {"features": self.settings_sample.features,
                "gen_flag": self.settings_sample.gen_flag,
                "full_length": self.full_length}

    def apply_settings(self, model):
        """Makes `model`'s data-dependent decisions (`full_length=None`,
        `block_heads="auto"`) from these series, as `fit` does for
        in-memory data; `fit` from `training_data` does not. Raises
        `ValueError` when the model's specs are not these series'."""
        for name in ("feature_outputs", "attribute_outputs",
                     "max_sequence_len"):
            got, expected = getattr(model, name), getattr(self, name)
            if got != expected:
                raise ValueError(
                    f"The model's {name} {got} differ from the series' "
                    f"{expected} (build the model from the transformer's)."
                )
        model._settings_from_data(self.settings_data())

    def fit(self, model, batch_size=100, *, seed=0, shuffle=True,
            shuffle_buffer=DEFAULT_SHUFFLE_BUFFER, **kwargs):
        """`apply_settings(model)`, then `model.fit` on `training_data`.

        Args:
            model: a compiled `DoppelGANger` with these series' specs.
            batch_size, seed, shuffle, shuffle_buffer: as in `batches`.
            **kwargs: `model.fit`'s other arguments (`epochs`,
                `time_budget`, `callbacks`, ...).

        Returns:
            The `History` of `model.fit`.
        """
        data = self.training_data(batch_size, seed=seed, shuffle=shuffle,
                                  shuffle_buffer=shuffle_buffer)
        self.apply_settings(model)
        return model.fit(data, **kwargs)


class _ParquetBatches(keras.utils.PyDataset):
    """`ParquetSeries.batches` as a `PyDataset`, read in order: batch 0
    starts an epoch (a new one after each `on_epoch_end`)."""

    def __init__(self, series, options):
        super().__init__(workers=1, use_multiprocessing=False)
        self.series, self.options = series, options
        self.epoch, self._next, self._batches = 0, None, None

    def __len__(self):
        return self.series.num_batches(self.options["batch_size"])

    def __getitem__(self, index):
        if index == 0 or self._batches is None:
            if self._batches is not None:
                self._batches.close()
            self._batches = _ahead(
                self.series.batches(epoch=self.epoch, **self.options)
            )
            self._next = 0
        if index != self._next:
            raise ValueError(
                f"Batches of Parquet series are read in order: expected "
                f"batch {self._next}, asked for {index} (use workers=1 and "
                "no shuffling in fit)."
            )
        self._next += 1
        return next(self._batches)

    def on_epoch_end(self):
        self.epoch += 1
        if self._batches is not None:
            self._batches.close()
        self._batches = None


def _encode_plain(transformer, table):
    """`transformer.transform`'s arrays for a unit without missing values,
    gaps or surprises, straight from the Arrow table (the fit has checked
    its values); None for anything else, which `transform` then encodes
    (or names the problem of)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0 or any(
        table.column(c).null_count for c in table.column_names
    ):
        return None
    ids = table.column(transformer.example_id)
    try:
        ids = ids.to_numpy()
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    except (TypeError, ValueError, pa.ArrowException):
        return None
    n, t = len(starts), transformer.max_sequence_len
    lengths = np.diff(np.r_[starts, len(ids)])
    series = np.repeat(np.arange(n), lengths)
    step = np.arange(len(ids)) - starts[series]
    order = None
    if transformer.time is not None:
        times = _sortable_times(table.column(transformer.time))
        if times is None:
            return None
        inside = step[1:] > 0
        diffs = (times[1:] - times[:-1])[inside]
        if len(diffs):
            if (diffs <= 0).any():
                return None  # Unordered (or repeated) times: transform.
            if np.issubdtype(diffs.dtype, np.floating):
                if not np.allclose(diffs, diffs[0], rtol=1e-9, atol=0.0):
                    return None
            elif (diffs != diffs[0]).any():
                return None  # Gaps.
    if lengths.max() > t and not transformer.truncate:
        return None
    keep = step < t
    series, step = series[keep], step[keep]
    width = transformer._feature_width()
    features = np.zeros((n, t, width), dtype="float32")
    start = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for spec in transformer.features:
                column = table.column(spec["name"]).filter(pa.array(keep))
                block = _encode_arrow(spec, column, pc, pa)
                if block is None:
                    return None
                features[series, step, start:start + block.shape[1]] = block
                start += block.shape[1]
            for spec in transformer.features:
                if spec.get("missing_channel"):
                    features[series, step, start] = 1.0  # Present.
                    start += 2
            blocks = []
            for spec in transformer.attributes:
                column = table.column(spec["name"]).take(pa.array(starts))
                block = _encode_arrow(spec, column, pc, pa)
                if block is None:
                    return None
                blocks.append(block)
        except (ValueError, TypeError, pa.ArrowException):
            return None
    attributes = (
        np.concatenate(blocks, axis=1) if blocks
        else np.zeros((n, 0), dtype="float32")
    )
    lengths = np.minimum(lengths, t)
    gen_flag = (np.arange(t)[None, :] < lengths[:, None]).astype("float32")
    return features, attributes, gen_flag


def _sortable_times(column):
    """A time column as int64 (datetimes, timedeltas: their ticks) or
    float64, or None for a type `transform` should handle."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_duration(kind):
        return column.cast(pa.int64()).to_numpy()
    if pa.types.is_integer(kind):
        return column.to_numpy().astype("int64")
    if pa.types.is_floating(kind):
        values = column.to_numpy().astype("float64")
        return None if np.isnan(values).any() else values
    return None


def _encode_arrow(spec, column, pc, pa):
    """One column's [R, width] encoding (`encode_column`), or None."""
    from keras_dg.data.columns import encode_column

    if spec["kind"] == "continuous":
        kind = column.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return None
        values = column.to_numpy().astype("float64")
        if np.isnan(values).any() or np.isinf(values).any():
            return None
        return encode_column(spec, values, None)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    categories = pa.array(spec["categories"])
    if not (
        categories.type == column.type
        or (pa.types.is_string(categories.type)
            and pa.types.is_large_string(column.type))
        or (pa.types.is_integer(categories.type)
            and pa.types.is_integer(column.type))
    ):
        return None
    index = pc.index_in(column, value_set=categories.cast(column.type))
    if index.null_count:
        return None
    index = index.to_numpy()
    return np.eye(len(spec["categories"]), dtype="float32")[index]


def _mix(pool, rng):
    """The pool's arrays concatenated, rows permuted by `rng` (if any)."""
    arrays = tuple(np.concatenate(parts) for parts in zip(*pool))
    if rng is None:
        return arrays
    order = rng.permutation(len(arrays[0]))
    return tuple(a[order] for a in arrays)


def _batch(arrays, start, stop):
    features, attributes, gen_flag = (a[start:stop] for a in arrays)
    return {"features": features, "attributes": attributes,
            "gen_flag": gen_flag}


class _ahead:
    """Iterates `iterator` on a daemon thread, `_PREFETCH` items ahead;
    re-raises its errors; `close` stops the thread."""

    def __init__(self, iterator, size=_PREFETCH):
        self._queue = queue.Queue(size)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(iterator,), daemon=True
        )
        self._done = False
        self._thread.start()

    def _run(self, iterator):
        try:
            for item in iterator:
                if not self._put(("item", item)):
                    return
        except BaseException as e:  # Handed to the consumer.
            self._put(("error", e))
            return
        self._put(("end", None))

    def _put(self, entry):
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "item":
            return value
        self._done = True
        self.close()
        if kind == "error":
            raise value
        raise StopIteration

    def close(self):
        self._stop.set()

    def __del__(self):
        self._stop.set()


# === Series that may span row groups ===


def _series_starts(ids):
    """Indices where a new run of ids begins (0 excluded)."""
    if len(ids) < 2:
        return np.zeros(0, dtype="int64")
    return np.flatnonzero(ids[1:] != ids[:-1]) + 1


def _read_groups(file, columns):
    """Yields `(group, table as DataFrame indexed by file row)` of a file."""
    pf = _parquet_file(file)
    offset = 0
    for group in range(pf.num_row_groups):
        df = pf.read_row_group(group, columns=columns).to_pandas()
        df.index = pd.RangeIndex(offset, offset + len(df))
        offset += len(df)
        yield group, df


class _Unit:
    """The series that start in one row group of one file: read groups
    `first..last`, keep rows `[skip, stop)` of their concatenation."""

    __slots__ = ("file", "first", "last", "skip", "stop", "num_series")

    def __init__(self, file, first, skip):
        self.file, self.first, self.last = file, first, first
        self.skip, self.stop, self.num_series = skip, None, 0

    def read_table(self, columns):
        """`(pyarrow Table of the unit's rows, file row of its first)`."""
        pf = _parquet_file(self.file)
        groups = list(range(self.first, self.last + 1))
        # One thread: the cores are the training step's.
        table = pf.read_row_groups(groups, columns=columns, use_threads=False)
        stop = table.num_rows if self.stop is None else self.stop
        first = _rows_between(self.file, 0, self.first) + self.skip
        return table.slice(self.skip, stop - self.skip), first

    def read(self, columns):
        """The unit's rows as a DataFrame indexed by file row."""
        table, first = self.read_table(columns)
        df = table.to_pandas()
        df.index = pd.RangeIndex(first, first + len(df))
        return df


# === The streaming fit ===


class _Reservoir:
    """A uniform sample of up to `size` values of a stream (bottom-k of
    random keys), with where each came from (file index, row label), and
    the stream's exact minimum and maximum."""

    def __init__(self, size, rng):
        self.size, self.rng = size, rng
        self.keys = np.zeros(0)
        self.values = np.zeros(0)
        self.files = np.zeros(0, dtype="int32")
        self.rows = np.zeros(0, dtype="int64")
        self.count = 0
        self.low = self.high = None

    def add(self, values, file, rows):
        """Adds `values` of file number `file`, rows `rows` (int64 labels,
        -1 for rows the gap filling made)."""
        if not len(values):
            return
        self.count += len(values)
        i, j = int(np.argmin(values)), int(np.argmax(values))
        if self.low is None or values[i] < self.low[0]:
            self.low = (values[i], file, rows[i])
        if self.high is None or values[j] > self.high[0]:
            self.high = (values[j], file, rows[j])
        keys = self.rng.random(len(values))
        if len(self.keys) >= self.size:
            take = np.flatnonzero(keys < self.keys.max())
            if not len(take):
                return
            keys, values, rows = keys[take], values[take], rows[take]
        self.keys = np.concatenate([self.keys, keys])
        self.values = np.concatenate([self.values, values])
        self.files = np.concatenate(
            [self.files, np.full(len(keys), file, dtype="int32")]
        )
        self.rows = np.concatenate([self.rows, rows])
        if len(self.keys) > self.size:
            keep = np.sort(np.argpartition(self.keys, self.size - 1)[:self.size])
            self.keys, self.values = self.keys[keep], self.values[keep]
            self.files, self.rows = self.files[keep], self.rows[keep]

    def sample(self):
        """`(values, files, rows)`: the whole stream when it fit in the
        sample, else the sample with the extremes added."""
        values, files, rows = self.values, self.files, self.rows
        if self.count > self.size:
            values = np.concatenate([values, [self.low[0], self.high[0]]])
            files = np.concatenate([files, [self.low[1], self.high[1]]])
            rows = np.concatenate([rows, [self.low[2], self.high[2]]])
        return values, files, rows


class _Discrete:
    """The distinct values of a discrete column, whether any repeats, and
    the dtypes its row groups had."""

    def __init__(self):
        self.values = {}
        self.present = 0
        self.repeats = False
        self.has_missing = False

    def add(self, values):
        values = pd.Series(np.asarray(values, dtype=object))
        self.has_missing |= bool(values.isna().any())
        present = values.dropna()
        unique = pd.unique(present.to_numpy())
        self.present += len(present)
        self.repeats |= len(unique) < len(present)
        before = len(self.values)
        for v in unique:
            self.values.setdefault(v, None)
        self.repeats |= len(self.values) < before + len(unique)

    def sample(self):
        """Values with the same distinct values and, when any repeats, one
        repeat: what `check_categories` and `_categories` need."""
        values = list(self.values)
        if self.repeats and values:
            values.append(values[0])
        return np.asarray(values, dtype=object)


class _StreamingFit:
    """The state `from_dataframe` measures, accumulated row group by row
    group (`run`), then the transformer (`transformer`)."""

    def __init__(self, files, example_id, time, features, attributes, kinds,
                 missing, log1p, discrete, max_sequence_len, sample_len,
                 truncate, options, sample_size, seed):
        self.files, self.example_id, self.time = files, example_id, time
        self.features, self.attributes = features, attributes
        self.kinds, self.missing, self.log1p = kinds, missing, log1p
        self.discrete = discrete
        self.max_sequence_len, self.sample_len = max_sequence_len, sample_len
        self.truncate, self.options = truncate, options
        self.rng = np.random.default_rng(seed)
        self.values = {}
        for name in features + attributes:
            if kinds[name] == "continuous":
                self.values[name] = _Reservoir(sample_size, self.rng)
            else:
                self.values[name] = _Discrete()
        self.dtypes = {}
        self.channels = set()
        self.constant_ok = {name: True for name in attributes}
        self.num_series = 0
        self.min_length = self.max_length = None
        self.longest = None
        self.id_hashes = []
        self.dropped, self.dropped_total = [], 0
        self.steps = {}  # step -> (file, series) where first seen
        self.grid = {"first": None, "step": None, "regular": True}
        self.units = []
        self.settings_keys = np.zeros(0)
        self.settings_rows = None

    # --- The pass ---------------------------------------------------------

    def run(self, columns):
        for file in self.files:
            self._run_file(file, columns)
        if self.num_series == 0:
            raise ValueError(
                "missing='drop' left nothing: every series has missing "
                "values."
            )
        self._check_ids()
        if self.dropped_total:
            warnings.warn(
                f"missing='drop': dropped {self.dropped_total} series that "
                f"have missing values: {format_values(self.dropped)}"
                + (" ..." if self.dropped_total > len(self.dropped) else "")
                + ".",
                UserWarning,
                stacklevel=3,
            )
        if len(self.steps) > 1:
            (a, (fa, sa)), (b, (fb, sb)) = list(self.steps.items())[:2]
            raise ValueError(
                f"The `time` column {self.time!r} has different steps in "
                f"different series: {to_python(a)!r} in series {sa!r} "
                f"({os.path.basename(fa)!r}), {to_python(b)!r} in series "
                f"{sb!r} ({os.path.basename(fb)!r}). Fitting from Parquet "
                "files needs one step for the whole folder (in memory, the "
                "coarser series would be series with gaps); put the series "
                "on one grid first."
            )

    def _run_file(self, file, columns):
        """Cuts a file's row groups into complete series: `carry` is the
        last series read, which may go on in the next group; `owner` the
        unit (row group) where it starts."""
        carry, owner, previous = None, None, None
        for group, df in _read_groups(file, columns):
            ids = df[self.example_id]
            no_id = ids.isna().to_numpy()
            if no_id.any():
                raise ValueError(
                    _where(file, df.index[0], df.index[-1] + 1)
                    + f"the `example_id` column {self.example_id!r} is "
                    f"missing in rows {format_values(df.index[no_id])}; "
                    "every row needs a series id."
                )
            if not len(df):
                continue
            ids = ids.to_numpy()
            starts = _series_starts(ids)
            lead = 0
            if carry is not None and ids[0] == carry[self.example_id].iloc[-1]:
                lead = int(starts[0]) if len(starts) else len(df)
                owner.last = group
                if lead == len(df):  # The carried series fills the group.
                    carry = pd.concat([carry, df])
                    continue
                owner.stop = _rows_between(file, owner.first, group) + lead
                carry = pd.concat([carry, df.iloc[:lead]])
            else:
                starts = np.concatenate([[0], starts]).astype("int64")
            if carry is not None:
                self._chunk(file, carry, owner)
            unit = _Unit(file, group, lead)
            self.units.append(unit)
            last = int(starts[-1])
            if last > lead:
                self._chunk(file, df.iloc[lead:last], unit)
            carry, owner = df.iloc[last:], unit
        if carry is not None:
            self._chunk(file, carry, owner)

    def _chunk(self, file, df, unit):
        """Fits on `df`, complete series of `file` that start in `unit`."""
        where = _where(file, df.index[0], df.index[-1] + 1)
        ids = df[self.example_id].to_numpy()
        run_ids = ids[np.concatenate([[0], _series_starts(ids)])]
        self.id_hashes.append(_hash_ids(run_ids))
        self._record_dtypes(file, df)
        names = self.features + self.attributes
        try:
            check_text_numbers(df, names, self.discrete, "raise")
            if self.time is not None:
                self._check_steps(file, df)
            rows = _prepare(df, self.example_id, self.time, self.kinds,
                            self.features, self.attributes, self.missing)
            if rows is not None and self.max_sequence_len is not None:
                resolve_lengths(
                    rows.lengths, rows.series_labels, self.max_sequence_len,
                    self.sample_len or 1, self.truncate,
                )
        except ValueError as e:
            raise ValueError(where + str(e)) from None
        kept = [] if rows is None else rows.series_labels
        if len(kept) < len(run_ids):
            dropped = [to_python(i) for i in pd.unique(run_ids)
                       if i not in set(kept)]
            self.dropped_total += len(dropped)
            self.dropped += dropped[:max(0, 5 - len(self.dropped))]
        if rows is None:
            return
        unit.num_series += len(kept)
        self.num_series += len(kept)
        lengths = rows.lengths
        low, high = int(lengths.min()), int(lengths.max())
        self.min_length = low if self.min_length is None else min(
            self.min_length, low
        )
        self.max_length = high if self.max_length is None else max(
            self.max_length, high
        )
        keep = (
            rows.row_step < self.max_sequence_len
            if self.max_sequence_len is not None
            else np.ones(len(rows.row_step), dtype=bool)
        )
        self._fit_values(rows, keep, file)
        if self.time is not None:
            self._fit_grid(rows, keep)
        self._keep_for_settings(df, rows)

    def _record_dtypes(self, file, df):
        for name in self.features + self.attributes + (
            [self.time] if self.time is not None else []
        ):
            dtype = df[name].dtype
            seen = self.dtypes.get(name)
            if seen is None:
                self.dtypes[name] = (dtype, file)
                continue
            merged = _merge_dtypes(seen[0], dtype)
            if merged is None:
                raise ValueError(
                    f"Column {name!r} has dtype {seen[0]} in "
                    f"{os.path.basename(seen[1])!r} but {dtype} in "
                    f"{os.path.basename(file)!r}; every file needs the same "
                    "column types."
                )
            self.dtypes[name] = (merged, seen[1])

    def _check_steps(self, file, df):
        """Every series' smallest step between rows is the folder's."""
        from keras_dg.data.table_rows import _long_order

        _, codes, uniques, times = _long_order(df, self.example_id, self.time)
        if len(times) < 2:
            return
        same = codes[1:] == codes[:-1]
        diffs = times[1:] - times[:-1]
        positive = same & (diffs > 0)
        if not positive.any():
            return
        series = codes[1:][positive]
        values = diffs[positive]
        order = np.lexsort((values, series))
        firsts = np.concatenate([[True], series[order][1:] != series[order][:-1]])
        for code, step in zip(series[order][firsts], values[order][firsts]):
            key = self._step_key(step)
            if key not in self.steps:
                self.steps[key] = (file, to_python(uniques[code]))
                if len(self.steps) > 1:
                    return

    def _step_key(self, step):
        if isinstance(step, (float, np.floating)):
            for known in self.steps:
                if np.isclose(known, step, rtol=1e-9, atol=0.0):
                    return known
        return step

    def _fit_values(self, rows, keep, file):
        number = self.files.index(file)
        row_labels = _int_labels(rows.row_labels[keep])
        for name in self.features:
            values = rows.features[name]
            values = values[keep] if isinstance(values, np.ndarray) else (
                values[keep].reset_index(drop=True)
            )
            gaps = rows.missing_masks.get(name)
            if gaps is not None and gaps[keep].any():
                self.channels.add(name)
            self._add(name, values, number, row_labels, "feature")
        # An attribute's rows are its series' first rows.
        first_rows = _int_labels(rows.row_labels[rows.starts])
        for name in self.attributes:
            values = rows.attributes[name]
            self._add(name, values, number, first_rows, "attribute")
            if pd.isna(np.asarray(values, dtype=object)).any():
                self.constant_ok[name] = False

    def _add(self, name, values, number, row_labels, role):
        state = self.values[name]
        if isinstance(state, _Discrete):
            state.add(values)
            limit = self.options["max_categories"]
            dtype = self.dtypes[name][0]
            if (
                limit is not None
                and len(state.values) > limit
                and not isinstance(dtype, pd.CategoricalDtype)
            ):
                check_categories(name, role, list(state.values),
                                 state.sample(), False, limit)
            return
        x = np.asarray(values, dtype="float64")
        if name in self.log1p:
            bad = ~(x > -1)
            if bad.any():
                shown = [_Label(self.files[number], r) for r in row_labels[bad]]
                raise ValueError(
                    f"Column {name!r} is listed in `log1p`, which needs "
                    f"values > -1, but it holds {format_values(x[bad])} "
                    f"(rows {format_values(shown)})."
                )
        state.add(x, number, row_labels)

    def _fit_grid(self, rows, keep):
        times, steps = rows.times[keep], rows.row_step[keep]
        grid = self.grid
        firsts = times[steps == 0]
        later = np.flatnonzero(steps > 0)
        if grid["first"] is None and len(firsts):
            grid["first"] = firsts[0]
        if len(firsts) and not np.all(firsts == grid["first"]):
            grid["regular"] = False
        if len(later):
            diffs = times[later] - times[later - 1]
            if grid.get("step") is None:
                grid["step"] = diffs[0]
            if np.issubdtype(diffs.dtype, np.floating):
                regular = np.allclose(diffs, grid["step"], rtol=1e-9, atol=0.0)
            else:
                regular = bool(np.all(diffs == grid["step"]))
            grid["regular"] &= regular

    def _keep_for_settings(self, df, rows):
        """Keeps the raw rows of a uniform sample of `SETTINGS_SERIES`
        series (all of them up to that many) for `block_heads="auto"`."""
        labels = np.asarray(rows.series_labels, dtype=object)
        keys = self.rng.random(len(labels))
        if len(self.settings_keys) >= SETTINGS_SERIES:
            take = keys < self.settings_keys.max()
        else:
            take = np.ones(len(labels), dtype=bool)
        if not take.any():
            return
        chosen = df[df[self.example_id].isin(labels[take])]
        key_of = dict(zip(labels[take], keys[take]))
        chosen = chosen.assign(
            _settings_key=chosen[self.example_id].map(key_of).to_numpy()
        )
        table = chosen if self.settings_rows is None else pd.concat(
            [self.settings_rows, chosen]
        )
        self.settings_keys = np.concatenate([self.settings_keys, keys[take]])
        if len(self.settings_keys) > SETTINGS_SERIES:
            threshold = np.sort(self.settings_keys)[SETTINGS_SERIES - 1]
            self.settings_keys = self.settings_keys[
                self.settings_keys <= threshold
            ]
            table = table[table["_settings_key"] <= threshold]
        self.settings_rows = table

    def _check_ids(self):
        """No series id comes back after another series' rows."""
        hashes = np.concatenate(self.id_hashes)
        self.id_hashes = None
        unique, counts = np.unique(hashes, return_counts=True)
        repeated = unique[counts > 1]
        if not len(repeated):
            return
        series, places = None, []
        for file in self.files:
            last = None
            for _, df in _read_groups(file, [self.example_id]):
                ids = df[self.example_id].to_numpy()
                run_ids = ids[np.concatenate([[0], _series_starts(ids)])]
                if last is not None and len(run_ids) and run_ids[0] == last:
                    run_ids = run_ids[1:]
                last = ids[-1] if len(ids) else last
                hashes = _hash_ids(run_ids)
                if series is None:
                    found = np.flatnonzero(np.isin(hashes, repeated))
                    if not len(found):
                        continue
                    series = run_ids[found[0]]
                    hashes, run_ids = hashes[found[0] + 1:], run_ids[found[0] + 1:]
                    places.append(os.path.basename(file))
                if (run_ids == series).any():
                    places.append(os.path.basename(file))
                    break
            if len(places) > 1:
                break
        places = list(dict.fromkeys(places))
        raise ValueError(
            f"The rows of series {to_python(series)!r} (column "
            f"{self.example_id!r}) are not contiguous: they come back after "
            f"other series' rows (in {', '.join(map(repr, places))}). "
            "Fitting from Parquet files needs each series in one run of "
            "rows of one file: sort or group the table by the id before "
            "writing it."
        )

    # --- The transformer --------------------------------------------------

    def transformer(self, norms, columns):
        t, s = resolve_lengths(
            [self.max_length], [None], self.max_sequence_len,
            self.sample_len, True,
        )
        self.max_sequence_len, self.sample_len = t, s
        self.full_length = self.min_length >= t
        options = self.options
        feature_specs, constants = [], []
        for name in self.features:
            # A feature with gaps modelled as data is not constant.
            constant = (
                None if name in self.channels
                else self._constant(name, "feature")
            )
            if constant is not None:
                constants.append({**constant, "name": name})
                continue
            spec = self._spec(name, "feature", norms, options)
            if name in self.channels:
                spec["missing_channel"] = True
            feature_specs.append(spec)
        check_some_feature_varies(self.features, constants)
        attribute_specs = []
        for name in self.attributes:
            constant = self._constant(name, "attribute")
            if constant is not None:
                constants.append({**constant, "name": name})
                continue
            attribute_specs.append(self._spec(name, "attribute", norms, options))
        warn_constants(constants, stacklevel=4)
        grid = None
        if self.time is not None and self.grid["regular"] and (
            self.grid.get("step") is not None
        ):
            first, step = self.grid["first"], self.grid["step"]
            rows = _GridRows(np.array([first, first + step]))
            dtype = self.dtypes[self.time][0]
            grid = fit_time_grid(rows, time_kind(dtype), dtype,
                                 np.ones(2, dtype=bool))
        transformer = TableTransformer(
            layout="long", features=feature_specs, attributes=attribute_specs,
            max_sequence_len=t, sample_len=s, example_id=self.example_id,
            time=self.time, time_grid=grid,
            column_order=[to_python(c) for c in columns],
            missing=self.missing, truncate=self.truncate, constants=constants,
        )
        self.settings_sample = self._settings_sample(transformer)
        return transformer

    def _spec(self, name, role, norms, options):
        kind, dtype = self.kinds[name], self.dtypes[name][0]
        state = self.values[name]
        log1p = name in self.log1p
        if kind == "discrete":
            values = state.sample()
            labels = np.empty(len(values), dtype=object)
            return fit_column_spec(name, kind, dtype, values, norms, log1p,
                                   role, labels, options)
        values, files, rows = state.sample()
        labels = np.empty(len(values), dtype=object)
        far = outlier_mask(np.log1p(values) if log1p else values)
        for i in np.flatnonzero(far):  # Named only in the outlier error.
            labels[i] = _Label(self.files[files[i]], rows[i])
        return fit_column_spec(name, kind, dtype, values, norms, log1p,
                               role, labels, options)

    def _constant(self, name, role):
        if not self.constant_ok.get(name, True):
            return None
        state = self.values[name]
        dtype = self.dtypes[name][0]
        if isinstance(state, _Discrete):
            if len(state.values) != 1 or state.has_missing:
                return None
            values = np.asarray(list(state.values), dtype=object)
        else:
            if state.low is None or state.low[0] != state.high[0]:
                return None
            values = np.asarray([state.low[0]], dtype="float64")
        return constant_spec(values, dtype, role)

    def _settings_sample(self, transformer):
        """The sampled series, encoded (`apply_settings`)."""
        if self.settings_rows is None:
            return None
        table = self.settings_rows.drop(columns="_settings_key")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return transformer.transform(table)


class _GridRows:
    """The two rows `fit_time_grid` needs: a first time and the next."""

    def __init__(self, times):
        self.times = times
        self.row_step = np.array([0, 1])


class _Label:
    """A row in error messages: its file and row."""

    def __init__(self, file, row):
        self.file, self.row = os.path.basename(file), int(row)

    def __repr__(self):
        if self.row < 0:
            return f"{self.file}: a filled missing step"
        return f"{self.file}:{self.row}"


def _int_labels(labels):
    """Row labels as int64 (-1 for the rows that gap filling made)."""
    try:
        return np.asarray(labels, dtype="int64")
    except (TypeError, ValueError):
        return np.array(
            [v if isinstance(v, (int, np.integer)) else -1 for v in labels],
            dtype="int64",
        )


def _hash_ids(ids):
    return pd.util.hash_array(np.asarray(ids, dtype=object))


def _rows_between(file, first, stop):
    """The rows of row groups `first..stop-1` of `file`."""
    metadata = _parquet_file(file).metadata
    return sum(metadata.row_group(g).num_rows for g in range(first, stop))


def _prepare(df, example_id, time, kinds, features, attributes, missing):
    """`prepare_long` of complete series, without its warnings about
    dropped series (counted by the caller); `None` when
    `missing="drop"` dropped every series."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rows = prepare_long(df, example_id, time, kinds, features,
                                attributes, missing)
        except ValueError as e:
            if missing == "drop" and str(e).startswith(
                "missing='drop' left nothing"
            ):
                return None
            raise
    for w in caught:
        if not str(w.message).startswith("missing='drop': dropped"):
            warnings.warn_explicit(w.message, w.category, w.filename,
                                   w.lineno)
    return rows


def _merge_dtypes(a, b):
    """The pandas dtype of a column whose row groups read as `a` and `b`
    (an integer column with missing values in some reads as float64), or
    None when they cannot be one column."""
    if a == b:
        return a
    if isinstance(a, pd.CategoricalDtype) and isinstance(b, pd.CategoricalDtype):
        merged = list(a.categories)
        merged += [c for c in b.categories if c not in set(merged)]
        try:
            merged = sorted(merged)
        except TypeError:
            pass
        return pd.CategoricalDtype(merged, a.ordered and b.ordered)
    kinds = {getattr(a, "kind", None), getattr(b, "kind", None)}
    if kinds <= {"i", "u", "f"}:
        return np.dtype("float64")
    if kinds <= {"b", "O"}:
        return np.dtype("O")
    return None
