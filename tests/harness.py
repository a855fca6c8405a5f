"""Shared test helpers (keras-hub's harness, for keras-dg): tiny specs, data
and models; `run_layer_test`, `run_serialization_test`,
`run_model_saving_test`; the tolerance of trained weights across CPUs
(`assert_trained_weights_close`)."""

import os

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
# kill -9 trials per writer in the slow tests (tests/*/kill_test.py); the
# issue's 20 per writer: `KERAS_DG_KILL_TRIALS=20 pytest -m slow -k kill_9`.
KILL_TRIALS = int(os.environ.get("KERAS_DG_KILL_TRIALS", "3"))

def tiny_table_data():
    """`(dataset, transformer)` of a tiny long table: ids `id`, time `t`,
    6 series of 4 steps, a float feature `value` and a string attribute
    `kind`."""
    import pandas as pd

    from keras_dg.data import from_dataframe

    rng = np.random.default_rng(0)
    rows = [
        {"id": i, "t": t, "value": float(rng.integers(0, 100)),
         "kind": "ab"[i % 2]}
        for i in range(6) for t in range(4)
    ]
    return from_dataframe(
        pd.DataFrame(rows), example_id="id", time="t", features=["value"],
        attributes=["kind"], sample_len=2,
    )


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


def unused_by_design(variable):
    """Whether no gradient reaches `variable` on the tiny data: the
    feature generator's per-position heads, which `block_heads="auto"`
    gives no column when no feature has a period of `sample_len`."""
    return "position_heads" in variable.path


def tiny_model(t=8, sample_len=2, **kwargs):
    config = dict(TINY, seed=0)
    config.update(kwargs)
    return keras_dg.DoppelGANger(
        FEATURE_OUTPUTS, ATTRIBUTE_OUTPUTS, max_sequence_len=t,
        sample_len=sample_len, **config,
    )


def channel_dataset(missing, rng):
    """Series of one [0, 1] feature (drawn from `rng`) with a missingness
    channel, missing where `missing` [N, T] is True; all full length, with
    one 2-way attribute."""
    n, t = missing.shape
    features = np.stack(
        [rng.random((n, t)), 1.0 - missing, missing], axis=-1
    ).astype("float32")
    return keras_dg.TimeSeriesDataset(
        features, np.eye(2, dtype="float32")[np.arange(n) % 2],
        np.ones((n, t), "float32"),
        [Output("CONTINUOUS", 1, "ZERO_ONE"),
         Output("DISCRETE", 2, is_missing_channel=True)],
        [Output("DISCRETE", 2)],
    )


def quick_fit(model, data, **kwargs):
    """`model.fit(data)`: one quiet epoch of batches of 4 unless told."""
    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("verbose", 0)
    return model.fit(data, **kwargs)


def run_serialization_test(layer):
    """`from_config(get_config())` and Keras (de)serialization give an
    object of the same class and config; returns the `from_config` clone."""
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    return clone


def _numpy(values):
    return [
        np.asarray(keras.ops.convert_to_numpy(v))
        for v in keras.tree.flatten(values)
    ]


def _assert_same(actual, expected, what):
    actual, expected = _numpy(actual), _numpy(expected)
    assert len(actual) == len(expected), what
    for i, (a, b) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(a, b, atol=1e-6, err_msg=f"{what} {i}")


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    call_kwargs=None,
    expected_output_shape=None,
    tmp_path=None,
):
    """keras-hub's layer checks on a tiny layer.

    Builds `layer_cls(**init_kwargs)`, calls it on `input_data` (an array or
    a list of arrays) with `call_kwargs` (arrays, e.g. noise, so that the
    call is deterministic), and checks: the output shapes equal
    `compute_output_shape` (and `expected_output_shape` if given); the
    config and serialization round trips (`run_serialization_test`); a clone
    with the same weights gives the same outputs; with `tmp_path`, a small
    functional model holding the layer saves to `.keras`, reloads and gives
    the same outputs. Returns the layer.
    """
    call_kwargs = dict(call_kwargs or {})
    layer = layer_cls(**init_kwargs)
    outputs = layer(input_data, **call_kwargs)
    shapes = [tuple(np.shape(a)) for a in _numpy(outputs)]
    input_shape = keras.tree.map_structure(
        lambda a: tuple(np.shape(a)), input_data
    )
    kwargs_shapes = {
        f"{k}_shape": tuple(np.shape(v)) for k, v in call_kwargs.items()
    }
    computed = layer.compute_output_shape(input_shape, **kwargs_shapes)
    if isinstance(computed[0], (int, type(None))):
        computed = [computed]
    assert [tuple(s) for s in computed] == shapes, (computed, shapes)
    if expected_output_shape is not None:
        assert [tuple(s) for s in expected_output_shape] == shapes
    clone = run_serialization_test(layer)
    clone(input_data, **call_kwargs)
    clone.set_weights(layer.get_weights())
    _assert_same(clone(input_data, **call_kwargs), outputs, "clone output")
    if tmp_path is not None:
        _assert_layer_saves(layer, input_data, call_kwargs, outputs, tmp_path)
    return layer


def _assert_layer_saves(layer, input_data, call_kwargs, outputs, tmp_path):
    """A functional model around `layer` survives `.keras` saving."""
    arrays = input_data if isinstance(input_data, list) else [input_data]
    inputs = [
        keras.Input(np.shape(a)[1:], name=f"input_{i}")
        for i, a in enumerate(arrays)
    ]
    kwargs = {
        k: keras.Input(np.shape(v)[1:], name=k)
        for k, v in call_kwargs.items()
    }
    x = inputs if isinstance(input_data, list) else inputs[0]
    model = keras.Model([*inputs, *kwargs.values()], layer(x, **kwargs))
    path = os.path.join(str(tmp_path), f"{layer.name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    feed = [*arrays, *call_kwargs.values()]
    _assert_same(loaded.predict_on_batch(feed), outputs, "reloaded output")


def run_model_saving_test(model, tmp_path, n=4, seed=1):
    """Saves `model` to `.keras` and reloads it: same config, weights and
    optimizer state, and `generate(n, seed=seed)` gives the same series.
    Returns the loaded model."""
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    _assert_same(loaded.weights, model.weights, "weight")
    if model.compiled:
        assert loaded.compiled
        _assert_same(
            loaded.optimizer.variables, model.optimizer.variables,
            "optimizer variable",
        )
    a, b = model.generate(n, seed=seed), loaded.generate(n, seed=seed)
    for part in ("features", "attributes", "gen_flag"):
        np.testing.assert_array_equal(
            getattr(b, part), getattr(a, part), err_msg=part
        )
    return loaded


# Float32 kernels round differently on other instruction sets (the order of
# a sum, fused multiply-adds). Adam divides each gradient by its own running
# magnitude, so a rounding difference in a small gradient becomes a
# difference of a good part of a step in that one weight. Two runs of the
# same training therefore agree tensor by tensor relative to how far the
# training moved the tensor, not element by element to 1e-5.
FLOAT32_EPS = float(np.finfo("float32").eps)
# Of the distance the training moved a tensor: observed 0.4% across CPUs; a
# real disagreement (a loss sign, a missing round, other noise) is about 100%.
TRAINED_RTOL = 0.05


def assert_trained_weights_close(actual, expected, start, steps, names=None):
    """Weights of two runs of the same `steps` updates from `start` agree.

    For each tensor: `|actual - expected| <= TRAINED_RTOL * |expected -
    start| + steps * 64 * eps * |start| * sqrt(size)` (L2 norms), where the
    second term bounds rounding where training barely moved the tensor.
    """
    for i, (a, b, s) in enumerate(zip(actual, expected, start)):
        a, b, s = (np.asarray(x, "float64") for x in (a, b, s))
        moved = np.linalg.norm(b - s)
        rounding = steps * 64 * FLOAT32_EPS * np.sqrt(s.size) * max(
            1.0, float(np.abs(s).max(initial=0.0))
        )
        difference = np.linalg.norm(a - b)
        name = names[i] if names is not None else i
        assert difference <= TRAINED_RTOL * moved + rounding, (
            f"weight {name}: runs differ by {difference:.3g}, training "
            f"moved it by {moved:.3g} in {steps} steps"
        )
