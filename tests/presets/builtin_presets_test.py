"""The presets shipped with weights (keras_dg/presets/weights/)."""

import fnmatch
import importlib.resources
import os
import pathlib

import numpy as np
import pytest

import keras_dg
from keras_dg.presets import PRESETS
from keras_dg.presets import preset_io

SHIPPED = [name for name, preset in PRESETS.items() if preset["weights"]]
ROOT = pathlib.Path(__file__).resolve().parents[2]
# `generate(4, seed=0)` of each shipped preset, written on TensorFlow when
# the presets were saved (regenerate it when they are retrained).
REFERENCE = pathlib.Path(__file__).parent / "data" / "reference_seed0.npz"


def test_flights_and_fcc_mba_ship_weights():
    assert {"flights", "FCC_MBA"} <= set(SHIPPED)
    assert set(keras_dg.DoppelGANger.presets) == set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_preset_is_small_and_documented(name):
    folder = preset_io.builtin_folder(name)
    files = os.listdir(folder)
    assert set(preset_io.REQUIRED_FILES) <= set(files)
    assert "transformer.json" in files
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    assert size <= 5 * 2**20, size
    metadata = preset_io.read_metadata(folder)
    assert len(metadata["description"]) > 50
    assert metadata["recipe"].count("recipes/") == 1
    assert metadata["training_data"]["train_series"] > 0
    fidelity = metadata["fidelity"]
    for key in ("acf_mse", "attribute_jsd", "discriminative_score"):
        assert fidelity["metrics"][key] is not None, key
        assert fidelity["floor"][key] is not None, key
    assert metadata["optimizer_state"] is False


def test_package_data_covers_every_shipped_file():
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as f:
        pyproject = tomllib.load(f)
    patterns = pyproject["tool"]["setuptools"]["package-data"][
        "keras_dg.presets"
    ]
    shipped = importlib.resources.files("keras_dg.presets") / "weights"
    names = [
        f"weights/{folder.name}/{item.name}"
        for folder in shipped.iterdir() if folder.is_dir()
        for item in folder.iterdir()
    ]
    assert len(names) >= 8
    for name in names:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name


@pytest.mark.backend
@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_preset_generates_the_saved_series_on_every_backend(name):
    # Saved on TensorFlow; generation noise is NumPy's, so every backend
    # must give the same series for the same seed.
    model = keras_dg.DoppelGANger.from_preset(name)
    synthetic = model.generate(4, seed=0)
    reference = np.load(REFERENCE)
    np.testing.assert_allclose(
        synthetic.features, reference[f"{name}_features"], atol=1e-5
    )
    np.testing.assert_array_equal(
        synthetic.attributes, reference[f"{name}_attributes"]
    )
    np.testing.assert_array_equal(
        synthetic.gen_flag, reference[f"{name}_gen_flag"]
    )
    table = model.generate_dataframe(2, seed=0)
    assert list(table.columns) == model.transformer.column_order


def test_aliases_load_the_shipped_preset():
    model = keras_dg.DoppelGANger.from_preset("mba")
    assert model.preset_metadata["training"]["preset"] == "FCC_MBA"
    assert model.sample_len == 8 and model.block_heads == "per_position"
