"""`generate_to`: streaming generation to part files
(`keras_dg/models/streaming.py`)."""

import json
import os

import numpy as np
import pandas as pd
import pytest

import keras_dg
from keras_dg.data import from_dataframe
from keras_dg.models import streaming
from tests.harness import TINY
from tests.harness import tiny_model
from tests.harness import tiny_table_data


@pytest.fixture(scope="module")
def table_model():
    """A tiny untrained model with a long-table transformer (ids `id`,
    time `t`, a float feature and a string attribute)."""
    dataset, transformer = tiny_table_data()
    return keras_dg.DoppelGANger(
        dataset.feature_outputs, dataset.attribute_outputs,
        max_sequence_len=4, sample_len=2, transformer=transformer,
        **dict(TINY, seed=0),
    )


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of one forward pass: parts are written in several chunks."""
    monkeypatch.setattr(streaming, "_CHUNK_STEPS", 1)


def _npz_parts(path, manifest):
    arrays = {key: [] for key in ("data_feature", "data_attribute",
                                  "data_gen_flag")}
    for part in manifest["parts"]:
        with np.load(os.path.join(path, part["file"])) as npz:
            for key in arrays:
                arrays[key].append(npz[key])
    return {key: np.concatenate(v) for key, v in arrays.items()}


def _parquet_parts(path, manifest):
    return pd.concat(
        [pd.read_parquet(os.path.join(path, p["file"]))
         for p in manifest["parts"]],
        ignore_index=True,
    )


def test_npz_parts_are_the_rows_of_generate(tmp_path, small_chunks):
    model = tiny_model()
    expected = model.generate(11, seed=5, batch_size=2)
    manifest = model.generate_to(
        tmp_path / "out", 11, format="npz", rows_per_file=5, seed=5,
        batch_size=2, progress=False,
    )
    assert [p["file"] for p in manifest["parts"]] == [
        "part-00000.npz", "part-00001.npz", "part-00002.npz"
    ]
    assert [p["rows"] for p in manifest["parts"]] == [[0, 5], [5, 10],
                                                      [10, 11]]
    got = _npz_parts(tmp_path / "out", manifest)
    # Byte for byte: the same noise rows in forward passes of one shape.
    np.testing.assert_array_equal(got["data_feature"], expected.features)
    np.testing.assert_array_equal(got["data_attribute"], expected.attributes)
    np.testing.assert_array_equal(got["data_gen_flag"], expected.gen_flag)
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == ["_manifest.json"] + [p["file"] for p in
                                          manifest["parts"]]
    with open(tmp_path / "out" / "_manifest.json") as f:
        record = json.load(f)
    assert record["complete"] and record["n"] == 11 and record["seed"] == 5
    assert record["format"] == "npz"
    assert set(record["model"]) == {"config_sha256", "weights_sha256"}


def test_parquet_parts_are_generate_dataframe(
    tmp_path, table_model, small_chunks
):
    expected = table_model.generate_dataframe(7, seed=3, batch_size=2)
    manifest = table_model.generate_to(
        tmp_path / "pq", 7, rows_per_file=3, seed=3, batch_size=2,
        progress=False,
    )
    assert len(manifest["parts"]) == 3
    pd.testing.assert_frame_equal(
        _parquet_parts(tmp_path / "pq", manifest), expected
    )
    # A reader of the folder skips the manifest.
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pq"), expected)
    assert manifest["columns"] == ["id", "t", "value", "kind"]
    # CSV parts: the same table, read back.
    manifest = table_model.generate_to(
        tmp_path / "csv", 7, format="csv", rows_per_file=3, seed=3,
        progress=False,
    )
    got = pd.concat(
        [pd.read_csv(tmp_path / "csv" / p["file"]) for p in
         manifest["parts"]],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_wide_layout_from_a_long_transformer(tmp_path, table_model):
    long = table_model.generate_dataframe(5, seed=1)
    manifest = table_model.generate_to(
        tmp_path / "w", 5, layout="wide", rows_per_file=2, seed=1,
        progress=False,
    )
    wide = _parquet_parts(tmp_path / "w", manifest)
    # The table's column order, `value` spread over its steps.
    assert list(wide.columns) == [
        "id", "value_0", "value_1", "value_2", "value_3", "kind"
    ]
    assert list(wide["id"]) == [0, 1, 2, 3, 4]
    for row in wide.itertuples(index=False):
        series = long[long["id"] == row.id]
        values = [getattr(row, f"value_{t}") for t in range(4)]
        np.testing.assert_allclose(values[: len(series)], series["value"])
        assert np.isnan(values[len(series):]).all()
        assert set(series["kind"]) == {row.kind}
    # And back: long from a wide transformer.
    back = streaming.with_layout(
        streaming.with_layout(table_model.transformer, "wide"), "long"
    )
    assert back.layout == "long" and back.time == "step"


def test_without_a_transformer_tables_hold_the_encoded_values(tmp_path):
    model = tiny_model()
    expected = model.generate(4, seed=0)
    manifest = model.generate_to(
        tmp_path / "enc", 4, seed=0, progress=False
    )
    table = _parquet_parts(tmp_path / "enc", manifest)
    assert list(table.columns)[:2] == ["example_id", "step"]
    assert len(table) == expected.lengths.sum()
    first = table[table["example_id"] == 0]
    np.testing.assert_allclose(
        first["feature_0"], expected.features[0, : len(first), 0],
        rtol=1e-6,
    )


def test_shards_together_are_the_single_run(tmp_path, table_model):
    single = table_model.generate_to(
        tmp_path / "one", 10, format="npz", rows_per_file=3, seed=2,
        progress=False,
    )
    whole = _npz_parts(tmp_path / "one", single)
    shared = tmp_path / "shards"
    parts = []
    for i in range(3):
        manifest = table_model.generate_to(
            shared, 10, format="npz", rows_per_file=3, seed=2,
            shard=(i, 3), progress=False,
        )
        assert manifest["rows"] == [i * 10 // 3, (i + 1) * 10 // 3]
        parts.append(_npz_parts(shared, manifest))
    for key, value in whole.items():
        np.testing.assert_array_equal(
            np.concatenate([p[key] for p in parts]), value
        )
    names = sorted(os.listdir(shared))
    assert "_manifest-shard-00001-of-00003.json" in names
    assert "shard-00002-of-00003-part-00000.npz" in names
    # Tables: the union of the shards' parts is generate_dataframe's.
    expected = table_model.generate_dataframe(10, seed=2)
    tables = []
    for i in range(3):
        manifest = table_model.generate_to(
            tmp_path / "pq", 10, seed=2, shard=(i, 3), progress=False,
        )
        tables.append(_parquet_parts(tmp_path / "pq", manifest))
    pd.testing.assert_frame_equal(
        pd.concat(tables, ignore_index=True), expected
    )
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pq"), expected)


def test_long_series_parts_are_the_rows_of_generate_with_length(
    tmp_path, table_model, small_chunks
):
    # Three times the model's window (max_sequence_len=4).
    expected = table_model.generate(7, seed=3, batch_size=2, length=12)
    assert expected.features.shape[1] == 12
    manifest = table_model.generate_to(
        tmp_path / "npz", 7, format="npz", rows_per_file=3, seed=3,
        batch_size=2, progress=False, length=12,
    )
    assert manifest["length"] == 12 and len(manifest["parts"]) == 3
    got = _npz_parts(tmp_path / "npz", manifest)
    # Byte for byte, as without `length`.
    np.testing.assert_array_equal(got["data_feature"], expected.features)
    np.testing.assert_array_equal(got["data_attribute"], expected.attributes)
    np.testing.assert_array_equal(got["data_gen_flag"], expected.gen_flag)
    with open(tmp_path / "npz" / "_manifest.json") as f:
        assert json.load(f)["length"] == 12
    # Tables: generate_dataframe(length=12), every series 12 rows.
    table = table_model.generate_dataframe(
        7, seed=3, batch_size=2, length=12
    )
    manifest = table_model.generate_to(
        tmp_path / "pq", 7, rows_per_file=3, seed=3, batch_size=2,
        progress=False, length=12,
    )
    got = _parquet_parts(tmp_path / "pq", manifest)
    pd.testing.assert_frame_equal(got, table)
    assert got.groupby("id").size().tolist() == [12] * 7
    # Not the rows of the model's own length.
    assert len(got) != len(table_model.generate_dataframe(7, seed=3))


def test_shards_with_length_together_are_generate(tmp_path, table_model):
    # 11 steps: the last LSTM step's block is trimmed (sample_len=2).
    expected = table_model.generate(10, seed=2, batch_size=4, length=11)
    parts = []
    for i in range(3):
        manifest = table_model.generate_to(
            tmp_path, 10, format="npz", rows_per_file=2, seed=2,
            batch_size=4, shard=(i, 3), progress=False, length=11,
        )
        assert manifest["length"] == 11
        parts.append(_npz_parts(tmp_path, manifest))
    np.testing.assert_array_equal(
        np.concatenate([p["data_feature"] for p in parts]),
        expected.features,
    )
    np.testing.assert_array_equal(
        np.concatenate([p["data_attribute"] for p in parts]),
        expected.attributes,
    )
    assert np.concatenate([p["data_gen_flag"] for p in parts]).shape == (
        10, 11
    )


class _Killed(Exception):
    pass


def _fail_after(monkeypatch, parts):
    """The writer raises when it opens part number `parts` (0-based), as if
    the process died there. Returns a function that restores the writer
    (not `monkeypatch.undo()`, which would also undo conftest's generation
    without XLA, whose results differ from XLA's in the last bits)."""
    write_part = streaming._Writer._write_part
    seen = []

    def failing(self, part):
        if len(seen) == parts:
            # Part of the file is written before the failure.
            raise _Killed()
        seen.append(part)
        return write_part(self, part)

    monkeypatch.setattr(streaming._Writer, "_write_part", failing)
    return lambda: monkeypatch.setattr(
        streaming._Writer, "_write_part", write_part
    )


def test_an_interrupted_run_resumes_from_its_finished_parts(
    tmp_path, monkeypatch
):
    model = tiny_model()
    out = tmp_path / "out"
    restore = _fail_after(monkeypatch, 2)
    with pytest.raises(_Killed):
        model.generate_to(
            out, 9, format="npz", rows_per_file=2, seed=4, progress=False
        )
    restore()
    names = sorted(os.listdir(out))
    # Two whole parts and the progress record; no manifest, no temp file.
    assert names == ["_progress.json", "part-00000.npz", "part-00001.npz"]
    stamps = {n: os.stat(out / n).st_mtime_ns for n in names[1:]}
    with pytest.raises(ValueError, match="unfinished.*resume=True"):
        model.generate_to(out, 9, format="npz", rows_per_file=2, seed=4)
    with pytest.raises(ValueError, match="`seed` differs"):
        model.generate_to(
            out, 9, format="npz", rows_per_file=2, seed=5, resume=True
        )
    with pytest.raises(ValueError, match="`rows_per_file` differs"):
        model.generate_to(
            out, 9, format="npz", rows_per_file=3, seed=4, resume=True
        )
    with pytest.raises(ValueError, match="`format` differs"):
        model.generate_to(out, 9, rows_per_file=2, seed=4, resume=True)
    manifest = model.generate_to(
        out, 9, format="npz", rows_per_file=2, seed=4, resume=True,
        progress=False,
    )
    assert len(manifest["parts"]) == 5
    for name, stamp in stamps.items():  # Kept, not written again.
        assert os.stat(out / name).st_mtime_ns == stamp
    assert "_progress.json" not in os.listdir(out)
    expected = model.generate(9, seed=4)
    np.testing.assert_array_equal(
        _npz_parts(out, manifest)["data_feature"], expected.features
    )
    # A complete run: resume leaves it as it is.
    again = model.generate_to(
        out, 9, format="npz", rows_per_file=2, seed=4, resume=True
    )
    assert again["parts"] == manifest["parts"]
    # Another model's weights: not the same run.
    other = tiny_model(seed=1)
    with pytest.raises(ValueError, match="the model differs"):
        other.generate_to(
            out, 9, format="npz", rows_per_file=2, seed=4, resume=True
        )


def test_resume_refuses_another_length(tmp_path, monkeypatch):
    model = tiny_model()
    restore = _fail_after(monkeypatch, 1)
    with pytest.raises(_Killed):
        model.generate_to(
            tmp_path, 4, format="npz", rows_per_file=2, seed=1,
            progress=False, length=24,
        )
    restore()
    with open(tmp_path / "_progress.json") as f:
        assert json.load(f)["length"] == 24
    for length in (None, 16):
        with pytest.raises(ValueError, match="`length` differs"):
            model.generate_to(
                tmp_path, 4, format="npz", rows_per_file=2, seed=1,
                resume=True, length=length,
            )
    manifest = model.generate_to(
        tmp_path, 4, format="npz", rows_per_file=2, seed=1, resume=True,
        progress=False, length=24,
    )
    expected = model.generate(4, seed=1, length=24)
    np.testing.assert_array_equal(
        _npz_parts(tmp_path, manifest)["data_feature"], expected.features
    )
    # A run without `length` is not resumed with one.
    model.generate_to(
        tmp_path / "plain", 2, format="npz", seed=1, progress=False
    )
    with pytest.raises(ValueError, match="`length` differs"):
        model.generate_to(
            tmp_path / "plain", 2, format="npz", seed=1, resume=True,
            length=8,
        )


def test_resume_without_a_seed_takes_the_recorded_one(tmp_path, monkeypatch):
    model = tiny_model()
    restore = _fail_after(monkeypatch, 1)
    with pytest.raises(_Killed):
        model.generate_to(
            tmp_path, 4, format="npz", rows_per_file=2, progress=False
        )
    restore()
    manifest = model.generate_to(
        tmp_path, 4, format="npz", rows_per_file=2, resume=True,
        progress=False,
    )
    assert manifest["seed"] is None
    expected = model.generate(4, seed=manifest["entropy"])
    np.testing.assert_array_equal(
        _npz_parts(tmp_path, manifest)["data_feature"], expected.features
    )


def test_a_failure_inside_a_part_leaves_no_file(tmp_path, monkeypatch):
    model = tiny_model()

    def broken(self, dataset, start):
        raise _Killed()

    monkeypatch.setattr(streaming._NpzSink, "write", broken)
    with pytest.raises(_Killed):
        model.generate_to(
            tmp_path, 4, format="npz", rows_per_file=2, progress=False
        )
    # The part being written is listed as pending, never visible.
    assert sorted(os.listdir(tmp_path)) == ["_progress.json"]
    with open(tmp_path / "_progress.json") as f:
        assert json.load(f)["pending"] == ["part-00000.npz"]


def test_overwrite_removes_only_the_runs_files(tmp_path):
    model = tiny_model()
    (tmp_path / "notes.txt").write_text("mine")
    model.generate_to(
        tmp_path, 6, format="npz", rows_per_file=2, seed=0, progress=False
    )
    with pytest.raises(ValueError, match="complete generate_to run"):
        model.generate_to(tmp_path, 6, format="npz", seed=0)
    manifest = model.generate_to(
        tmp_path, 6, format="npz", rows_per_file=3, seed=1, overwrite=True,
        progress=False,
    )
    assert sorted(os.listdir(tmp_path)) == [
        "_manifest.json", "notes.txt", "part-00000.npz", "part-00001.npz"
    ]
    assert manifest["seed"] == 1
    # A part name the record does not list is someone else's file.
    other = tmp_path / "other"
    other.mkdir()
    (other / "part-00000.npz").write_text("not ours")
    with pytest.raises(ValueError, match="not this run's file"):
        model.generate_to(other, 2, format="npz", seed=0, overwrite=True)
    assert (other / "part-00000.npz").read_text() == "not ours"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"format": "xlsx"}, "`format` must be one of"),
        ({"rows_per_file": 0}, "`rows_per_file`"),
        ({"n": 0}, "`n`"),
        ({"shard": (3, 3), "seed": 0}, "i=3 must be below N=3"),
        ({"shard": (0, 0), "seed": 0}, "`shard N`"),
        ({"shard": (-1, 2), "seed": 0}, "`shard i`"),
        ({"shard": (0, 5), "seed": 0, "n": 4}, "N=5 exceeds n=4"),
        ({"shard": "0/2", "seed": 0}, "must be a pair"),
        ({"shard": (0, 2)}, "needs an int `seed`"),
        ({"format": "npz", "layout": "wide"}, "`layout` applies to tables"),
        ({"layout": "tall"}, "`layout` must be one of"),
        ({"resume": True, "overwrite": True}, "not both"),
        ({"seed": -1}, "`seed`"),
        ({"length": 0}, "`length` must be"),
        ({"length": 801}, "from 1 to 800"),
        ({"layout": "wide", "length": 9}, "needs layout='long'"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs, match):
    model = tiny_model()
    kwargs = dict({"n": 4}, **kwargs)
    with pytest.raises(ValueError, match=match):
        model.generate_to(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_file_or_a_missing_parent_is_refused(tmp_path):
    model = tiny_model()
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        model.generate_to(tmp_path / "f", 2)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.generate_to(tmp_path / "no" / "out", 2)


def test_a_constant_feature_follows_the_layout():
    table = pd.DataFrame({
        "id": [0, 0, 0, 1, 1], "t": [0, 1, 2, 0, 1],
        "value": [0.5, 1.0, 0.0, 2.0, 1.5], "unit": "ms",
    })
    with pytest.warns(UserWarning, match="'unit' = 'ms'"):
        dataset, transformer = from_dataframe(
            table, "id", "t", ["value", "unit"])
    wide = streaming.with_layout(transformer, "wide")
    out = wide.inverse_transform(dataset)
    assert list(out.columns) == [
        "id", "value_0", "value_1", "value_2", "unit_0", "unit_1", "unit_2"
    ]
    assert out["unit_1"].tolist() == ["ms", "ms"]
    assert out["unit_2"].isna().tolist() == [False, True]
    back = streaming.with_layout(wide, "long")
    assert back.inverse_transform(dataset)["unit"].tolist() == ["ms"] * 5


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_parquet_keeps_every_dtype_across_chunks(tmp_path, small_chunks, layout):
    # The chunks after the first go to Arrow column by column
    # (`_ArrowSink.write`): they must read back with the first one's dtypes.
    rng = np.random.default_rng(1)
    n, t = 6, 4
    table = pd.DataFrame({
        "id": np.repeat(np.arange(n), t),
        "day": np.tile(pd.date_range("2024-01-01", periods=t, freq="D"), n),
        "load": rng.normal(size=n * t).round(3),
        "count": rng.integers(0, 50, size=n * t),
        "state": rng.choice(["up", "down"], size=n * t),
        "gap": np.where(rng.random(n * t) < 0.3, np.nan, rng.random(n * t)),
        "site": np.repeat(rng.choice(["x", "y", "z"], size=n), t),
        "big": np.repeat(rng.random(n) < 0.5, t),
        "tier": pd.Categorical(np.repeat(rng.choice(["lo", "hi"], size=n), t)),
    })
    dataset, transformer = from_dataframe(
        table, "id", "day", ["load", "count", "state", "gap"],
        attributes=["site", "big", "tier"], sample_len=2, missing="model",
    )
    model = keras_dg.DoppelGANger(
        dataset.feature_outputs, dataset.attribute_outputs,
        max_sequence_len=t, sample_len=2,
        transformer=streaming.with_layout(transformer, layout),
        **dict(TINY, seed=0),
    )
    expected = model.generate_dataframe(5, seed=2, batch_size=2)
    manifest = model.generate_to(
        tmp_path / "pq", 5, rows_per_file=5, seed=2, batch_size=2,
        progress=False,
    )
    assert len(manifest["parts"]) == 1  # one part of several chunks
    pd.testing.assert_frame_equal(
        _parquet_parts(tmp_path / "pq", manifest), expected
    )


def test_drawn_missingness_channels_are_those_of_generate(tmp_path):
    from tests.models.generation_test import channel_model

    model = channel_model(0.3)
    for draw_missing, length in ((True, None), (False, None), (True, 20)):
        expected = model.generate(9, seed=4, batch_size=2, length=length,
                                  draw_missing=draw_missing)
        folder = tmp_path / f"{draw_missing}-{length}"
        manifest = model.generate_to(
            folder, 9, format="npz", rows_per_file=4, seed=4,
            batch_size=2, progress=False, length=length,
            draw_missing=draw_missing,
        )
        got = _npz_parts(folder, manifest)["data_feature"]
        np.testing.assert_array_equal(got, expected.features)
        assert manifest["draw_missing"] is draw_missing
    assert got[..., 2].any()
    # A run drawn is not resumed by argmax.
    with pytest.raises(ValueError, match="`draw_missing` differs"):
        model.generate_to(
            tmp_path / "True-None", 9, format="npz", rows_per_file=4,
            seed=4, batch_size=2, resume=True, draw_missing=False,
        )
    # Without channels the setting is moot: recorded as None.
    manifest = tiny_model().generate_to(
        tmp_path / "plain", 2, format="npz", seed=1, progress=False,
        draw_missing=False,
    )
    assert manifest["draw_missing"] is None
