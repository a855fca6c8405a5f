import keras
import numpy as np
import pytest

from keras_dg import DoppelGANger
from keras_dg import Output
from keras_dg import TimeSeriesDataset
from keras_dg.models.config import PAPER
from keras_dg.models.value_grid import find_grids
from keras_dg.models.value_grid import snap

CONTINUOUS = Output("CONTINUOUS", 1, "ZERO_ONE")


def _columns(n=60, t=8, seed=0):
    """0/1 flags, counts 0..19 scaled to [0, 1], and continuous values."""
    rng = np.random.default_rng(seed)
    flags = rng.integers(0, 2, (n, t))
    counts = rng.integers(0, 20, (n, t)) / 19
    values = rng.random((n, t))
    return np.stack([flags, counts, values], axis=-1).astype("float32")


def test_find_grids_reads_flags_and_counts_not_continuous_values():
    features = _columns()
    grids = find_grids(features, np.ones(features.shape[:2]), [CONTINUOUS] * 3)
    np.testing.assert_allclose(grids[:, 0], [1, 0, 1])
    np.testing.assert_allclose(grids[:, 1], [1 / 19, 0, 1], rtol=1e-5)
    np.testing.assert_array_equal(grids[:, 2], 0)


def test_find_grids_step_divides_the_smallest_gap():
    # Counts 0, 2 and 5 only, scaled to [0, 1]: the smallest gap (2) is
    # not the step (1), which the grid must still find.
    rng = np.random.default_rng(2)
    counts = rng.choice([0, 2, 5], (30, 6, 1)) / 5
    grids = find_grids(counts.astype("float32"), np.ones((30, 6)), [CONTINUOUS])
    np.testing.assert_allclose(grids[:, 0], [1 / 5, 0, 1], rtol=1e-5)
    # A few levels with no common step (0, 1, sqrt(2), pi): no grid.
    levels = np.array([0, 1, np.sqrt(2), np.pi]) / np.pi
    values = rng.choice(levels, (30, 6, 1)).astype("float32")
    grids = find_grids(values, np.ones((30, 6)), [CONTINUOUS])
    np.testing.assert_array_equal(grids, 0)


def test_find_grids_gives_no_grid_to_a_column_with_non_finite_values():
    features = _columns()
    features[3, 2, 0] = np.nan
    features[5, 1, 1] = np.inf
    grids = find_grids(features, np.ones(features.shape[:2]), [CONTINUOUS] * 3)
    np.testing.assert_array_equal(grids, 0)


def test_find_grids_skips_discrete_constant_and_fine_columns():
    rng = np.random.default_rng(1)
    n, t = 40, 6
    category = np.eye(2, dtype="float32")[rng.integers(0, 2, (n, t))]
    constant = np.full((n, t, 1), 0.5, "float32")
    # Whole multiples of 1e-4: a grid of 10,001 points, too fine to be one.
    fine = (rng.integers(0, 10001, (n, t, 1)) / 10000).astype("float32")
    features = np.concatenate([category, constant, fine], axis=-1)
    outputs = [Output("DISCRETE", 2), CONTINUOUS, CONTINUOUS]
    grids = find_grids(features, np.ones((n, t)), outputs)
    np.testing.assert_array_equal(grids, 0)


def test_find_grids_reads_only_active_steps():
    features = _columns()[..., :1]
    flag = np.ones(features.shape[:2], "float32")
    flag[:, -2:] = 0
    features[:, -2:] = 0.3712345  # padding past the end: not data
    grids = find_grids(features, flag, [CONTINUOUS])
    np.testing.assert_allclose(grids[:, 0], [1, 0, 1])
    # Active and off the grid: no grid.
    flag[:, -2:] = 1
    np.testing.assert_array_equal(find_grids(features, flag, [CONTINUOUS]), 0)


def test_snap_rounds_to_the_nearest_point_within_the_range():
    grids = np.array([[0.25, 0.0], [0.5, 0.0], [1.0, 0.0]], "float32")
    values = np.array([[0.1, 0.1234], [0.62, 0.9], [1.0, 0.5]], "float32")
    snapped = keras.ops.convert_to_numpy(snap(values, grids))
    np.testing.assert_allclose(snapped[:, 0], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(snapped[:, 1], values[:, 1])


def _flag_dataset(n=60, t=8):
    features = _columns(n, t)[..., :2]
    rng = np.random.default_rng(2)
    return TimeSeriesDataset(
        features, np.eye(2)[rng.integers(0, 2, n)], np.ones((n, t), "float32"),
        [CONTINUOUS] * 2, [Output("DISCRETE", 2)],
    )


def _model(data, **kwargs):
    return DoppelGANger(
        data.feature_outputs, data.attribute_outputs, max_sequence_len=8,
        sample_len=2, gen_feature_num_units=8, gen_attribute_num_units=8,
        disc_num_units=8, attr_disc_num_units=8, seed=0, **kwargs,
    )


def test_fit_finds_the_grids_and_generate_stays_on_them(tmp_path):
    data = _flag_dataset()
    model = _model(data)
    assert model.snap_to_grid
    grid = model.feature_grid
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(grid), 0)
    model.compile()
    model.fit(data, epochs=1, batch_size=30, verbose=0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(grid), [[1, 1 / 19], [0, 0], [1, 1]],
        rtol=1e-5,
    )
    generated = model.generate(200, seed=0)
    flags, counts = generated.features[..., 0], generated.features[..., 1]
    assert set(np.unique(flags)) <= {0.0, 1.0}
    np.testing.assert_allclose(counts * 19, np.round(counts * 19), atol=1e-4)
    # Saved with the model: the loaded one generates the same series.
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        loaded.generate(20, seed=1).features, model.generate(20, seed=1).features
    )
    # Off, generation keeps the network's values (some off the grid).
    model.feature_grid.assign(np.zeros((3, 2), "float32"))
    raw = model.generate(200, seed=0).features[..., 0]
    assert np.any((raw > 0.01) & (raw < 0.99))


def test_off_and_old_configs_hold_no_grid():
    data = _flag_dataset()
    assert _model(data, snap_to_grid=False).feature_grid is None
    assert PAPER["snap_to_grid"] is False
    config = _model(data).get_config()
    del config["snap_to_grid"]  # saved before the option existed
    old = DoppelGANger.from_config(config)
    assert old.snap_to_grid is False and old.feature_grid is None
    with pytest.raises(ValueError, match="`snap_to_grid` must be True or"):
        _model(data, snap_to_grid="yes")
