import os

import keras
import numpy as np
import pytest
from matplotlib.image import imread

from keras_dg.callbacks import SampleVisualizer
from tests.harness import tiny_dataset
from tests.harness import tiny_model


def _fit(model, callbacks, epochs, **kwargs):
    return model.fit(
        tiny_dataset(n=16), batch_size=4, epochs=epochs, verbose=0,
        callbacks=callbacks, **kwargs,
    )


def test_draws_every_n_batches_and_epochs_with_real_beside(tmp_path):
    model = tiny_model()
    model.compile()
    real = tiny_dataset(n=10, seed=1)
    vis = SampleVisualizer(
        tmp_path, every_n_batches=3, every_n_epochs=2, num_samples=3,
        real=real, seed=5,
    )
    _fit(model, [vis], epochs=3)  # 4 batches per epoch
    names = [os.path.basename(p) for p in vis.written]
    assert names == [
        "batch_00000003.png", "batch_00000006.png", "epoch_0002.png",
        "batch_00000009.png", "batch_00000012.png", "epoch_0003.png",
    ]
    image = imread(vis.written[-1])
    assert image.ndim == 3 and image.shape[0] > 100
    # Real beside generated: twice as wide as a generated-only picture.
    alone = SampleVisualizer(tmp_path / "alone", num_samples=3)
    alone.set_model(model)
    assert image.shape[1] == 2 * imread(alone.visualize("x")).shape[1]
    # The arrays are what `generate` gives with the seed, at the last epoch.
    arrays = np.load(tmp_path / "epoch_0003.npz")
    expected = model.generate(3, seed=5)
    np.testing.assert_array_equal(arrays["features"], expected.features)
    np.testing.assert_array_equal(arrays["attributes"], expected.attributes)
    np.testing.assert_array_equal(arrays["gen_flag"], expected.gen_flag)
    # Three distinct real series, chosen once with the seed.
    rows = [
        int(np.flatnonzero((real.features == f).all(axis=(1, 2)))[0])
        for f in vis.real.features
    ]
    assert len(set(rows)) == 3
    again = SampleVisualizer(tmp_path, num_samples=3, real=real, seed=5)
    np.testing.assert_array_equal(again.real.features, vis.real.features)


def test_the_batch_count_continues_after_a_resume(tmp_path):
    model = tiny_model()
    model.compile()
    vis = SampleVisualizer(tmp_path, every_n_batches=3, every_n_epochs=None)
    _fit(model, [vis], epochs=3, initial_epoch=2)
    assert [os.path.basename(p) for p in vis.written] == [
        "batch_00000009.png", "batch_00000012.png"
    ]


@pytest.mark.skipif(
    keras.config.backend() == "torch",
    reason="PyTorch's trainer runs one step per call",
)
def test_several_steps_per_call_draw_once_per_multiple_passed(tmp_path):
    # Calls of 2 steps, 4 batches an epoch: the callback sees batches 2, 4,
    # 6, ... and draws at the first count past each multiple of 3.
    model = tiny_model()
    model.compile(steps_per_execution=2)
    vis = SampleVisualizer(tmp_path, every_n_batches=3, every_n_epochs=None)
    _fit(model, [vis], epochs=3)
    assert [os.path.basename(p) for p in vis.written] == [
        "batch_00000004.png", "batch_00000006.png", "batch_00000010.png",
        "batch_00000012.png",
    ]


def test_real_series_of_another_spec_are_refused(tmp_path):
    model = tiny_model(t=4)
    model.compile()
    vis = SampleVisualizer(tmp_path, real=tiny_dataset(n=4, t=8))
    with pytest.raises(ValueError, match="`real` does not fit the model"):
        model.fit(tiny_dataset(n=4, t=4), epochs=1, verbose=0, callbacks=[vis])


def test_a_model_without_generate_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="generate"):
        model.fit(
            np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0,
            callbacks=[SampleVisualizer(tmp_path)],
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(every_n_batches=-1), "every_n_batches"),
        (dict(every_n_epochs=1.5), "every_n_epochs"),
        (dict(num_samples=0), "num_samples"),
        (dict(real=np.zeros((2, 8, 4))), "TimeSeriesDataset"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampleVisualizer(tmp_path, **kwargs)
