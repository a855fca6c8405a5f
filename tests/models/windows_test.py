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
