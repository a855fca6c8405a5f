"""Small datasets with known properties for the evaluation tests."""

import numpy as np

from keras_dg import Output
from keras_dg import TimeSeriesDataset

ZERO_ONE = Output("CONTINUOUS", 1, "ZERO_ONE")
MINUS_ONE = Output("CONTINUOUS", 1, "MINUSONE_ONE")


def make_dataset(
    features,
    attributes=None,
    lengths=None,
    feature_outputs=None,
    attribute_outputs=None,
):
    """A `TimeSeriesDataset` from features [N, T, F] (or [N, T]).

    `attributes` are category indices [N] or [N, k] (one discrete attribute
    per column, widths from `attribute_outputs` or the max index + 1);
    `lengths` zero the features after each series' end.
    """
    features = np.asarray(features, dtype="float32")
    if features.ndim == 2:
        features = features[:, :, None]
    n, t, f = features.shape
    if lengths is None:
        lengths = np.full(n, t)
    lengths = np.asarray(lengths)
    gen_flag = (np.arange(t)[None, :] < lengths[:, None]).astype("float32")
    features = features * gen_flag[:, :, None]
    if feature_outputs is None:
        low = features.min()
        feature_outputs = [MINUS_ONE if low < 0 else ZERO_ONE] * f
    if attributes is None:
        attributes = np.zeros((n, 1), dtype="int64")
    attributes = np.asarray(attributes)
    if attributes.ndim == 1:
        attributes = attributes[:, None]
    if attribute_outputs is None:
        attribute_outputs = [
            Output("DISCRETE", int(attributes[:, j].max()) + 1)
            for j in range(attributes.shape[1])
        ]
    blocks = [
        np.eye(output.dim)[attributes[:, j]]
        for j, output in enumerate(attribute_outputs)
    ]
    return TimeSeriesDataset(
        features,
        np.concatenate(blocks, axis=1),
        gen_flag,
        feature_outputs,
        attribute_outputs,
    )


def random_dataset(n=40, t=8, f=2, seed=0, categories=(3,), shift=0.0):
    """Uniform features in [0, 0.8] + shift, random categorical attributes."""
    rng = np.random.default_rng(seed)
    features = rng.uniform(0.0, 0.8, (n, t, f)) + shift
    attributes = np.stack(
        [rng.integers(0, c, n) for c in categories], axis=1
    )
    return make_dataset(
        features,
        attributes,
        attribute_outputs=[Output("DISCRETE", c) for c in categories],
    )
