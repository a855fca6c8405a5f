"""`generate(n, length=...)`: series longer than the training window."""

import keras
import numpy as np
import pytest

import keras_dg
from keras_dg.models.generation import MAX_LENGTH_WINDOWS
from keras_dg.models.generation import _GenerationNoise
from keras_dg.models.generation import _LongGenerationNoise
from tests.harness import quick_fit
from tests.harness import tiny_dataset
from tests.harness import tiny_model


@pytest.fixture(scope="module")
def model():
    """A tiny model trained one epoch on full-length series."""
    model = tiny_model(full_length=True, step_noise_dim=2, interpolate=True)
    model.compile()
    quick_fit(model, tiny_dataset(min_length=8))
    return model


def test_long_series_continue_the_window_in_one_piece(model):
    window = model.generate(5, seed=3)
    long = model.generate(5, seed=3, length=40)  # 5 windows
    assert long.features.shape == (5, 40, 4)
    np.testing.assert_array_equal(long.gen_flag, 1.0)
    assert long.lengths.tolist() == [40] * 5
    # The series' own attributes; the first window is `generate(n)`'s.
    np.testing.assert_array_equal(long.attributes, window.attributes)
    np.testing.assert_allclose(long.features[:, :8], window.features, atol=1e-5)
    # A shorter length is a prefix of a longer one, a length that is not a
    # multiple of sample_len the trimmed next one.
    odd = model.generate(5, seed=3, length=23)
    assert odd.features.shape == (5, 23, 4)
    np.testing.assert_allclose(odd.features, long.features[:, :23], atol=1e-5)
    # Beyond the window the series go on (not zeros, not the first window
    # again).
    later = long.features[:, 8:]
    assert np.abs(later[..., 0]).sum() > 0
    assert not np.allclose(later[:, :8], window.features, atol=1e-3)
    # Discrete features stay one-hot over the whole length.
    np.testing.assert_allclose(long.features[..., 1:3].sum(-1), 1.0)


def test_long_generation_is_reproducible_by_seed_and_row(model):
    a = model.generate(6, seed=1, length=30)
    b = model.generate(6, seed=1, length=30, batch_size=4)
    np.testing.assert_allclose(a.features, b.features, atol=1e-5)
    fewer = model.generate(2, seed=1, length=30)
    np.testing.assert_allclose(fewer.features, a.features[:2], atol=1e-5)
    other = model.generate(6, seed=2, length=30)
    assert not np.allclose(other.features, a.features)
    # The default length is unchanged by a long generation before it.
    np.testing.assert_array_equal(
        model.generate(6, seed=1).features, model.generate(6, seed=1).features
    )
    assert model.generate(6, seed=1).features.shape == (6, 8, 4)


def test_long_noise_is_the_window_noise_then_streams_per_window():
    shapes = {
        "attribute_noise": (1, 3),
        "feature_noise": (1, 4, 2),
        "step_noise": (1, 8, 1),
    }
    window = _GenerationNoise(shapes, 1500, entropy=5).rows(0, 1500)
    long = _LongGenerationNoise(shapes, 1500, 5, num_steps=10, sample_len=2)
    rows = long.rows(0, 1500)
    assert rows["feature_noise"].shape == (1500, 10, 2)
    assert rows["step_noise"].shape == (1500, 20, 1)
    for name in shapes:
        np.testing.assert_array_equal(
            rows[name][:, : shapes[name][1]] if name != "attribute_noise"
            else rows[name],
            window[name],
        )
    # Windows 2 and 3 have streams of their own.
    noise = rows["feature_noise"]
    assert not np.allclose(noise[:, 4:8], noise[:, :4])
    # Rows cut anywhere, and a longer length, give the same values.
    cut = np.concatenate(
        [long.rows(0, 999)["feature_noise"], long.rows(999, 1500)["feature_noise"]]
    )
    np.testing.assert_array_equal(cut, noise)
    longer = _LongGenerationNoise(shapes, 1500, 5, num_steps=13, sample_len=2)
    np.testing.assert_array_equal(
        longer.rows(0, 1500)["feature_noise"][:, :10], noise
    )


def test_the_flag_does_not_end_long_series():
    """A model whose flag ends series early (as trained) runs every series
    the requested length; its min/max (self_norm) stay the series' own."""
    model = tiny_model(full_length=False)
    model.compile()
    quick_fit(model, tiny_dataset())
    window = model.generate(32, seed=0)
    assert window.lengths.min() < 8  # an untrained-ish flag ends some
    long = model.generate(32, seed=0, length=24)
    np.testing.assert_array_equal(long.gen_flag, 1.0)
    np.testing.assert_array_equal(long.attributes, window.attributes)
    # The internal outputs: the generated min/max of a long series are
    # those of its window.
    short_noise = _GenerationNoise(model._noise_shapes(1), 4, 9).rows(0, 4)
    long_noise = _LongGenerationNoise(
        model._noise_shapes(1), 4, 9, num_steps=12, sample_len=2
    ).rows(0, 4)
    short_out = model(short_noise)
    long_out = model({**long_noise, "full_length": np.ones(4, "float32")})
    assert tuple(long_out["features"].shape)[1] == 24
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(long_out["attributes"]),
        keras.ops.convert_to_numpy(short_out["attributes"]),
        atol=1e-6,
    )


@pytest.mark.parametrize("length", [0, -3, 2.5, "10", True])
def test_bad_length_is_refused(model, length):
    with pytest.raises(ValueError, match="`length` must be a whole number"):
        model.generate(2, length=length)


def test_length_beyond_the_supported_maximum_is_refused(model):
    maximum = MAX_LENGTH_WINDOWS * model.max_sequence_len
    with pytest.raises(ValueError, match=f"from 1 to {maximum}"):
        model.generate(2, length=maximum + 1)
    # The maximum itself is fine.
    assert model.generate(1, length=maximum).features.shape == (1, maximum, 4)


def test_generate_dataframe_with_length_continues_the_dates():
    model = keras_dg.DoppelGANger.from_preset("flights")
    table = model.generate_dataframe(2, seed=0, length=400)
    per_route = table.groupby("route").size()
    assert per_route.tolist() == [400, 400]
    dates = table[table["route"] == per_route.index[0]]["date"]
    assert dates.is_monotonic_increasing and dates.nunique() == 400


def test_long_generation_builds_one_predict_function_per_length(
    model, monkeypatch
):
    from keras_dg.models.generation import GenerationMixin

    built = []
    make = GenerationMixin.make_predict_function

    def counting(self, force=False):
        if self.predict_function is None:
            built.append(1)
        return make(self, force)

    monkeypatch.setattr(GenerationMixin, "make_predict_function", counting)
    # Lengths the other tests did not ask for (the module's model).
    model.generate(2, seed=0, length=50)
    model.generate(3, seed=0, length=50)
    model.generate(2, seed=0, length=49)  # the same LSTM steps
    assert len(built) == 1
    model.generate(2, seed=0, length=58)
    assert len(built) == 2
    # The model's own function is left as it was.
    own = model.predict_function
    model.generate(2, seed=0, length=66)
    assert model.predict_function is own
    assert model.generate(2, seed=0).features.shape == (2, 8, 4)


def test_long_generation_with_given_or_fixed_attributes(model):
    window = model.generate(4, seed=5)
    given = model.generate(attributes=window.attributes, seed=5, length=20)
    np.testing.assert_array_equal(given.attributes, window.attributes)
    assert given.features.shape == (4, 20, 4)
    fixed = model.generate(3, seed=5, fixed_attributes={0: 1}, length=20)
    assert fixed.features.shape == (3, 20, 4)
    assert (fixed.attributes[:, :3].argmax(1) == 1).all()


@pytest.mark.parametrize(
    "kwargs",
    [{"feed_back": True, "noise": False}, {"initial_state": "zero"}],
)
def test_long_generation_of_other_generators(kwargs):
    model = tiny_model(full_length=True, **kwargs)
    window = model.generate(3, seed=0)
    long = model.generate(3, seed=0, length=20)
    assert long.features.shape == (3, 20, 4)
    np.testing.assert_allclose(long.features[:, :8], window.features, atol=1e-5)
