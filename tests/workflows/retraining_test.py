import numpy as np
from keras.ops import convert_to_numpy as to_numpy
import pytest

import keras_dg
from keras_dg.workflows import retrain_attribute_generator
from tests.harness import tiny_dataset
from tests.harness import tiny_model


def _skewed(dataset, category):
    """The same series, all with attribute category `category`."""
    attributes = dataset.attributes.copy()
    attributes[:, :3] = np.eye(3)[category]
    return keras_dg.TimeSeriesDataset(
        dataset.features, attributes, dataset.gen_flag,
        dataset.feature_outputs, dataset.attribute_outputs,
    )


def test_retraining_moves_the_marginals_and_keeps_the_feature_network():
    model = tiny_model(g_lr=1e-2, d_lr=1e-2, attr_d_lr=1e-2)
    model.compile()
    data = tiny_dataset(n=32)
    model.fit(data, epochs=1, batch_size=16, verbose=0)
    features_before = [np.array(w) for w in model.feature_generator.weights]
    addi_before = [np.array(w) for w in model.addi_generator.weights]

    retrained = retrain_attribute_generator(
        model, _skewed(data, 2), epochs=40, batch_size=16, verbose=0
    )
    for before, after in zip(features_before, retrained.feature_generator.weights):
        np.testing.assert_array_equal(before, to_numpy(after))
    for before, after in zip(addi_before, retrained.addi_generator.weights):
        np.testing.assert_array_equal(before, to_numpy(after))
    # The original model is untouched.
    for before, after in zip(features_before, model.feature_generator.weights):
        np.testing.assert_array_equal(before, to_numpy(after))
    share_before = model.generate(400, seed=0).attributes[:, 2].mean()
    share_after = retrained.generate(400, seed=0).attributes[:, 2].mean()
    assert share_after > 0.8 > share_before
    assert int(retrained.g_optimizer.iterations) == 40 * 2


def test_retraining_keeps_the_weight_average_the_model_generates_with():
    model = tiny_model(ema_decay=0.9)
    model.compile()
    data = tiny_dataset(n=32)
    model.fit(data, epochs=2, batch_size=16, verbose=0)
    assert model.has_ema_weights()
    averaged = {
        variable.path: to_numpy(average)
        for variable, average in zip(model.ema_sources, model.ema_variables)
    }
    retrained = retrain_attribute_generator(
        model, data, epochs=1, batch_size=16, verbose=0
    )
    for mine, theirs in zip(
        retrained.feature_generator.weights, model.feature_generator.weights
    ):
        if theirs.path in averaged:
            np.testing.assert_array_equal(to_numpy(mine), averaged[theirs.path])
    # Differs from the raw weights, so the test can tell the two apart.
    first = model.feature_generator.trainable_weights[0]
    assert not np.array_equal(to_numpy(first), averaged[first.path])


def test_critics_see_no_features_or_min_max_in_retraining():
    model = tiny_model(fix_feature_network=True)
    data = tiny_dataset(n=4)
    features, attributes = model.encode(
        data.features, data.attributes, data.gen_flag
    )
    assert np.all(to_numpy(features) == 0)
    attributes = to_numpy(attributes)
    np.testing.assert_array_equal(attributes[:, :4], data.attributes)
    assert np.all(attributes[:, 4:] == 0)
    fake_features, fake_attributes = model.training_fakes(model.sample_noise(4))
    assert np.all(to_numpy(fake_features) == 0)
    assert np.all(to_numpy(fake_attributes)[:, 4:] == 0)
    assert model.generator_trainable_variables == list(
        model.attribute_generator.trainable_variables
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="DoppelGANger"):
        retrain_attribute_generator(object(), tiny_dataset(n=4), epochs=1)
    with pytest.raises(ValueError, match="TimeSeriesDataset"):
        retrain_attribute_generator(tiny_model(), {"features": 1}, epochs=1)
