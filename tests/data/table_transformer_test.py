import json

import keras
import numpy as np
import pandas as pd
import pytest

from keras_dg.data import TableTransformer
from keras_dg.data import from_dataframe
from keras_dg.data import from_wide_dataframe
from keras_dg.data import load_dg
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.specs import Output
from tests.data.shared_data import FCC_MBA
from tests.data.shared_data import needs_shared_data


def fitted():
    table = pd.DataFrame({
        "id": ["p", "p", "q", "q", "q"],
        "day": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-01",
                               "2020-01-02", "2020-01-03"]),
        "views": np.array([10, 0, 1000, 20, 5], dtype="int32"),
        "mood": pd.Categorical(["ok", "bad", "ok", "ok", "good"],
                               categories=["bad", "ok", "good"], ordered=True),
        "lang": ["en", "en", "fr", "fr", "fr"],
    })
    ds, tt = from_dataframe(table, "id", "day", ["views", "mood"], ["lang"],
                            log1p=["views"], normalization="MINUSONE_ONE",
                            sample_len=2)
    return table, ds, tt


def test_config_is_json_and_round_trips():
    table, ds, tt = fitted()
    config = json.loads(json.dumps(tt.get_config()))
    assert config["layout"] == "long"
    views = dict(config["features"][0])
    assert 0 <= views.pop("round_trip_error") < 1e-3
    assert views == {
        "name": "views", "kind": "continuous", "dtype": "int32",
        "normalization": "MINUSONE_ONE", "min": 0.0,
        "max": float(np.log1p(1000)), "log1p": True}
    assert config["features"][1]["categories"] == ["bad", "ok", "good"]
    assert config["features"][1]["ordered"] is True
    assert config["time_grid"]["kind"] == "datetime"
    restored = TableTransformer.from_config(config)
    assert restored.feature_outputs == tt.feature_outputs
    assert restored.attribute_outputs == tt.attribute_outputs
    pd.testing.assert_frame_equal(restored.inverse_transform(ds),
                                  tt.inverse_transform(ds))
    out = restored.inverse_transform(ds)
    assert out["views"].tolist() == [10, 0, 1000, 20, 5]
    assert out["views"].dtype == np.int32
    assert out["mood"].dtype == table["mood"].dtype
    assert out["day"].tolist() == table["day"].tolist()


def test_keras_serialization():
    _, ds, tt = fitted()
    serialized = keras.saving.serialize_keras_object(tt)
    assert serialized["registered_name"] == "keras_dg>TableTransformer"
    restored = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(serialized)))
    assert isinstance(restored, TableTransformer)
    assert restored.get_config() == tt.get_config()


def test_wide_config_round_trip():
    table = pd.DataFrame({"s1": [1, 2], "s2": [3, None], "g": ["a", "b"]})
    ds, tt = from_wide_dataframe(table, ["s1", "s2"], ["g"])
    restored = TableTransformer.from_config(json.loads(json.dumps(
        tt.get_config())))
    pd.testing.assert_frame_equal(restored.inverse_transform(ds), table)


def test_inverse_transform_checks_its_input():
    _, ds, tt = fitted()
    other = TimeSeriesDataset(ds.features, ds.attributes, ds.gen_flag,
                              ds.feature_outputs,
                              [Output("CONTINUOUS", 2, "ZERO_ONE")])
    with pytest.raises(ValueError, match="`dataset.attribute_outputs`"):
        tt.inverse_transform(other)
    with pytest.raises(ValueError, match="lacks the keys \\['gen_flag'\\]"):
        tt.inverse_transform({"features": ds.features,
                              "attributes": ds.attributes})
    with pytest.raises(ValueError, match=r"expected \(N, T, 4\)"):
        tt.inverse_transform({"features": ds.features[..., :3],
                              "attributes": ds.attributes,
                              "gen_flag": ds.gen_flag})
    with pytest.raises(ValueError, match="TimeSeriesDataset or a dict"):
        tt.inverse_transform(ds.features)


def test_only_active_steps_come_back():
    _, ds, tt = fitted()
    gen_flag = np.array([[1, 0, 0, 0], [1, 1, 1, 1]], "float32")
    out = tt.inverse_transform({"features": ds.features * gen_flag[..., None],
                                "attributes": ds.attributes,
                                "gen_flag": gen_flag})
    assert out.groupby("id").size().tolist() == [1, 4]
    # The fourth step continues the daily grid.
    assert out["day"].iloc[-1] == pd.Timestamp("2020-01-04")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layout="tall"), "`layout` must be one of"),
        (dict(missing="skip"), "`missing` must be one of"),
        (dict(features=[]), "at least one column"),
        (dict(max_sequence_len=5), "`sample_len` must divide"),
        (dict(features=[{"name": "x", "kind": "fuzzy", "dtype": "int64"}]),
         "kind='fuzzy'"),
        (dict(features=[{"name": "x", "kind": "discrete", "dtype": "str",
                         "categories": ["a"]}]), "at least two categories"),
        (dict(features=[{"name": "x", "kind": "continuous", "dtype": "int64",
                         "normalization": "ZERO_ONE", "min": 1.0,
                         "max": 1.0}]), "max > min"),
        (dict(features=[{"name": "x"}]), "lacks the key 'kind'"),
        (dict(attributes=[{"name": "views", "kind": "discrete",
                           "dtype": "str", "categories": ["a", "b"]}]),
         r"\['views'\] are listed twice"),
        (dict(example_id="views"), "both data columns and the `example_id`"),
    ],
)
def test_constructor_validation(kwargs, message):
    _, _, tt = fitted()
    config = tt.get_config()
    config.update(kwargs)
    with pytest.raises(ValueError, match=message):
        TableTransformer.from_config(config)


def test_from_dataset_without_extras():
    ds = TimeSeriesDataset(
        np.array([[[0.5, -1.0], [1.0, 0.0]]]), [[0.0, 1.0, 0.0]],
        [[1, 1]], [Output("CONTINUOUS", 2, "MINUSONE_ONE")],
        [Output("DISCRETE", 3)])
    tt = TableTransformer.from_dataset(
        ds, categories={"attribute_0": ["x", "y", "z"]})
    assert tt.feature_outputs == ds.feature_outputs
    out = tt.inverse_transform(ds)
    assert out.columns.tolist() == ["example_id", "step", "attribute_0",
                                    "feature_0", "feature_1"]
    np.testing.assert_allclose(out["feature_0"], [0.5, 1.0])
    np.testing.assert_allclose(out["feature_1"], [-1.0, 0.0])
    assert out["attribute_0"].tolist() == ["y", "y"]
    with pytest.raises(ValueError, match="`categories` names columns"):
        TableTransformer.from_dataset(ds, categories={"nope": [1, 2]})
    with pytest.raises(ValueError, match="`feature_names` must hold 2"):
        TableTransformer.from_dataset(ds, feature_names=["a"])
    ds.extras["data_feature_min"] = np.zeros(3)
    ds.extras["data_feature_max"] = np.ones(3)
    with pytest.raises(ValueError, match="has 3 values; expected one per"):
        TableTransformer.from_dataset(ds)


@needs_shared_data
def test_from_dataset_uses_fcc_mba_bounds():
    ds = load_dg(FCC_MBA)[:20]
    tt = TableTransformer.from_dataset(
        ds, feature_names=["traffic_bytes", "ping_loss_rate"])
    out = tt.inverse_transform(ds)
    assert len(out) == 20 * 56
    low, high = ds.extras["data_feature_min"], ds.extras["data_feature_max"]
    assert out["traffic_bytes"].between(low[0], high[0] * (1 + 1e-6)).all()
    assert out["traffic_bytes"].max() > 1e6  # Real units, not [0, 1].
    np.testing.assert_allclose(
        out["traffic_bytes"].to_numpy()[:56],
        ds.features[0, :, 0] * (high[0] - low[0]) + low[0], rtol=1e-6)
    assert out["attribute_0"].dtype == np.int64
