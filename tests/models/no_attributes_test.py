"""DoppelGANger on series without metadata: no attribute outputs."""

import numpy as np
import pytest

import keras_dg
from keras_dg.layers import AttributeGenerator
from tests.harness import FEATURE_OUTPUTS
from tests.harness import TINY
from tests.harness import quick_fit
from tests.harness import tiny_dataset


def _no_attributes(data):
    return keras_dg.TimeSeriesDataset(
        data.features, np.zeros((len(data), 0), "float32"), data.gen_flag,
        data.feature_outputs, [],
    )


def test_empty_attribute_generator_returns_empty_tensors():
    layer = AttributeGenerator([], num_layers=2, num_units=4)
    soft, hard = layer(np.zeros((3, 5), "float32"))
    assert tuple(soft.shape) == (3, 0) and tuple(hard.shape) == (3, 0)
    assert layer.weights == []
    config = layer.get_config()
    assert AttributeGenerator.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "settings",
    [dict(self_norm=True, aux_disc=True), dict(self_norm=False,
                                               aux_disc=False)],
)
def test_fit_and_generate_without_attributes(settings):
    data = _no_attributes(tiny_dataset(n=8))
    model = keras_dg.DoppelGANger(
        FEATURE_OUTPUTS, [], max_sequence_len=8, sample_len=2,
        **dict(TINY, seed=0, **settings),
    )
    model.compile()
    history = quick_fit(model, data, epochs=2)
    assert all(np.isfinite(v).all() for v in history.history.values())
    synth = model.generate(5, seed=0)
    assert synth.features.shape == (5, 8, 4)
    assert synth.attributes.shape == (5, 0)
    synth.validate()


def test_auxiliary_critic_without_any_attribute_is_refused():
    with pytest.raises(ValueError, match="aux_disc=False"):
        keras_dg.DoppelGANger(
            FEATURE_OUTPUTS, [], max_sequence_len=8, sample_len=2,
            **dict(TINY, seed=0, self_norm=False, aux_disc=True),
        )


def test_a_table_without_metadata_trains_and_generates_a_table():
    import pandas as pd

    from keras_dg.data import from_dataframe

    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "sensor": np.repeat(np.arange(6), 8),
        "minute": np.tile(np.arange(8), 6),
        "temp": rng.normal(20, 3, 48),
        "site": "lab",  # Constant: dropped, then restored.
    })
    with pytest.warns(UserWarning, match="'site' = 'lab'"):
        data, transformer = from_dataframe(
            table, "sensor", "minute", ["temp"], ["site"], sample_len=2
        )
    assert data.attribute_outputs == []
    model = keras_dg.DoppelGANger(
        data.feature_outputs, [], max_sequence_len=8, sample_len=2,
        transformer=transformer, **dict(TINY, seed=0),
    )
    model.compile()
    quick_fit(model, data)
    out = model.generate_dataframe(3, seed=0)
    assert list(out.columns) == ["sensor", "minute", "temp", "site"]
    assert (out["site"] == "lab").all() and out["temp"].notna().all()
