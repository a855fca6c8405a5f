"""missing="model": missingness channels in tables and back."""

import json

import numpy as np
import pandas as pd
import pytest

from keras_dg.cli import build_parser
from keras_dg.data import from_dataframe
from keras_dg.data import from_wide_dataframe
from keras_dg.data.table_transformer import TableTransformer
from keras_dg.specs import Output
from keras_dg.specs import OutputType


def gappy_table():
    """Two series; `load` has 3 gaps (one a missing time step), `jobs` (int)
    one, `state` (discrete) one, `temp` none."""
    return pd.DataFrame({
        "host": ["a"] * 5 + ["b"] * 4,
        "t": [0, 1, 2, 3, 4, 0, 1, 3, 4],  # b misses t=2.
        "load": [1.0, np.nan, 3.0, np.nan, 5.0, 2.0, 2.5, 3.5, 4.0],
        "jobs": pd.array([1, 2, None, 4, 5, 6, 7, 8, 9], dtype="Int64"),
        "state": ["up", None, "down", "up", "up", "up", "down", "up", "up"],
        "temp": [20.0, 21.0, 22.0, 23.0, 24.0, 30.0, 31.0, 33.0, 34.0],
        "os": ["linux"] * 5 + ["bsd"] * 4,
    })


def fit(table=None, **kwargs):
    table = gappy_table() if table is None else table
    args = dict(example_id="host", time="t",
                features=["load", "jobs", "state", "temp"], attributes=["os"],
                missing="model")
    args.update(kwargs)
    return from_dataframe(table, **args)


def test_channels_encode_the_gaps():
    ds, tt = fit()
    # Every feature with a gap (the missing step gives all of them one in
    # series b) gets a channel; so does `temp`, missing at b's t=2.
    assert tt.missing_channels == ["load", "jobs", "state", "temp"]
    channel = Output(OutputType.DISCRETE, 2, is_missing_channel=True)
    assert ds.feature_outputs[-4:] == [channel] * 4
    assert not any(o.is_missing_channel for o in ds.feature_outputs[:-4])
    masks = tt.missing_masks(ds)
    np.testing.assert_array_equal(
        masks["load"], [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0]]
    )
    np.testing.assert_array_equal(
        masks["jobs"], [[0, 0, 1, 0, 0], [0, 0, 1, 0, 0]]
    )
    np.testing.assert_array_equal(
        masks["temp"], [[0, 0, 0, 0, 0], [0, 0, 1, 0, 0]]
    )
    # The values stay smooth: gaps are interpolated in the value channel.
    load = ds.features[0, :, 0]
    np.testing.assert_allclose(load, [0.0, 0.25, 0.5, 0.75, 1.0])
    ds.validate()


def test_feature_without_gaps_gets_no_channel():
    table = gappy_table()
    table = table[table["host"] == "a"]  # No missing step; `temp` is full.
    ds, tt = fit(table, attributes=[])
    assert tt.missing_channels == ["load", "jobs", "state"]
    assert ds.features.shape == (1, 5, 1 + 1 + 2 + 1 + 3 * 2)
    assert "has gaps" not in " ".join(
        line for line in _describe(tt) if "'temp'" in line
    )
    assert any("'load'" in line and "has gaps" in line
               for line in _describe(tt))


def _describe(tt):
    from keras_dg.data import describe_columns

    return describe_columns(tt)


def test_inverse_puts_nan_back_in_original_units_and_dtypes():
    table = gappy_table()
    ds, tt = fit(table)
    out = tt.inverse_transform(ds)
    assert len(out) == 10  # b's missing step comes back as a row.
    b2 = out[(out["host"] == 1) & (out["t"] == 2)].iloc[0]
    assert pd.isna(b2["load"]) and pd.isna(b2["jobs"])
    assert pd.isna(b2["state"]) and pd.isna(b2["temp"])
    a = out[out["host"] == 0].reset_index(drop=True)
    np.testing.assert_allclose(a["load"], [1.0, np.nan, 3.0, np.nan, 5.0])
    assert str(out["jobs"].dtype) == "Int64"
    assert a["jobs"].isna().tolist() == [False, False, True, False, False]
    assert a["state"].isna().tolist() == [False, True, False, False, False]
    assert a["state"][0] == "up" and a["state"][2] == "down"
    np.testing.assert_allclose(a["temp"], [20.0, 21.0, 22.0, 23.0, 24.0])
    # Generated channels decode by argmax: a soft "missing" 0.6 is a gap.
    features = ds.features.copy()
    # The channels follow the values, in feature order: load's is first.
    width = features.shape[-1] - 2 * len(tt.missing_channels)
    features[1, 0, width:width + 2] = [0.4, 0.6]
    soft = tt.inverse_transform(
        {"features": features, "attributes": ds.attributes,
         "gen_flag": ds.gen_flag}
    )
    assert pd.isna(soft[soft["host"] == 1]["load"].iloc[0])


def test_config_round_trips_the_channels():
    ds, tt = fit()
    config = json.loads(json.dumps(tt.to_json_config()))
    assert [s.get("missing_channel") for s in config["features"]] == [
        True, True, True, True
    ]
    again = TableTransformer.from_json_config(config)
    assert again.missing_channels == tt.missing_channels
    assert again.feature_outputs == tt.feature_outputs
    assert again.inverse_transform(ds).equals(tt.inverse_transform(ds))
    # Held-out data with the fitted encoding: same channels.
    assert np.array_equal(again.transform(gappy_table()).features, ds.features)


def test_transform_refuses_gaps_in_a_feature_without_channel():
    table = gappy_table()
    table = table[table["host"] == "a"]
    _, tt = fit(table, features=["load", "temp"], attributes=[])
    assert tt.missing_channels == ["load"]
    test = table.copy()
    test.loc[2, "temp"] = np.nan
    with pytest.raises(ValueError, match=r"'temp' \(feature\) has 1 missing "
                       r"values in rows \[2\].*no missingness channel"):
        tt.transform(test)


def test_bad_configs_are_refused():
    _, tt = fit()
    config = tt.get_config()
    config["missing"] = "interpolate"
    with pytest.raises(ValueError, match="needs missing='model'"):
        TableTransformer.from_config(config)
    config = tt.get_config()
    config["features"][0]["missing_channel"] = "yes"
    with pytest.raises(ValueError, match=r"'load' has missing_channel='yes'"):
        TableTransformer.from_config(config)


def test_bad_input_stays_refused():
    table = gappy_table()
    table.loc[3, "load"] = np.inf
    with pytest.raises(ValueError, match=r"Column 'load' holds infinite "
                       r"values in rows \[3\]"):
        fit(table)
    table = gappy_table()
    table["load"] = np.nan
    with pytest.raises(ValueError, match=r"Column 'load' \(feature\) is "
                       r"missing in every row \(10 rows\)"):
        fit(table)
    with pytest.raises(ValueError, match=r"`missing` must be one of "
                       r"\('raise', 'interpolate', 'drop', 'model'\)"):
        fit(missing="models")


def test_series_without_any_value_takes_the_column_median():
    table = gappy_table()
    table.loc[table["host"] == "b", "load"] = np.nan
    ds, tt = fit(table)
    masks = tt.missing_masks(ds)
    assert masks["load"][1].all()
    out = tt.inverse_transform(ds)
    assert out[out["host"] == 1]["load"].isna().all()
    # Median of a's values 1, 3, 5 (scaled over [1, 5]).
    np.testing.assert_allclose(ds.features[1, :, 0], 0.5)


def test_wide_table_channels():
    table = pd.DataFrame({
        "d1": [1.0, 4.0, 2.0], "d2": [np.nan, 5.0, 3.0],
        "d3": [3.0, np.nan, np.nan], "lang": ["en", "de", "en"],
    })
    # Row 1 ends at d2 (trailing NaN); row 0 has a gap at d2.
    ds, tt = from_wide_dataframe(table, ["d1", "d2", "d3"], ["lang"],
                                 missing="model")
    assert tt.missing_channels == ["value"]
    assert ds.lengths.tolist() == [3, 2, 2]
    np.testing.assert_array_equal(
        tt.missing_masks(ds)["value"], [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
    )
    out = tt.inverse_transform(ds)
    pd.testing.assert_frame_equal(out, table)


def test_cli_flag_accepts_model():
    args = build_parser().parse_args(
        ["train", "--table", "x.csv", "--example-id", "id", "--missing",
         "model", "--out", "o"]
    )
    assert args.missing == "model"
    generate = ["generate", "--model", "m.keras", "--out", "o.csv"]
    assert build_parser().parse_args(generate).draw_missing is True
    assert build_parser().parse_args(
        generate + ["--missing-argmax"]
    ).draw_missing is False


@pytest.mark.backend
def test_model_learns_channels_and_saves_them(tmp_path):
    import keras

    import keras_dg
    from tests.harness import TINY

    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "host": np.repeat(np.arange(8), 6), "t": np.tile(np.arange(6), 8),
        "load": rng.uniform(0, 10, 48),
        "os": np.repeat(["linux", "bsd"] * 4, 6),
    })
    table.loc[rng.choice(48, 10, replace=False), "load"] = np.nan
    data, tt = from_dataframe(table, "host", "t", ["load"], ["os"],
                              sample_len=2, missing="model")
    model = keras_dg.DoppelGANger(
        data.feature_outputs, data.attribute_outputs, data.max_sequence_len,
        sample_len=2, transformer=tt, **dict(TINY, seed=0),
    )
    model.compile()
    model.fit(data, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.transformer.missing_channels == ["load"]
    generated = loaded.generate(5, seed=0)
    masks = loaded.transformer.missing_masks(generated)
    out = loaded.transformer.inverse_transform(generated)
    np.testing.assert_array_equal(
        out["load"].isna().to_numpy(), masks["load"][generated.gen_flag > 0]
    )
    assert loaded.feature_outputs[-1].is_missing_channel
    # The table drawn (the default) and by argmax: the same values where
    # both have one, NaN where the channel (drawn or argmax) says missing.
    argmax = loaded.generate_dataframe(5, seed=0, draw_missing=False)
    drawn = loaded.generate_dataframe(5, seed=0)
    assert argmax["load"].isna().sum() == loaded.generate(
        5, seed=0, draw_missing=False).features[..., -1].sum()
    both = drawn["load"].notna() & argmax["load"].notna()
    np.testing.assert_allclose(drawn["load"][both], argmax["load"][both],
                               rtol=1e-6)
    folder = str(tmp_path / "preset")
    model.save_to_preset(folder)
    again = keras_dg.DoppelGANger.from_preset(folder)
    assert again.transformer.missing_channels == ["load"]
    assert again.feature_outputs[-1].is_missing_channel
    # A model saved before the flag existed (its channel a plain 2-way
    # output) learns its channels from its transformer.
    config = model.get_config()
    config["feature_outputs"][-1].pop("is_missing_channel")
    old = keras_dg.DoppelGANger.from_config(config)
    assert old.feature_outputs == data.feature_outputs
