"""Shared pieces of the callback tests: training state snapshots and a
callback that makes a critic blow up at a chosen batch."""

import keras
import numpy as np


def training_state(model):
    """Every variable that resuming must bring back, as numpy arrays:
    weights (generator, both critics, BN statistics), the three optimizers'
    variables and the seed-generator states."""
    seeds = [
        v for v in model.variables if v.path.endswith("seed_generator_state")
    ]
    variables = list(model.weights) + list(model.optimizer.variables) + seeds
    assert seeds and model.optimizer.variables
    return [keras.ops.convert_to_numpy(v) for v in variables]


def assert_same_state(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


class BlowUpCritic(keras.callbacks.Callback):
    """Before batch `batch` of epoch `epoch` (0-based), scales the main
    critic's kernels by `scale`: its gradient norm overflows, so the
    gradient penalty `d_loss_gp` becomes infinite first."""

    def __init__(self, epoch, batch, scale=1e16):
        super().__init__()
        self.epoch, self.batch, self.scale = epoch, batch, scale
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self._epoch, batch) == (self.epoch, self.batch):
            for variable in self.model.critic.trainable_variables:
                if len(variable.shape) == 2:
                    variable.assign(variable * self.scale)


class StateRecorder(keras.callbacks.Callback):
    """Keeps `training_state` after every epoch (put it after the
    checkpoint callbacks)."""

    def __init__(self):
        super().__init__()
        self.states = {}

    def on_epoch_end(self, epoch, logs=None):
        self.states[epoch + 1] = training_state(self.model)
