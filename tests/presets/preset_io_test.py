import json
import os
import shutil
import sys
import types

import keras
import numpy as np
import pandas as pd
import pytest

import keras_dg
from keras_dg.data import from_dataframe
from keras_dg.presets import preset_io

TINY = dict(
    gen_feature_num_units=4, gen_attribute_num_units=4,
    gen_attribute_num_layers=1, disc_num_units=4, disc_num_layers=1,
    attr_disc_num_units=4, attr_disc_num_layers=1, seed=0,
)


def _table(n=8, t=4, seed=0, kinds=("a", "b")):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.repeat(np.arange(n), t),
        "step": np.tile(np.arange(t), n),
        "load": rng.uniform(0, 10, n * t),
        "kind": np.repeat([kinds[i % len(kinds)] for i in range(n)], t),
    })


def _model(table, **kwargs):
    data, transformer = from_dataframe(
        table, example_id="id", time="step", features=["load"],
        attributes=["kind"], sample_len=2,
    )
    model = keras_dg.DoppelGANger(
        data.feature_outputs, data.attribute_outputs, data.max_sequence_len,
        sample_len=2, transformer=transformer, **{**TINY, **kwargs},
    )
    return model, data


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model with a table transformer, saved as a preset."""
    model, data = _model(_table())
    folder = str(tmp_path_factory.mktemp("preset") / "tiny")
    model.save_to_preset(folder, metadata={
        "description": "tiny", "fidelity": {"metrics": {"acf_mse": 0.1},
                                            "floor": {"acf_mse": 0.01}},
    })
    return {"model": model, "data": data, "folder": folder}


def _copy(saved, tmp_path):
    folder = str(tmp_path / "copy")
    shutil.copytree(saved["folder"], folder)
    return folder


def _edit_json(folder, filename, edit):
    path = os.path.join(folder, filename)
    with open(path) as f:
        value = json.load(f)
    edit(value)
    with open(path, "w") as f:
        json.dump(value, f)


# --- The format and the round trip -----------------------------------------


def test_folder_holds_the_four_files_and_metadata(saved):
    folder = saved["folder"]
    assert sorted(os.listdir(folder)) == sorted(
        ["config.json", "model.weights.h5", "metadata.json",
         "transformer.json"]
    )
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    assert config["registered_name"] == "keras_dg>DoppelGANger"
    assert "compile_config" not in config and "build_config" not in config
    assert "transformer" not in config["config"]
    with open(os.path.join(folder, "metadata.json")) as f:
        metadata = json.load(f)
    assert metadata["keras_version"] == keras.__version__
    assert metadata["keras_dg_version"] == keras_dg.__version__
    assert metadata["backend"] == keras.config.backend()
    assert metadata["parameter_count"] == saved["model"].count_params()
    assert metadata["preset_format"] == preset_io.PRESET_FORMAT
    assert metadata["fidelity"]["floor"] == {"acf_mse": 0.01}
    with open(os.path.join(folder, "transformer.json")) as f:
        transformer = json.load(f)
    assert transformer["registered_name"] == "keras_dg>TableTransformer"
    assert transformer["config"]["attributes"][0]["categories"] == ["a", "b"]


@pytest.mark.backend
def test_round_trip_generates_the_same_data(saved):
    model = saved["model"]
    loaded = keras_dg.DoppelGANger.from_preset(saved["folder"])
    assert loaded.get_config() == model.get_config()
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )
    expected, actual = model.generate(6, seed=3), loaded.generate(6, seed=3)
    np.testing.assert_array_equal(actual.features, expected.features)
    np.testing.assert_array_equal(actual.attributes, expected.attributes)
    np.testing.assert_array_equal(actual.gen_flag, expected.gen_flag)
    pd.testing.assert_frame_equal(
        loaded.generate_dataframe(4, seed=1),
        model.generate_dataframe(4, seed=1),
    )
    assert loaded.preset_metadata["description"] == "tiny"


@pytest.mark.backend
def test_without_weights_is_the_architecture_freshly_initialized(saved):
    # Initial weights come from the global seed (keras.utils.set_random_seed),
    # which the suite resets before each test: draw them from another one, so
    # that weights equal to the preset's can only mean they were loaded.
    keras.utils.set_random_seed(123)
    fresh = keras_dg.DoppelGANger.from_preset(
        saved["folder"], load_weights=False, seed=1
    )
    assert fresh.count_params() == saved["model"].count_params()
    assert fresh.seed == 1
    kernels = [
        (keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
        for a, b in zip(fresh.weights, saved["model"].weights)
        if "kernel" in a.path
    ]
    assert kernels and not any(np.array_equal(a, b) for a, b in kernels)
    assert not np.array_equal(
        fresh.generate(4, seed=0).features,
        saved["model"].generate(4, seed=0).features,
    )


def test_overrides_replace_hyperparameters(saved):
    model = keras_dg.DoppelGANger.from_preset(
        saved["folder"], g_lr=5e-4, d_rounds=2
    )
    assert model.g_lr == 5e-4 and model.d_rounds == 2
    with pytest.raises(ValueError, match=r"\['max_sequence_len'\]"):
        keras_dg.DoppelGANger.from_preset(
            saved["folder"], max_sequence_len=8
        )
    with pytest.raises(ValueError, match="does not fit.*gen_feature_num"):
        keras_dg.DoppelGANger.from_preset(
            saved["folder"], gen_feature_num_units=3
        )
    with pytest.raises(ValueError, match="load_weights"):
        keras_dg.DoppelGANger.from_preset(saved["folder"], load_weights=1)


def test_save_refuses_reserved_metadata_and_an_existing_preset(saved):
    model = saved["model"]
    with pytest.raises(ValueError, match=r"\['backend'\]"):
        model.save_to_preset(saved["folder"] + "_x",
                             metadata={"backend": "x"})
    with pytest.raises(ValueError, match="plain JSON"):
        model.save_to_preset(saved["folder"] + "_x",
                             metadata={"when": object()})
    with pytest.raises(ValueError, match="overwrite=True"):
        model.save_to_preset(saved["folder"])
    assert not os.path.exists(saved["folder"] + "_x")


def test_a_model_without_transformer_has_no_transformer_file(tmp_path):
    model, _ = _model(_table())
    model.transformer = None
    model.save_to_preset(tmp_path / "p")
    assert "transformer.json" not in os.listdir(tmp_path / "p")
    assert keras_dg.DoppelGANger.from_preset(tmp_path / "p").transformer is None


# --- Damaged folders -----------------------------------------------------------


@pytest.mark.parametrize(
    "filename", ["config.json", "metadata.json", "model.weights.h5"]
)
def test_a_missing_file_is_named(saved, tmp_path, filename):
    folder = _copy(saved, tmp_path)
    os.remove(os.path.join(folder, filename))
    with pytest.raises(FileNotFoundError, match=f"no {filename}"):
        keras_dg.DoppelGANger.from_preset(folder)


@pytest.mark.parametrize(
    "filename", ["config.json", "metadata.json", "transformer.json"]
)
def test_a_damaged_json_file_is_named(saved, tmp_path, filename):
    folder = _copy(saved, tmp_path)
    with open(os.path.join(folder, filename), "w") as f:
        f.write('{"truncated": ')
    with pytest.raises(ValueError, match=f"{filename} .* damaged"):
        keras_dg.DoppelGANger.from_preset(folder)


def test_damaged_weights_are_named(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    with open(os.path.join(folder, "model.weights.h5"), "wb") as f:
        f.write(b"not an hdf5 file at all")
    with pytest.raises(ValueError, match="model.weights.h5 .* damaged"):
        keras_dg.DoppelGANger.from_preset(folder)


def test_a_damaged_transformer_config_is_named(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_json(folder, "transformer.json",
               lambda t: t["config"].pop("features"))
    with pytest.raises(ValueError, match="transformer.json .*features"):
        keras_dg.DoppelGANger.from_preset(folder)


@pytest.mark.parametrize(
    "key, value, match",
    [("keras_dg_version", "99.0", "keras-dg 99.0.*Upgrade"),
     ("preset_format", 2, "format 2.*Upgrade"),
     ("keras_dg_version", "banana", "not a version")],
)
def test_a_preset_from_a_newer_keras_dg_is_refused(
    saved, tmp_path, key, value, match
):
    folder = _copy(saved, tmp_path)
    _edit_json(folder, "metadata.json", lambda m: m.update({key: value}))
    with pytest.raises(ValueError, match=match):
        keras_dg.DoppelGANger.from_preset(folder)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.update(registered_name="builtins>eval",
                           class_name="eval"),
        lambda c: c.update(registered_name="keras_dg>TableTransformer"),
        lambda c: c["config"].update(dtype={
            "module": "os", "class_name": "system", "config": {},
            "registered_name": None,
        }),
    ],
    ids=["foreign class", "not a model", "foreign nested object"],
)
def test_only_keras_dg_classes_load(saved, tmp_path, edit):
    folder = _copy(saved, tmp_path)
    _edit_json(folder, "config.json", edit)
    with pytest.raises(ValueError, match="refusing|only hold Keras"):
        keras_dg.DoppelGANger.from_preset(folder)


# --- Handles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "handle, error, match",
    [
        ("nope", ValueError, "Unknown preset 'nope'.*flights"),
        ("web", ValueError, "'web' is a training configuration without "
         "weights.*Presets with weights:"),
        ("./missing/folder", FileNotFoundError, "does not exist"),
        (3, ValueError, "preset name, a folder"),
        ("kaggle://owner/model", ValueError, "OWNER/MODEL/keras/VARIANT"),
        ("kaggle://o/m/keras/v/latest", ValueError, "must be a number"),
        ("hf://owner", ValueError, "hf://OWNER/MODEL"),
        ("s3://bucket/model", ValueError, "unknown scheme 's3'"),
    ],
)
def test_bad_handles_get_their_own_error(handle, error, match):
    with pytest.raises(error, match=match):
        keras_dg.DoppelGANger.from_preset(handle)


@pytest.mark.parametrize(
    "handle, package",
    [("kaggle://o/m/keras/v", "kagglehub"), ("hf://o/m", "huggingface_hub")],
)
def test_a_hub_handle_without_its_client_names_the_package(
    monkeypatch, handle, package
):
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(ImportError, match=f"pip install {package}"):
        keras_dg.DoppelGANger.from_preset(handle)


def test_hub_handles_download_through_their_client(saved, monkeypatch):
    calls = []
    kaggle = types.SimpleNamespace(
        model_download=lambda h: calls.append(("kaggle", h)) or
        saved["folder"]
    )
    hub = types.SimpleNamespace(
        snapshot_download=lambda repo_id: calls.append(("hf", repo_id)) or
        saved["folder"]
    )
    monkeypatch.setitem(sys.modules, "kagglehub", kaggle)
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    a = keras_dg.DoppelGANger.from_preset("kaggle://o/dg/keras/tiny/2")
    b = keras_dg.DoppelGANger.from_preset("hf://o/dg")
    assert calls == [("kaggle", "o/dg/keras/tiny/2"), ("hf", "o/dg")]
    assert a.count_params() == b.count_params() == (
        saved["model"].count_params()
    )


def test_upload_validates_then_calls_the_client(saved, tmp_path, monkeypatch):
    calls = []
    kaggle = types.SimpleNamespace(
        model_upload=lambda handle, folder: calls.append((handle, folder))
    )
    hub = types.SimpleNamespace(
        create_repo=lambda repo_id, exist_ok: calls.append(
            ("create", repo_id, exist_ok)),
        upload_folder=lambda repo_id, folder_path: calls.append(
            (repo_id, folder_path)),
    )
    monkeypatch.setitem(sys.modules, "kagglehub", kaggle)
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    keras_dg.upload_preset("kaggle://o/dg/keras/tiny", saved["folder"])
    keras_dg.upload_preset("hf://o/dg", saved["folder"])
    assert calls == [
        ("o/dg/keras/tiny", saved["folder"]),
        ("create", "o/dg", True),
        ("o/dg", saved["folder"]),
    ]
    calls.clear()
    folder = _copy(saved, tmp_path)
    os.remove(os.path.join(folder, "model.weights.h5"))
    with pytest.raises(FileNotFoundError, match="model.weights.h5"):
        keras_dg.upload_preset("hf://o/dg", folder)
    with pytest.raises(ValueError, match="drop the version"):
        keras_dg.upload_preset("kaggle://o/dg/keras/tiny/3", saved["folder"])
    with pytest.raises(ValueError, match="kaggle:// or hf://"):
        keras_dg.upload_preset(saved["folder"], saved["folder"])
    assert calls == []


def test_the_transformer_json_config_refuses_what_json_cannot_hold():
    _, transformer = from_dataframe(
        _table(), example_id="id", time="step", features=["load"],
        attributes=["kind"],
    )
    config = transformer.to_json_config()
    assert json.loads(json.dumps(config)) == config
    rebuilt = type(transformer).from_json_config(config)
    assert rebuilt.get_config() == transformer.get_config()
    transformer.features[0]["max"] = float("nan")
    with pytest.raises(ValueError, match="not plain JSON"):
        transformer.to_json_config()
    with pytest.raises(ValueError, match=r"unknown keys \['extra'\]"):
        type(transformer).from_json_config({**config, "extra": 1})


# --- Fine-tuning -----------------------------------------------------------------


@pytest.mark.backend
def test_fine_tuning_continues_training_on_same_schema_data(saved):
    model = keras_dg.DoppelGANger.from_preset(saved["folder"], compile=True)
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    # The user's own series, encoded with the preset's scaling.
    data = model.transformer.transform(_table(n=6, seed=1), clip=True)
    model.fit(data, epochs=1, batch_size=6, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(after, before))
    assert model.generate(3, seed=0).features.shape == (3, 4, 1)


@pytest.mark.backend
def test_fine_tuning_names_a_schema_mismatch(saved):
    model = keras_dg.DoppelGANger.from_preset(saved["folder"])
    model.compile()
    other = _table().rename(columns={"load": "cpu"})
    with pytest.raises(ValueError, match="load"):
        model.transformer.transform(other)
    # Encoded by another transformer: a third category.
    data, _ = from_dataframe(
        _table(kinds=("a", "b", "c")), example_id="id", time="step",
        features=["load"], attributes=["kind"],
    )
    with pytest.raises(ValueError, match="attribute_outputs"):
        model.fit(data, epochs=1, verbose=0)


def _iterations(model):
    return [
        int(keras.ops.convert_to_numpy(v))
        for v in model.optimizer.variables if v.path.endswith("iteration")
    ]


@pytest.mark.backend
def test_fine_tuning_restores_the_optimizers_if_saved(tmp_path):
    model, data = _model(_table())
    with pytest.raises(ValueError, match="include_optimizer"):
        model.save_to_preset(tmp_path / "none", include_optimizer=True)
    model.compile()
    model.fit(data, epochs=1, batch_size=4, verbose=0)
    trained = _iterations(model)
    assert max(trained) > 0
    model.save_to_preset(tmp_path / "with", include_optimizer=True)
    model.save_to_preset(tmp_path / "without")
    with_state = keras_dg.DoppelGANger.from_preset(
        tmp_path / "with", compile=True
    )
    assert with_state.preset_metadata["optimizer_state"] is True
    assert _iterations(with_state) == trained
    fresh = keras_dg.DoppelGANger.from_preset(
        tmp_path / "without", compile=True
    )
    assert fresh.preset_metadata["optimizer_state"] is False
    assert max(_iterations(fresh)) == 0
    # The weights alone, whichever file they come from.
    for loaded in (with_state, fresh):
        np.testing.assert_array_equal(
            loaded.generate(3, seed=2).features,
            model.generate(3, seed=2).features,
        )
    assert os.path.getsize(tmp_path / "without" / "model.weights.h5") < (
        os.path.getsize(tmp_path / "with" / "model.weights.h5")
    )
