import keras
import numpy as np
import pytest
from keras import ops
from scipy.special import expit
from scipy.special import logit

import keras_dg
from keras_dg.evaluation.missingness import gap_lengths
from keras_dg.models import missing_draws
from tests.harness import channel_dataset
from tests.harness import quick_fit
from tests.models.generation_test import channel_model


def _runs(n=300, t=60, run=6, series_share=0.5, seed=0):
    """[n, t] masks: half the series have runs of `run` missing steps."""
    rng = np.random.default_rng(seed)
    missing = np.zeros((n, t), bool)
    for i in np.flatnonzero(rng.random(n) < series_share):
        for start in rng.choice(t - run, size=2, replace=False):
            missing[i, start:start + run] = True
    return missing


def test_calibrate_shifts_to_the_rate_and_finds_runs_and_gappy_series():
    missing = _runs()
    active = np.ones_like(missing)
    p = np.full(missing.shape, 0.01)
    shift, share, rho = missing_draws.calibrate(p, active, missing, active)
    np.testing.assert_allclose(expit(logit(0.01) + shift), missing.mean(),
                               rtol=1e-6)
    assert rho >= 0.8 and share > 0


def test_calibrate_keeps_independent_draws_for_scattered_gaps():
    rng = np.random.default_rng(1)
    missing = rng.random((300, 60)) < 0.05
    active = np.ones_like(missing)
    shift, share, rho = missing_draws.calibrate(
        np.full(missing.shape, 0.05), active, missing, active
    )
    assert abs(shift) < 0.1 and (share, rho) == (0.0, 0.0)


def test_calibrate_without_gaps_or_steps_changes_nothing():
    active = np.ones((5, 4), bool)
    none = np.zeros((5, 4), bool)
    assert missing_draws.calibrate(np.full((5, 4), 0.3), active, none,
                                   active) == (0.0, 0.0, 0.0)
    assert missing_draws.calibrate(np.full((5, 4), 0.3), none, ~none,
                                   active) == (0.0, 0.0, 0.0)


def _gap_mean(dataset):
    return gap_lengths(dataset.features[..., 2] > 0.5).mean()


def test_calibrated_draws_keep_the_rate_and_make_runs():
    model = channel_model(0.2, t=40)
    plain = model.generate(1000, seed=0)
    model.missing_draws.assign([[0.0, 0.5, 0.9]])
    runs = model.generate(1000, seed=0)
    rate = runs.features[..., 2].mean()
    # 40,000 dependent steps: the rate's spread is wider than iid draws'.
    assert abs(rate - 0.2) < 0.04
    assert _gap_mean(runs) > 1.5 * _gap_mean(plain)
    per_series = runs.features[..., 2].mean(axis=1)
    assert per_series.std() > 1.5 * plain.features[..., 2].mean(axis=1).std()
    # The values are the same; only the channel's draw changed.
    np.testing.assert_array_equal(runs.features[..., 0],
                                  plain.features[..., 0])
    # The seed contract holds: chunks and prefixes give the same draws.
    np.testing.assert_array_equal(
        model.generate(30, seed=0, batch_size=7).features[..., 1:3],
        runs.features[:30, :, 1:3],
    )
    # The shift moves the rate (log-odds of 0.2 to those of 0.4); the
    # argmax is that of the shifted p.
    model.missing_draws.assign([[logit(0.4) - logit(0.2), 0.0, 0.0]])
    assert abs(model.generate(1000, seed=0).features[..., 2].mean()
               - 0.4) < 0.02
    model.missing_draws.assign([[logit(0.6) - logit(0.2), 0.5, 0.9]])
    assert model.generate(20, seed=0, draw_missing=False).features[
        ..., 2].all()


def _gappy_data(n=60, t=16):
    return channel_dataset(_runs(n=n, t=t, run=4),
                           np.random.default_rng(0))


def _model(data, **kwargs):
    from tests.harness import TINY

    model = keras_dg.DoppelGANger(
        data.feature_outputs, data.attribute_outputs, data.max_sequence_len,
        sample_len=2, **dict(TINY, seed=0), **kwargs,
    )
    model.compile()
    return model


def test_fit_calibrates_the_draws_unless_told_not_to(tmp_path):
    data = _gappy_data()
    model = _model(data)
    with pytest.raises(ValueError, match="calibrate_missing"):
        model.fit(data, epochs=1, calibrate_missing="no")
    assert int(ops.convert_to_numpy(model.g_optimizer.iterations)) == 0
    quick_fit(model, data, calibrate_missing=False)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model.missing_draws), 0.0)
    quick_fit(model, data)
    shift, share, rho = ops.convert_to_numpy(model.missing_draws)[0]
    assert rho >= 0.5  # The data's gaps are runs of 4 steps.
    # Saved with the weights.
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(loaded.missing_draws),
        ops.convert_to_numpy(model.missing_draws))
    np.testing.assert_array_equal(loaded.generate(20, seed=3).features,
                                  model.generate(20, seed=3).features)


@pytest.mark.skipif(keras.config.backend() != "tensorflow",
                    reason="DP-SGD runs on TensorFlow")
def test_dp_training_leaves_the_draws_uncalibrated():
    # The calibration reads the private data outside the DP accounting.
    data = _gappy_data()
    model = _model(data, dp_noise_multiplier=1.0)
    quick_fit(model, data)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model.missing_draws), 0.0)


def test_weights_saved_before_the_draws_existed_load_uncalibrated():
    data = _gappy_data()
    model = _model(data)
    own = [ops.convert_to_numpy(v) for v in
           model._non_trainable_variables]
    assert model._non_trainable_variables[-1] is model.missing_draws
    store = {str(i): value for i, value in enumerate(own[:-1])}
    model.missing_draws.assign([[1.0, 0.5, 0.5]])
    model.load_own_variables(store)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model.missing_draws), [[1.0, 0.5, 0.5]])
    with pytest.raises(ValueError):
        model.load_own_variables({str(i): v for i, v in enumerate(own * 2)})


def test_calibrate_missing_draws_needs_a_channel():
    from tests.harness import tiny_model

    with pytest.raises(ValueError, match="no missingness channel"):
        tiny_model().calibrate_missing_draws({"features": np.zeros(1)})
    model = _model(_gappy_data())
    with pytest.raises(ValueError, match=r"`features` \[N, T, 3\]"):
        model.calibrate_missing_draws(
            {"features": np.zeros((4, 16, 2)), "gen_flag": np.ones((4, 16))})
