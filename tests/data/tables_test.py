
import numpy as np
import pandas as pd
import pytest

from keras_dg.data import TableTransformer
from keras_dg.data import from_arrays
from keras_dg.data import from_dataframe
from keras_dg.data import from_wide_dataframe
from keras_dg.specs import Output


def long_table():
    """Three series of lengths 3, 1 and 4, rows shuffled."""
    table = pd.DataFrame({
        "host": ["b", "a", "a", "c", "b", "c", "c", "a", "c"],
        "t": [0, 2, 0, 0, 1, 3, 1, 1, 2],
        "cpu": [0.5, 0.25, 1.0, 0.0, 0.75, 2.0, 1.5, 0.5, 0.25],
        "jobs": np.array([3, 7, 1, 0, 4, 2, 9, 5, 6], dtype="int64"),
        "state": ["up", "up", "down", "up", "up", "down", "up", "up", "down"],
        "os": pd.Categorical(["bsd", "linux", "linux", "mac", "bsd", "mac",
                              "mac", "linux", "mac"],
                             categories=["linux", "bsd", "mac"]),
        "big": [False, True, True, True, False, True, True, True, True],
        "other": 0,
    })
    return table


def fit(table=None, **kwargs):
    table = long_table() if table is None else table
    args = dict(example_id="host", time="t", features=["cpu", "jobs", "state"],
                attributes=["os", "big"])
    args.update(kwargs)
    return from_dataframe(table, **args)


def test_long_table_encoding():
    ds, tt = fit()
    assert ds.features.shape == (3, 4, 1 + 1 + 2)
    assert ds.lengths.tolist() == [3, 2, 4]  # Series sorted by id: a, b, c.
    assert tt.feature_outputs == [
        Output("CONTINUOUS", 1, "ZERO_ONE"), Output("CONTINUOUS", 1, "ZERO_ONE"),
        Output("DISCRETE", 2)]
    assert tt.attribute_outputs == [Output("DISCRETE", 3), Output("DISCRETE", 2)]
    # Series "a" ordered by t: cpu 1.0, 0.5, 0.25 scaled by min 0, max 2.
    np.testing.assert_allclose(ds.features[0, :, 0], [0.5, 0.25, 0.125, 0.0])
    # jobs of series "c": 0, 9, 6, 2 scaled by min 0, max 9.
    np.testing.assert_allclose(ds.features[2, :, 1], [0, 1, 6 / 9, 2 / 9],
                               rtol=1e-6)
    # state categories sorted: down, up.
    np.testing.assert_array_equal(ds.features[1, :, 2:], [[0, 1], [0, 1],
                                                          [0, 0], [0, 0]])
    # os keeps the categorical's declared order: linux, bsd, mac.
    np.testing.assert_array_equal(ds.attributes[:, :3], np.eye(3))
    np.testing.assert_array_equal(ds.attributes[:, 3:], [[0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(ds.features[1, 2:], 0)  # Padding.


def test_long_table_inverse_transform_restores_the_table():
    table = long_table()
    ds, tt = fit(table)
    out = tt.inverse_transform(ds)
    expected = table.drop(columns="other").sort_values(["host", "t"])
    expected["host"] = expected["host"].map({"a": 0, "b": 1, "c": 2})
    expected = expected.reset_index(drop=True)
    assert list(out.columns) == ["host", "t", "cpu", "jobs", "state", "os",
                                 "big"]
    pd.testing.assert_frame_equal(out, expected, check_exact=False, rtol=1e-5)
    assert out["os"].cat.categories.tolist() == ["linux", "bsd", "mac"]


def test_inverse_transform_of_generated_like_data():
    ds, tt = fit()
    features = ds.features.copy()
    # Soft (softmax-like) discrete values, continuous values beyond range.
    features[..., 2:] = np.where(features[..., 2:] > 0.5, 0.7, 0.3)
    features[..., 2:] *= ds.gen_flag[..., None]
    features[0, 0, 0] = 1.3
    out = tt.inverse_transform({"features": features,
                                "attributes": ds.attributes * 0.9,
                                "gen_flag": ds.gen_flag})
    assert len(out) == ds.lengths.sum()
    assert out["cpu"].max() <= 2.0  # Clipped to the fitted range.
    assert out["state"].tolist() == tt.inverse_transform(ds)["state"].tolist()
    assert out["jobs"].dtype == np.int64


def test_max_sequence_len_and_sample_len():
    ds, tt = fit(sample_len=3)
    assert ds.max_sequence_len == 6 and tt.max_sequence_len == 6
    assert tt.sample_len == 3
    ds, _ = fit(max_sequence_len=8, sample_len=4)
    assert ds.max_sequence_len == 8
    with pytest.raises(ValueError, match="`sample_len` must divide"):
        fit(max_sequence_len=6, sample_len=4)
    with pytest.raises(ValueError, match="`sample_len` must be a positive"):
        fit(sample_len=0)
    with pytest.raises(ValueError, match=r"1 series are longer than max_seq"
                       r"uence_len=3: 'c' \(length 4\).*truncate=True"):
        fit(max_sequence_len=3)
    ds, tt = fit(max_sequence_len=2, truncate=True)
    assert ds.lengths.tolist() == [2, 2, 2]
    # Min/max come from the kept steps only: cpu of a[:2], b, c[:2].
    assert tt.features[0]["max"] == 1.5


def test_normalization_and_log1p():
    ds, tt = fit(normalization="MINUSONE_ONE", log1p=["jobs"])
    assert tt.features[1]["log1p"] and tt.features[1]["min"] == 0.0
    np.testing.assert_allclose(tt.features[1]["max"], np.log1p(9))
    active = ds.gen_flag > 0
    assert ds.features[..., 0][active].min() == -1.0
    out = tt.inverse_transform(ds)
    np.testing.assert_array_equal(
        out["jobs"], long_table().sort_values(["host", "t"])["jobs"])
    _, tt = fit(normalization={"jobs": "minusone_one"})
    assert [s["normalization"] for s in tt.features[:2]] == [
        "ZERO_ONE", "MINUSONE_ONE"]
    with pytest.raises(ValueError, match="`normalization` must be"):
        fit(normalization="ZERO_TEN")
    with pytest.raises(ValueError, match="`log1p` lists \\['state'\\]"):
        fit(log1p=["state"])
    table = long_table()
    table.loc[0, "jobs"] = -3
    with pytest.raises(ValueError, match="values > -1.*-3"):
        fit(table, log1p=["jobs"])


def test_discrete_numeric_and_default_features():
    ds, tt = fit(discrete=["jobs"])
    assert tt.features[1]["categories"] == [0, 1, 2, 3, 4, 5, 6, 7, 9]
    out = tt.inverse_transform(ds)
    assert out["jobs"].dtype == np.int64
    _, tt = fit(long_table().drop(columns="other"), features=None)
    assert tt.feature_names == ["cpu", "jobs", "state"]


def test_time_grid():
    table = long_table()
    table["t"] = pd.Timestamp("2024-03-01", tz="Europe/Paris") + pd.to_timedelta(
        table["t"], unit="h")
    ds, tt = fit(table)
    assert tt.time_grid["step_ns"] == 3600 * 10**9
    out = tt.inverse_transform(ds)
    assert out["t"].dtype == table["t"].dtype
    assert out["t"].iloc[:3].tolist() == [
        pd.Timestamp("2024-03-01 0:00", tz="Europe/Paris") + pd.Timedelta(hours=h)
        for h in range(3)]
    # A gap in series "c" (2 -> 7): 4 missing steps, which follow `missing`.
    table = long_table()
    table.loc[5, "t"] = 7
    with pytest.raises(ValueError, match=r"`time` column 't' has 4 missing "
                       r"steps .* series \['c'\]; e.g. series 'c' goes from "
                       r"2 to 7"):
        fit(table)
    ds, tt = fit(table, missing="interpolate")
    assert ds.lengths.tolist() == [3, 2, 8]
    # cpu of "c" at t = 2..7: 0.25 -> 2.0 in 5 even steps (scaled by 2).
    np.testing.assert_allclose(ds.features[2, 2:8, 0],
                               np.linspace(0.125, 1.0, 6), rtol=1e-6)
    assert tt.time_grid["step"] == 1
    out = tt.inverse_transform(ds)
    assert out["t"].tolist() == [0, 1, 2, 0, 1] + list(range(8))
    assert out["os"].tolist()[-8:] == ["mac"] * 8  # Attributes filled.
    with pytest.warns(UserWarning, match=r"dropped 1 of 3 series.*\['c'\]"):
        ds, _ = fit(table, missing="drop")
    assert ds.lengths.tolist() == [3, 2]
    # Series starting at different times: the time column is the step index.
    table = long_table()
    table.loc[table["host"] == "b", "t"] += 5
    ds, tt = fit(table)
    assert tt.time_grid is None
    assert tt.inverse_transform(ds)["t"].tolist() == [0, 1, 2, 0, 1, 0, 1, 2, 3]
    # Not a grid: a step of 0.5 beside steps of 1.
    table = long_table().astype({"t": "float64"})
    table.loc[5, "t"] = 3.5
    with pytest.raises(ValueError, match=r"'t' is not a regular grid: series "
                       r"'c' goes from 2.0 to 3.5"):
        fit(table)
    # Datetimes with a missing day.
    table = long_table()
    table["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        table["t"].where(table["host"] != "a", table["t"] * 2), unit="D")
    with pytest.raises(ValueError, match=r"grid of step 1 days"):
        fit(table)
    ds, tt = fit(table, missing="interpolate")
    assert ds.lengths.tolist() == [5, 2, 4]
    assert tt.inverse_transform(ds)["t"].iloc[4] == pd.Timestamp("2024-01-05")
    # Float times with a regular step.
    table = long_table()
    table["t"] = table["t"] * 0.1
    _, tt = fit(table)
    assert tt.time_grid["kind"] == "numeric"
    np.testing.assert_allclose(tt.time_grid["step"], 0.1)


def test_missing_values_policy():
    table = long_table()
    table["cpu"] = table["cpu"].astype("float64")
    table.loc[[2, 7], "cpu"] = np.nan  # Series "a" at t=0 and t=1.
    with pytest.raises(ValueError, match=r"'cpu' \(feature\) has 2 missing "
                       r"values \(NaN/None\) in rows \[2, 7\]"):
        fit(table)
    ds, tt = fit(table, missing="interpolate")
    # a: t=0 NaN, t=1 NaN, t=2 0.25 -> filled with the nearest value.
    np.testing.assert_allclose(ds.features[0, :3, 0], [0.125] * 3)
    with pytest.warns(UserWarning, match=r"dropped 1 of 3 series.*\['a'\]"):
        ds, tt = fit(table, missing="drop")
    assert len(ds) == 2
    assert tt.missing == "drop"
    table = long_table()
    table["cpu"] = table["cpu"].astype("float64")
    table.loc[6, "cpu"] = np.nan  # Series "c", t=1, between 0.0 and 0.25.
    ds, _ = fit(table, missing="interpolate")
    np.testing.assert_allclose(ds.features[2, :4, 0], [0, 0.0625, 0.125, 1.0])
    table = long_table()
    table.loc[[1, 2, 7], "state"] = None  # All of series "a".
    with pytest.raises(ValueError, match="no value at all in series 'a'"):
        fit(table, missing="interpolate")
    table = long_table()
    table.loc[3, "os"] = None
    with pytest.raises(ValueError, match=r"'os' \(attribute\).*rows \[3\]"):
        fit(table)
    ds, _ = fit(table, missing="interpolate")  # From the series' other rows.
    np.testing.assert_array_equal(ds.attributes[2, :3], [0, 0, 1])
    with pytest.raises(ValueError, match="`missing` must be one of"):
        fit(missing="ignore")


@pytest.mark.parametrize(
    "change, kwargs, message",
    [
        (None, dict(features=["cpu", "ram"]),
         r"`features` names column\(s\) \['ram'\] that are not in the table"),
        (None, dict(attributes=["zone"]), r"`attributes` names.*\['zone'\]"),
        (None, dict(example_id="server"), r"example_id/time.*\['server'\]"),
        (None, dict(features=["cpu", "os"]), "both `features` and `attributes`"),
        (None, dict(features=["cpu", "t"]), "`example_id`/`time` column"),
        (None, dict(features=[]), "at least one column"),
        (None, dict(discrete=["nope"]), r"`discrete` names \['nope'\]"),
        (None, dict(features=["other"]),
         r"Every feature column is constant \('other' = 0.0\)"),
        (lambda d: d.assign(state="up", cpu=1.0, jobs=2), {},
         r"Every feature column is constant \('cpu' = 1.0, 'jobs' = 2.0, "
         r"'state' = 'up'\)"),
        (lambda d: d.assign(os=d["os"].cat.set_categories(["mac"])), {},
         r"'os' \(attribute\) has 5 missing values"),
        (lambda d: d.assign(os=np.where(d.index == 6, "bsd", d["os"])), {},
         r"'os' must be constant within each series, but series 'c'"),
        (lambda d: d.assign(t=np.where(d.index == 6, 0, d["t"])), {},
         r"Series 'c' has two rows at the same `time` \(0"),
        (lambda d: d.assign(host=np.where(d.index == 4, None, d["host"])), {},
         r"`example_id` column 'host' is missing in rows \[4\]"),
        (lambda d: d.assign(t=d["t"].astype(str)), {}, "`time` column 't' has"),
        (lambda d: d.assign(cpu=np.where(d.index == 8, np.inf, d["cpu"])), {},
         r"'cpu' holds infinite values in rows \[8\]"),
        (lambda d: d.iloc[:0], {}, "`df` is empty"),
        (lambda d: d.assign(when=pd.Timestamp(0)), dict(features=["when"]),
         "dtype datetime64"),
    ],
)
def test_bad_tables(change, kwargs, message):
    table = long_table()
    if change is not None:
        table = change(table)
    with pytest.raises(ValueError, match=message):
        fit(table, **kwargs)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`df` must be a pandas DataFrame"):
        from_dataframe(long_table().to_numpy(), "host")
    with pytest.raises(ValueError, match="`example_id` must name a column"):
        from_dataframe(long_table(), 3.5)
    with pytest.raises(ValueError, match="`features` lists \\['cpu'\\] more"):
        fit(features=["cpu", "cpu"])


def test_transform_held_out_data():
    ds, tt = fit()
    again = tt.transform(long_table())
    np.testing.assert_array_equal(again.features, ds.features)
    np.testing.assert_array_equal(again.attributes, ds.attributes)
    held_out = long_table().iloc[[0, 2, 3, 4, 7]].copy()  # No time gap.
    part = tt.transform(held_out)
    assert part.max_sequence_len == 4 and len(part) == 3
    held_out.loc[0, "state"] = "rebooting"
    with pytest.raises(ValueError, match=r"'state' holds value\(s\) "
                       r"\['rebooting'\] \(rows \[0\]\) that are not among"):
        tt.transform(held_out)
    held_out = long_table()
    held_out.loc[3, "cpu"] = 3.0
    with pytest.raises(ValueError, match=r"outside its fitted range \[0.0, 2.0"
                       r"\]. Pass clip=True"):
        tt.transform(held_out)
    clipped = tt.transform(held_out, clip=True)
    assert clipped.features[2, 0, 0] == 1.0
    longer = pd.concat([long_table(), long_table().iloc[[5]].assign(t=4)])
    with pytest.raises(ValueError, match="longer than max_sequence_len=4"):
        tt.transform(longer)
    assert tt.transform(longer, truncate=True).lengths.tolist() == [3, 2, 4]
    with pytest.raises(ValueError, match=r"`df` names column\(s\) \['os'\]"):
        tt.transform(long_table().drop(columns="os"))


def test_constant_features_are_dropped_and_restored():
    table = long_table().assign(state="up")
    with pytest.warns(UserWarning, match=r"Constant features are not "
                      r"modelled.*: 'state' = 'up', 'other' = 0.0\."):
        ds, tt = fit(table, features=["cpu", "state", "jobs", "other"])
    assert tt.feature_names == ["cpu", "jobs"]
    assert ds.features.shape == (3, 4, 2)
    out = tt.inverse_transform(ds)
    with pytest.warns(UserWarning, match="'state' = 'up'"):
        ds_default, tt_default = fit(table)
    expected = tt_default.inverse_transform(ds_default)
    assert list(out.columns) == list(table.columns)
    assert (out["state"] == "up").all() and (out["other"] == 0).all()
    assert out["other"].dtype == table["other"].dtype
    pd.testing.assert_frame_equal(out[expected.columns], expected)
    restored = TableTransformer.from_config(tt.get_config())
    pd.testing.assert_frame_equal(restored.inverse_transform(ds), out)
    # Gaps modelled as data are information: not a constant feature.
    gappy = long_table().assign(other=[0.0, np.nan] + [0.0] * 7)
    with pytest.raises(ValueError, match="'other' is constant"):
        fit(gappy, features=["cpu", "other"], missing="model")


def test_a_constant_wide_feature_keeps_its_step_columns():
    table = wide_table().assign(c1=7, c2=7, c3=7)
    table.loc[1, ["c2", "c3"]] = np.nan
    table.loc[2, "c3"] = np.nan
    with pytest.warns(UserWarning, match=r"'c' = 7"):
        ds, tt = from_wide_dataframe(
            table, {"d": ["d1", "d2", "d3"], "c": ["c1", "c2", "c3"]},
            ["lang"], example_id="page")
    assert tt.feature_names == ["d"] and ds.features.shape == (3, 3, 1)
    out = tt.inverse_transform(ds)
    expected = table.assign(page=[0, 1, 2])
    pd.testing.assert_frame_equal(out, expected, check_exact=False,
                                  rtol=1e-5)


def wide_table():
    return pd.DataFrame({
        "page": ["x", "y", "z"],
        "d1": [3.0, 4.0, 1.0],
        "d2": [5.0, np.nan, 2.0],
        "d3": [6.0, np.nan, np.nan],
        "lang": ["en", "de", "en"],
    })


def test_wide_table():
    table = wide_table()
    ds, tt = from_wide_dataframe(table, ["d1", "d2", "d3"], ["lang"],
                                 example_id="page", sample_len=2)
    assert ds.features.shape == (3, 4, 1)
    assert ds.lengths.tolist() == [3, 1, 2]
    np.testing.assert_allclose(ds.features[0, :, 0], [0.4, 0.8, 1.0, 0.0])
    out = tt.inverse_transform(ds)
    expected = table.assign(page=[0, 1, 2])
    pd.testing.assert_frame_equal(out, expected, check_exact=False, rtol=1e-5)
    # Integer step columns and several features.
    table = pd.DataFrame({"a0": [1, 2], "a1": [3, 4], "b0": ["u", "v"],
                          "b1": ["v", "v"], "k": [True, False]})
    ds, tt = from_wide_dataframe(
        table, {"a": ["a0", "a1"], "b": ["b0", "b1"]}, ["k"])
    assert tt.feature_outputs == [Output("CONTINUOUS", 1, "ZERO_ONE"),
                                  Output("DISCRETE", 2)]
    pd.testing.assert_frame_equal(tt.inverse_transform(ds), table)
    # A shorter generated series: nullable dtypes after its end.
    short = {"features": ds.features, "attributes": ds.attributes,
             "gen_flag": np.array([[1, 1], [1, 0]], "float32")}
    out = tt.inverse_transform(short)
    assert out["a1"].dtype == "Int64" and out["a1"].isna().tolist() == [False, True]
    assert out["b1"].isna().tolist() == [False, True]


def test_wide_table_missing_values():
    table = wide_table()
    table.loc[0, "d2"] = np.nan  # Interior gap in series "x".
    with pytest.raises(ValueError, match=r"'value'.*\[\(0, 'd2'\)\]"):
        from_wide_dataframe(table, ["d1", "d2", "d3"])
    ds, _ = from_wide_dataframe(table, ["d1", "d2", "d3"],
                                missing="interpolate")
    np.testing.assert_allclose(ds.features[0, :3, 0], [0.4, 0.7, 1.0])
    with pytest.warns(UserWarning, match="dropped 1 of 3"):
        ds, _ = from_wide_dataframe(table, ["d1", "d2", "d3"], missing="drop")
    assert len(ds) == 2
    table = wide_table()
    table.loc[1, "d1"] = np.nan  # Row "y" has no value at all.
    with pytest.raises(ValueError, match=r"Rows \[1\] have no value"):
        from_wide_dataframe(table, ["d1", "d2", "d3"])
    table = wide_table()
    table.loc[1, "lang"] = None
    with pytest.raises(ValueError, match="'lang' has missing values in rows"):
        from_wide_dataframe(table, ["d1", "d2", "d3"], ["lang"],
                            missing="interpolate")
    with pytest.raises(ValueError, match="same number of step columns"):
        from_wide_dataframe(wide_table(), {"a": ["d1"], "b": ["d2", "d3"]})
    with pytest.raises(ValueError, match=r"`features\['value'\]` names.*d9"):
        from_wide_dataframe(wide_table(), ["d1", "d9"])
    with pytest.raises(ValueError, match="more than one feature"):
        from_wide_dataframe(wide_table(), {"a": ["d1"], "b": ["d1"]})


def test_ragged_arrays():
    rng = np.random.default_rng(0)
    series = [rng.random((t, 2)).astype("float32") for t in (3, 1, 5)]
    attributes = np.array([["web", 1.5], ["db", 2.5], ["web", 0.5]],
                          dtype=object)
    ds, tt = from_arrays(series, attributes, feature_names=["cpu", "mem"],
                         attribute_names=["role", "size"], sample_len=2)
    assert ds.features.shape == (3, 6, 2)
    assert ds.lengths.tolist() == [3, 1, 5]
    assert tt.attribute_outputs == [Output("DISCRETE", 2),
                                    Output("CONTINUOUS", 1, "ZERO_ONE")]
    out = tt.inverse_transform(ds)
    assert list(out.columns) == ["example_id", "step", "cpu", "mem", "role",
                                 "size"]
    np.testing.assert_allclose(out[["cpu", "mem"]], np.concatenate(series),
                               atol=1e-6)
    assert out["cpu"].dtype == np.float32
    assert out.groupby("example_id")["role"].first().tolist() == [
        "web", "db", "web"]
    ds3, _ = from_arrays(np.stack([s[:1] for s in series]))
    assert ds3.features.shape == (3, 1, 2)
    with pytest.raises(ValueError, match=r"`features\[1\]` has 3 columns"):
        from_arrays([np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"`features\[0\]` must be an array"):
        from_arrays([np.zeros((0, 2))])
    with pytest.raises(ValueError, match="`features` is empty"):
        from_arrays([])
    with pytest.raises(ValueError, match="`attributes` has 2 rows"):
        from_arrays(series, attributes[:2])
    with pytest.raises(ValueError, match="`feature_names` must hold 2"):
        from_arrays(series, feature_names=["a"])
    with pytest.raises(ValueError, match="reserved"):
        from_arrays(series, feature_names=["step", "x"])
