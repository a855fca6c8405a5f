import numpy as np
from keras import ops

from keras_dg import Output
from keras_dg.preprocessing import addi_outputs
from keras_dg.preprocessing import normalize_per_sample
from keras_dg.preprocessing import renormalize_per_sample

OUTPUTS = [
    Output("CONTINUOUS", 2, "MINUSONE_ONE"),
    Output("DISCRETE", 2),
    Output("CONTINUOUS", 1, "ZERO_ONE"),
]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((4, 6, 5), "float32")
    x[..., :2] = rng.uniform(-0.5, 0.7, (4, 6, 2))
    x[..., 2:4] = np.eye(2)[rng.integers(0, 2, (4, 6))]
    x[..., 4] = rng.uniform(0.2, 0.4, (4, 6))
    return x


def test_round_trip_recovers_the_data():
    x = _data()
    normalized, addi = normalize_per_sample(x, OUTPUTS)
    back = ops.convert_to_numpy(renormalize_per_sample(normalized, addi, OUTPUTS))
    np.testing.assert_allclose(back, x, atol=1e-5)


def test_epsilon_clips_to_the_unwidened_range():
    from keras_dg.preprocessing.per_sample_normalization import EPSILON

    x = _data()
    x[0, :, 4] = 0.3  # a constant series: encoded as f = 0.5, half = eps
    normalized, addi = normalize_per_sample(x, OUTPUTS)
    # What a generator produces: values that wobble around the encoding.
    wobble = np.random.default_rng(1).normal(0, 0.05, x.shape).astype("float32")
    noisy = ops.convert_to_numpy(normalized) + wobble
    plain = ops.convert_to_numpy(renormalize_per_sample(noisy, addi, OUTPUTS))
    clipped = ops.convert_to_numpy(
        renormalize_per_sample(noisy, addi, OUTPUTS, epsilon=EPSILON)
    )
    assert np.ptp(plain[0, :, 4]) > 0
    np.testing.assert_allclose(clipped[0, :, 4], 0.3, atol=1e-6)
    # Every series stays inside its own [min, max] ...
    for column in (0, 1, 4):
        low = x[..., column].min(1, keepdims=True) - 1e-5
        high = x[..., column].max(1, keepdims=True) + 1e-5
        assert np.all((clipped[..., column] >= low) & (clipped[..., column] <= high))
    # ... and the exact encoding still round-trips.
    back = renormalize_per_sample(normalized, addi, OUTPUTS, epsilon=EPSILON)
    np.testing.assert_allclose(ops.convert_to_numpy(back), x, atol=1e-5)


def test_normalized_ranges_and_addi_layout():
    x = _data()
    normalized, addi = normalize_per_sample(x, OUTPUTS)
    normalized = ops.convert_to_numpy(normalized)
    addi = ops.convert_to_numpy(addi)
    # Continuous columns span (almost) their full range per sample.
    np.testing.assert_allclose(normalized[..., 0].min(1), -1, atol=1e-3)
    np.testing.assert_allclose(normalized[..., 0].max(1), 1, atol=1e-3)
    np.testing.assert_allclose(normalized[..., 4].min(1), 0, atol=5e-3)
    np.testing.assert_allclose(normalized[..., 4].max(1), 1, atol=5e-3)
    # Discrete columns are untouched.
    np.testing.assert_array_equal(normalized[..., 2:4], x[..., 2:4])
    # [mid_0, half_0, mid_1, half_1, mid_2, half_2], eps = 1e-4.
    assert addi.shape == (4, 6)
    mx, mn = x[..., 4].max(1) + 1e-4, x[..., 4].min(1) - 1e-4
    np.testing.assert_allclose(addi[:, 4], (mx + mn) / 2, rtol=1e-5)
    np.testing.assert_allclose(addi[:, 5], (mx - mn) / 2, rtol=1e-5)


def test_constant_series_do_not_produce_nan():
    x = np.full((2, 4, 5), 0.5, "float32")
    x[..., 2:4] = [1, 0]
    normalized, addi = normalize_per_sample(x, OUTPUTS)
    assert np.isfinite(ops.convert_to_numpy(normalized)).all()
    assert np.isfinite(ops.convert_to_numpy(addi)).all()


def test_addi_outputs_follow_the_feature_normalizations():
    outputs = addi_outputs(OUTPUTS)
    assert [o.normalization.value for o in outputs] == [
        "MINUSONE_ONE", "ZERO_ONE", "MINUSONE_ONE", "ZERO_ONE",
        "ZERO_ONE", "ZERO_ONE",
    ]
    assert all(o.dim == 1 for o in outputs)
