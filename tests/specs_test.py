import json

import pytest

from keras_dg import Normalization
from keras_dg import Output
from keras_dg import OutputType
from keras_dg.specs import output_slices
from keras_dg.specs import outputs_from_config
from keras_dg.specs import total_dim


def test_output_accepts_enums_and_strings():
    a = Output(OutputType.CONTINUOUS, 2, Normalization.MINUSONE_ONE)
    b = Output("CONTINUOUS", 2, "minusone_one")
    assert a == b
    assert a.activation == "tanh"
    assert a.value_range == (-1.0, 1.0)
    assert Output("DISCRETE", 3).activation == "softmax"
    assert Output("CONTINUOUS", 1, "ZERO_ONE").activation == "sigmoid"


def test_json_round_trip():
    outputs = [Output("DISCRETE", 3), Output("CONTINUOUS", 2, "ZERO_ONE")]
    text = json.dumps([o.to_config() for o in outputs])
    assert outputs_from_config(json.loads(text)) == outputs


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(type_="CONTINUOUS", dim=1), "needs a `normalization`"),
        (dict(type_="DISCRETE", dim=2, normalization="ZERO_ONE"),
         "must not have a `normalization`"),
        (dict(type_="DISCRETE", dim=0), "dim"),
        (dict(type_="DISCRETE", dim=1.5), "dim"),
        (dict(type_="DISCRETE", dim=True), "dim"),
        (dict(type_="CATEGORICAL", dim=2), "type_"),
        (dict(type_="CONTINUOUS", dim=2, normalization="ZERO_TEN"),
         "normalization"),
    ],
)
def test_invalid_specs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Output(**kwargs)


def test_missing_channel_flag():
    channel = Output("DISCRETE", 2, is_missing_channel=True)
    config = channel.to_config()
    assert config["is_missing_channel"] is True
    assert Output.from_config(json.loads(json.dumps(config))) == channel
    assert channel != Output("DISCRETE", 2)
    assert "is_missing_channel=True" in repr(channel)
    # Other outputs' configs are those of before the flag existed.
    assert "is_missing_channel" not in Output("DISCRETE", 2).to_config()
    for kwargs in (dict(type_="DISCRETE", dim=3),
                   dict(type_="CONTINUOUS", dim=2, normalization="ZERO_ONE"),
                   dict(type_="DISCRETE", dim=2, is_gen_flag=True)):
        with pytest.raises(ValueError, match="missingness channel"):
            Output(**kwargs, is_missing_channel=True)


def test_from_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="Unknown keys"):
        Output.from_config({"type_": "DISCRETE", "dim": 2, "width": 3})


def test_slices_and_dims():
    outputs = [Output("DISCRETE", 3), Output("CONTINUOUS", 2, "ZERO_ONE")]
    assert total_dim(outputs) == 5
    assert [(s, e) for _, s, e in output_slices(outputs)] == [(0, 3), (3, 5)]
