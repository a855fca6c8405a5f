"""The recipes run end to end in --quick mode (seconds each)."""

import importlib.util
import json
import pathlib

import pandas as pd
import pytest

from tests.data.shared_data import FCC_MBA
from tests.data.shared_data import needs_shared_data

RECIPES = pathlib.Path(__file__).resolve().parents[1] / "recipes"


def _recipe(name):
    spec = importlib.util.spec_from_file_location(
        f"recipe_{name}", RECIPES / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_run(out, capsys, synthetic=False):
    printed = capsys.readouterr().out
    for line in ("Model: ", "Generated data: ", "Report: "):
        assert line in printed
    assert ("SYNTHETIC" in printed) is synthetic
    for name in ("model.keras", "generated/data_generated.npz",
                 "generated/generated.csv", "report/report.html"):
        assert (out / name).is_file(), name
    with open(out / "run.json") as f:
        manifest = json.load(f)
    assert manifest["status"] == "done" and manifest["quick"] is True
    return manifest


def test_flights_recipe_quick(tmp_path, capsys):
    out = tmp_path / "flights"
    assert _recipe("flights").main(["--quick", "--out", str(out)]) == 0
    manifest = _check_run(out, capsys)
    assert manifest["preset"] == "flights"
    assert manifest["data"]["max_sequence_len"] == 28


@needs_shared_data
def test_mba_recipe_quick(tmp_path, capsys):
    out = tmp_path / "mba"
    code = _recipe("mba").main(
        ["--data", str(FCC_MBA), "--quick", "--out", str(out)]
    )
    assert code == 0
    manifest = _check_run(out, capsys)
    assert manifest["preset"] == "FCC_MBA"
    assert manifest["config"]["sample_len"] == 8
    assert manifest["config"]["aux_disc"] is False
    assert manifest["data"]["test_series"] == 139
    table = pd.read_csv(out / "generated" / "generated.csv")
    assert list(table.columns) == [
        "example_id", "step", "isp", "technology", "state",
        "traffic_bytes", "ping_loss_rate",
    ]
    assert table["traffic_bytes"].max() > 1e6  # Real units (bytes).


def test_wwt_recipe_quick_on_stand_in_data(tmp_path, capsys):
    out = tmp_path / "wwt"
    assert _recipe("wwt").main(["--quick", "--out", str(out)]) == 0
    manifest = _check_run(out, capsys, synthetic=True)
    assert manifest["preset"] == "web"
    assert manifest["config"]["self_norm"] is True
    table = pd.read_csv(out / "generated" / "generated.csv")
    assert {"domain", "access", "agent", "views"} <= set(table.columns)
    assert (table["views"] >= 0).all()


def test_gcut_recipe_quick_on_stand_in_data(tmp_path, capsys):
    out = tmp_path / "gcut"
    assert _recipe("gcut").main(["--quick", "--out", str(out)]) == 0
    manifest = _check_run(out, capsys, synthetic=True)
    assert manifest["preset"] == "google"
    assert manifest["config"]["sample_len"] == 10
    table = pd.read_csv(out / "generated" / "generated.csv")
    assert set(table["end_event"]) <= {"EVICT", "FAIL", "FINISH", "KILL"}


def test_recipe_errors_are_one_line(tmp_path, capsys):
    code = _recipe("mba").main(
        ["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("mba.py: error:") and "missing" in err
    with pytest.raises(SystemExit) as raised:
        _recipe("mba").main(["--out", str(tmp_path / "o")])
    assert raised.value.code == 2
    assert "--data" in capsys.readouterr().err
    # The recipes' flags are the command's (keras_dg.cli.flags).
    with pytest.raises(SystemExit) as raised:
        _recipe("wwt").main(["--epochs", "0", "--out", str(tmp_path / "o")])
    assert raised.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
