import numpy as np
import pandas as pd
import pytest

from keras_dg.data import load_any
from keras_dg.data import load_folder_data
from keras_dg.data import load_model
from keras_dg.data import load_table_data
from keras_dg.data import read_table
from keras_dg.data import save_dg
from keras_dg.data.readers import expand_columns
from keras_dg.data.readers import parse_time_column
from tests.harness import tiny_dataset


def _long_table(path, n=6):
    rows = [
        {"host": f"h{i}", "t": f"2013-01-0{step + 1}", "cpu": float(i + step),
         "os": ["linux", "mac"][i % 2]}
        for i in range(n) for step in range(1 + i % 3)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t"),
                                         (".csv.gz", ",")])
def test_read_table_formats(tmp_path, suffix, sep):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    path = tmp_path / f"t{suffix}"
    frame.to_csv(path, sep=sep, index=False)
    pd.testing.assert_frame_equal(read_table(path), frame)


def test_read_table_errors_name_the_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="table '.*' does not exist"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(ValueError, match=r"--table '.*' must be a \.csv"):
        read_table(tmp_path / "t.xlsx", "--table")


def test_expand_columns_keeps_names_and_expands_patterns():
    table = pd.DataFrame(columns=["id", "day_1", "day_2", "x"])
    assert expand_columns(table, ["x", "day_*"]) == ["x", "day_1", "day_2"]
    with pytest.raises(ValueError, match="`features` pattern 'w_\\*'"):
        expand_columns(table, ["w_*"], "`features`")


def test_parse_time_column():
    table = pd.DataFrame({"t": ["2013-01-02", "2013-01-01"], "n": [1, 2]})
    parsed = parse_time_column(table, "t")
    assert parsed["t"].dtype.kind == "M"
    assert table["t"].tolist()[0] == "2013-01-02"  # The input stays.
    assert parse_time_column(table, "n") is table
    with pytest.raises(ValueError, match="column 't' holds text that is not"):
        parse_time_column(pd.DataFrame({"t": ["a"]}), "t")


def test_load_table_data_long_with_a_test_table(tmp_path):
    data = load_table_data(
        _long_table(tmp_path / "t.csv"), example_id="host", time="t",
        features=["cpu"], attributes=["os"],
        test_path=_long_table(tmp_path / "test.csv", n=3), sample_len=1,
    )
    assert len(data["train"]) == 6 and len(data["test"]) == 3
    assert data["train"].max_sequence_len == 3
    assert data["transformer"].attribute_names == ["os"]
    lines = data["source"].splitlines()
    assert lines[0].endswith("6 series of up to 3 steps; columns:")
    # One line per column: id, time, attribute, feature.
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  'host'", "  't'", "  'os'", "  'cpu'"]
    assert "'cpu': feature, continuous" in lines[4]


def test_load_table_data_names_arguments_as_asked(tmp_path):
    path = _long_table(tmp_path / "t.csv")
    with pytest.raises(ValueError, match="`example_id` is required"):
        load_table_data(path, features=["cpu"])
    with pytest.raises(ValueError, match="--time is for long tables"):
        load_table_data(path, layout="wide", time="t", features=["cpu"],
                        names={"time": "--time"})
    with pytest.raises(ValueError, match="`features` must list the step"):
        load_table_data(path, layout="wide")


def test_load_folder_data_picks_the_test_split(tmp_path):
    save_dg(tiny_dataset(n=6, seed=0), tmp_path, split="train")
    save_dg(tiny_dataset(n=3, seed=1), tmp_path, split="test")
    data = load_folder_data(tmp_path)
    assert (len(data["train"]), len(data["test"])) == (6, 3)
    assert "test split 'test': 3 series" in data["source"]
    assert load_folder_data(tmp_path, test_split="none")["test"] is None
    assert load_folder_data(tmp_path, split="test")["test"] is None


def test_load_any_folders_pick_a_split_by_role(tmp_path):
    save_dg(tiny_dataset(n=6, seed=0), tmp_path, split="train")
    save_dg(tiny_dataset(n=3, seed=1), tmp_path, split="test")
    assert len(load_any(tmp_path)) == 3  # --real: test first.
    assert len(load_any(tmp_path, role="--train")) == 6
    assert len(load_any(tmp_path, role="--synthetic")) == 6  # No generated.
    other = tmp_path / "other"
    for split in ("x", "y"):
        save_dg(tiny_dataset(n=2), other, split=split)
    with pytest.raises(ValueError, match="holds the splits.*--real-split"):
        load_any(other)
    assert len(load_any(tmp_path / "data_train.npz")) == 6
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no data_"):
        load_any(tmp_path / "empty")


def test_load_any_loose_npz_takes_specs_from_like(tmp_path):
    real = tiny_dataset(n=4, seed=0)
    features = real.features.copy()
    features[real.gen_flag == 0] = 0.5  # Padding that is not zero.
    path = tmp_path / "generated_data_train.npz"
    np.savez(path, data_feature=features, data_attribute=real.attributes,
             data_gen_flag=real.gen_flag)
    with pytest.raises(ValueError, match="has no Output pickles"):
        load_any(path, role="--synthetic")
    loaded = load_any(path, role="--synthetic", like=real)
    np.testing.assert_allclose(loaded.features, real.features)
    np.savez(tmp_path / "bad.npz", data_feature=features)
    with pytest.raises(ValueError, match="lacks the arrays"):
        load_any(tmp_path / "bad.npz", like=real)
    with pytest.raises(ValueError, match="applies to folders"):
        load_any(path, split="train", like=real)


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="model '.*' does not exist"):
        load_model(tmp_path / "m.keras")
    (tmp_path / "m.h5").write_text("x")
    with pytest.raises(ValueError, match="--model '.*' must be a .keras"):
        load_model(tmp_path / "m.h5", "--model")
