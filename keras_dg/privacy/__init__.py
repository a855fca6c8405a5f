"""Differential privacy of DoppelGANger training: the privacy budget.

`compute_epsilon` and `epsilon_after` give epsilon for a delta with the
`dp-accounting` package (RDP or PLD), `noise_multiplier_for_epsilon` inverts
it, and `PrivacyBudgetCallback` logs epsilon after each epoch of `fit`.
"""

from keras_dg.privacy.accounting import compute_epsilon
from keras_dg.privacy.accounting import dp_sgd_event
from keras_dg.privacy.accounting import effective_noise_multiplier
from keras_dg.privacy.accounting import epsilon_after
from keras_dg.privacy.accounting import noise_multiplier_for_epsilon
from keras_dg.privacy.accounting import sampling_probability
from keras_dg.privacy.accounting import steps_for_epochs
from keras_dg.privacy.privacy_callback import PrivacyBudgetCallback
