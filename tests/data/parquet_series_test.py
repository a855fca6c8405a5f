import warnings

import keras
import numpy as np
import pandas as pd
import pytest

from keras_dg import DoppelGANger
from keras_dg.data import ParquetSeries
from keras_dg.data import from_dataframe
from keras_dg.data import from_parquet
from keras_dg.data import parquet_series

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ARGS = dict(example_id="id", time="t", features=["x", "jobs", "state"],
            attributes=["kind", "size"], sample_len=2)
TINY = dict(
    sample_len=2, gen_feature_num_units=8, gen_attribute_num_units=8,
    disc_num_units=8, attr_disc_num_units=8, seed=0,
)


def long_table(n=29, seed=0, low=3, high=9):
    """`n` series of random lengths, sorted by id then time."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n):
        t = int(rng.integers(low, high + 1))
        parts.append(pd.DataFrame({
            "id": i,
            "t": np.arange(t) * 10,
            "x": rng.normal(size=t),
            "jobs": rng.integers(0, 50, size=t),
            "state": rng.choice(["down", "idle", "up"], size=t),
            "kind": np.repeat(rng.choice(["a", "b", "c"]), t),
            "size": np.repeat(rng.normal(), t),
        }))
    return pd.concat(parts, ignore_index=True)


def write_folder(path, table, files=3, row_group_size=5):
    """`table` in `files` Parquet files (cut at series boundaries) of small
    row groups, so that series span row groups."""
    path.mkdir(exist_ok=True)
    ids = table["id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    cuts = [0] + [int(starts[len(starts) * k // files]) for k in
                  range(1, files)] + [len(table)]
    for k in range(files):
        part = pa.Table.from_pandas(table.iloc[cuts[k]:cuts[k + 1]],
                                    preserve_index=False)
        pq.write_table(part, path / f"part-{k:05d}.parquet",
                       row_group_size=row_group_size)
    return path


def both(path, table, **kwargs):
    """The streaming fit and `from_dataframe` on the same table."""
    folder = write_folder(path, table)
    args = {**ARGS, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series, transformer = from_parquet(folder, **args)
        ds, expected = from_dataframe(pd.read_parquet(folder), **args)
    return series, transformer, ds, expected


def epoch(series, **kwargs):
    batches = list(series.batches(**kwargs))
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def assert_same_fit(series, transformer, ds, expected):
    assert transformer.get_config() == expected.get_config()
    assert len(series) == len(ds)
    got = epoch(series, batch_size=4, shuffle=False)
    np.testing.assert_array_equal(got["features"], ds.features)
    np.testing.assert_array_equal(got["attributes"], ds.attributes)
    np.testing.assert_array_equal(got["gen_flag"], ds.gen_flag)


def test_fit_equals_from_dataframe(tmp_path):
    assert_same_fit(*both(tmp_path / "a", long_table()))


@pytest.mark.parametrize("kwargs", [
    dict(max_sequence_len=6, truncate=True),
    dict(normalization="MINUSONE_ONE", log1p=["jobs"], discrete=[]),
    dict(discrete=["jobs"], max_categories=None),
    dict(outliers="keep"),
])
def test_options_equal_from_dataframe(tmp_path, kwargs):
    assert_same_fit(*both(tmp_path / "a", long_table(), **kwargs))


@pytest.mark.parametrize("missing", ["interpolate", "drop", "model"])
def test_missing_values_and_gaps_equal_from_dataframe(tmp_path, missing):
    table = long_table()
    table.loc[[3, 20, 21, 60], "x"] = np.nan
    table.loc[[40], "state"] = None
    table = table.drop(index=[10, 50])  # Gaps in the time grid.
    series, transformer, ds, expected = both(tmp_path / "a", table,
                                             missing=missing)
    assert_same_fit(series, transformer, ds, expected)
    if missing == "model":
        assert transformer.missing_channels == ["x", "jobs", "state"]


def test_constant_features_equal_from_dataframe(tmp_path):
    table = long_table().assign(jobs=4, state="up")
    series, transformer, ds, expected = both(tmp_path / "a", table)
    assert transformer.feature_names == ["x"]
    assert_same_fit(series, transformer, ds, expected)
    with pytest.raises(ValueError, match="Every feature column is constant"):
        from_parquet(tmp_path / "a", **{**ARGS, "features": ["jobs"]})


def test_constant_attribute_datetimes_and_outliers_equal_from_dataframe(
    tmp_path,
):
    table = long_table(n=40)
    table["size"] = 3.0  # Constant: restored, not modelled.
    table["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        table["t"] // 10, unit="D"
    )
    table.loc[7, "x"] = 1e6
    series, transformer, ds, expected = both(tmp_path / "a", table,
                                             outliers="clip")
    assert_same_fit(series, transformer, ds, expected)
    assert transformer.constants[0]["name"] == "size"
    assert transformer.time_grid["kind"] == "datetime"


def test_categoricals_and_booleans_equal_from_dataframe(tmp_path):
    table = long_table()
    table["kind"] = pd.Categorical(table["kind"], categories=["c", "a", "b"])
    table["state"] = pd.Categorical(table["state"])
    table["busy"] = table["x"] > 0
    assert_same_fit(*both(tmp_path / "a", table,
                          features=["x", "jobs", "state", "busy"]))


def test_an_integer_column_with_gaps_in_one_file(tmp_path):
    table = long_table()
    table["jobs"] = table["jobs"].astype("float64")
    table.loc[len(table) - 2, "jobs"] = np.nan  # Only in the last file.
    assert_same_fit(*both(tmp_path / "a", table, missing="interpolate"))


def test_clean_row_groups_skip_the_pandas_path(tmp_path):
    """Row groups without missing values or gaps are encoded straight from
    Arrow, to the same arrays as `transform`."""
    table = long_table()
    table["kind"] = pd.Categorical(table["kind"])
    table["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(table["t"],
                                                              unit="h")
    series, transformer, ds, _ = both(tmp_path / "a", table, log1p=["jobs"])
    for unit in series.units:
        table_, _ = unit.read_table(series.columns)
        plain = parquet_series._encode_plain(transformer, table_)
        assert plain is not None
        expected = transformer.transform(unit.read(series.columns))
        for got, want in zip(plain, (expected.features, expected.attributes,
                                     expected.gen_flag)):
            np.testing.assert_array_equal(got, want)
    table = long_table()
    table.loc[4, "x"] = np.nan  # Series 0: transform interpolates it.
    series, transformer, *_ = both(tmp_path / "b", table,
                                   missing="interpolate")
    plain = [
        parquet_series._encode_plain(transformer,
                                     unit.read_table(series.columns)[0])
        for unit in series.units
    ]
    assert plain[0] is None
    assert all(p is not None for p in plain[1:])


def test_shuffled_epochs_cover_every_series_once_and_repeat_with_the_seed(
    tmp_path,
):
    series, _, ds, _ = both(tmp_path / "a", long_table(n=60))

    def rows(arrays):
        flat = np.concatenate(
            [arrays["features"].reshape(len(arrays["features"]), -1),
             arrays["attributes"], arrays["gen_flag"]], axis=1)
        return flat[np.lexsort(flat.T[::-1])]

    one = epoch(series, batch_size=7, seed=3, shuffle_buffer=10)
    np.testing.assert_array_equal(rows(one), rows(
        {"features": ds.features, "attributes": ds.attributes,
         "gen_flag": ds.gen_flag}))
    assert not np.array_equal(one["features"], ds.features)
    again = epoch(series, batch_size=7, seed=3, shuffle_buffer=10)
    np.testing.assert_array_equal(again["features"], one["features"])
    other = epoch(series, batch_size=7, seed=3, shuffle_buffer=10, epoch=1)
    assert not np.array_equal(other["features"], one["features"])
    sizes = [len(b["features"]) for b in series.batches(7, seed=3)]
    assert sizes == [7] * 8 + [4]
    assert series.num_batches(7) == 9


def _model(specs, **kwargs):
    model = DoppelGANger(
        specs.feature_outputs, specs.attribute_outputs,
        max_sequence_len=specs.max_sequence_len, **TINY, **kwargs,
    )
    model.compile()
    return model


def _periodic_table(n=30, t=16):
    """Feature x has a period of 2 (= sample_len); every series full."""
    rng = np.random.default_rng(0)
    parts = [pd.DataFrame({
        "id": i, "t": np.arange(t),
        "x": np.tile(rng.random(2), t // 2) + 0.01 * rng.random(t),
        "y": rng.random(t),
        "kind": rng.choice(["a", "b"]),
    }) for i in range(n)]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.backend
def test_fit_from_parquet_makes_the_in_memory_decisions(tmp_path):
    folder = write_folder(tmp_path / "a", _periodic_table(), row_group_size=40)
    args = dict(example_id="id", time="t", features=["x", "y"],
                attributes=["kind"], sample_len=2)
    series, transformer = from_parquet(folder, **args)
    ds, _ = from_dataframe(pd.read_parquet(folder), **args)
    in_memory = _model(transformer)
    in_memory.fit(ds, epochs=1, batch_size=10, verbose=0)
    streamed = _model(transformer)
    history = series.fit(streamed, batch_size=10, epochs=2, verbose=0)
    assert len(history.history["g_loss"]) == 2
    assert series.full_length
    assert float(streamed.full_length_state) == float(
        in_memory.full_length_state) == 1.0
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(
            streamed.feature_generator.position_mask),
        keras.ops.convert_to_numpy(
            in_memory.feature_generator.position_mask))
    assert keras.ops.convert_to_numpy(
        streamed.feature_generator.position_mask)[0] == 1.0
    # model.fit takes the series itself and makes the same decisions.
    direct = _model(transformer)
    history = direct.fit(series, batch_size=10, epochs=2, verbose=0)
    assert len(history.history["g_loss"]) == 2
    assert float(direct.full_length_state) == 1.0
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(direct.feature_generator.position_mask),
        keras.ops.convert_to_numpy(
            in_memory.feature_generator.position_mask))


@pytest.mark.backend
@pytest.mark.parametrize("kind", ["tf.data", "pydataset"])
def test_model_fit_on_training_data(tmp_path, kind):
    if kind == "tf.data" and keras.config.backend() != "tensorflow":
        pytest.skip("tf.data is the TensorFlow input")
    folder = write_folder(tmp_path / "a", long_table(n=25))
    series, transformer = from_parquet(folder, **ARGS)
    assert not series.full_length
    model = _model(transformer)
    series.apply_settings(model)
    data = series.training_data(8, seed=0, shuffle_buffer=10, kind=kind)
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["d_loss"]) == 2
    assert np.isfinite(history.history["d_loss"]).all()
    assert float(model.full_length_state) == 0.0


def test_a_folder_written_by_generate_to(tmp_path):
    table = long_table(n=20)
    ds, transformer = from_dataframe(table, **ARGS)
    model = _model(transformer, transformer=transformer)
    model.generate_to(str(tmp_path / "gen"), 30, format="parquet",
                      rows_per_file=12, seed=0)
    series, fitted = from_parquet(tmp_path / "gen", **ARGS, outliers="keep")
    generated = pd.read_parquet(tmp_path / "gen")
    _, expected = from_dataframe(generated, **ARGS, outliers="keep")
    assert len(series) == 30
    assert fitted.get_config() == expected.get_config()


# --- Errors ---------------------------------------------------------------


def test_series_that_come_back_are_named(tmp_path):
    table = long_table(n=10)
    moved = table[table["id"] == 4]
    table = pd.concat([table[table["id"] != 4].iloc[:20], moved,
                       table[table["id"] != 4].iloc[20:]])
    table.loc[table.index[:2], "id"] = 4  # Series 4 starts the table too.
    folder = write_folder(tmp_path / "a", table, files=1)
    with pytest.raises(ValueError, match="series 4 .*not contiguous"):
        from_parquet(folder, **ARGS)


def test_missing_values_name_the_file_and_rows(tmp_path):
    table = long_table(n=10)
    table.loc[len(table) - 1, "x"] = np.nan
    folder = write_folder(tmp_path / "a", table, files=2)
    with pytest.raises(ValueError, match=r"In 'part-00001.parquet' .*'x'.*"
                       r"missing values"):
        from_parquet(folder, **ARGS)


def test_outliers_name_the_file_and_row(tmp_path):
    table = long_table(n=10)
    table.loc[5, "x"] = 1e9
    folder = write_folder(tmp_path / "a", table, files=2)
    with pytest.raises(ValueError, match=r"1000000000.0.*part-00000.parquet:5"):
        from_parquet(folder, **ARGS)


def test_different_column_types_in_two_files_are_refused(tmp_path):
    folder = write_folder(tmp_path / "a", long_table(n=10), files=2)
    table = pd.read_parquet(folder / "part-00001.parquet")
    table["state"] = 1.5
    table.to_parquet(folder / "part-00001.parquet")
    with pytest.raises(ValueError, match="'state' has dtype"):
        from_parquet(folder, **ARGS)


@pytest.mark.parametrize("kwargs, match", [
    (dict(path="nowhere"), "neither a file nor a folder"),
    (dict(path=3), "`path` must be"),
    (dict(features=["nope"]), "nope"),
    (dict(non_numeric="missing"), "non_numeric"),
    (dict(missing="guess"), "missing"),
    (dict(max_sequence_len=5), "sample_len"),
    (dict(sample_size=0), "sample_size"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs, match):
    folder = write_folder(tmp_path / "a", long_table(n=4), files=1)
    args = {"path": folder, **ARGS, **kwargs}
    with pytest.raises(ValueError, match=match):
        from_parquet(**args)


def test_an_empty_folder_is_refused(tmp_path):
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "_manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="no Parquet files"):
        from_parquet(tmp_path / "e", **ARGS)


def test_bad_training_options_are_refused(tmp_path):
    folder = write_folder(tmp_path / "a", long_table(n=4), files=1)
    series, _ = from_parquet(folder, **ARGS)
    assert isinstance(series, ParquetSeries)
    with pytest.raises(ValueError, match="batch_size"):
        series.training_data(0)
    with pytest.raises(ValueError, match="kind"):
        series.training_data(2, kind="arrow")
    other = DoppelGANger(series.feature_outputs, series.attribute_outputs,
                         max_sequence_len=series.max_sequence_len * 2, **TINY)
    with pytest.raises(ValueError, match="max_sequence_len"):
        series.apply_settings(other)


def test_fit_from_parquet_starts_and_calibrates_missingness_channels(
        tmp_path):
    table = long_table()
    table.loc[table.index[::7], "x"] = np.nan
    folder = write_folder(tmp_path / "a", table)
    series, transformer = from_parquet(folder, **ARGS, missing="model")
    assert transformer.missing_channels == ["x"]
    assert not series.full_length
    sample = series.settings_data()
    assert sample["features"].shape[:2] == sample["gen_flag"].shape
    model = _model(transformer)
    model.g_optimizer.learning_rate.assign(0.0)
    history = model.fit(series, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    assert float(model.full_length_state) == 0.0
    # The channel starts at the sampled series' missing rate.
    from keras_dg.specs import output_slices

    (start,) = [start for output, start, _ in
                output_slices(transformer.feature_outputs)
                if output.is_missing_channel]
    active = sample["gen_flag"] > 0.5
    rate = sample["features"][..., start + 1][active].mean()
    bias = keras.ops.convert_to_numpy(model.feature_generator.heads.bias)
    np.testing.assert_allclose(bias[start + 1], np.log(rate / (1 - rate)),
                               rtol=1e-5)
    shift = keras.ops.convert_to_numpy(model.missing_draws)[0, 0]
    assert shift != 0.0
