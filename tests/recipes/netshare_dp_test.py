"""The NetShare recipe (`recipes/netshare_dp.py`): pretrain on public data,
DP fine-tune on private data, from a preset."""

import json

import keras
import pytest

from tests.data.shared_data import FCC_MBA
from tests.data.shared_data import needs_shared_data
from tests.recipes_test import _recipe

pytestmark = pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="DP training is implemented on the TensorFlow backend only.",
)


@needs_shared_data
def test_split_by_technology_names_a_bad_technology():
    from keras_dg.data import load_dg

    recipe = _recipe("netshare_dp")
    data = load_dg(str(FCC_MBA), split="train")
    public, train, test = recipe.split_by_technology(data, 0, seed=0)
    assert len(public) + len(train) + len(test) == len(data)
    assert abs(len(train) - 4 * len(test)) <= 4
    with pytest.raises(ValueError, match=r"--technology must be in \[0, 5\)"):
        recipe.split_by_technology(data, 7, seed=0)
    with pytest.raises(ValueError, match="Technology 2 has 0 series"):
        recipe.split_by_technology(data, 2, seed=0)


@needs_shared_data
def test_quick_run_gives_both_runs_the_same_epsilon(tmp_path, capsys):
    out = tmp_path / "run"
    code = _recipe("netshare_dp").main([
        "--data", str(FCC_MBA), "--quick", "--out", str(out),
    ])
    assert code == 0
    with open(out / "results.json") as f:
        rows = json.load(f)["rows"]
    scratch, tuned = rows["DP from scratch"], rows["DP fine-tune of public"]
    assert scratch["epsilon"] == pytest.approx(tuned["epsilon"])
    assert scratch["epsilon"] > 0
    assert set(tuned["metrics"]) == {
        "acf_mse", "shape_discriminative_score", "midpoint_w1"
    }
    assert (out / "public_preset" / "model.weights.h5").is_file()
    assert "DP fine-tune of public" in capsys.readouterr().out
