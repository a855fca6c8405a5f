"""The recipes' --save-preset path (how the shipped presets are built)."""

import json

import keras_dg
from tests.recipes_test import _recipe


def test_flights_recipe_saves_a_preset(tmp_path, capsys):
    preset = tmp_path / "preset"
    code = _recipe("flights").main([
        "--quick", "--epochs", "1", "--budget", "1h", "--seed", "1",
        "--out", str(tmp_path / "run"), "--save-preset", str(preset),
    ])
    assert code == 0
    assert f"Preset: {preset}" in capsys.readouterr().out
    with open(preset / "metadata.json") as f:
        metadata = json.load(f)
    assert "recipes/flights.py" in metadata["recipe"]
    assert "--save-preset" in metadata["recipe"]
    assert metadata["training"]["epochs"] == 1
    assert metadata["training"]["time_budget"] == 3600
    fidelity = metadata["fidelity"]
    assert set(fidelity["floor"]) <= set(fidelity["metrics"])
    assert fidelity["floor"]["acf_mse"] > 0
    assert metadata["training_data"]["max_sequence_len"] == 28
    model = keras_dg.DoppelGANger.from_preset(preset)
    assert list(model.generate_dataframe(2, seed=0).columns)[:2] == [
        "route", "date"
    ]


def test_mba_recipe_paper_flag_checks_its_data(tmp_path, capsys):
    code = _recipe("mba").main([
        "--paper", "--data", str(tmp_path / "missing"),
        "--out", str(tmp_path / "run"), "--save-preset",
        str(tmp_path / "preset"),
    ])
    assert code == 2
    assert "missing" in capsys.readouterr().err
    assert not (tmp_path / "preset").exists()
