"""Differential privacy of DoppelGANger training: the privacy budget.

`DPSetup` holds, checked once, everything the budget depends on (data size,
batch, noise, delta, packing, critics, accountant) and gives epsilon after
some steps or epochs, or the noise for a target epsilon. `compute_epsilon`,
`epsilon_after` and `noise_multiplier_for_epsilon` do the same from plain
arguments, with the `dp-accounting` package (RDP or PLD);
`PrivacyBudgetCallback` logs epsilon after each epoch of `fit`.
"""

from keras_dg.privacy.accounting import compute_epsilon
from keras_dg.privacy.accounting import epsilon_after
from keras_dg.privacy.accounting import noise_multiplier_for_epsilon
from keras_dg.privacy.dp_events import dp_sgd_event
from keras_dg.privacy.dp_events import effective_noise_multiplier
from keras_dg.privacy.dp_events import sampling_probability
from keras_dg.privacy.dp_events import steps_for_epochs
from keras_dg.privacy.dp_setup import DPSetup
from keras_dg.privacy.privacy_callback import PrivacyBudgetCallback
