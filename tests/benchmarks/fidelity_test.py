"""Tests of benchmarks/fidelity.py (floor, ours and the peer on real data)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.benchmarks.common_test import BENCH
from tests.benchmarks.common_test import ROOT

pytest.importorskip("linearmodels")


def _import(name):
    sys.path.insert(0, BENCH)
    try:
        return __import__(name)
    finally:
        sys.path.remove(BENCH)


def test_ours_config_flags_parse_as_json():
    fidelity = _import("fidelity")
    args = fidelity.parse_args([
        "--sides", "ours", "--datasets", "wage_panel", "--ours-config", "ema_decay=null",
        "--ours-config", "g_lr=0.0005", "--ours-config", "initial_state=zero",
    ])
    assert args.overrides == {"ema_decay": None, "g_lr": 0.0005, "initial_state": "zero"}
    with pytest.raises(SystemExit):
        fidelity.parse_args(["--sides", "ours", "--datasets", "nope"])


def test_train_arrays_round_trip_with_their_schema(tmp_path):
    fidelity, common = _import("fidelity"), _import("common")
    bench = _import("fidelity_data").load("wage_panel")
    config = {"self_norm": True, "aux_disc": False}
    path, digest = fidelity.write_train_arrays(bench, config, str(tmp_path))
    data = common.load_dataset(path)
    assert common.data_digest(data) == digest
    assert (data["max_sequence_len"], data["sample_len"]) == (8, 2)
    assert data["attribute_dims"] == [4, 2, 2] and data["aux_disc"] is False
    assert np.array_equal(data["features"], bench["train"].features)


# Slow (the benchmark script end to end, training in a child process).
@pytest.mark.slow
def test_quick_run_writes_tables_series_and_plots(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "fidelity.py"), "--quick",
         "--datasets", "wage_panel", "--sides", "ours", "--seeds", "1",
         "--workdir", str(tmp_path / "work"), "--json", str(tmp_path / "r.json"),
         "--markdown", str(tmp_path / "r.md"), "--plots", str(tmp_path / "plots")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "r.md").read_text()
    assert "| ACF MSE |" in table and "block-artifact score" in table
    record = json.loads((tmp_path / "r.json").read_text())["datasets"]["wage_panel"]
    assert record["n_generate"] == 5 * record["n_test"]
    floor, ours = record["floor"][0], record["ours"][0]
    assert floor["tstr"] == floor["trtr"] and floor["length_w1"] == 0
    assert 0 <= ours["discriminative_shape"] <= 0.5 and ours["epochs"] > 0
    assert os.path.isfile(ours["out"])
    assert (tmp_path / "plots" / "wage_panel_ours.png").stat().st_size > 0


@pytest.mark.slow
def test_model_selection_scores_the_selected_and_the_last_weights(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "fidelity.py"), "--quick",
         "--datasets", "wage_panel", "--sides", "ours", "--seeds", "1",
         "--select-batches", "2", "--select-holdout", "0.25",
         "--workdir", str(tmp_path / "work"), "--json", str(tmp_path / "r.json"),
         "--markdown", str(tmp_path / "r.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| ours | ours-last |" in (tmp_path / "r.md").read_text()
    record = json.loads((tmp_path / "r.json").read_text())["datasets"]["wage_panel"]
    selected, last = record["ours"][0], record["ours-last"][0]
    select = selected["select"]
    # The quick split has 60 training series: 15 are held out for selection.
    assert select["n_train"] == 45 and select["holdout"] == 0.25
    assert select["best_epoch"] is not None and select["best_acf_mse"] >= 0
    assert last["out"] == select["last_out"] != selected["out"]
    assert os.path.isfile(last["out"]) and os.path.isfile(selected["out"])
    assert last["epochs"] == selected["epochs"] > 0
