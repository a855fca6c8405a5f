"""What `from_dataframe` refuses to guess: numbers in text, too many
categories, outliers, overflowing ranges; constant columns; the column
lines."""

import warnings

import numpy as np
import pandas as pd
import pytest

from keras_dg.data import TableTransformer
from keras_dg.data import from_dataframe
from keras_dg.data import from_wide_dataframe
from keras_dg.data.column_checks import describe_columns
from keras_dg.data.column_checks import outlier_mask


def table(n_series=4, t=10, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.repeat(np.arange(n_series), t),
        "step": np.tile(np.arange(t), n_series),
        "load": rng.normal(10.0, 2.0, n_series * t),
        "zone": np.repeat(["north", "south"] * (n_series // 2), t),
    })


def fit(df, **kwargs):
    args = dict(example_id="id", time="step", features=["load"],
                attributes=["zone"])
    args.update(kwargs)
    return from_dataframe(df, **args)


def test_one_word_in_a_numeric_column_is_an_error_naming_it():
    df = table()
    df["load"] = df["load"].astype(object)
    df.loc[17, "load"] = "hello"
    with pytest.raises(ValueError, match=r"Column 'load' holds numbers \(39 "
                       r"of 40 values\) but also 1 non-numeric value\(s\) "
                       r"\['hello'\] in rows \[17\]"):
        fit(df)
    # Explicitly: the cell becomes missing, then `missing` applies.
    with pytest.raises(ValueError, match=r"'load' \(feature\) has 1 missing "
                       r"values \(NaN/None\) in rows \[17\]"):
        fit(df, non_numeric="missing")
    ds, tt = fit(df, non_numeric="missing", missing="interpolate")
    assert tt.features[0]["kind"] == "continuous"
    # Explicitly categories: listed in `discrete` (then too many of them).
    with pytest.raises(ValueError, match="different value in every row"):
        fit(df, discrete=["load"])


def test_numbers_stored_as_text_are_not_guessed():
    df = table()
    df["load"] = df["load"].map(str)
    with pytest.raises(ValueError, match="numbers stored as text"):
        fit(df)
    _, tt = fit(df, non_numeric="missing")
    assert tt.features[0]["kind"] == "continuous"
    with pytest.raises(ValueError, match="`non_numeric` must be one of"):
        fit(df, non_numeric="coerce")


def test_text_columns_stay_categories():
    df = table()
    df["zone"] = np.where(df["id"] < 2, "1", "x")  # Half numbers: text.
    _, tt = fit(df)
    assert tt.attributes[0]["categories"] == ["1", "x"]


def test_too_many_categories_is_an_error_with_a_hint():
    df = table(n_series=30, t=2)
    df["zone"] = (df["id"] % 25).map(lambda i: f"z{i}")
    with pytest.raises(ValueError, match=r"'zone' has 25 categories.*"
                       r"max_categories=10.*raise `max_categories`"):
        fit(df, max_categories=10)
    _, tt = fit(df)
    assert len(tt.attributes[0]["categories"]) == 25
    # One category per series: an identifier, not a category.
    df["zone"] = df["id"].map(lambda i: f"host-{i}")
    with pytest.raises(ValueError, match=r"'zone' has a different value in "
                       r"every series \(30 values"):
        fit(df)
    _, tt = fit(df, max_categories=None)
    assert len(tt.attributes[0]["categories"]) == 30
    with pytest.raises(ValueError, match="`max_categories` must be"):
        fit(df, max_categories=0)


def test_an_outlier_is_an_error_naming_its_rows_unless_clipped_or_kept():
    df = table()
    df.loc[23, "load"] = 1e300
    with pytest.raises(ValueError, match=r"Feature column 'load' holds 1 "
                       r"value\(s\) \[1e\+300\] in rows \[23\] far outside"):
        fit(df)
    ds, tt = fit(df, outliers="clip")
    spec = tt.features[0]
    assert spec["outliers"] == "clip"
    assert spec["max"] == pytest.approx(df["load"].drop(23).max())
    out = tt.inverse_transform(ds).set_index(["id", "step"])["load"]
    expected = df.set_index(["id", "step"])["load"]
    np.testing.assert_allclose(out.drop((2, 3)), expected.drop((2, 3)),
                               rtol=1e-5)
    assert out[(2, 3)] == pytest.approx(spec["max"])
    # keep: scaled with the rest; the round trip error says what it costs.
    with pytest.warns(UserWarning, match="changes values by up to"):
        _, tt = fit(df, outliers="keep")
    # The bulk (about 10 +- 2) decodes to the minimum.
    assert tt.features[0]["round_trip_error"] > 1.0
    with pytest.raises(ValueError, match="`outliers` must be one of"):
        fit(df, outliers="ignore")


def test_outlier_error_suggests_log1p_for_positive_columns():
    df = table()
    df.loc[5, "load"] = 1e9
    with pytest.raises(ValueError, match=r"log1p=\[\.\.\.\] \(--log1p\)"):
        fit(df)
    _, tt = fit(df, log1p=["load"])  # The log compresses the tail.
    assert tt.features[0]["log1p"] is True


def test_overflowing_range_has_its_own_message():
    df = table()
    df.loc[3, "load"] = 1.7e308
    df.loc[4, "load"] = -1.7e308
    with pytest.raises(ValueError, match="overflows float64"):
        fit(df, outliers="keep")
    with pytest.raises(ValueError, match="far outside the bulk"):
        fit(df)
    df.loc[0:39, "load"] = np.where(np.arange(40) % 2, 1.7e308, -1.7e308)
    with pytest.raises(ValueError, match="overflows float64.*not missing"):
        fit(df)


def test_outlier_mask():
    x = np.r_[np.linspace(0, 1, 50), 5000.0]
    assert outlier_mask(x).tolist() == [False] * 50 + [True]
    # Mostly one value: spikes are the signal unless far beyond the others.
    sparse = np.r_[np.zeros(90), np.full(10, 5.0)]
    assert not outlier_mask(sparse).any()
    assert outlier_mask(np.r_[sparse, 1e12])[-1]
    # Several huge values in a mostly constant column: still flagged.
    mask = outlier_mask(np.r_[sparse, 1e300, 1e300, 1e300])
    assert mask.tolist() == [False] * 100 + [True] * 3
    # Only huge spikes beside one value: nothing else collapses, not flagged.
    assert not outlier_mask(np.r_[np.zeros(90), np.full(3, 1e300)]).any()
    # A heavy but continuous tail of spikes is signal.
    tail = np.r_[np.zeros(900), np.geomspace(1, 1e3, 100)]
    assert not outlier_mask(tail).any()
    assert not outlier_mask(np.array([1.0, 1e300])).any()  # Too few.


def test_constant_attribute_is_dropped_and_restored():
    df = table()
    df["site"] = "lab"
    df["rack"] = np.int16(7)
    with pytest.warns(UserWarning, match=r"'site' = 'lab', 'rack' = 7"):
        ds, tt = fit(df, attributes=["zone", "site", "rack"])
    assert tt.attribute_names == ["zone"] and ds.attributes.shape == (4, 2)
    out = tt.inverse_transform(ds)
    assert list(out.columns) == list(df.columns)
    assert (out["site"] == "lab").all() and out["rack"].dtype == np.int16
    restored = TableTransformer.from_config(tt.get_config())
    pd.testing.assert_frame_equal(restored.inverse_transform(ds), out)
    # Every attribute constant: a dataset without attributes.
    with pytest.warns(UserWarning, match="'site' = 'lab'"):
        ds, tt = fit(df, attributes=["site"])
    assert ds.attributes.shape == (4, 0) and tt.attribute_outputs == []
    assert (tt.inverse_transform(ds)["site"] == "lab").all()
    # A constant feature is dropped and restored the same way.
    with pytest.warns(UserWarning, match=r"Constant features.*'site' = 'lab'"):
        ds, tt = fit(df, features=["load", "site"], attributes=[])
    assert tt.feature_names == ["load"]
    assert (tt.inverse_transform(ds)["site"] == "lab").all()


def test_wide_table_checks():
    df = pd.DataFrame({"d0": [1.0, 2.0, 3.0], "d1": ["4", "oops", "6"],
                       "kind": ["a", "a", "a"]})
    with pytest.raises(ValueError, match=r"'d1'.*\['oops'\] in rows \[1\]"):
        from_wide_dataframe(df, ["d0", "d1"])
    with pytest.warns(UserWarning, match="'kind' = 'a'"):
        ds, tt = from_wide_dataframe(df, ["d0", "d1"], ["kind"],
                                     non_numeric="missing")
    assert ds.lengths.tolist() == [2, 1, 2]
    out = tt.inverse_transform(ds)
    assert out["kind"].tolist() == ["a"] * 3


def test_describe_columns_one_line_per_column():
    df = table()
    df["site"] = "lab"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, tt = fit(df, attributes=["zone", "site"])
    lines = describe_columns(tt)
    assert lines[0] == "  'id': series id"
    assert lines[1].startswith("  'step': time, regular grid from 0, step 1")
    dtype = str(df["zone"].dtype)
    assert lines[2] == (f"  'zone': attribute, discrete {dtype}, 2 "
                        "categories ['north', 'south']")
    assert "'site': attribute, constant 'lab'" in lines[3]
    assert lines[4].startswith("  'load': feature, continuous float64, range")
    assert "round-trip error" in lines[4]
    assert len(lines) == 5
