"""Attributes in real units, encoded for conditional generation.

`model.generate(attributes=...)` takes encoded attributes (one-hot and
scaled), `model.generate(fixed_attributes=...)` takes attribute indices and
encoded values. These functions build them from values in the training
table's units, with the model's `TableTransformer`:

- `encode_attributes(table, model)`: one row per series to generate, one
  column per attribute.
- `fixed_attributes({"column": value}, model)`: some attributes fixed for
  every series, the others sampled from the learned conditional
  distribution.

Values read from a CSV lose their types, so a discrete value matches a
fitted category as the same object, the same text or the same number.

Example:

```python
from keras_dg.data import encode_attributes, fixed_attributes

synth = model.generate(attributes=encode_attributes(attribute_table, model))
synth = model.generate(100, fixed_attributes=fixed_attributes(
    {"origin": "JFK"}, model))
```
"""

import collections.abc

import numpy as np

from keras_dg.data.columns import encode_column


def _category(value, categories, column, row=None):
    """Matches a (CSV) value to one of a column's fitted categories."""
    for category in categories:
        if value == category:
            return category
    text = str(value).strip()
    for category in categories:
        if text == str(category) or (
            isinstance(category, bool)
            and text.lower() == str(category).lower()
        ):
            return category
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        for category in categories:
            if isinstance(category, (int, float)) and not isinstance(
                category, bool
            ) and float(category) == number:
                return category
    where = f"Column {column!r}" + ("" if row is None else f", row {row}")
    raise ValueError(
        f"{where}: {value!r} is not one of the categories the model was "
        f"trained on: {list(categories)[:20]}"
    )


def _encoded_table(table, width, what):
    """A model without a transformer: the table holds encoded columns."""
    if table.shape[1] != width:
        raise ValueError(
            f"The model has no transformer, so {what} must hold the "
            f"{width} encoded attribute columns (one-hot and scaled); it "
            f"has {table.shape[1]}: {list(table.columns)[:20]}"
        )
    try:
        return table.to_numpy(dtype="float32")
    except ValueError as e:
        raise ValueError(f"{what} must be numeric: {e}") from None


def _check_columns(table, names, what):
    columns = [str(c) for c in table.columns]
    missing = [n for n in names if n not in columns]
    unknown = [c for c in columns if c not in names]
    if missing or unknown:
        raise ValueError(
            f"{what} must have exactly the attribute columns {names}; "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown {unknown}" if unknown else "")
            + "."
        )


def _column_values(spec, values):
    name = str(spec["name"])
    if spec["kind"] == "discrete":
        return np.array(
            [_category(v, spec["categories"], name, i)
             for i, v in enumerate(values)],
            dtype=object,
        )
    numeric = []
    for i, v in enumerate(values):
        try:
            numeric.append(float(v))
        except (TypeError, ValueError):
            raise ValueError(
                f"Column {name!r}, row {i}: {v!r} is not a number."
            ) from None
    return np.array(numeric, dtype="float64")


def encode_attributes(table, model, what="the attribute table"):
    """Encodes a table of attribute values (real units) for `model`.

    With the model's `TableTransformer`, the columns must be exactly its
    attribute columns; discrete values are matched to the fitted categories
    (as text or numbers, since a CSV loses types), continuous ones scaled
    with the fitted range. Without a transformer, the table must hold the
    encoded attribute columns themselves (one-hot and scaled; as many as the
    model's attribute width).

    Args:
        table: pandas DataFrame, one row per series.
        model: `keras_dg.DoppelGANger`.
        what: str. Name of the input in error messages.

    Returns:
        float32 array [n, A] for `model.generate(attributes=...)`.
    """
    if len(table) == 0:
        raise ValueError(f"{what} has no rows.")
    missing_rows = table.index[table.isna().any(axis=1)].tolist()
    if missing_rows:
        raise ValueError(
            f"{what} has missing values in rows {missing_rows[:10]} (0-based, "
            "header excluded); every attribute needs a value."
        )
    transformer = model.transformer
    if transformer is None:
        return _encoded_table(table, model.real_attribute_dim, what)
    names = [str(n) for n in transformer.attribute_names]
    _check_columns(table, names, what)
    table = table.rename(columns={c: str(c) for c in table.columns})
    labels = np.arange(len(table))
    blocks = [
        encode_column(
            spec, _column_values(spec, table[str(spec["name"])].tolist()),
            labels,
        )
        for spec in transformer.attributes
    ]
    return np.concatenate(blocks, axis=1).astype("float32")


def _fixed_value(spec, name, value, what):
    if spec["kind"] == "discrete":
        category = _category(value, spec["categories"], name)
        return list(spec["categories"]).index(category)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} {name}={value!r}: expected a number."
        ) from None
    return float(encode_column(spec, np.array([number]), [what])[0, 0])


def fixed_attributes(assignments, model, what="fixed_attributes"):
    """Attribute values in real units as `generate(fixed_attributes=...)`.

    Args:
        assignments: dict `{column: value}` or `(column, value)` pairs, in
            the training table's attribute names and units.
        model: `keras_dg.DoppelGANger` with a `TableTransformer`.
        what: str. Name of the input in error messages.

    Returns:
        dict `{attribute index: category index or encoded value}`.
    """
    if isinstance(assignments, collections.abc.Mapping):
        assignments = assignments.items()
    transformer = model.transformer
    fixed = {}
    for name, value in assignments:
        if transformer is None:
            raise ValueError(
                f"{what} needs a model trained with a transformer (column "
                "names); this model has none."
            )
        names = [str(n) for n in transformer.attribute_names]
        if name not in names:
            raise ValueError(
                f"{what} {name}=...: {name!r} is not an attribute column; "
                f"the model's are {names}."
            )
        index = names.index(name)
        if index in fixed:
            raise ValueError(f"{what} sets {name!r} twice.")
        fixed[index] = _fixed_value(
            transformer.attributes[index], name, value, what
        )
    return fixed
