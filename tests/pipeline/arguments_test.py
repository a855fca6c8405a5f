import numpy as np
import pytest

import keras_dg
from keras_dg import Output
from keras_dg import pipeline
from keras_dg.data import from_dataframe
from tests.harness import tiny_dataset
from tests.pipeline.tiny_run import TINY_RUN
from tests.pipeline.tiny_run import long_table


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
        (dict(training={"select_batches": -1}), "`select_batches`"),
        (dict(training={"select_batches": 1.5}), "`select_batches`"),
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
        long_table(), example_id="host", time="minute", features=["cpu"],
        attributes=["os"], sample_len=2,
    )
    with pytest.raises(ValueError, match="transformer.feature_outputs"):
        pipeline.run(train, tmp_path / "a", transformer=transformer,
                     **TINY_RUN)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        pipeline.run(train, tmp_path / "file", **TINY_RUN)
    assert not (tmp_path / "a").exists()


def _plan(tmp_path, **change):
    from keras_dg.pipeline.arguments import validate_run

    kwargs = dict(
        preset="web", model_kwargs={"sample_len": 2}, training=None,
        epochs=None, batch_size=None, test=None, transformer=None,
        quick=True, n_generate=None, seed=0, metrics=None, report=False,
        tensorboard=False, overwrite=False, resume=False, verbose=0,
    )
    kwargs.update(change)
    return validate_run(tiny_dataset(), tmp_path / "run", **kwargs)


def test_time_budget_replaces_the_epoch_count(tmp_path):
    from keras_dg.callbacks import UNLIMITED_EPOCHS

    plan = _plan(tmp_path, training={"time_budget": "10m"})
    assert plan.options["time_budget"] == 600.0
    assert plan.options["epochs"] == UNLIMITED_EPOCHS
    # Epochs given too: whichever ends first.
    plan = _plan(tmp_path, training={"time_budget": 90}, epochs=3)
    assert (plan.options["time_budget"], plan.options["epochs"]) == (90, 3)
    plan = _plan(tmp_path, training={"time_budget": 90, "epochs": 4})
    assert plan.options["epochs"] == 4
    plan = _plan(tmp_path)
    assert plan.options["time_budget"] is None
    assert plan.options["epochs"] == 2  # the quick preset's
    with pytest.raises(ValueError, match="`time_budget` must be"):
        _plan(tmp_path, training={"time_budget": "soon"})
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("isatty, expected", [(True, 1), (False, 2)])
def test_verbose_auto_is_one_line_per_epoch_off_a_terminal(
    tmp_path, monkeypatch, isatty, expected
):
    monkeypatch.setattr("sys.stdout.isatty", lambda: isatty)
    assert _plan(tmp_path, verbose="auto").verbose == expected
    assert _plan(tmp_path, verbose=1).verbose == 1
