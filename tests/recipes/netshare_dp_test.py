"""The NetShare recipe (`recipes/netshare_dp.py`): pretrain on public data,
DP fine-tune on private data, from a preset."""

import json

import keras
import numpy as np
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


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The output folder of a `--quick` run (one seed, noise 1.0)."""
    out = tmp_path_factory.mktemp("netshare") / "run"
    code = _recipe("netshare_dp").main([
        "--data", str(FCC_MBA), "--quick", "--out", str(out),
    ])
    assert code == 0
    return out


@needs_shared_data
def test_quick_run_gives_both_runs_the_same_epsilon(quick_run):
    with open(quick_run / "results.json") as f:
        runs = {r["run"]: r for r in json.load(f)["runs"]}
    scratch, tuned = runs["DP from scratch"], runs["DP fine-tune of public"]
    assert scratch["epsilon"] == pytest.approx(tuned["epsilon"])
    assert scratch["epsilon"] > 0
    assert set(tuned["metrics"]) == {
        "acf_mse", "shape_discriminative_score", "midpoint_w1"
    }
    assert (quick_run / "public_preset" / "model.weights.h5").is_file()


@pytest.mark.slow
@needs_shared_data
def test_a_sweep_over_seeds_reuses_the_public_preset(quick_run, tmp_path):
    out = tmp_path / "sweep"
    code = _recipe("netshare_dp").main([
        "--data", str(FCC_MBA), "--quick", "--out", str(out),
        "--public-preset", str(quick_run / "public_preset"),
        "--epsilon", "30", "--seeds", "2",
    ])
    assert code == 0
    assert not (out / "public_preset").exists()
    with open(out / "results.json") as f:
        results = json.load(f)
    assert len(results["runs"]) == 4  # 2 seeds x 2 runs
    assert {r["seed"] for r in results["runs"]} == {0, 1}
    for run in results["runs"]:
        assert 0 < run["epsilon"] <= 30 * 1.001
    summary = results["summary"]
    assert [row["seeds"] for row in summary] == [2, 2]
    for row in summary:
        mean, sd = row["metrics"]["acf_mse"]
        values = [r["metrics"]["acf_mse"] for r in results["runs"]
                  if r["run"] == row["run"]]
        assert mean == pytest.approx(np.mean(values))
        assert sd == pytest.approx(np.std(values))


@needs_shared_data
def test_a_smaller_epsilon_gets_more_noise(quick_run):
    recipe = _recipe("netshare_dp")
    args = recipe.parse_args(
        ["--data", "d", "--epsilon", "3,30", "--epochs", "10"]
    )
    (small, sigma_small), (big, sigma_big) = recipe._settings(
        args, str(quick_run / "public_preset"), n_train=86
    )
    assert (small, big) == (3.0, 30.0)
    assert sigma_small > sigma_big > 0
    # Given noise multipliers are used as they are.
    args = recipe.parse_args(["--data", "d", "--noise-multiplier", "2,4"])
    assert recipe._settings(args, None, 86) == [(None, 2.0), (None, 4.0)]


def test_summary_is_mean_and_sd_over_seeds():
    recipe = _recipe("netshare_dp")
    metrics = recipe.METRICS
    records = [
        {"seed": seed, "noise_multiplier": 2.0, "target_epsilon": 5.0,
         "run": run, "epsilon": 4.9 + seed / 100,
         "metrics": {m: value for m in metrics},
         "floor": {m: 0.5 for m in metrics}}
        for seed, value in ((0, 1.0), (1, 3.0))
        for run in ("DP from scratch", "DP fine-tune of public")
    ]
    summary = recipe.summarize(records)
    assert [row["run"] for row in summary] == [
        "DP from scratch", "DP fine-tune of public"
    ]
    row = summary[0]
    assert row["seeds"] == 2 and row["target_epsilon"] == 5.0
    assert row["metrics"]["acf_mse"] == (2.0, 1.0)
    assert row["epsilon"][0] == pytest.approx(4.905)
    assert row["floor"]["midpoint_w1"] == (0.5, 0.0)


def test_sweep_arguments_are_checked():
    recipe = _recipe("netshare_dp")
    for argv, error in (
        (["--epsilon", "0"], "positive numbers"),
        (["--noise-multiplier", "1,x"], "positive numbers"),
        (["--seeds", "0"], "--seeds must be positive"),
        (["--epsilon", "1", "--noise-multiplier", "1"], "not allowed with"),
    ):
        with pytest.raises(SystemExit):
            recipe.parse_args(["--data", "d", *argv])
