import json
import os

import keras
import numpy as np
import pandas as pd
import pytest

import keras_dg
from keras_dg import Output
from keras_dg import pipeline
from keras_dg.data import from_dataframe
from keras_dg.data import load_dg
from keras_dg.data import load_outputs
from tests.data.shared_data import FCC_MBA
from tests.data.shared_data import SHARED_DATA
from tests.data.shared_data import needs_shared_data
from tests.harness import tiny_dataset

# A tiny run: the web preset's quick model, one epoch, two cheap metrics.
TINY_RUN = dict(
    preset="web",
    model_kwargs={"sample_len": 2},
    quick=True,
    epochs=1,
    metrics=["acf_mse", "lengths"],
    verbose=0,
    tensorboard=False,
)


def _table(n=10, t=6, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for step in range(rng.integers(2, t + 1)):
            rows.append({
                "host": f"h{i}", "minute": step,
                "cpu": float(rng.uniform(0, 100)),
                "os": ["linux", "bsd"][i % 2],
            })
    return pd.DataFrame(rows)


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
    assert metrics["n_series"] == {"real": 8, "synthetic": 9, "train": 12}
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
        _table(), example_id="host", time="minute", features=["cpu"],
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


def test_run_report_reference_is_train_without_test(tmp_path):
    train = tiny_dataset(n=10)
    result = pipeline.run(train, tmp_path / "run", **TINY_RUN)
    with open(result.metrics) as f:
        metrics = json.load(f)
    # No held-out data: train is the reference, no memorization check.
    assert metrics["n_series"] == {"real": 10, "synthetic": 10, "train": None}


def test_run_without_report(tmp_path):
    result = pipeline.run(
        tiny_dataset(), tmp_path / "run", **dict(TINY_RUN, metrics=None),
        report=False,
    )
    assert result.report_html is None and result.summary == {}
    assert not (tmp_path / "run" / "report").exists()


def test_previous_run_is_refused_then_overwritten(tmp_path):
    out = tmp_path / "run"
    first = pipeline.run(tiny_dataset(), out, **TINY_RUN)
    (out / "notes.txt").write_text("mine")
    stamp = os.path.getmtime(first.model)
    with pytest.raises(ValueError, match="previous run.*overwrite"):
        pipeline.run(tiny_dataset(), out, **TINY_RUN)
    assert os.path.getmtime(first.model) == stamp
    pipeline.run(tiny_dataset(seed=3), out, overwrite=True, seed=1,
                 **TINY_RUN)
    assert (out / "notes.txt").read_text() == "mine"
    with open(out / "run.json") as f:
        assert json.load(f)["status"] == "done"


def test_resume_continues_training(tmp_path):
    out = tmp_path / "run"
    pipeline.run(tiny_dataset(), out, **TINY_RUN)
    pipeline.run(tiny_dataset(), out, resume=True,
                 **dict(TINY_RUN, epochs=2))
    with open(out / "history.json") as f:
        history = json.load(f)
    # Epoch 1 came from the checkpoint: only epoch 2 ran.
    assert len(history["d_loss"]) == 1
    with open(out / "run.json") as f:
        manifest = json.load(f)
    assert manifest["resumed_from"] and manifest["training"]["epochs"] == 2
    # A changed configuration or data is refused before anything changes.
    with pytest.raises(ValueError, match="d_gp_coe: 10.0 -> 5.0"):
        pipeline.run(tiny_dataset(), out, resume=True, **dict(
            TINY_RUN, model_kwargs={"sample_len": 2, "d_gp_coe": 5.0}))
    with pytest.raises(ValueError, match="training data differ"):
        pipeline.run(tiny_dataset(n=5), out, resume=True, **TINY_RUN)
    with open(out / "run.json") as f:
        assert json.load(f) == manifest


def test_files_not_written_by_keras_dg_are_never_touched(tmp_path):
    out = tmp_path / "run"
    (out / "report").mkdir(parents=True)
    (out / "report" / "mine.md").write_text("mine")
    for kwargs in ({}, {"overwrite": True}):
        with pytest.raises(ValueError, match="no keras-dg run record"):
            pipeline.run(tiny_dataset(), out, **kwargs, **TINY_RUN)
    assert (out / "report" / "mine.md").read_text() == "mine"
    (out / "run.json").write_text("{}")
    with pytest.raises(ValueError, match="not written by keras-dg"):
        pipeline.run(tiny_dataset(), out, overwrite=True, **TINY_RUN)
    assert sorted(os.listdir(out)) == ["report", "run.json"]


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(train="data"), "`train` must be a keras_dg.TimeSeriesDataset"),
        (dict(test="data"), "`test` must be"),
        (dict(preset="nope"), "Unknown preset"),
        (dict(model_kwargs={"sample_len": 3}), "sample_len"),
        (dict(model_kwargs={"units": 3}), "unknown argument 'units'"),
        (dict(model_kwargs={"epochs": 3}), "training option"),
        (dict(model_kwargs={"sample_len": 2, "aux_disc": "yes"}), "aux_disc"),
        (dict(model_kwargs=[1]), "model_kwargs"),
        (dict(epochs=0), "`epochs`"),
        (dict(batch_size=-1), "`batch_size`"),
        (dict(training={"epoch": 3}), "unknown key"),
        (dict(training={"vis_freq": -1}), "`vis_freq`"),
        (dict(n_generate=0), "`n_generate`"),
        (dict(seed=-1), "`seed`"),
        (dict(quick="yes"), "`quick`"),
        (dict(verbose=3), "`verbose`"),
        (dict(metrics=["nope"]), "Unknown metric 'nope'"),
        (dict(overwrite=True, resume=True), "at most one"),
        (dict(resume=True), "no previous run"),
        (dict(transformer="tt"), "`transformer` must be"),
    ],
)
def test_bad_input_is_refused_before_any_work(tmp_path, change, match):
    kwargs = dict(TINY_RUN, train=tiny_dataset(), out_dir=tmp_path / "run")
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        pipeline.run(**kwargs)
    assert not (tmp_path / "run").exists()


def test_mismatched_test_and_transformer_are_refused(tmp_path):
    train = tiny_dataset(t=8)
    with pytest.raises(ValueError, match="`test` has series of 6 steps"):
        pipeline.run(train, tmp_path / "a", test=tiny_dataset(t=6),
                     **TINY_RUN)
    other = keras_dg.TimeSeriesDataset(
        np.zeros((2, 8, 1)), np.eye(2), np.ones((2, 8)),
        [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 2)],
    )
    with pytest.raises(ValueError, match="test.feature_outputs"):
        pipeline.run(train, tmp_path / "a", test=other, **TINY_RUN)
    _, transformer = from_dataframe(
        _table(), example_id="host", time="minute", features=["cpu"],
        attributes=["os"], sample_len=2,
    )
    with pytest.raises(ValueError, match="transformer.feature_outputs"):
        pipeline.run(train, tmp_path / "a", transformer=transformer,
                     **TINY_RUN)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        pipeline.run(train, tmp_path / "file", **TINY_RUN)
    assert not (tmp_path / "a").exists()


def test_split_dataset():
    dataset = tiny_dataset(n=10)
    train, test = pipeline.split_dataset(dataset, 0.3, seed=0)
    assert (len(train), len(test)) == (7, 3)
    rows = {tuple(r) for r in dataset.attributes.round(6)}
    assert {tuple(r) for r in train.attributes.round(6)} | {
        tuple(r) for r in test.attributes.round(6)
    } == rows
    again, _ = pipeline.split_dataset(dataset, 0.3, seed=0)
    np.testing.assert_array_equal(again.features, train.features)
    other, _ = pipeline.split_dataset(dataset, 0.3, seed=1)
    assert not np.array_equal(other.features, train.features)
    for fraction in (0, 1, 0.01, "0.2", True):
        with pytest.raises(ValueError, match="test_fraction"):
            pipeline.split_dataset(dataset, fraction)


def test_synthetic_wwt_has_the_wwt_schema():
    dataset = pipeline.synthetic_wwt(40, seed=0)
    assert dataset.features.shape == (40, 550, 1)
    assert dataset.feature_outputs == [Output("CONTINUOUS", 1, "MINUSONE_ONE")]
    assert dataset.attribute_outputs == [
        Output("DISCRETE", 9), Output("DISCRETE", 3), Output("DISCRETE", 2)
    ]
    assert dataset.features.min() >= -1 and dataset.features.max() <= 1
    assert (dataset.lengths == 550).all()
    # Every category occurs.
    assert (dataset.attributes.sum(axis=0) > 0).all()
    # A weekly cycle: the mean lag-7 autocorrelation beats lag 3.
    x = dataset.features[..., 0]
    x = x - x.mean(axis=1, keepdims=True)

    def acf(lag):
        return np.mean(
            (x[:, lag:] * x[:, :-lag]).sum(1) / (x * x).sum(1)
        )

    assert acf(7) > acf(3) + 0.02
    np.testing.assert_array_equal(
        pipeline.synthetic_wwt(40, seed=0).features, dataset.features
    )
    with pytest.raises(ValueError, match="num_series"):
        pipeline.synthetic_wwt(5)


def test_wwt_transformer_gives_page_views():
    dataset = pipeline.synthetic_wwt(9, max_sequence_len=20, seed=0)
    transformer = pipeline._wwt_transformer(dataset)
    table = transformer.inverse_transform(dataset)
    expected = np.expm1(
        (dataset.features[..., 0].reshape(-1) + 1) / 2
        * pipeline.WWT_LOG_SCALE
    )
    np.testing.assert_allclose(table["views"], expected, rtol=1e-4)
    assert set(table["domain"]) <= set(pipeline.WWT_CATEGORIES["domain"])


def test_synthetic_gcut_is_variable_length():
    dataset = pipeline.synthetic_gcut(200, seed=0)
    assert dataset.features.shape == (200, 50, 9)
    assert dataset.feature_outputs == pipeline.GCUT_FEATURE_OUTPUTS
    assert dataset.attribute_outputs == pipeline.GCUT_ATTRIBUTE_OUTPUTS
    assert len(np.unique(dataset.lengths)) > 10
    assert dataset.max_sequence_len % 10 == 0
    event = dataset.attributes.argmax(axis=1)
    fail = pipeline.GCUT_EVENTS.index("FAIL")
    finish = pipeline.GCUT_EVENTS.index("FINISH")
    assert (dataset.lengths[event == fail].mean()
            < dataset.lengths[event == finish].mean())
    dataset.validate()  # Zeros after each end, flags 1...1 0...0.
    with pytest.raises(ValueError, match="GCUT schema"):
        pipeline.synthetic_gcut(
            10, feature_outputs=[Output("CONTINUOUS", 2, "ZERO_ONE")]
        )


@needs_shared_data
def test_gcut_schema_is_the_shared_one():
    folder = SHARED_DATA / "google_schema"
    assert load_outputs(folder / "data_feature_output.pkl") == (
        pipeline.GCUT_FEATURE_OUTPUTS
    )
    assert load_outputs(folder / "data_attribute_output.pkl") == (
        pipeline.GCUT_ATTRIBUTE_OUTPUTS
    )
    data = pipeline.load_recipe("gcut", quick=True, schema_dir=folder)
    assert data["train"].feature_outputs == pipeline.GCUT_FEATURE_OUTPUTS


def test_load_recipe_flights_quick():
    data = pipeline.load_recipe("flights", quick=True)
    train, test = data["train"], data["test"]
    assert train.max_sequence_len == 28
    assert len(train) + len(test) == 234 and len(test) == 47
    assert data["preset"] == "flights" and not data["synthetic"]
    assert data["transformer"].attribute_names == ["carrier", "origin", "dest"]
    with pytest.raises(ValueError, match="takes no `data_dir`"):
        pipeline.load_recipe("flights", data_dir=".")


def test_load_recipe_stand_ins_are_labelled_synthetic():
    for name in ("wwt", "gcut"):
        data = pipeline.load_recipe(name, quick=True, num_series=20)
        assert data["synthetic"] is True
        assert "SYNTHETIC" in data["source"]
        assert len(data["train"]) == 20
        assert data["transformer"].feature_outputs == (
            data["train"].feature_outputs
        )


def test_load_recipe_bad_input(tmp_path):
    with pytest.raises(ValueError, match="Unknown recipe"):
        pipeline.load_recipe("nope")
    with pytest.raises(ValueError, match="needs the FCC_MBA folder"):
        pipeline.load_recipe("mba")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        pipeline.load_recipe("mba", data_dir=tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="data_train.npz"):
        pipeline.load_recipe("wwt", data_dir=tmp_path)
    from keras_dg.data import save_dg

    save_dg(tiny_dataset(n=6), tmp_path / "other")
    with pytest.raises(ValueError, match="does not have the WWT schema"):
        pipeline.load_recipe("wwt", data_dir=tmp_path / "other")
    # GCUT from files keeps generic names when the layout differs.
    data = pipeline.load_recipe("gcut", data_dir=tmp_path / "other")
    assert data["synthetic"] is False and len(data["test"]) == 1
    assert data["transformer"].attribute_names == [
        "attribute_0", "attribute_1"
    ]
    with pytest.raises(ValueError, match="num_series"):
        pipeline.load_recipe("wwt", num_series=0)


@needs_shared_data
def test_load_recipe_mba_in_real_units():
    data = pipeline.load_recipe("mba", data_dir=FCC_MBA, quick=True)
    train, test = data["train"], data["test"]
    assert len(train) == 200 and len(test) == 139
    table = data["transformer"].inverse_transform(train[:5])
    low = train.extras["data_feature_min"]
    high = train.extras["data_feature_max"]
    assert table["traffic_bytes"].between(low[0] * 0.999, high[0]).all()
    assert table["traffic_bytes"].max() > 1e6  # Bytes, not [0, 1].
    assert list(table.columns[2:5]) == pipeline.MBA_ATTRIBUTES
