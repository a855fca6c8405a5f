import numbers

import keras

from keras_dg.privacy import accounting


@keras.saving.register_keras_serializable(package="keras_dg")
class PrivacyBudgetCallback(keras.callbacks.Callback):
    """Logs the privacy budget epsilon spent so far at the end of each epoch.

    After epoch `e` (0-based, as Keras counts it, so `initial_epoch` is
    respected when training resumes) the critics have taken
    `(e + 1) * steps_per_epoch` DP-SGD steps, with
    `steps_per_epoch = ceil(n_examples / batch_size)` unless given. The
    callback writes `logs["epsilon"]` (so it appears in `History` and in
    callbacks that come after it, e.g. `CSVLogger`, `TensorBoard`) and keeps
    the values in `self.epsilons`. The accounting is
    `keras_dg.privacy.epsilon_after`; see `keras_dg.privacy.accounting` for how
    packing and the auxiliary critic's second use of each batch count.

    Place it before logging callbacks in the `callbacks` list.

    Args:
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step (the `batch_size`
            given to `fit`).
        noise_multiplier: float. DP-SGD noise multiplier of each critic
            optimizer (`dp_noise_multiplier`).
        delta: float. Target delta, 0 < delta < 1. Defaults to `1e-5`.
        num_packing: int. Real series per packed critic example.
            Defaults to `1`.
        aux_disc: bool. Whether the auxiliary critic is trained on the same
            batches. Defaults to `True`.
        accountant: str. `"rdp"` or `"pld"`. Defaults to `"rdp"`.
        d_rounds: int. Critic rounds per step on the same batch.
            Defaults to `1`.
        composition: str. `"joint"` (exact) or `"original"` (the original's
            conservative accounting). Defaults to `"joint"`.
        steps_per_epoch: int or `None`. Steps per epoch when `fit` is given
            `steps_per_epoch`; `None` means `ceil(n_examples / batch_size)`.
            Defaults to `None`.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> callback = PrivacyBudgetCallback(
    ...     n_examples=8, batch_size=4, noise_multiplier=1.0)
    >>> history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=4,
    ...                     epochs=2, callbacks=[callback], verbose=0)
    >>> len(history.history["epsilon"])
    2

    Reference:
    - [Lin et al., 2020](https://arxiv.org/abs/1909.13403), section 6.
    """

    def __init__(
        self,
        n_examples,
        batch_size,
        noise_multiplier,
        delta=1e-5,
        num_packing=1,
        aux_disc=True,
        accountant="rdp",
        d_rounds=1,
        composition="joint",
        steps_per_epoch=None,
    ):
        super().__init__()
        if steps_per_epoch is None:
            steps_per_epoch = accounting.steps_for_epochs(
                n_examples, batch_size, 1
            )
        elif (
            isinstance(steps_per_epoch, bool)
            or not isinstance(steps_per_epoch, numbers.Integral)
            or steps_per_epoch < 1
        ):
            raise ValueError(
                "`steps_per_epoch` must be None or an integer >= 1. "
                f"Received: steps_per_epoch={steps_per_epoch!r}"
            )
        # Validate every argument now, not at the first epoch end.
        accounting.epsilon_after(
            0,
            n_examples,
            batch_size,
            noise_multiplier,
            delta=delta,
            num_packing=num_packing,
            aux_disc=aux_disc,
            accountant=accountant,
            d_rounds=d_rounds,
            composition=composition,
        )
        self.n_examples = n_examples
        self.batch_size = batch_size
        self.noise_multiplier = noise_multiplier
        self.delta = delta
        self.num_packing = num_packing
        self.aux_disc = aux_disc
        self.accountant = accountant
        self.d_rounds = d_rounds
        self.composition = composition
        self.steps_per_epoch = steps_per_epoch
        self.epsilons = []

    def epsilon_for_epochs(self, epochs):
        """Epsilon after `epochs` full epochs of `steps_per_epoch` steps."""
        return accounting.epsilon_after(
            epochs * self.steps_per_epoch,
            self.n_examples,
            self.batch_size,
            self.noise_multiplier,
            delta=self.delta,
            num_packing=self.num_packing,
            aux_disc=self.aux_disc,
            accountant=self.accountant,
            d_rounds=self.d_rounds,
            composition=self.composition,
        )

    def on_epoch_end(self, epoch, logs=None):
        epsilon = self.epsilon_for_epochs(epoch + 1)
        self.epsilons.append(epsilon)
        if logs is not None:
            logs["epsilon"] = epsilon

    def get_config(self):
        return {
            "n_examples": self.n_examples,
            "batch_size": self.batch_size,
            "noise_multiplier": self.noise_multiplier,
            "delta": self.delta,
            "num_packing": self.num_packing,
            "aux_disc": self.aux_disc,
            "accountant": self.accountant,
            "d_rounds": self.d_rounds,
            "composition": self.composition,
            "steps_per_epoch": self.steps_per_epoch,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
