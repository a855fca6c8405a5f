import types

import numpy as np
import pandas as pd
import pytest

from keras_dg.data import encode_attributes
from keras_dg.data import fixed_attributes
from keras_dg.data import from_dataframe


@pytest.fixture(scope="module")
def model():
    """What the functions read of a model: its transformer and width."""
    table = pd.DataFrame({
        "host": ["a", "a", "b", "c", "c", "d"],
        "cpu": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        "os": ["linux", "linux", "mac", "bsd", "bsd", "mac"],
        "cores": [2, 2, 4, 2, 2, 4],
        "ram": [8.0, 8.0, 16.0, 32.0, 32.0, 24.0],
    })
    _, transformer = from_dataframe(
        table, example_id="host", features=["cpu"],
        attributes=["os", "cores", "ram"], discrete=["cores"], sample_len=1,
    )
    return types.SimpleNamespace(
        transformer=transformer, real_attribute_dim=3 + 2 + 1
    )


def _one_hot(encoded, start, end):
    return encoded[:, start:end].argmax(axis=1).tolist()


def test_encode_attributes_matches_csv_values_to_categories(model):
    # As read back from a CSV: numbers as text, columns in another order.
    table = pd.DataFrame({
        "ram": ["8", "32.0"], "os": ["mac", "linux"], "cores": ["4", 2],
    })
    encoded = encode_attributes(table, model)
    assert encoded.shape == (2, 6) and encoded.dtype == np.float32
    os_spec, cores_spec, _ = model.transformer.attributes
    assert [os_spec["categories"][i] for i in _one_hot(encoded, 0, 3)] == [
        "mac", "linux"
    ]
    assert [cores_spec["categories"][i] for i in _one_hot(encoded, 3, 5)] \
        == [4, 2]
    np.testing.assert_allclose(encoded[:, 5], [0.0, 1.0])  # 8..32 scaled.


@pytest.mark.parametrize(
    "frame, match",
    [
        ({}, "the attribute table has no rows"),
        ({"os": ["mac"], "cores": [2]}, r"missing \['ram'\]"),
        ({"os": ["mac"], "cores": [2], "ram": [8], "x": [0]},
         r"unknown \['x'\]"),
        ({"os": ["vms"], "cores": [2], "ram": [8]},
         r"Column 'os', row 0: 'vms' is not one of the categories"),
        ({"os": ["mac"], "cores": [2], "ram": ["big"]},
         "Column 'ram', row 0: 'big' is not a number"),
        ({"os": ["mac", None], "cores": [2, 2], "ram": [8, 8]},
         r"has missing values in rows \[1\]"),
    ],
)
def test_encode_attributes_errors(model, frame, match):
    table = pd.DataFrame(frame) if frame else pd.DataFrame(columns=["os"])
    with pytest.raises(ValueError, match=match):
        encode_attributes(table, model)


def test_encode_attributes_without_a_transformer():
    model = types.SimpleNamespace(transformer=None, real_attribute_dim=2)
    table = pd.DataFrame({"a": [1, 0], "b": [0.5, 0.25]})
    np.testing.assert_array_equal(
        encode_attributes(table, model), [[1, 0.5], [0, 0.25]]
    )
    with pytest.raises(ValueError, match="--given must hold the 2 encoded"):
        encode_attributes(table[["a"]], model, "--given")


def test_fixed_attributes_from_a_dict_or_pairs(model):
    fixed = fixed_attributes({"os": "bsd", "cores": "4", "ram": 20}, model)
    categories = model.transformer.attributes[0]["categories"]
    assert fixed[0] == list(categories).index("bsd")
    assert fixed[1] == [2, 4].index(4)
    assert fixed[2] == pytest.approx(0.5)
    assert fixed_attributes([("os", "mac")], model) == {
        0: list(categories).index("mac")
    }


def test_fixed_attributes_errors(model):
    with pytest.raises(ValueError, match="--fix disk=...: 'disk' is not an"):
        fixed_attributes([("disk", 1)], model, "--fix")
    with pytest.raises(ValueError, match="sets 'os' twice"):
        fixed_attributes([("os", "mac"), ("os", "bsd")], model)
    with pytest.raises(ValueError, match="ram='x': expected a number"):
        fixed_attributes({"ram": "x"}, model)
    with pytest.raises(ValueError, match="needs a model trained with a"):
        fixed_attributes(
            {"os": "mac"}, types.SimpleNamespace(transformer=None)
        )
    assert fixed_attributes({}, model) == {}
