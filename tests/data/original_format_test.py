import json
import os
import pickle
import stat
import subprocess
import sys

import numpy as np
import pytest

from keras_dg.data import original_format
from keras_dg.data.original_format import load_dg
from keras_dg.data.original_format import save_dg
from keras_dg.data.restricted_unpickler import UnsafePickleError
from keras_dg.data.restricted_unpickler import load_outputs
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.specs import Output
from tests.data.shared_data import FCC_MBA
from tests.data.shared_data import SHARED_DATA
from tests.data.shared_data import needs_shared_data


def tiny(n=4, t=6, extras=None):
    rng = np.random.default_rng(0)
    lengths = np.array([t, 1, 3, 5])[:n]
    gen_flag = (np.arange(t)[None] < lengths[:, None]).astype("float32")
    features = np.concatenate(
        [rng.random((n, t, 1)), np.eye(3)[rng.integers(0, 3, (n, t))]], -1
    ).astype("float32") * gen_flag[..., None]
    attributes = np.concatenate(
        [np.eye(2)[[0, 1, 1, 0][:n]], rng.uniform(-1, 1, (n, 1))], -1
    )
    return TimeSeriesDataset(
        features, attributes, gen_flag,
        [Output("CONTINUOUS", 1, "ZERO_ONE"), Output("DISCRETE", 3)],
        [Output("DISCRETE", 2), Output("CONTINUOUS", 1, "MINUSONE_ONE")],
        extras=extras,
    )


def assert_same(a, b):
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.attributes, b.attributes)
    np.testing.assert_array_equal(a.gen_flag, b.gen_flag)
    assert a.feature_outputs == b.feature_outputs
    assert a.attribute_outputs == b.attribute_outputs
    assert sorted(a.extras) == sorted(b.extras)
    for key in a.extras:
        np.testing.assert_array_equal(a.extras[key], b.extras[key])
        assert a.extras[key].dtype == b.extras[key].dtype


@needs_shared_data
@pytest.mark.parametrize("split, n", [("train", 600), ("test", 139)])
def test_loads_fcc_mba_as_is(split, n):
    ds = load_dg(FCC_MBA, split)
    assert ds.features.shape == (n, 56, 2)
    assert ds.attributes.shape == (n, 73)
    assert ds.gen_flag.dtype == np.float32  # float64 in the file.
    assert ds.lengths.tolist() == [56] * n
    assert ds.feature_outputs == [Output("CONTINUOUS", 1, "ZERO_ONE")] * 2
    assert [o.dim for o in ds.attribute_outputs] == [15, 5, 53]
    assert sorted(ds.extras) == ["data_feature_max", "data_feature_min"]
    assert ds.extras["data_feature_min"].shape == (2,)
    assert ds.extras["data_feature_max"][0] > 1e9  # Bytes, raw units.


@needs_shared_data
def test_fcc_mba_round_trip(tmp_path):
    original = load_dg(FCC_MBA)
    folder = save_dg(original, tmp_path / "mba")
    assert_same(original, load_dg(folder))
    # Saving again gives the same bytes for the pickles.
    for name in ("data_feature_output.pkl", "data_attribute_output.pkl"):
        first = (tmp_path / "mba" / name).read_bytes()
        save_dg(load_dg(folder), tmp_path / "again")
        assert (tmp_path / "again" / name).read_bytes() == first


@needs_shared_data
def test_google_schema_pickles_load():
    outputs = load_outputs(SHARED_DATA / "google_schema" / "data_feature_output.pkl")
    assert len(outputs) == 9


def test_round_trip_with_extras_and_splits(tmp_path):
    extras = {"data_feature_min": np.array([2.0], "float32"),
              "data_feature_max": np.array([7.0], "float64"),
              "names": np.array(["a", "b"])}
    train = tiny(extras=extras)
    save_dg(train, tmp_path / "ds")
    save_dg(train[:2], tmp_path / "ds", split="test")
    assert_same(train, load_dg(tmp_path / "ds"))
    assert_same(train[:2], load_dg(tmp_path / "ds", "test"))
    with np.load(tmp_path / "ds" / "data_train.npz") as npz:
        assert npz["data_gen_flag"].dtype == np.float32
    schema = json.loads((tmp_path / "ds" / "data_schema.json").read_text())
    assert sorted(schema["splits"]) == ["test", "train"]
    assert schema["splits"]["train"]["num_series"] == 4
    assert schema["splits"]["test"]["length_max"] == 6
    assert schema["attribute_outputs"][1] == {
        "type_": "CONTINUOUS", "dim": 1, "normalization": "MINUSONE_ONE",
        "is_gen_flag": False}
    assert schema["splits"]["train"]["arrays"]["names"]["shape"] == [2]


def test_existing_files_are_kept(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "README.txt").write_text("mine")
    save_dg(tiny(), folder)
    assert (folder / "README.txt").read_text() == "mine"
    assert sorted(os.listdir(folder)) == [
        "README.txt", "data_attribute_output.pkl", "data_feature_output.pkl",
        "data_schema.json", "data_train.npz"]


def test_atomic_write_of_a_new_folder(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(original_format.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save_dg(tiny(), tmp_path / "new")
    assert os.listdir(tmp_path) == []  # No folder, no staging leftovers.


def test_a_new_folder_follows_the_umask_and_clears_a_killed_writer(tmp_path):
    # A writer killed mid-save leaves its hidden temp folder (its pid is no
    # longer alive); the next save into the same parent removes it.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".tmp-{dead.pid}-old"
    stale.mkdir()
    (stale / "data_train.npz").write_bytes(b"half")
    before = os.umask(0o022)
    try:
        folder = save_dg(tiny(), tmp_path / "new")
    finally:
        os.umask(before)
    assert sorted(os.listdir(tmp_path)) == ["new"]
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(os.path.join(folder, "data_train.npz"))
                        .st_mode) == 0o644


def test_atomic_write_into_an_existing_folder(tmp_path, monkeypatch):
    folder = save_dg(tiny(), tmp_path / "ds")
    before = {
        name: (tmp_path / "ds" / name).read_bytes()
        for name in os.listdir(folder)
    }
    calls = []
    real = original_format._write_file

    def crash_on_second(path, writer):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("power cut")
        real(path, writer)

    monkeypatch.setattr(original_format, "_write_file", crash_on_second)
    with pytest.raises(OSError, match="power cut"):
        save_dg(tiny(n=2), folder)
    after = {name: (tmp_path / "ds" / name).read_bytes()
             for name in os.listdir(folder)}
    assert after == before  # Untouched, and no temporary files left.


def test_conflicting_specs_in_a_shared_folder(tmp_path):
    save_dg(tiny(), tmp_path / "ds", split="train")
    other = TimeSeriesDataset(
        np.zeros((1, 2, 1)), np.zeros((1, 0)), np.ones((1, 2)),
        [Output("CONTINUOUS", 1, "ZERO_ONE")], [])
    with pytest.raises(ValueError, match=r"split\(s\) \['train'\].*differs"):
        save_dg(other, tmp_path / "ds", split="test")
    # Replacing the only split with new specs is fine.
    save_dg(other, tmp_path / "ds", split="train")
    assert load_dg(tmp_path / "ds").attribute_outputs == []


def test_save_validates_its_input(tmp_path):
    bad = tiny()
    bad.features[0, 0, 0] = 5.0  # Outside [0, 1].
    with pytest.raises(ValueError, match=r"must lie in \[0.0, 1.0\]"):
        save_dg(bad, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    with pytest.raises(ValueError, match="`dataset` must be"):
        save_dg({"features": 1}, tmp_path / "ds")
    with pytest.raises(ValueError, match="`split`"):
        save_dg(tiny(), tmp_path / "ds", split="../evil")
    with pytest.raises(ValueError, match="dtype object"):
        save_dg(tiny(extras={"x": np.array([{}], dtype=object)}), tmp_path / "d")
    with pytest.raises(ValueError, match="cannot be saved"):
        save_dg(tiny(extras={"data_feature": np.zeros(2)}), tmp_path / "d")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        save_dg(tiny(), tmp_path / "file")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_dg(tmp_path / "nothing")
    save_dg(tiny(), tmp_path / "ds")
    with pytest.raises(FileNotFoundError, match=r"Splits present: \['train'\]"):
        load_dg(tmp_path / "ds", "test")
    with pytest.raises(ValueError, match="`split`"):
        load_dg(tmp_path / "ds", "")
    np.savez(tmp_path / "ds" / "data_obj.npz",
             data_feature=np.array([None], dtype=object))
    with pytest.raises(ValueError, match="refused for safety"):
        load_dg(tmp_path / "ds", "obj")
    np.savez(tmp_path / "ds" / "data_part.npz", data_feature=np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"lacks the arrays \['data_attribute'"):
        load_dg(tmp_path / "ds", "part")
    (tmp_path / "ds" / "data_junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable npz"):
        load_dg(tmp_path / "ds", "junk")
    ds = tiny()
    np.savez(tmp_path / "ds" / "data_bad.npz", data_feature=ds.features,
             data_attribute=ds.attributes[:, :2], data_gen_flag=ds.gen_flag)
    with pytest.raises(ValueError, match=r"split 'bad'.*`attributes` has 2 col"):
        load_dg(tmp_path / "ds", "bad")
    os.remove(tmp_path / "ds" / "data_attribute_output.pkl")
    with pytest.raises(FileNotFoundError, match="data_attribute_output.pkl"):
        load_dg(tmp_path / "ds")


def test_load_refuses_a_malicious_folder(tmp_path):
    marker = tmp_path / "pwned"
    save_dg(tiny(), tmp_path / "ds")
    (tmp_path / "ds" / "data_feature_output.pkl").write_bytes(
        f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    with pytest.raises(UnsafePickleError, match="'os.system'"):
        load_dg(tmp_path / "ds")
    assert not marker.exists()


def test_saved_pickles_use_module_output(tmp_path):
    save_dg(tiny(), tmp_path / "ds")
    data = (tmp_path / "ds" / "data_feature_output.pkl").read_bytes()
    assert data.startswith(b"\x80\x02")
    assert b"coutput\nOutput\n" in data and b"keras_dg" not in data
    with pytest.raises(ModuleNotFoundError, match="output"):
        pickle.loads(data)  # Needs the original module, as intended.
