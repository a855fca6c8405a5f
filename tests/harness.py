"""Shared test helpers: tiny specs, data and models, config round trips."""

import keras
import numpy as np

import keras_dg
from keras_dg import Output

FEATURE_OUTPUTS = [
    Output("CONTINUOUS", 1, "ZERO_ONE"),
    Output("DISCRETE", 2),
    Output("CONTINUOUS", 1, "MINUSONE_ONE"),
]
ATTRIBUTE_OUTPUTS = [Output("DISCRETE", 3), Output("CONTINUOUS", 1, "ZERO_ONE")]
TINY = dict(
    gen_feature_num_units=8,
    gen_attribute_num_units=8,
    gen_attribute_num_layers=2,
    disc_num_units=8,
    disc_num_layers=2,
    attr_disc_num_units=8,
    attr_disc_num_layers=2,
)


def tiny_dataset(n=12, t=8, seed=0, min_length=1):
    """Variable-length series in the encoding of the specs above."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, t + 1, size=n)
    lengths[0] = t
    gen_flag = (np.arange(t)[None, :] < lengths[:, None]).astype("float32")
    features = np.zeros((n, t, 4), "float32")
    features[..., 0] = rng.random((n, t))
    features[..., 1:3] = np.eye(2)[rng.integers(0, 2, (n, t))]
    features[..., 3] = rng.uniform(-1, 1, (n, t))
    features *= gen_flag[..., None]
    attributes = np.concatenate(
        [np.eye(3)[rng.integers(0, 3, n)], rng.random((n, 1))], axis=1
    ).astype("float32")
    return keras_dg.TimeSeriesDataset(
        features, attributes, gen_flag, FEATURE_OUTPUTS, ATTRIBUTE_OUTPUTS
    )


def tiny_model(t=8, sample_len=2, **kwargs):
    config = dict(TINY, seed=0)
    config.update(kwargs)
    return keras_dg.DoppelGANger(
        FEATURE_OUTPUTS, ATTRIBUTE_OUTPUTS, max_sequence_len=t,
        sample_len=sample_len, **config,
    )


def assert_config_round_trip(layer):
    """from_config(get_config()) gives an equal config, also via Keras
    serialization (the registered name)."""
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    return clone
