"""`PrivacyBudgetCallback`: the privacy budget spent so far, after each
epoch of `fit`, logged and stored with the model."""

import numbers

import keras

from keras_dg.privacy.dp_setup import DPSetup
from keras_dg.validation import check_positive_float

# The accounting parameters of one stretch of training (one `fit`), as kept
# in `model.privacy["segments"]`.
_SEGMENT_KEYS = (
    "n_examples",
    "batch_size",
    "noise_multiplier",
    "num_packing",
    "aux_disc",
    "d_rounds",
    "composition",
    "steps",
)
# The constructor's arguments: fields of its `DPSetup`.
_CONFIG_KEYS = (
    "n_examples",
    "batch_size",
    "noise_multiplier",
    "delta",
    "num_packing",
    "aux_disc",
    "accountant",
    "d_rounds",
    "composition",
    "steps_per_epoch",
    "pld_discretization",
)


def _from_setup(name):
    return property(
        lambda self: getattr(self.setup, name),
        doc=f"The `{name}` of the callback's `DPSetup`.",
    )


@keras.saving.register_keras_serializable(package="keras_dg")
class PrivacyBudgetCallback(keras.callbacks.Callback):
    """Logs the privacy budget epsilon spent so far at the end of each epoch.

    After epoch `e` (0-based, as Keras counts it, so `initial_epoch` is
    respected when training resumes) the critics have taken
    `(e + 1) * steps_per_epoch` DP-SGD steps, with
    `steps_per_epoch = ceil(n_examples / batch_size)` unless given. The
    callback writes `logs["epsilon"]` (so it appears in `History` and in
    callbacks that come after it, e.g. `CSVLogger`, `TensorBoard`) and keeps
    the values in `self.epsilons`. The accounting is the callback's
    `setup`, a `keras_dg.privacy.DPSetup` (`from_setup` builds the callback
    from one); see `keras_dg.privacy.dp_events` for how packing and the
    auxiliary critic's second use of each batch count.

    Place it before logging and checkpoint callbacks in the `callbacks`
    list (so that they see this epoch's budget).

    The budget is stored with the model: on a model with a `privacy`
    attribute (`keras_dg.DoppelGANger`, which keeps it in its config and so
    in its `.keras` file), each epoch end sets `model.privacy` to a dict with
    `epsilon`, `delta`, `accountant`, the accounting's parameters
    (`noise_multiplier`, `n_examples`, `batch_size` (packed critic examples
    per step), `num_packing`, `aux_disc`, `d_rounds`, `composition`),
    `l2_norm_clip` (the model's `dp_l2_norm_clip`), `steps` (all DP steps
    taken, earlier `fit` calls included) and `segments` (the parameters and
    step count of each `fit`). When training continues on a model that
    already holds a budget, the earlier segments are composed with the new
    steps, so epsilon covers all the training the model has seen; steps
    before this `fit` are then the stored ones (not `initial_epoch`). Only
    this callback updates `model.privacy`: pass it to every `fit` of a DP
    model.

    With a `keras_dg.DoppelGANger`, training starts only if the model's DP
    settings (`dp_noise_multiplier`, `num_packing`, `aux_disc`, `d_rounds`)
    are the callback's, and `fit` takes no more steps per epoch than
    accounted. Build the callback with `for_model` to get them right; it
    accounts for the disjoint packing of the DP train step (see
    `keras_dg.models.train_steps.tensorflow_dp`).

    Args:
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step: the
            `batch_size` given to `fit` without packing; with a DP
            `DoppelGANger` and `num_packing` P > 1, `fit`'s batch size // P
            (`for_model` computes it; fit's batch size would overestimate
            epsilon).
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
        pld_discretization: float. PLD discretization of the `"pld"`
            accountant. Defaults to `1e-4`.

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
        pld_discretization=1e-4,
    ):
        super().__init__()
        check_positive_float(noise_multiplier, "noise_multiplier")
        self.setup = DPSetup(
            n_examples,
            batch_size,
            noise_multiplier,
            delta=delta,
            num_packing=num_packing,
            aux_disc=aux_disc,
            d_rounds=d_rounds,
            composition=composition,
            accountant=accountant,
            pld_discretization=pld_discretization,
            steps_per_epoch=steps_per_epoch,
        )
        self.epsilons = []
        self._prior_segments = []
        self._first_epoch = None

    n_examples = _from_setup("n_examples")
    batch_size = _from_setup("batch_size")
    noise_multiplier = _from_setup("noise_multiplier")
    delta = _from_setup("delta")
    num_packing = _from_setup("num_packing")
    aux_disc = _from_setup("aux_disc")
    accountant = _from_setup("accountant")
    d_rounds = _from_setup("d_rounds")
    composition = _from_setup("composition")
    pld_discretization = _from_setup("pld_discretization")

    @property
    def steps_per_epoch(self):
        """DP steps in one epoch of `fit`."""
        return self.setup.steps_for_epochs(1)

    @classmethod
    def from_setup(cls, setup):
        """The callback that accounts `setup` (a `DPSetup` with a
        `noise_multiplier`)."""
        if not isinstance(setup, DPSetup):
            raise ValueError(
                "`setup` must be a keras_dg.privacy.DPSetup. Received: "
                f"setup of type {type(setup).__name__}."
            )
        return cls(**{key: getattr(setup, key) for key in _CONFIG_KEYS})

    @classmethod
    def for_model(cls, model, n_examples, batch_size, **options):
        """The callback for `model.fit(..., batch_size=batch_size)` on
        `n_examples` series, with the model's DP settings: the callback of
        `DPSetup.from_model` (which accounts the packing of the DP train
        step).

        Args:
            model: a `keras_dg.DoppelGANger` with `dp_noise_multiplier` set.
            n_examples: int. Number of real series in the training set.
            batch_size: int. The `batch_size` given to `fit` (series per
                batch).
            **options: `delta`, `accountant`, `composition` and
                `pld_discretization`, as for `DPSetup.from_model`.

        Returns:
            A `PrivacyBudgetCallback`.
        """
        return cls.from_setup(
            DPSetup.from_model(model, n_examples, batch_size, **options)
        )

    def epsilon_for_epochs(self, epochs):
        """Epsilon after `epochs` full epochs of `steps_per_epoch` steps."""
        return self.setup.epsilon(epochs=epochs)

    def _segment(self, steps):
        return {
            **{key: getattr(self.setup, key) for key in _SEGMENT_KEYS[:-1]},
            "steps": int(steps),
        }

    def _composed_epsilon(self, segments):
        """Epsilon of `segments` (each with this callback's delta and
        accountant) composed."""
        events = [
            DPSetup(
                **{key: segment[key] for key in _SEGMENT_KEYS[:-1]},
                delta=self.delta,
                accountant=self.accountant,
                pld_discretization=self.pld_discretization,
            ).event(segment["steps"])
            for segment in segments
        ]
        return self.setup.epsilon_of_events(events)

    def _check_model(self):
        model = self.model
        if model is None or not hasattr(model, "dp_noise_multiplier"):
            return
        if model.dp_noise_multiplier is None:
            raise ValueError(
                "PrivacyBudgetCallback was given a model that trains without "
                "differential privacy (dp_noise_multiplier=None); its "
                "epsilon would be meaningless."
            )
        mismatches = [
            f"{name}: model {theirs!r}, callback {ours!r}"
            for name, theirs, ours in (
                ("noise_multiplier", model.dp_noise_multiplier,
                 float(self.noise_multiplier)),
                ("num_packing", model.num_packing, self.num_packing),
                ("aux_disc", model.aux_disc, self.aux_disc),
                ("d_rounds", model.d_rounds, self.d_rounds),
            )
            if theirs != ours
        ]
        if mismatches:
            raise ValueError(
                "PrivacyBudgetCallback's accounting does not match the "
                f"model's DP training ({'; '.join(mismatches)}). Build it "
                "with PrivacyBudgetCallback.for_model(model, n_examples, "
                "batch_size)."
            )

    def on_train_begin(self, logs=None):
        self._check_model()
        steps = (self.params or {}).get("steps")
        if isinstance(steps, numbers.Integral) and steps > (
            self.steps_per_epoch
        ):
            raise ValueError(
                f"fit takes {steps} steps per epoch but the callback "
                f"accounts for steps_per_epoch={self.steps_per_epoch}; "
                "epsilon would be underestimated. Pass the batch_size given "
                "to fit (or use PrivacyBudgetCallback.for_model)."
            )
        stored = getattr(self.model, "privacy", None)
        self._prior_segments = []
        if isinstance(stored, dict):
            self._prior_segments = [
                {key: segment[key] for key in _SEGMENT_KEYS}
                for segment in stored.get("segments", [])
                if segment.get("steps", 0) > 0
            ]
        self._first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self._prior_segments:
            first = epoch if self._first_epoch is None else self._first_epoch
            steps = (epoch + 1 - first) * self.steps_per_epoch
            segments = self._prior_segments + [self._segment(steps)]
            epsilon = self._composed_epsilon(segments)
        else:
            steps = (epoch + 1) * self.steps_per_epoch
            segments = [self._segment(steps)]
            epsilon = self.epsilon_for_epochs(epoch + 1)
        self.epsilons.append(epsilon)
        if logs is not None:
            logs["epsilon"] = epsilon
        if self.model is not None and hasattr(self.model, "privacy"):
            self.model.privacy = {
                "epsilon": epsilon,
                "delta": float(self.delta),
                "accountant": self.accountant,
                **segments[-1],
                "l2_norm_clip": getattr(self.model, "dp_l2_norm_clip", None),
                "steps": sum(s["steps"] for s in segments),
                "segments": segments,
            }

    def get_config(self):
        return {key: getattr(self, key) for key in _CONFIG_KEYS}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
