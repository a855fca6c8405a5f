import math

import dp_accounting
import numpy as np
import pytest

from keras_dg.privacy import dp_sgd_event
from keras_dg.privacy import effective_noise_multiplier
from keras_dg.privacy import sampling_probability
from keras_dg.privacy import steps_for_epochs
from keras_dg.privacy.dp_events import check_delta
from keras_dg.privacy.dp_events import epsilon_of_events
from keras_dg.privacy.dp_events import make_accountant


def test_paper_setting_sampling_rate_and_steps():
    assert sampling_probability(50_000, 100, 1) == pytest.approx(0.002)
    assert steps_for_epochs(50_000, 100, 15) == 7500
    event = dp_sgd_event(50_000, 100, 1.0, 7500)
    assert event.count == 7500
    assert event.event.sampling_probability == pytest.approx(0.002)
    assert event.event.event.noise_multiplier == pytest.approx(
        1 / math.sqrt(2)
    )


def test_numpy_scalars_are_accepted():
    assert sampling_probability(np.int64(50_000), np.int32(100)) == 0.002
    assert steps_for_epochs(np.int64(1001), np.int64(10), np.int64(2)) == 202
    assert effective_noise_multiplier(
        np.float32(2.0), np.bool_(True), np.int64(2)
    ) == pytest.approx(1.0)
    assert dp_sgd_event(1000, 10, 1.0, np.int64(3)).count == 3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sampling_probability(True, 10), "`n_examples` must be"),
        (lambda: steps_for_epochs(100, np.bool_(True), 1),
         "`batch_size` must be"),
        (lambda: steps_for_epochs(100, 10, -1),
         "`epochs` must be an integer >= 0"),
        (lambda: effective_noise_multiplier(1.0, aux_disc=1),
         "`aux_disc` must be True or False"),
        (lambda: effective_noise_multiplier(1.0, d_rounds=True),
         "`d_rounds` must be"),
        (lambda: dp_sgd_event(100, 10, 1.0, True), "`steps` must be"),
        (lambda: check_delta(0), "`delta` must be"),
        (lambda: make_accountant("gdp"), "`accountant` must be one of"),
        (lambda: make_accountant("pld", 0.0), "`pld_discretization`"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_epsilon_of_events_composes():
    one = dp_sgd_event(1000, 10, 1.0, 100)
    two = dp_sgd_event(1000, 10, 1.0, 200)
    assert epsilon_of_events([], 1e-5) == 0.0
    assert epsilon_of_events([one, one], 1e-5) == pytest.approx(
        epsilon_of_events([two], 1e-5), rel=1e-12
    )
    acc = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-3)
    acc.compose(two)
    assert epsilon_of_events([two], 1e-5, "pld", 1e-3) == pytest.approx(
        acc.get_epsilon(1e-5), rel=1e-12
    )
