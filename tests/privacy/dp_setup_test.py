import dataclasses
import types

import numpy as np
import pytest

from keras_dg.privacy import DPSetup
from keras_dg.privacy import PrivacyBudgetCallback
from keras_dg.privacy import compute_epsilon
from keras_dg.privacy import noise_multiplier_for_epsilon


def _dp_model(noise=1.0, num_packing=1, aux_disc=True, d_rounds=1):
    """The attributes `DPSetup.from_model` reads from a DoppelGANger."""
    return types.SimpleNamespace(
        dp_noise_multiplier=noise, num_packing=num_packing,
        aux_disc=aux_disc, d_rounds=d_rounds,
    )


def test_fields_are_checked_and_cleaned_once():
    setup = DPSetup(
        np.int64(1000), np.int64(10), np.float32(1.5), delta=np.float64(1e-6),
        num_packing=np.int64(2), aux_disc=np.bool_(False),
        d_rounds=np.int32(2), steps_per_epoch=np.int64(7),
    )
    assert setup == DPSetup(
        1000, 10, 1.5, delta=1e-6, num_packing=2, aux_disc=False,
        d_rounds=2, steps_per_epoch=7,
    )
    for name, kind in (("n_examples", int), ("batch_size", int),
                       ("noise_multiplier", float), ("delta", float),
                       ("num_packing", int), ("aux_disc", bool),
                       ("d_rounds", int), ("steps_per_epoch", int)):
        assert type(getattr(setup, name)) is kind, name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setup.batch_size = 20


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(n_examples=True), "`n_examples` must be a positive integer"),
        (dict(batch_size=np.float64(10.0)), "`batch_size` must be"),
        (dict(batch_size=2000), r"q <= 1"),
        (dict(noise_multiplier=0.0), "`noise_multiplier` must be"),
        (dict(noise_multiplier=True), "`noise_multiplier` must be"),
        (dict(delta=1.0), r"`delta` must be a finite number > 0 and < 1"),
        (dict(num_packing=False), "`num_packing` must be"),
        (dict(aux_disc=1), "`aux_disc` must be True or False"),
        (dict(d_rounds=0), "`d_rounds` must be"),
        (dict(composition="sum"), "`composition` must be one of"),
        (dict(accountant="moments"), "`accountant` must be one of"),
        (dict(pld_discretization=0), "`pld_discretization` must be"),
        (dict(steps_per_epoch=0), "`steps_per_epoch` must be"),
    ],
)
def test_bad_fields(bad, match):
    kwargs = dict(n_examples=1000, batch_size=10, noise_multiplier=1.0)
    with pytest.raises(ValueError, match=match):
        DPSetup(**{**kwargs, **bad})


def test_epsilon_is_compute_epsilon():
    setup = DPSetup(1000, 10, 1.3, num_packing=2, d_rounds=2,
                    accountant="pld", pld_discretization=1e-3)
    kwargs = dict(num_packing=2, d_rounds=2, accountant="pld",
                  pld_discretization=1e-3)
    assert setup.epsilon(epochs=2) == compute_epsilon(
        1000, 10, 2, 1.3, **kwargs
    )
    assert setup.epsilon(steps=5) == compute_epsilon(
        1000, 10, None, 1.3, steps=5, **kwargs
    )
    assert setup.epsilon(steps=0) == 0.0
    assert setup.sampling_probability == pytest.approx(0.02)
    assert setup.effective_noise_multiplier == pytest.approx(1.3 / 2)
    with pytest.raises(ValueError, match="Pass `epochs` or `steps`"):
        setup.epsilon()
    with pytest.raises(ValueError, match="`epochs` must be an integer >= 0"):
        setup.epsilon(epochs=np.bool_(True))


def test_steps_per_epoch_overrides_the_batch_count():
    setup = DPSetup(1000, 10, 1.0, steps_per_epoch=3)
    assert setup.steps_for_epochs(2) == 6
    assert setup.epsilon(epochs=2) == setup.epsilon(steps=6)
    assert DPSetup(1001, 10, 1.0).steps_for_epochs(np.int64(2)) == 202


def test_noise_is_chosen_for_a_target():
    setup = DPSetup(2000, 20)
    with pytest.raises(ValueError, match="`noise_multiplier` must be"):
        setup.epsilon(epochs=1)
    sigma = setup.noise_multiplier_for_epsilon(2.0, epochs=np.int64(2))
    assert sigma == noise_multiplier_for_epsilon(2.0, 2000, 20, 2)
    noisy = setup.with_noise_multiplier(sigma)
    assert noisy.noise_multiplier == sigma and setup.noise_multiplier is None
    assert noisy.epsilon(epochs=2) <= 2.0
    assert noisy.with_noise_multiplier(sigma - 2e-3).epsilon(epochs=2) > 2.0


def test_from_model_packs_each_batch():
    model = _dp_model(noise=0.8, num_packing=2, aux_disc=False, d_rounds=3)
    setup = DPSetup.from_model(model, np.int64(14), np.int64(4), delta=1e-6)
    assert setup == DPSetup(
        14, 2, 0.8, delta=1e-6, num_packing=2, aux_disc=False, d_rounds=3,
        steps_per_epoch=4,
    )
    # A batch larger than the data is the whole data.
    assert DPSetup.from_model(_dp_model(), 8, 100).batch_size == 8


@pytest.mark.parametrize(
    "model, n, batch_size, match",
    [
        (_dp_model(noise=None), 8, 4, "does not train with differential"),
        (types.SimpleNamespace(), 8, 4, "does not train with differential"),
        (_dp_model(num_packing=3), 8, 2, "smaller than the model's"),
        (_dp_model(num_packing=3), 14, 4, "last batch of each epoch"),
        (_dp_model(), True, 4, "`n_examples` must be"),
        (_dp_model(), 8, 0, "`batch_size` must be"),
    ],
)
def test_from_model_refuses(model, n, batch_size, match):
    with pytest.raises(ValueError, match=match):
        DPSetup.from_model(model, n, batch_size)


def test_callback_from_setup_accounts_the_setup():
    setup = DPSetup(100, 10, 2.0, delta=1e-6, num_packing=2,
                    accountant="pld", pld_discretization=1e-3,
                    steps_per_epoch=7)
    callback = PrivacyBudgetCallback.from_setup(setup)
    assert callback.setup == setup
    assert callback.steps_per_epoch == 7 and callback.num_packing == 2
    assert callback.epsilon_for_epochs(2) == setup.epsilon(steps=14)
    with pytest.raises(ValueError, match="`setup` must be"):
        PrivacyBudgetCallback.from_setup({"n_examples": 100})
