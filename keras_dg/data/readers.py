"""Reading data from wherever it is: tables, original folders, npz files,
and trained models.

- `read_table(path)`: a CSV (`.csv`, compressed too, `.tsv`, `.txt`) or
  Parquet file as a DataFrame.
- `load_table_data(path, ...)`: a table with its column roles, encoded into
  a `TimeSeriesDataset` with its `TableTransformer` (long or wide layout).
- `load_folder_data(folder, ...)`: a folder in the original format, with
  its held-out split.
- `load_any(path, ...)`: a dataset folder or any npz (the original code's
  generated files too), for evaluation.
- `load_model(path)`: a `.keras` DoppelGANger.

Every error is a `ValueError` (or `FileNotFoundError`) naming the input; the
`what`/`names` arguments say how to name them (the `keras-dg` command names
its flags).

Example:

```python
from keras_dg.data import load_table_data

data = load_table_data("hosts.csv", example_id="host", time="minute",
                       features=["cpu", "mem"], attributes=["os"])
data["train"], data["transformer"]
```
"""

import fnmatch
import os
import re

import numpy as np

_SPLIT_FILE = re.compile(r"^data_([A-Za-z0-9_-]+)\.npz$")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".txt", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_PICKLES = ("data_feature_output.pkl", "data_attribute_output.pkl")
_ARRAYS = ("data_feature", "data_attribute", "data_gen_flag")
# How `load_table_data` names its arguments in messages, by default.
TABLE_ARGUMENT_NAMES = {
    "path": "table",
    "test_path": "test table",
    "layout": "`layout`",
    "example_id": "`example_id`",
    "time": "`time`",
    "features": "`features`",
    "attributes": "`attributes`",
}


def read_table(path, what="table"):
    """Reads a CSV or Parquet file into a DataFrame, with a clear error.

    Args:
        path: str or path. A `.csv` (optionally `.gz`, `.bz2`, `.zip`),
            `.tsv`, `.txt`, `.parquet` or `.pq` file. Parquet needs pyarrow
            or fastparquet.
        what: str. How error messages name the input. Defaults to
            `"table"`.

    Returns:
        A `pandas.DataFrame`.
    """
    import pandas as pd

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} '{path}' does not exist.")
    lower = path.lower()
    if lower.endswith(_PARQUET_SUFFIXES):
        try:
            return pd.read_parquet(path)
        except ImportError:
            raise ValueError(
                f"Reading Parquet ({what} '{path}') needs pyarrow or "
                "fastparquet: pip install pyarrow (or convert it to CSV)."
            ) from None
    if lower.endswith(_CSV_SUFFIXES):
        sep = "\t" if lower.endswith(".tsv") else ","
        try:
            return pd.read_csv(path, sep=sep)
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise ValueError(f"{what} '{path}' is not a readable CSV: {e}") \
                from None
    raise ValueError(
        f"{what} '{path}' must be a .csv (optionally .gz/.bz2/.zip), .tsv "
        "or .parquet file."
    )


def expand_columns(table, names, what="`columns`"):
    """Column names with shell patterns (`*`, `?`, `[..]`) expanded in the
    table's column order; names that are columns stay as they are."""
    columns = [str(c) for c in table.columns]
    expanded = []
    for name in names:
        if name in columns or not any(ch in name for ch in "*?["):
            expanded.append(name)
            continue
        matches = [c for c in columns if fnmatch.fnmatchcase(c, name)]
        if not matches:
            raise ValueError(
                f"{what} pattern {name!r} matches no column. Columns: "
                f"{columns[:30]}"
            )
        expanded += matches
    return expanded


def parse_time_column(table, column, what="`time`"):
    """The table with a text `column` parsed as ISO dates (a copy); tables
    without that column, or with numbers or dates in it, as they are."""
    import pandas as pd

    if column is None or column not in table.columns:
        return table
    if table[column].dtype == object or pd.api.types.is_string_dtype(
        table[column].dtype
    ):
        try:
            parsed = pd.to_datetime(table[column], format="ISO8601")
        except (ValueError, TypeError):
            raise ValueError(
                f"{what} column {column!r} holds text that is not a date "
                f"(e.g. {table[column].iloc[0]!r}); use numbers or ISO "
                "dates (2013-01-31)."
            ) from None
        table = table.copy()
        table[column] = parsed
    return table


def _encode_table(table, layout, example_id, time, features, attributes,
                  names, options):
    from keras_dg.data.tables import from_dataframe
    from keras_dg.data.tables import from_wide_dataframe

    if layout == "long":
        if example_id is None:
            raise ValueError(
                f"{names['example_id']} is required for a long table (one "
                "row per series and step); use "
                f"{names['layout']} wide for one row per series."
            )
        table = parse_time_column(table, time, names["time"])
        return from_dataframe(
            table, example_id=example_id, time=time, features=features,
            attributes=attributes, **options,
        )
    if time is not None:
        raise ValueError(
            f"{names['time']} is for long tables; a wide table's steps are "
            f"its {names['features']} columns, in order."
        )
    if not features:
        raise ValueError(
            f"{names['features']} must list the step columns of a wide table"
            " (patterns such as 'day_*' work)."
        )
    return from_wide_dataframe(
        table, features, attributes, example_id=example_id, **options
    )


def load_table_data(path, layout="long", example_id=None, time=None,
                    features=None, attributes=(), test_path=None,
                    names=None, **options):
    """A table file as a dataset and its transformer (+ a test table).

    Args:
        path: str or path. The table (see `read_table`).
        layout: str. `"long"` (one row per series and step) or `"wide"`
            (one row per series, one column per step). Defaults to
            `"long"`.
        example_id: str or None. The column naming each row's series
            (required for long tables).
        time: str or None. Long tables: the column ordering the steps
            (numbers, or ISO dates as text).
        features: list of str or None. Feature columns (shell patterns
            work); wide tables: the step columns in time order.
        attributes: list of str. Per-series metadata columns.
        test_path: str, path or None. A held-out table with the same
            columns, encoded with the training table's transformer.
        names: dict or None. How messages name the arguments (keys of
            `TABLE_ARGUMENT_NAMES`).
        **options: passed to `keras_dg.data.from_dataframe` /
            `from_wide_dataframe` (`sample_len`, `max_sequence_len`,
            `normalization`, `log1p`, `discrete`, `missing`, `truncate`,
            `outliers`, `non_numeric`, `max_categories`).

    Returns:
        dict: `train`, `test` (or None), `transformer`, `source` (a line
        describing the data, then one line per column: its role, kind and
        encoding, see `keras_dg.data.column_checks.describe_columns`).
    """
    names = {**TABLE_ARGUMENT_NAMES, **(names or {})}
    table = read_table(path, names["path"])
    if features is not None:
        features = expand_columns(table, features, names["features"])
    attributes = expand_columns(table, attributes, names["attributes"])
    dataset, transformer = _encode_table(
        table, layout, example_id, time, features, attributes, names,
        options,
    )
    test = None
    if test_path is not None:
        test_table = read_table(test_path, names["test_path"])
        if layout == "long":
            test_table = parse_time_column(test_table, time, names["time"])
        test = transformer.transform(test_table, clip=True)
    from keras_dg.data.column_checks import describe_columns

    return {
        "train": dataset, "test": test, "transformer": transformer,
        "source": "\n".join(
            [f"{path}: {len(dataset)} series of up to "
             f"{dataset.max_sequence_len} steps; columns:"]
            + describe_columns(transformer)
        ),
    }


def load_folder_data(folder, split="train", test_split=None):
    """A folder in the original format: a split, its held-out split and a
    `TableTransformer` of its specs.

    Args:
        folder: str or path. Holds `data_{split}.npz` and the Output pickles.
        split: str. The training split. Defaults to `"train"`.
        test_split: str or None. The held-out split; None: `test` when
            `data_test.npz` exists (and `split` is not `test`); `"none"`:
            no held-out split.

    Returns:
        dict: `train`, `test` (or None), `transformer`, `source`.
    """
    from keras_dg.data.original_format import load_dg
    from keras_dg.data.table_transformer import TableTransformer

    train = load_dg(folder, split)
    test = None
    if test_split is None:
        if split != "test" and os.path.isfile(
            os.path.join(folder, "data_test.npz")
        ):
            test_split = "test"
    elif test_split.lower() == "none":
        test_split = None
    if test_split is not None:
        test = load_dg(folder, test_split)
    return {
        "train": train, "test": test,
        "transformer": TableTransformer.from_dataset(train),
        "source": (
            f"{folder} (split {split!r}: {len(train)} series of "
            f"{train.max_sequence_len} steps"
            + (f"; test split {test_split!r}: {len(test)} series)"
               if test is not None else ")")
        ),
    }


def _splits(folder):
    return sorted(
        m.group(1) for m in map(_SPLIT_FILE.match, os.listdir(folder)) if m
    )


def _folder_split(path, role):
    """The split `load_any` reads from a folder when none is given."""
    present = _splits(path)
    preferred = {
        "--real": ["test", "train"],
        "--train": ["train"],
    }.get(role, ["generated", "train"])
    split = next((s for s in preferred if s in present), None)
    if split is None and len(present) == 1:
        split = present[0]
    if split is None and not present:
        raise ValueError(
            f"{role} '{path}' holds no data_{{split}}.npz: it is not "
            "a dataset folder in the original format."
        )
    if split is None:
        raise ValueError(
            f"{role} '{path}' holds the splits {present}; choose one "
            f"with {role}-split."
        )
    return split


def _read_arrays(path, role):
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{role} '{path}' is not a readable npz: {e}") \
            from None
    missing = [k for k in _ARRAYS if k not in arrays]
    if missing:
        raise ValueError(
            f"{role} '{path}' lacks the arrays {missing}; it has "
            f"{sorted(arrays)}."
        )
    return arrays


def _load_loose_npz(path, role, feature_outputs, attribute_outputs):
    """An npz of the original code's output: features masked by the gen
    flag, discrete attributes made one-hot."""
    from keras_dg.dataset import TimeSeriesDataset
    from keras_dg.specs import output_slices

    arrays = _read_arrays(path, role)
    features = np.asarray(arrays["data_feature"], "float32")
    gen_flag = np.asarray(arrays["data_gen_flag"], "float32")
    attributes = np.array(arrays["data_attribute"], "float32")
    if features.ndim == 3 and gen_flag.shape == features.shape[:2]:
        features = features * gen_flag[..., None]
    width = sum(o.dim for o in attribute_outputs)
    if attributes.ndim == 2 and attributes.shape[1] == width:
        for output, start, end in output_slices(attribute_outputs):
            if output.is_discrete:
                block = attributes[:, start:end]
                attributes[:, start:end] = np.eye(end - start)[
                    block.argmax(axis=1)
                ]
    try:
        return TimeSeriesDataset(
            features, attributes, gen_flag, feature_outputs,
            attribute_outputs,
        )
    except ValueError as e:
        raise ValueError(f"{role} '{path}': {e}") from None


def _load_npz(path, role, like):
    from keras_dg.data.original_format import load_dg
    from keras_dg.data.restricted_unpickler import load_outputs

    folder, name = os.path.split(os.path.abspath(path))
    pickles = [os.path.join(folder, f) for f in _PICKLES]
    has_pickles = all(os.path.isfile(p) for p in pickles)
    match = _SPLIT_FILE.match(name)
    if match and has_pickles:
        return load_dg(folder, match.group(1))
    if has_pickles:
        feature_outputs, attribute_outputs = map(load_outputs, pickles)
    elif like is not None:
        feature_outputs = like.feature_outputs
        attribute_outputs = like.attribute_outputs
    else:
        raise ValueError(
            f"{role} '{path}' has no Output pickles beside it; put "
            "data_feature_output.pkl and data_attribute_output.pkl in its "
            "folder."
        )
    return _load_loose_npz(path, role, feature_outputs, attribute_outputs)


def load_any(path, split=None, role="--real", like=None):
    """A `TimeSeriesDataset` from a dataset folder or an npz file.

    A folder is read with `load_dg` (split: the given one; else, by `role`,
    `test` then `train` for `--real`, `train` for `--train`, `generated`
    then `train` otherwise, or the only one present). An npz named
    `data_{split}.npz` next to the Output pickles is read the same way. Any
    other npz (e.g. the original code's `generated_data_train.npz`) takes
    its specs from the pickles beside it or, failing that, from `like`; as
    the original's generated files are, its features are masked by its gen
    flag and its discrete attributes made one-hot.

    Args:
        path: str or path. A folder or an `.npz` file.
        split: str or None. The split of a folder.
        role: str. The input's name in messages, which also picks the
            default split. Defaults to `"--real"`.
        like: `TimeSeriesDataset` or None. Gives the specs of an npz
            without Output pickles.
    """
    from keras_dg.data.original_format import load_dg

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{role} '{path}' does not exist.")
    if os.path.isdir(path):
        return load_dg(path, split or _folder_split(path, role))
    if not path.endswith(".npz"):
        raise ValueError(
            f"{role} '{path}' must be a dataset folder or an .npz file."
        )
    if split is not None:
        raise ValueError(f"{role}-split applies to folders, not to '{path}'.")
    return _load_npz(path, role, like)


def load_model(path, what="model"):
    """Loads a `.keras` file that holds a `keras_dg.DoppelGANger`.

    Args:
        path: str or path. The `.keras` file.
        what: str. How error messages name the input. Defaults to
            `"model"`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} '{path}' does not exist.")
    if not path.endswith(".keras"):
        raise ValueError(
            f"{what} '{path}' must be a .keras file saved by keras-dg."
        )
    import keras

    from keras_dg.models.doppelganger import DoppelGANger

    try:
        model = keras.saving.load_model(path)
    except (OSError, KeyError, TypeError) as e:
        raise ValueError(
            f"{what} '{path}' could not be loaded as a Keras model: {e}"
        ) from None
    if not isinstance(model, DoppelGANger):
        raise ValueError(
            f"{what} '{path}' holds a {type(model).__name__}, not a "
            "keras_dg.DoppelGANger."
        )
    return model
