"""`TimeSeriesDataset.windows`: training on series longer than the model's
window (then `generate(n, length=...)`)."""

import numpy as np
import pytest

from tests.harness import quick_fit
from tests.harness import tiny_dataset
from tests.harness import tiny_model


def test_windows_cut_each_series_with_its_attributes():
    data = tiny_dataset(n=5, t=8)
    windows = data.windows(4, stride=2)  # starts 0, 2, 4
    series = windows.extras["window_series"]
    start = windows.extras["window_start"]
    assert windows.max_sequence_len == 4
    # A window starts before its series' end.
    assert np.all(start < data.lengths[series])
    expected = sum(int(np.sum(np.array([0, 2, 4]) < n)) for n in data.lengths)
    assert len(windows) == expected
    for i, (s, t0) in enumerate(zip(series, start)):
        np.testing.assert_array_equal(
            windows.features[i], data.features[s, t0:t0 + 4]
        )
        np.testing.assert_array_equal(windows.attributes[i], data.attributes[s])
        np.testing.assert_array_equal(
            windows.gen_flag[i], data.gen_flag[s, t0:t0 + 4]
        )
    windows.validate()  # Flags 1...1 0...0, zeros after each end.


def test_windows_default_stride_and_tail():
    data = tiny_dataset(n=3, t=8, min_length=8)
    windows = data.windows(3)  # starts 0, 3; steps 6-7 left out
    assert windows.extras["window_start"].tolist() == [0, 3] * 3
    assert windows.extras["window_series"].tolist() == [0, 0, 1, 1, 2, 2]
    assert len(data.windows(8)) == 3


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"length": 0}, "length"),
        ({"length": 9}, "length"),
        ({"length": 2.0}, "length"),
        ({"length": 4, "stride": 0}, "stride"),
    ],
)
def test_bad_windows_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}` must be"):
        tiny_dataset(t=8).windows(**kwargs)


def test_train_on_windows_and_generate_the_whole_length():
    data = tiny_dataset(n=8, t=16, min_length=16)
    windows = data.windows(8, stride=4)
    model = tiny_model(t=8, full_length=True)
    model.compile()
    quick_fit(model, windows.as_dict())
    long = model.generate(4, seed=0, length=data.max_sequence_len)
    assert long.features.shape == (4, 16, 4)
    long.validate()


def test_windows_carry_their_series_range():
    data = tiny_dataset(n=5, t=8)
    windows = data.windows(4, stride=2)
    series = windows.extras["window_series"]
    np.testing.assert_array_equal(
        windows.extras["series_min"], data.features.min(axis=1)[series]
    )
    np.testing.assert_array_equal(
        windows.extras["series_max"], data.features.max(axis=1)[series]
    )
    assert set(windows.as_dict()) == {
        "features", "attributes", "gen_flag", "series_min", "series_max"
    }
    # Selecting windows selects their rows of the range (and of the
    # window bookkeeping); windows of windows keep the series' range.
    picked = windows[[2, 0]]
    np.testing.assert_array_equal(
        picked.extras["series_min"], windows.extras["series_min"][[2, 0]]
    )
    np.testing.assert_array_equal(
        picked.extras["window_series"], series[[2, 0]]
    )
    again = windows.windows(2)
    np.testing.assert_array_equal(
        again.extras["series_max"],
        windows.extras["series_max"][again.extras["window_series"]],
    )


def test_windows_are_normalised_by_their_series_range():
    """With `self_norm`, a window's min/max attributes are its whole
    series' (what `generate(n, length=...)` needs), not the window's."""
    data = tiny_dataset(n=6, t=8, min_length=8)
    windows = data.windows(4)
    model = tiny_model(t=4, self_norm=True)
    whole = tiny_model(t=8, self_norm=True)
    _, series_attributes = whole.encode(
        data.features, data.attributes, data.gen_flag
    )
    series_range = windows.extras["series_min"], windows.extras["series_max"]
    features, attributes = model.encode(
        windows.features, windows.attributes, windows.gen_flag, series_range
    )
    expected = np.asarray(series_attributes)[windows.extras["window_series"]]
    np.testing.assert_allclose(np.asarray(attributes), expected, atol=1e-6)
    _, own = model.encode(windows.features, windows.attributes,
                          windows.gen_flag)
    assert not np.allclose(np.asarray(own), expected, atol=1e-3)
    # Scaled by a wider range, a window stays inside the encoding.
    values = np.asarray(features)
    assert values.min() >= -1 - 1e-6 and values.max() <= 1 + 1e-6


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x: x.pop("series_max"), "without its partner"),
        (lambda x: x.update(series_min=x["series_min"][:, :1]), "shape"),
        (lambda x: x.update(series_max=x["series_min"]), "outside its"),
    ],
)
def test_bad_series_ranges_are_refused(change, message):
    x = tiny_dataset(n=4, t=8, min_length=8).windows(4).as_dict()
    change(x)
    model = tiny_model(t=4, self_norm=True)
    model.compile()
    with pytest.raises(ValueError, match=message):
        quick_fit(model, x)
