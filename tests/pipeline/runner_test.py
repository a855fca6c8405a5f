import json
import os

import keras
import pandas as pd

import keras_dg
from keras_dg import pipeline
from keras_dg.data import from_dataframe
from keras_dg.data import load_dg
from tests.harness import tiny_dataset
from tests.pipeline.tiny_run import TINY_RUN
from tests.pipeline.tiny_run import long_table


def test_run_writes_model_generated_data_and_report(tmp_path):
    train, test = tiny_dataset(n=12, seed=0), tiny_dataset(n=8, seed=1)
    out = tmp_path / "run"
    result = pipeline.run(train, out, test=test, n_generate=9, **TINY_RUN)
    assert result.out_dir == str(out)
    for path in (result.model, result.generated_npz, result.report_html,
                 result.report_md, result.metrics):
        assert os.path.isfile(path), path
    assert result.generated_csv is None  # No transformer.
    assert result.epochs == 1
    assert set(result.summary) == {"acf_mse", "length_w1"}
    # The generated data are an original-format folder.
    generated = load_dg(result.generated_dir, "generated")
    assert len(generated) == 9
    assert generated.feature_outputs == train.feature_outputs
    # The report compared against the test split.
    with open(result.metrics) as f:
        metrics = json.load(f)
    assert metrics["n_series"] == {"real": 8, "synthetic": 9, "train": 12, "floor": 9}
    # The floor (real train vs. the test split) is printed beside each metric.
    assert set(result.floor) == set(result.summary)
    assert "floor" in result.describe() and "acf_mse" in result.describe()
    # The saved model generates.
    model = keras.saving.load_model(result.model)
    assert isinstance(model, keras_dg.DoppelGANger)
    assert model.sample_len == 2 and model.disc_num_units == 16
    assert model.generate(3, seed=0).features.shape == (3, 8, 4)
    with open(out / "run.json") as f:
        manifest = json.load(f)
    assert manifest["status"] == "done"
    assert manifest["preset"] == "web" and manifest["quick"] is True
    assert manifest["config"]["sample_len"] == 2
    assert manifest["training"]["epochs"] == 1
    with open(out / "history.json") as f:
        history = json.load(f)
    assert len(history["d_loss"]) == 1
    assert "Run finished" in result.describe()


def test_run_with_a_transformer_writes_real_units(tmp_path):
    dataset, transformer = from_dataframe(
        long_table(), example_id="host", time="minute", features=["cpu"],
        attributes=["os"], sample_len=2,
    )
    result = pipeline.run(
        dataset, tmp_path / "run", transformer=transformer, n_generate=5,
        **TINY_RUN,
    )
    table = pd.read_csv(result.generated_csv)
    assert list(table.columns) == ["host", "minute", "cpu", "os"]
    assert table["host"].nunique() == 5
    assert set(table["os"]) <= {"linux", "bsd"}
    assert table["cpu"].between(0, 100).all()
    model = keras.saving.load_model(result.model)
    assert model.transformer is not None
    assert model.transformer.get_config() == transformer.get_config()


def test_run_with_missingness_channels_reports_and_writes_gaps(tmp_path):
    table = long_table()
    table.loc[table.index[1::4], "cpu"] = float("nan")
    dataset, transformer = from_dataframe(
        table, example_id="host", time="minute", features=["cpu"],
        attributes=["os"], sample_len=2, missing="model",
    )
    result = pipeline.run(
        dataset[:7], tmp_path / "run", test=dataset[7:],
        transformer=transformer, n_generate=5, **TINY_RUN,
    )
    assert os.path.isfile(result.report_html)
    # Missingness fidelity beside its floor (real train vs. the test split).
    for name in ("missing_rate_rel_error", "gap_length_w1"):
        assert name in result.summary and name in result.floor
    with open(result.metrics) as f:
        assert "cpu" in json.load(f)["missingness"]["features"]
    generated = pd.read_csv(result.generated_csv)
    assert list(generated.columns) == ["host", "minute", "cpu", "os"]
    assert generated["cpu"].dropna().between(0, 100).all()


def test_run_report_reference_is_train_without_test(tmp_path):
    train = tiny_dataset(n=10)
    result = pipeline.run(train, tmp_path / "run", **TINY_RUN)
    with open(result.metrics) as f:
        metrics = json.load(f)
    # No held-out data: train is the reference, no memorization check.
    assert metrics["n_series"] == {"real": 10, "synthetic": 10, "train": None, "floor": None}


def test_run_without_report(tmp_path):
    result = pipeline.run(
        tiny_dataset(), tmp_path / "run", **dict(TINY_RUN, metrics=None),
        report=False,
    )
    assert result.report_html is None and result.summary == {}
    assert not (tmp_path / "run" / "report").exists()


def test_run_with_a_time_budget_instead_of_epochs(tmp_path):
    run = {k: v for k, v in TINY_RUN.items() if k != "epochs"}
    # A budget of 0 s: training stops after its first batch, although the
    # quick preset says 2 epochs.
    result = pipeline.run(
        tiny_dataset(n=12), tmp_path / "run", training={"time_budget": 0},
        **run,
    )
    assert result.epochs == 1
    with open(tmp_path / "run" / "history.json") as f:
        assert len(json.load(f)["d_loss"]) == 1
    assert os.path.isfile(result.model)


def test_run_keeps_the_weights_with_the_best_acf(tmp_path):
    from keras_dg.evaluation import evaluate

    train = tiny_dataset(n=12, seed=0)
    run = dict(TINY_RUN, epochs=4)
    # One batch per epoch: every epoch is scored against the training series.
    result = pipeline.run(train, tmp_path / "run",
                          training={"select_batches": 1}, **run)
    with open(tmp_path / "run" / "history.json") as f:
        scores = json.load(f)["val_acf_mse"]
    assert len(scores) == 4
    model = keras.saving.load_model(result.model)
    kept = evaluate(train, model.generate(len(train), seed=0),
                    metrics=["acf_mse"])["summary"]["acf_mse"]
    assert abs(kept - min(scores)) < 1e-6


def test_run_under_dp_and_with_select_batches_0_select_nothing(tmp_path):
    train = tiny_dataset(n=12, seed=0)
    for name, kwargs in (
        ("dp", dict(model_kwargs={"sample_len": 2, "dp_noise_multiplier": 0.5},
                    training={"select_batches": 1})),
        ("off", dict(training={"select_batches": 0})),
    ):
        run = {**TINY_RUN, "epochs": 2, **kwargs}
        pipeline.run(train, tmp_path / name, **run)
        with open(tmp_path / name / "history.json") as f:
            assert "val_acf_mse" not in json.load(f)
