"""Shared dataset checks and column helpers for the evaluation metrics.

Columns are named after their `Output` spec's position: the continuous
feature output `i` is `feature_i` (or `feature_i_c` for column `c` of a
multi-column output), and attribute output `i` is `attribute_i`.
`transformer_columns` maps these names to a `TableTransformer`'s columns
(their names, category labels and units) for the report.
"""

import math

import numpy as np
from threadpoolctl import threadpool_limits

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.specs import output_slices


def check_dataset(dataset, name, min_series=1):
    """Raises `ValueError` unless `dataset` is a `TimeSeriesDataset`."""
    if not isinstance(dataset, TimeSeriesDataset):
        raise ValueError(
            f"`{name}` must be a `keras_dg.TimeSeriesDataset`. Received: "
            f"{name} of type {type(dataset).__name__}."
        )
    if len(dataset) < min_series:
        raise ValueError(
            f"`{name}` needs at least {min_series} series for this metric; "
            f"it has {len(dataset)}."
        )
    return dataset


def check_compatible(reference, other, reference_name, other_name):
    """Raises `ValueError` unless both datasets share specs and length."""
    if reference.feature_outputs != other.feature_outputs:
        raise ValueError(
            f"`{other_name}` and `{reference_name}` must have the same "
            f"feature_outputs. Received {other.feature_outputs} and "
            f"{reference.feature_outputs}."
        )
    if reference.attribute_outputs != other.attribute_outputs:
        raise ValueError(
            f"`{other_name}` and `{reference_name}` must have the same "
            f"attribute_outputs. Received {other.attribute_outputs} and "
            f"{reference.attribute_outputs}."
        )
    if reference.max_sequence_len != other.max_sequence_len:
        raise ValueError(
            f"`{other_name}` and `{reference_name}` must have the same "
            f"max_sequence_len. Received {other.max_sequence_len} and "
            f"{reference.max_sequence_len}."
        )


def check_pair(real, synthetic, min_series=1):
    check_dataset(real, "real", min_series)
    check_dataset(synthetic, "synthetic", min_series)
    check_compatible(real, synthetic, "real", "synthetic")


def _continuous_columns(outputs, prefix):
    """`[(name, column)]` for every continuous column of `outputs`."""
    columns = []
    for i, (output, start, end) in enumerate(output_slices(outputs)):
        if output.is_discrete:
            continue
        for c, column in enumerate(range(start, end)):
            name = f"{prefix}_{i}" if output.dim == 1 else f"{prefix}_{i}_{c}"
            columns.append((name, column))
    return columns


def continuous_feature_columns(dataset):
    """`[(name, column)]` for every continuous feature column."""
    return _continuous_columns(dataset.feature_outputs, "feature")


def discrete_attribute_blocks(dataset):
    """`[(name, start, end)]` for every discrete attribute output."""
    return [
        (f"attribute_{i}", start, end)
        for i, (output, start, end) in enumerate(
            output_slices(dataset.attribute_outputs)
        )
        if output.is_discrete
    ]


def transformer_columns(transformer, dataset):
    """`{column name: column spec}` of a `TableTransformer` for `dataset`.

    The names are this module's (`feature_i`, `feature_i_c`,
    `attribute_i`); the specs are the transformer's dicts (`name`, `kind`,
    `categories` or `min`/`max`/`normalization`/`log1p`), which
    `keras_dg.data.columns.decode_column` turns into real units.

    Raises:
        ValueError: `transformer` is not a `TableTransformer` or its specs
            do not match the dataset's.
    """
    from keras_dg.data.table_transformer import TableTransformer

    if not isinstance(transformer, TableTransformer):
        raise ValueError(
            "`transformer` must be a keras_dg.data.TableTransformer or None. "
            f"Received: transformer of type {type(transformer).__name__}."
        )
    for role in ("feature_outputs", "attribute_outputs"):
        if getattr(transformer, role) != getattr(dataset, role):
            raise ValueError(
                f"`transformer` does not match the data: its {role} are "
                f"{getattr(transformer, role)}, the data's "
                f"{getattr(dataset, role)}."
            )
    columns = {}
    for prefix, outputs, specs in (
        ("feature", dataset.feature_outputs,
         transformer.feature_output_specs),
        ("attribute", dataset.attribute_outputs, transformer.attributes),
    ):
        # The transformer has one spec per discrete output and one per
        # column of a continuous output, in order (`specs_to_outputs`).
        specs = iter(specs)
        for i, output in enumerate(outputs):
            if output.is_discrete or output.dim == 1:
                columns[f"{prefix}_{i}"] = next(specs)
            else:
                for c in range(output.dim):
                    columns[f"{prefix}_{i}_{c}"] = next(specs)
    return columns


def display_name(columns, key):
    """The table's name of column `key` in `columns` (`transformer_columns`
    or `None`), else `key`; pairs "a~b" become "name_a ~ name_b"."""
    if "~" in key:
        parts = key.split("~")
        return " ~ ".join(display_name(columns, part) for part in parts)
    if columns and key in columns:
        return str(columns[key]["name"])
    return key


def continuous_attribute_columns(dataset):
    """`[(name, column)]` for every continuous attribute column."""
    return _continuous_columns(dataset.attribute_outputs, "attribute")


def category_indices(dataset, start, end):
    """The category index (argmax of the one-hot block) of every series."""
    return np.argmax(dataset.attributes[:, start:end], axis=1)


def active_mask(dataset):
    """Boolean [N, T]: True while the series is active."""
    return dataset.gen_flag > 0.5


def per_series_mean(values, mask):
    """Mean of `values` [N, T] over the active steps of each series."""
    counts = mask.sum(axis=1)
    return np.where(mask, values, 0.0).sum(axis=1) / np.maximum(counts, 1)


def per_series_midpoint(values, mask):
    """(max + min) / 2 of `values` [N, T] over each series' active steps."""
    high = np.where(mask, values, -np.inf).max(axis=1)
    low = np.where(mask, values, np.inf).min(axis=1)
    return (high + low) / 2.0


def flat_features(dataset):
    """Features as one row per series, float64 [N, T * F]."""
    return dataset.features.reshape(len(dataset), -1).astype("float64")


def to_float(value):
    """A Python float, or `None` when the value is NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def mean_of(values):
    """The mean of the finite values in an iterable, or `None`."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def single_threaded():
    """A context that limits BLAS/OpenMP pools to one thread.

    The scikit-learn models here fit small matrices, where thread start-up
    and contention cost far more than they save (on a busy 2-core machine a
    logistic regression took 6 s with the default pools and 0.03 s with
    one thread).
    """
    return threadpool_limits(limits=1)
