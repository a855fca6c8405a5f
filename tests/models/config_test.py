import inspect

import numpy as np
import pytest

import keras_dg
from keras_dg.models.config import DEFAULTS
from keras_dg.models.config import DOCS
from keras_dg.models.config import check_hyperparameters
from keras_dg import presets
from tests.harness import tiny_model


def test_defaults_are_the_constructors():
    parameters = inspect.signature(keras_dg.DoppelGANger).parameters
    with_defaults = {
        name: p.default for name, p in parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    assert with_defaults == DEFAULTS


def test_defaults_are_the_originals():
    # ALGORITHM §5 and the original's DoppelGANger signature.
    assert DEFAULTS["aux_disc"] is True and DEFAULTS["self_norm"] is True
    assert DEFAULTS["d_gp_coe"] == DEFAULTS["attr_d_gp_coe"] == 10.0
    for name in ("g_lr", "d_lr", "attr_d_lr"):
        assert DEFAULTS[name] == 1e-3, name
    assert DEFAULTS["beta1"] == 0.5
    assert DEFAULTS["disc_num_units"] == 200
    for name, value in presets.GLOBAL_CONFIG.items():
        assert DEFAULTS[name] == value, name


def test_every_default_is_documented_in_one_line():
    assert set(DOCS) == set(DEFAULTS)
    for name, doc in DOCS.items():
        assert doc and "\n" not in doc and doc.endswith("."), name


def test_get_config_holds_every_hyperparameter():
    config = tiny_model().get_config()
    for name in DEFAULTS:
        assert name in config, name
    assert config["d_gp_coe"] == DEFAULTS["d_gp_coe"]


def test_check_hyperparameters_cleans_numpy_scalars():
    values = dict(DEFAULTS, num_packing=np.int64(2), g_lr=np.float32(0.5),
                  aux_disc=np.bool_(False))
    checked = check_hyperparameters(values)
    assert type(checked["num_packing"]) is int
    assert type(checked["g_lr"]) is float
    assert checked["aux_disc"] is False
    assert checked["privacy"] is None


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("beta1", 1.0, r"`beta1` must be a finite number >= 0 and < 1"),
        ("beta2", 1.0, r"`beta2` must be a finite number >= 0 and < 1"),
        ("num_packing", True, r"`num_packing` must be a positive integer"),
        ("dp_noise_multiplier", -1.0, "`dp_noise_multiplier`"),
        ("privacy", [1], r"`privacy` must be a dict or None"),
        ("initial_state", "ones", "`initial_state` must be one of"),
        ("interpolate", "cubic", "`interpolate` must be one of"),
        ("interpolate", 1, "`interpolate` must be False, True or one of"),
    ],
)
def test_check_hyperparameters_names_the_bad_argument(name, value, message):
    with pytest.raises(ValueError, match=message):
        check_hyperparameters(dict(DEFAULTS, **{name: value}))
