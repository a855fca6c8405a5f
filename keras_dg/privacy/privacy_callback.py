import math
import numbers

import dp_accounting
import keras

from keras_dg.privacy import accounting
from keras_dg.validation import check_positive_int

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
        self._prior_segments = []
        self._first_epoch = None

    @classmethod
    def for_model(
        cls,
        model,
        n_examples,
        batch_size,
        delta=1e-5,
        accountant="rdp",
        composition="joint",
    ):
        """The callback for `model.fit(..., batch_size=batch_size)` on
        `n_examples` series, with the model's DP settings.

        The DP train step packs each batch of b series disjointly into
        `b // num_packing` critic examples, so the callback accounts
        `batch_size // num_packing` packed examples of `num_packing` series
        per step and `ceil(n_examples / batch_size)` steps per epoch.

        Args:
            model: a `keras_dg.DoppelGANger` with `dp_noise_multiplier` set.
            n_examples: int. Number of real series in the training set.
            batch_size: int. The `batch_size` given to `fit` (series per
                batch).
            delta: float. Target delta. Defaults to `1e-5`.
            accountant: str. `"rdp"` or `"pld"`. Defaults to `"rdp"`.
            composition: str. `"joint"` or `"original"`. Defaults to
                `"joint"`.

        Returns:
            A `PrivacyBudgetCallback`.
        """
        noise_multiplier = getattr(model, "dp_noise_multiplier", None)
        if noise_multiplier is None:
            raise ValueError(
                "`model` does not train with differential privacy: it has no "
                "`dp_noise_multiplier`. Build it with "
                "DoppelGANger(..., dp_noise_multiplier=...)."
            )
        check_positive_int(n_examples, "n_examples")
        check_positive_int(batch_size, "batch_size")
        batch_size = min(batch_size, n_examples)
        num_packing = model.num_packing
        if batch_size < num_packing:
            raise ValueError(
                f"`batch_size`={batch_size} is smaller than the model's "
                f"num_packing={num_packing}: a DP step packs each batch into "
                "examples of num_packing distinct series."
            )
        last = n_examples % batch_size
        if 0 < last < num_packing:
            raise ValueError(
                f"With n_examples={n_examples} and batch_size={batch_size} "
                f"the last batch of each epoch holds {last} series, fewer "
                f"than the model's num_packing={num_packing}; the DP step "
                "needs at least num_packing series per batch. Choose another "
                "batch_size."
            )
        return cls(
            n_examples,
            batch_size // num_packing,
            noise_multiplier,
            delta=delta,
            num_packing=num_packing,
            aux_disc=model.aux_disc,
            accountant=accountant,
            d_rounds=model.d_rounds,
            composition=composition,
            steps_per_epoch=math.ceil(n_examples / batch_size),
        )

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

    def _segment(self, steps):
        return {
            "n_examples": self.n_examples,
            "batch_size": self.batch_size,
            "noise_multiplier": float(self.noise_multiplier),
            "num_packing": self.num_packing,
            "aux_disc": self.aux_disc,
            "d_rounds": self.d_rounds,
            "composition": self.composition,
            "steps": int(steps),
        }

    def _composed_epsilon(self, segments):
        events = [
            accounting.dp_sgd_event(
                s["n_examples"],
                s["batch_size"],
                s["noise_multiplier"],
                s["steps"],
                num_packing=s["num_packing"],
                aux_disc=s["aux_disc"],
                d_rounds=s["d_rounds"],
                composition=s["composition"],
            )
            for s in segments
        ]
        if self.accountant == "rdp":
            acc = dp_accounting.rdp.RdpAccountant()
        else:
            acc = dp_accounting.pld.PLDAccountant()
        acc.compose(dp_accounting.ComposedDpEvent(events))
        return float(acc.get_epsilon(self.delta))

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
