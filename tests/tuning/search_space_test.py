import keras_tuner as kt
import numpy as np
import pytest

import keras_dg
from keras_dg.tuning import SearchSpace
from keras_dg.tuning import sample_len_choices
from tests.harness import ATTRIBUTE_OUTPUTS
from tests.harness import FEATURE_OUTPUTS

PAPER_DEFAULTS = {
    "sample_len": 8,
    "g_lr": 1e-3,
    "d_lr": 1e-3,
    "attr_d_lr": 1e-3,
    "d_rounds": 1,
    "num_packing": 1,
    "aux_disc": True,
    "self_norm": True,
    "gen_feature_num_layers": 1,
    "gen_feature_num_units": 100,
    "gen_attribute_num_layers": 3,
    "gen_attribute_num_units": 100,
    "disc_num_layers": 5,
    "disc_num_units": 200,
    "attr_disc_num_layers": 5,
    "attr_disc_num_units": 200,
    "d_gp_coe": 10.0,
    "attr_d_gp_coe": 10.0,
}


@pytest.mark.parametrize(
    "t, max_steps, expected",
    [
        (56, 100, [1, 2, 4, 7, 8, 14, 28]),
        (550, 60, [10, 11, 22, 25, 50, 55, 110, 275]),
        (8, 100, [1, 2, 4]),
        (8, 2, [4]),
        (1, 100, [1]),
        (7, 100, [1]),
    ],
)
def test_sample_len_choices_are_divisors_with_bounded_recurrence(
    t, max_steps, expected
):
    assert sample_len_choices(t, max_steps) == expected


@pytest.mark.parametrize("t", [0, 2.5, True, None])
def test_sample_len_choices_rejects_bad_lengths(t):
    with pytest.raises(ValueError, match="max_sequence_len"):
        sample_len_choices(t)


def test_sample_len_choices_takes_numpy_integers():
    assert sample_len_choices(np.int64(56), np.int32(100)) == (
        sample_len_choices(56)
    )
    with pytest.raises(ValueError, match="`max_lstm_steps` must be"):
        sample_len_choices(56, np.bool_(True))


def test_default_space_defaults_are_the_papers_values():
    space = SearchSpace.default(56)
    assert set(space.names) == set(PAPER_DEFAULTS)
    hp = kt.HyperParameters()
    assert space.sample(hp) == pytest.approx(PAPER_DEFAULTS)
    ranges = {p.name: p.get_config() for p in hp.space}
    assert ranges["sample_len"]["values"] == [1, 2, 4, 7, 8, 14, 28]
    assert ranges["g_lr"]["min_value"] == 1e-4
    assert ranges["g_lr"]["sampling"] == "log"
    assert ranges["d_rounds"]["max_value"] == 3


def test_every_draw_of_the_default_space_builds_a_model():
    space = SearchSpace.default(8)
    hp = kt.HyperParameters()
    space.sample(hp)
    rng = np.random.default_rng(0)
    for _ in range(4):
        values = {
            p.name: p.random_sample(int(rng.integers(1 << 30)))
            for p in hp.space
        }
        trial_hp = hp.copy()
        trial_hp.values = values
        kwargs = space.sample(trial_hp)
        assert kwargs == values
        model = keras_dg.DoppelGANger(
            FEATURE_OUTPUTS, ATTRIBUTE_OUTPUTS, max_sequence_len=8, **kwargs
        )
        assert model.sample_len == kwargs["sample_len"]


def test_fix_remove_extend_return_new_spaces():
    space = SearchSpace.default(8)
    narrowed = (
        space.fix(aux_disc=False, num_packing=2, d_gp_coe=5.0)
        .remove("gen_feature_num_layers", "self_norm")
        .extend(
            g_rounds=lambda hp: hp.Int("g_rounds", 1, 2, default=2),
            d_rounds=lambda hp: hp.Choice("d_rounds", [2, 4]),
        )
    )
    # The original is unchanged.
    assert "gen_feature_num_layers" in space and "g_rounds" not in space
    assert len(narrowed) == len(space) - 2 + 1
    hp = kt.HyperParameters()
    kwargs = narrowed.sample(hp)
    assert kwargs["aux_disc"] is False
    assert kwargs["num_packing"] == 2
    assert kwargs["d_gp_coe"] == 5.0
    assert kwargs["g_rounds"] == 2
    assert kwargs["d_rounds"] == 2
    assert "self_norm" not in kwargs
    kinds = {p.name: type(p).__name__ for p in hp.space}
    assert kinds["aux_disc"] == "Fixed"
    assert kinds["d_rounds"] == "Choice"
    assert hp.get("d_gp_coe") == 5.0


def test_a_custom_space_from_a_dict():
    space = SearchSpace({"d_rounds": lambda hp: hp.Int("d_rounds", 1, 5)})
    assert space.names == ("d_rounds",)
    assert space.sample(kt.HyperParameters()) == {"d_rounds": 1}
    assert SearchSpace().sample(kt.HyperParameters()) == {}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SearchSpace({"max_sequence_len": lambda hp: 8}),
         "comes from the data"),
        (lambda: SearchSpace({"units": lambda hp: 8}),
         "not a DoppelGANger constructor argument"),
        (lambda: SearchSpace({"d_rounds": 2}), r"entries\['d_rounds'\]"),
        (lambda: SearchSpace([("d_rounds", 2)]), "must be a dict"),
        (lambda: SearchSpace.default(8).fix(feature_outputs=1),
         "comes from the data"),
        (lambda: SearchSpace.default(8).fix(seed=None), "hp.Fixed"),
        (lambda: SearchSpace.default(8).remove("g_rounds"),
         "not in the space"),
        (lambda: SearchSpace.default(8).extend(beta=lambda hp: 1),
         "not a DoppelGANger constructor argument"),
        (lambda: SearchSpace.default(0), "max_sequence_len"),
    ],
)
def test_bad_spaces_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()
