import numpy as np
import pytest
from keras import ops

from keras_dg.preprocessing import add_gen_flag
from keras_dg.preprocessing import check_sample_len


def _flags(lengths, t, s):
    gen_flag = (np.arange(t)[None] < np.array(lengths)[:, None]).astype(
        "float32"
    )
    out = add_gen_flag(np.zeros((len(lengths), t, 0), "float32"), gen_flag, s)
    return ops.convert_to_numpy(out)


def test_docstring_examples():
    # The original's examples: T=6, S=3.
    flags = _flags([1, 4], t=6, s=3)
    assert flags[0].tolist() == [[0, 1]] * 3 + [[0, 0]] * 3
    assert flags[1].tolist() == [[1, 0]] * 3 + [[0, 1]] * 3


def test_full_length_series_ends_with_stop():
    flags = _flags([6], t=6, s=2)
    assert flags[0].tolist() == [[1, 0]] * 5 + [[0, 1]]


def test_sample_len_one_marks_only_the_last_step():
    flags = _flags([3], t=5, s=1)
    assert flags[0].tolist() == [[1, 0], [1, 0], [0, 1], [0, 0], [0, 0]]


def test_features_are_kept_in_front():
    features = np.arange(12, dtype="float32").reshape(1, 4, 3)
    out = ops.convert_to_numpy(add_gen_flag(features, np.ones((1, 4)), 2))
    assert out.shape == (1, 4, 5)
    np.testing.assert_array_equal(out[..., :3], features)


def test_sample_len_must_divide_with_valid_values_listed():
    with pytest.raises(ValueError, match=r"Valid values: \[1, 2, 3, 4, 6, 12\]"):
        check_sample_len(12, 5)
    with pytest.raises(ValueError, match="sample_len"):
        add_gen_flag(np.zeros((1, 6, 1)), np.ones((1, 6)), 4)
    with pytest.raises(ValueError, match="positive integer"):
        check_sample_len(12, 0)
