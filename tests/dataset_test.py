import numpy as np
import pytest

from keras_dg import Output
from keras_dg import TimeSeriesDataset

FEATURE_OUTPUTS = [Output("CONTINUOUS", 1, "ZERO_ONE"), Output("DISCRETE", 2),
                   Output("CONTINUOUS", 1, "MINUSONE_ONE")]
ATTRIBUTE_OUTPUTS = [Output("DISCRETE", 3), Output("CONTINUOUS", 1, "ZERO_ONE")]


def arrays():
    """Two series of lengths 3 and 1 over T=3, valid in every respect."""
    gen_flag = np.array([[1, 1, 1], [1, 0, 0]], "float32")
    features = np.array([
        [[0.2, 1, 0, -0.5], [1.0, 0, 1, 1.0], [0.0, 1, 0, -1.0]],
        [[0.7, 0, 1, 0.3], [0, 0, 0, 0], [0, 0, 0, 0]],
    ], "float32")
    attributes = np.array([[0, 1, 0, 0.25], [1, 0, 0, 1.0]], "float32")
    return dict(features=features, attributes=attributes, gen_flag=gen_flag,
                feature_outputs=FEATURE_OUTPUTS,
                attribute_outputs=ATTRIBUTE_OUTPUTS)


def make(**changes):
    kwargs = arrays()
    kwargs.update(changes)
    return TimeSeriesDataset(**kwargs)


def test_valid_dataset():
    ds = make(extras={"data_feature_min": np.zeros(2)})
    assert len(ds) == 2 and ds.max_sequence_len == 3
    assert ds.lengths.tolist() == [3, 1]
    assert sorted(ds.as_dict()) == ["attributes", "features", "gen_flag"]
    assert ds[1].lengths.tolist() == [1]
    assert ds[[1, 0]].attributes[0, 0] == 1.0
    assert "data_feature_min" in ds[:1].extras
    assert repr(ds) == ("TimeSeriesDataset(n=2, max_sequence_len=3, "
                        "feature_dim=4, attribute_dim=4)")
    # Specs as dicts, float round-off at the range limits, bool gen flags.
    features = arrays()["features"]
    features[0, 1, 0] = 1.0000001
    make(features=features, gen_flag=arrays()["gen_flag"].astype(bool),
         feature_outputs=[o.to_config() for o in FEATURE_OUTPUTS])


def _set(name, index, value):
    array = arrays()[name].copy()
    array[index] = value
    return {name: array}


@pytest.mark.parametrize(
    "changes, message",
    [
        # Ranks and shapes.
        (dict(features=np.zeros((2, 3))), r"`features` must have rank 3.*\(2, 3\)"),
        (dict(attributes=np.zeros((2, 4, 1))), "`attributes` must have rank 2"),
        (dict(gen_flag=np.ones(3)), "`gen_flag` must have rank 2"),
        (dict(features=[["a"]]), "`features` must be a numeric array"),
        (dict(attributes=arrays()["attributes"][:1]),
         "`attributes` has 1 rows but `features` has 2 series"),
        (dict(gen_flag=np.ones((2, 4))),
         r"`gen_flag` must have shape \(N, T\) = \(2, 3\).*\(2, 4\)"),
        # Empty data.
        (dict(features=np.zeros((0, 3, 4)), attributes=np.zeros((0, 4)),
              gen_flag=np.zeros((0, 3))), "`features` is empty"),
        (dict(features=np.zeros((2, 0, 4)), gen_flag=np.zeros((2, 0))),
         "`features` is empty"),
        # Dims against the specs.
        (dict(feature_outputs=FEATURE_OUTPUTS[:2]),
         "`features` has 4 columns but `feature_outputs`.*add up to 3"),
        (dict(attribute_outputs=[Output("DISCRETE", 4), Output("DISCRETE", 2)]),
         "`attributes` has 4 columns but `attribute_outputs`.*add up to 6"),
        (dict(feature_outputs=[]), "`feature_outputs` must not be empty"),
        (dict(feature_outputs=Output("DISCRETE", 4)),
         "`feature_outputs` must be a list"),
        (dict(attribute_outputs=[Output("DISCRETE", 3),
                                 Output("DISCRETE", 1, is_gen_flag=True)]),
         r"`attribute_outputs\[1\]` has is_gen_flag=True"),
        # NaN and inf.
        (_set("features", (1, 0, 3), np.nan),
         r"`features` contains 1 NaN or infinite.*index \(1, 0, 3\)"),
        (_set("attributes", (0, 3), np.inf),
         r"`attributes` contains 1 NaN or infinite.*index \(0, 3\)"),
        (_set("gen_flag", (0, 2), np.nan), "`gen_flag` contains 1 NaN"),
        # One-hot blocks.
        (_set("attributes", (1, 1), 1.0),
         r"`attributes` columns 0:3 .*one-hot, but the row at index \(1,\) "
         r"is \[1.0, 1.0, 0.0\]"),
        (_set("attributes", (0, slice(0, 3)), [0.5, 0.5, 0.0]),
         r"`attributes` columns 0:3 .*must be one-hot"),
        (_set("features", (0, 2, slice(1, 3)), [0.0, 0.0]),
         r"`features` columns 1:3 .*one-hot, but the row at index \(0, 2\)"),
        # Continuous values outside their declared range.
        (_set("features", (0, 1, 0), 1.5),
         r"`features` columns 0:1 .*ZERO_ONE.*\[0.0, 1.0\].*index \(0, 1, 0\) "
         r"holds 1.5"),
        (_set("features", (1, 0, 3), -1.2),
         r"`features` columns 3:4 .*MINUSONE_ONE.*\[-1.0, 1.0\]"),
        (_set("attributes", (0, 3), -0.1),
         r"`attributes` columns 3:4 .*must lie in \[0.0, 1.0\]"),
        # Gen flags that are not 1...1 0...0.
        (_set("gen_flag", (0, 1), 0.5), r"`gen_flag` must hold only 0 and 1; "
         r"index \(0, 1\) holds 0.5"),
        (_set("gen_flag", (1, 2), 1.0),
         r"series 1 restarts after it ended: \[1, 0, 1\]"),
        (_set("gen_flag", (1, 0), 0.0), "Series 1 has length 0"),
        # Non-zero padding after a series' end.
        (_set("features", (1, 2, 0), 0.4),
         r"zero after each series' end, but index \(1, 2, 0\)"),
    ],
)
def test_bad_input_is_named(changes, message):
    with pytest.raises(ValueError, match=message):
        make(**changes)


def test_validate_false_skips_checks():
    ds = make(validate=False, **_set("features", (0, 1, 0), 7.0))
    with pytest.raises(ValueError, match="must lie in"):
        ds.validate()
