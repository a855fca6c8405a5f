"""The WWT DP recipe (`recipes/wwt_dp.py`) at small scale."""

import importlib.util
import math
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_dg.privacy import compute_epsilon

pytestmark = pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="DP training is implemented on the TensorFlow backend only.",
)

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "wwt_dp.py"


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("wwt_dp", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_data_has_the_wwt_schema(recipe):
    data = recipe.synthetic_wwt(40, 21, seed=1)
    assert data.features.shape == (40, 21, 1)
    assert data.attributes.shape == (40, 9 + 3 + 2)
    assert -1.0 <= data.features.min() < data.features.max() <= 1.0
    assert np.all(data.gen_flag == 1)
    # Level depends on the domain: English Wikipedia (2) is busier than
    # www.mediawiki.org (7).
    domain = data.attributes[:, :9].argmax(1)
    assert data.features[domain == 2].mean() > data.features[domain == 7].mean()
    again = recipe.synthetic_wwt(40, 21, seed=1)
    np.testing.assert_array_equal(again.features, data.features)


def test_quick_run_prints_epsilon_and_fidelity(recipe, tmp_path, capsys):
    output = tmp_path / "results.json"
    rows = recipe.main(["--quick", "--output", str(output)])
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed
    assert [row["noise_multiplier"] for row in rows] == [0.1, 4.0]
    quick = recipe.QUICK
    train_size = round(quick["num_series"] * (1 - recipe.HELD_OUT_FRACTION))
    batch_size = quick["batch_size"]
    steps = quick["epochs"] * math.ceil(train_size / batch_size)
    for row in rows:
        assert row["steps"] == steps
        expected = compute_epsilon(
            train_size, batch_size, None, row["noise_multiplier"], delta=1e-5,
            steps=steps,
        )
        assert row["epsilon"] == pytest.approx(expected, rel=1e-9)
        assert row["epsilon_original"] > row["epsilon"]
        for metric in recipe.METRICS:
            assert math.isfinite(row[metric]), metric
    assert rows[0]["epsilon"] > 100 * rows[1]["epsilon"]
    assert output.read_text().count("noise_multiplier") == 2


def test_bad_flags(recipe):
    with pytest.raises(SystemExit):
        recipe.parse_args(["--noise-multipliers", "0"])
    with pytest.raises(SystemExit):
        recipe.parse_args(["--epochs", "0"])
    with pytest.raises(SystemExit):
        recipe.parse_args(["--max-sequence-len", "55"])
    with pytest.raises(SystemExit):
        recipe.parse_args(["--delta", "1"])
    args = recipe.parse_args([])
    assert args.num_series == 50_000 and args.max_sequence_len == 550
    assert args.epochs == 15 and args.batch_size == 100
    assert args.noise_multipliers == [0.01, 0.1, 1.0, 2.0, 4.0]
