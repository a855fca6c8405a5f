import numpy as np
import pytest

from keras_dg.evaluation import block_artifact_score
from tests.evaluation.helpers import make_dataset


def _ar1(n, t, rng, phi=0.8):
    x = np.zeros((n, t))
    x[:, 0] = rng.normal(size=n)
    for i in range(1, t):
        x[:, i] = phi * x[:, i - 1] + rng.normal(size=n)
    return 1 / (1 + np.exp(-0.5 * x))


def _blocky(n, t, s, rng):
    """Every block of s steps has the series' own shape, plus noise."""
    shape = rng.random((n, 1, s))
    blocks = np.tile(shape, (1, t // s, 1)).reshape(n, t)
    return 0.7 * blocks + 0.3 * rng.random((n, t))


def test_same_process_scores_near_zero_and_blocks_score_high():
    rng = np.random.default_rng(0)
    real = make_dataset(_ar1(300, 35, rng))
    other = make_dataset(_ar1(300, 35, rng))
    blocky = make_dataset(_blocky(300, 35, 7, rng))
    assert abs(block_artifact_score(real, other, 7)["score"]) < 0.02
    result = block_artifact_score(real, blocky, 7)
    assert result["score"] > 0.3
    assert result["lags"] == [7, 14, 21, 28]
    assert result["per_feature"]["feature_0"] == result["score"]


def test_periodicity_at_another_lag_does_not_count():
    rng = np.random.default_rng(1)
    real = make_dataset(_ar1(200, 35, rng))
    blocky_at_5 = make_dataset(_blocky(200, 35, 5, rng))
    assert block_artifact_score(real, blocky_at_5, 7)["score"] < 0.1
    assert block_artifact_score(real, blocky_at_5, 5)["score"] > 0.3


def test_is_real_minus_synthetic_antisymmetric():
    rng = np.random.default_rng(2)
    a = make_dataset(_ar1(100, 21, rng))
    b = make_dataset(_blocky(100, 21, 7, rng))
    forward = block_artifact_score(a, b, 7)["score"]
    assert block_artifact_score(b, a, 7)["score"] == pytest.approx(-forward)


def test_bad_arguments():
    rng = np.random.default_rng(3)
    data = make_dataset(_ar1(10, 14, rng))
    with pytest.raises(ValueError, match="sample_len"):
        block_artifact_score(data, data, 1)
    with pytest.raises(ValueError, match="2 \\* sample_len \\+ 1 = 15"):
        block_artifact_score(data, data, 7)
    with pytest.raises(ValueError, match="sample_len"):
        block_artifact_score(data, data, 2.5)


def test_periodic_features_finds_the_feature_with_period_s():
    from keras_dg.evaluation import periodic_features

    rng = np.random.default_rng(4)
    noise = _ar1(200, 35, rng)
    weekly = _blocky(200, 35, 7, rng)
    data = make_dataset(np.stack([noise, weekly], axis=-1))
    assert periodic_features(data, 7) == [1]
    assert periodic_features(data, 5) == []
    # Too short for a lag S with both neighbours: nothing to tell.
    assert periodic_features(make_dataset(noise[:, :10]), 7) == []


def test_output_periods_find_a_period_that_divides_s():
    from keras_dg.evaluation.autocorrelation import output_periods

    rng = np.random.default_rng(5)
    noise = _ar1(300, 48, rng)
    every_4 = _blocky(300, 48, 4, rng)
    every_8 = _blocky(300, 48, 8, rng)
    data = make_dataset(np.stack([noise, every_4, every_8], axis=-1))
    # S=8: the period-4 feature repeats twice a block, the other once.
    assert output_periods(
        data.features, data.feature_outputs, 8
    ) == {1: 4, 2: 8}
    # S=4: the period-4 feature has period S; so has the period-8 one
    # (its excess at lag 8 counts at S=4), and no smaller period.
    assert output_periods(
        data.features, data.feature_outputs, 4
    ) == {1: 4, 2: 4}
    # A period of 2 with S=4 (lag 2's excess) is found too.
    every_2 = make_dataset(_blocky(300, 48, 2, rng)[..., None])
    assert output_periods(every_2.features, every_2.feature_outputs, 4) == {0: 2}


def test_smooth_features_finds_the_slow_curves():
    from keras_dg.evaluation import smooth_features

    rng = np.random.default_rng(6)
    t = np.arange(40)
    phase = rng.uniform(0, 2 * np.pi, (200, 1))
    slow = 0.5 + 0.4 * np.sin(2 * np.pi * t / 60 + phase)
    data = make_dataset(np.stack(
        [rng.random((200, 40)), slow, _ar1(200, 40, rng)], axis=-1))
    # White noise: a ratio of about 1; an AR(1) with phi 0.8: about 0.2 to
    # 0.3 in windows of 40 steps; the slow sine: under 0.01.
    assert smooth_features(data) == [1]
    assert smooth_features(data, threshold=0.5) == [1, 2]
    # Padding after a series' end is not a step of the series.
    padded = make_dataset(np.stack([_ar1(200, 40, rng), slow], axis=-1),
                          lengths=rng.integers(10, 41, 200))
    assert smooth_features(padded) == [1]
