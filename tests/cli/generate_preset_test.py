"""`keras-dg generate --preset` and `keras-dg presets` with the shipped
presets with weights."""

import json
import sys

import pandas as pd

from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli


def test_generate_from_the_flights_preset_needs_no_data(capsys, tmp_path):
    out = tmp_path / "synth.csv"
    code, stdout, _ = run_cli(
        capsys, "generate", "--preset", "flights", "-n", 3, "--out", out
    )
    assert code == 0 and "Generated 3 series" in stdout
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "route", "date", "carrier", "origin", "dest", "flights", "dep_delay"
    ]
    assert table["route"].nunique() == 3 and len(table) == 3 * 364
    assert table["origin"].isin(["EWR", "JFK", "LGA"]).all()


def test_generate_preset_errors(capsys, tmp_path, monkeypatch):
    out = tmp_path / "synth.csv"
    assert_user_error(
        capsys, "without weights", "generate", "--preset", "web", "--out", out
    )
    monkeypatch.setitem(sys.modules, "kagglehub", None)
    assert_user_error(
        capsys, "pip install kagglehub", "generate", "--preset",
        "kaggle://o/m/keras/v", "--out", out,
    )
    assert_user_error(
        capsys, "not allowed with argument", "generate", "--preset",
        "flights", "--model", tmp_path / "m.keras", "--out", out,
    )
    assert_user_error(
        capsys, "one of the arguments --model/-m --preset/-p is required",
        "generate", "--out", out,
    )
    assert not out.exists()


def test_presets_command_shows_which_ship_weights(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()
            if line and not line.startswith(("aliases", "weights yes"))}
    assert rows["flights"] == "yes" and rows["FCC_MBA"] == "yes"
    assert rows["web"] == "no"
    assert "keras-dg generate --preset NAME" in out
    code, out, _ = run_cli(capsys, "presets", "flights")
    shown = json.loads(out)
    assert shown["weights"] == "flights"
    assert shown["trained"]["fidelity"]["floor"]["acf_mse"] > 0
    code, out, _ = run_cli(capsys, "presets", "web")
    assert "trained" not in json.loads(out)
