import copy

import numpy as np
import pytest

import keras_dg
from keras_dg import Output
from keras_dg import pipeline
from keras_dg import presets


def test_global_config_is_the_papers():
    # ALGORITHM §5, "Global config for all datasets".
    expected = {
        "num_packing": 1, "noise": True, "feed_back": False,
        "initial_state": "random", "d_rounds": 1, "g_rounds": 1,
        "g_lr": 0.001, "d_lr": 0.001, "attr_d_lr": 0.001, "beta1": 0.5,
        "d_gp_coe": 10.0, "attr_d_gp_coe": 10.0, "g_attr_d_coe": 1.0,
        "gen_feature_num_layers": 1, "gen_feature_num_units": 100,
        "gen_attribute_num_layers": 3, "gen_attribute_num_units": 100,
        "disc_num_layers": 5, "disc_num_units": 200,
        "attr_disc_num_layers": 5, "attr_disc_num_units": 200,
        "attribute_latent_dim": 5, "feature_latent_dim": 5,
    }
    assert presets.GLOBAL_CONFIG == expected
    assert presets.TRAINING_DEFAULTS == {
        "batch_size": 100, "vis_freq": 200, "vis_num_sample": 5,
        "select_batches": 200,
    }


@pytest.mark.parametrize(
    "name, epochs, sample_len, sweep, aux, self_norm, ckpt, extra",
    [
        ("google", 400, 10, [1, 5, 10], False, False, 1, 5),
        ("web", 400, 10, [1, 5, 10, 25, 50], True, True, 1, 5),
        ("FCC_MBA", 17000, 8, [1, 4, 8], False, False, 70, 850),
    ],
)
def test_paper_presets_match_the_table(
    name, epochs, sample_len, sweep, aux, self_norm, ckpt, extra
):
    preset = presets.get_preset(name)
    config, training = preset["config"], preset["training"]
    assert training["epochs"] == epochs
    assert training["batch_size"] == 100
    assert training["epoch_checkpoint_freq"] == ckpt
    assert training["extra_checkpoint_freq"] == extra
    assert config["sample_len"] == sample_len
    assert preset["sweep"]["sample_len"] == sweep
    assert sample_len in sweep
    assert config["aux_disc"] is aux
    assert config["self_norm"] is self_norm
    if not aux:
        # The original's tasks zero the auxiliary critic's weights.
        assert config["attr_d_gp_coe"] == 0.0
        assert config["g_attr_d_coe"] == 0.0
    for key, value in presets.GLOBAL_CONFIG.items():
        if aux or key not in ("attr_d_gp_coe", "g_attr_d_coe"):
            assert config[key] == value, key


def test_every_preset_is_described_and_uses_known_names():
    arguments = set(pipeline.model_arguments())
    for name, preset in presets.PRESETS.items():
        description = preset["metadata"]["description"]
        assert isinstance(description, str) and "\n" not in description
        assert len(description) > 20, name
        assert set(preset["config"]) <= arguments, name
        assert set(preset["training"]) <= set(presets.TRAINING_KEYS), name
        quick = preset["quick"]
        assert set(quick.get("config", {})) <= arguments, name
        assert set(quick.get("training", {})) <= set(presets.TRAINING_KEYS)
        assert set(quick) <= {"config", "training", "data"}, name


def test_flights_preset_fits_the_default_dataset():
    preset = presets.get_preset("flights")
    s = preset["config"]["sample_len"]
    # load_flights keeps the largest multiple of S within 365 days: 52
    # weeks, each one LSTM step.
    assert s == 7 and (365 // s) * s == 364
    quick = presets.get_preset("flights", quick=True)
    assert quick["data"]["max_sequence_len"] % quick["config"][
        "sample_len"
    ] == 0


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_every_preset_builds_a_model(name):
    preset = presets.get_preset(name, quick=True)
    s = preset["config"]["sample_len"]
    model = keras_dg.DoppelGANger(
        [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 2)],
        max_sequence_len=2 * s, **preset["config"],
    )
    assert model.sample_len == s
    assert model.aux_disc == preset["config"]["aux_disc"]


def test_quick_overrides_apply_to_a_copy():
    before = copy.deepcopy(presets.PRESETS)
    quick = presets.get_preset("web", quick=True)
    full = presets.get_preset("web")
    assert quick["training"]["epochs"] == 2
    assert quick["config"]["disc_num_units"] < full["config"]["disc_num_units"]
    assert quick["config"]["sample_len"] == full["config"]["sample_len"]
    assert full["data"] == {}
    quick["config"]["sample_len"] = 99
    assert presets.PRESETS == before


def test_aliases_and_case():
    assert presets.get_preset("mba")["name"] == "FCC_MBA"
    assert presets.get_preset("WWT")["name"] == "web"
    assert presets.get_preset("gcut")["name"] == "google"
    assert presets.get_preset("fcc_mba")["name"] == "FCC_MBA"
    assert set(presets.preset_names()) >= {"flights", "mba", "web"}


@pytest.mark.parametrize("name", ["nope", "", None, 3])
def test_unknown_preset_names_the_choices(name):
    with pytest.raises(ValueError, match="Unknown preset.*flights"):
        presets.get_preset(name)


def test_quick_must_be_bool():
    with pytest.raises(ValueError, match="quick"):
        presets.get_preset("web", quick="yes")


def test_describe_lists_every_preset():
    text = presets.describe_presets()
    for name in presets.PRESETS:
        assert name in text
    assert "mba = FCC_MBA" in text
    assert np.all([len(line) > 0 for line in text.splitlines()])
