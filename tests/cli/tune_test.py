import pytest
import json

import keras

from keras_dg.data import save_dg
from tests.cli.harness import run_cli
from tests.harness import tiny_dataset


# Slow (a whole search; tuning/search_test.py covers tune()): run with `pytest -m slow`.
@pytest.mark.slow
def test_tune_quick_saves_a_reloadable_best_model(capsys, tmp_path):
    out = tmp_path / "search"
    code, stdout, err = run_cli(
        capsys, "tune", "--recipe", "wwt", "--quick", "--num-series", "48",
        "--max-trials", "2", "--out", str(out), "--verbose", "0",
    )
    assert code == 0, err
    summary = json.loads(stdout[stdout.index("{"):])
    assert summary["best"]["status"] == "COMPLETED"
    assert summary["best"]["fidelity"] >= 0
    model = keras.saving.load_model(summary["best_model"])
    assert model.generate(2, seed=0).features.shape[0] == 2


def test_tune_needs_held_out_data(capsys, tmp_path):
    folder = tmp_path / "dg"
    save_dg(tiny_dataset(n=8), str(folder))
    code, _, err = run_cli(
        capsys, "tune", "--data-dir", str(folder), "--sample_len", "2",
        "--out", str(tmp_path / "s"),
    )
    assert code == 2
    assert "held-out" in err
