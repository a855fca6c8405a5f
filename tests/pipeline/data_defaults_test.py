import json

import pytest

from keras_dg import pipeline
from keras_dg.models.config import DEFAULTS
from keras_dg.pipeline import data_defaults
from tests.harness import tiny_dataset
from tests.pipeline.tiny_run import TINY_RUN


@pytest.mark.parametrize("t, expected", [
    (550, 11),   # Page views: 50 LSTM steps (the paper: S=10, 55 steps).
    (364, 7),    # The flights preset's year: 52 steps.
    (2500, 50),
    (56, 1),     # Short series: one step per LSTM step.
    (8, 1),
    (547, 1),    # A prime length: the nearer of 1 and T.
    (5000, 100),
])
def test_sample_len_divides_the_length_near_50_lstm_steps(t, expected):
    s = data_defaults.sample_len_for(t)
    assert t % s == 0
    assert s == expected


@pytest.mark.parametrize("n, expected", [
    (5, 5), (12, 12), (100, 16), (187, 19), (600, 60), (50_000, 100),
])
def test_batch_size_gives_about_ten_updates_an_epoch(n, expected):
    assert data_defaults.batch_size_for(n) == expected


def test_settings_name_the_reason_and_skip_given_ones():
    settings = data_defaults.settings_from_data(tiny_dataset(n=12, t=8))
    assert settings["sample_len"]["value"] == 1
    assert "T=8 into 8 LSTM steps" in settings["sample_len"]["why"]
    assert "no divisor nearer" in settings["sample_len"]["why"]
    assert settings["batch_size"]["value"] == 12
    assert set(data_defaults.settings_from_data(
        tiny_dataset(), skip={"sample_len"}
    )) == {"batch_size"}


def test_a_run_without_preset_takes_its_settings_from_the_data(
    tmp_path, capsys
):
    run = dict(TINY_RUN, preset=None, model_kwargs=None, verbose=2)
    result = pipeline.run(tiny_dataset(n=12, t=8), tmp_path / "run", **run)
    printed = capsys.readouterr().out
    assert "settings from the data" in printed
    assert "sample_len=1:" in printed and "batch_size=12:" in printed
    with open(tmp_path / "run" / "run.json") as f:
        manifest = json.load(f)
    assert manifest["preset"] is None
    assert manifest["config"]["sample_len"] == 1
    assert manifest["training"]["batch_size"] == 12
    assert manifest["settings_from_data"]["sample_len"]["value"] == 1
    # The optimizers and rounds stay the paper's (no data rule beat them:
    # benchmarks/RESULTS.md); only S and the batch size come from the data.
    assert set(manifest["settings_from_data"]) == {"sample_len", "batch_size"}
    paper = {"g_lr": 1e-3, "d_lr": 1e-3, "attr_d_lr": 1e-3, "beta1": 0.5,
             "beta2": 0.999, "d_rounds": 1, "g_rounds": 1}
    # (A name the config leaves out gets the model's default.)
    config = dict(DEFAULTS, **manifest["config"])
    assert {k: config[k] for k in paper} == paper
    assert result.epochs == 1
    # A value the call gives is kept (and not listed as chosen).
    pipeline.run(
        tiny_dataset(n=12, t=8), tmp_path / "run", overwrite=True,
        **dict(run, model_kwargs={"sample_len": 4}, batch_size=6),
    )
    with open(tmp_path / "run" / "run.json") as f:
        manifest = json.load(f)
    assert manifest["config"]["sample_len"] == 4
    assert manifest["training"]["batch_size"] == 6
    assert "settings_from_data" not in manifest
