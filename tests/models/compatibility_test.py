"""A model saved by an earlier keras-dg loads, generates and trains.

`testdata/doppelganger_v1.keras` was written by keras-dg before the model's
split into modules (issue #18): the tiny model of `tests.harness`, fitted one
epoch on `tiny_dataset(n=8)` with batch 4, then saved; beside it the arrays of
its `generate(n=4, seed=0)`. Regenerate both only for a deliberate format
change, and say so in the changelog.
"""

import os

import keras
import numpy as np

from tests.harness import tiny_dataset

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
MODEL_PATH = os.path.join(TESTDATA, "doppelganger_v1.keras")
GENERATED_PATH = os.path.join(TESTDATA, "doppelganger_v1_generated.npz")


def _load():
    import keras_dg  # noqa: F401  (registers the classes)

    return keras.saving.load_model(MODEL_PATH)


def test_saved_model_generates_the_same_series():
    model = _load()
    expected = np.load(GENERATED_PATH)
    out = model.generate(n=4, seed=0)
    # Same weights and same noise: only float32 rounding may differ.
    np.testing.assert_allclose(out.features, expected["features"], atol=1e-5)
    np.testing.assert_allclose(
        out.attributes, expected["attributes"], atol=1e-5
    )
    np.testing.assert_array_equal(out.gen_flag, expected["gen_flag"])


def test_saved_model_trains_again():
    model = _load()
    assert model.compiled
    iterations = int(model.optimizer.iterations)
    assert iterations == 2
    before = [keras.ops.convert_to_numpy(v).copy()
              for v in model.generator_trainable_variables]
    history = model.fit(tiny_dataset(n=4), batch_size=4, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == iterations + 1
    assert all(np.isfinite(v).all() for v in history.history.values())
    after = [keras.ops.convert_to_numpy(v)
             for v in model.generator_trainable_variables]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
