"""`DPSetup`: what the privacy budget of a DP training run depends on."""

import dataclasses
import math

import dp_accounting

from keras_dg.privacy import dp_events
from keras_dg.validation import check_bool
from keras_dg.validation import check_int
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_float
from keras_dg.validation import check_positive_int


@dataclasses.dataclass(frozen=True)
class DPSetup:
    """The accounting parameters of DP DoppelGANger training, checked once.

    One immutable record of everything the privacy budget depends on, used
    by `compute_epsilon`, `epsilon_after`, `noise_multiplier_for_epsilon`
    and `PrivacyBudgetCallback`. Every field is checked when the setup is
    made (a `ValueError` names the bad one) and NumPy scalars become Python
    ones; the methods then account without checking again. What is
    accounted (sampling rate `q = batch_size * num_packing / n_examples`,
    one Poisson-subsampled Gaussian event per step, the
    `k = d_rounds * (2 if aux_disc else 1)` uses of each batch) is explained
    in `keras_dg.privacy.dp_events`.

    Args:
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step (`batch_size *
            num_packing <= n_examples`).
        noise_multiplier: float or `None`. DP-SGD noise multiplier of each
            critic optimizer (`dp_noise_multiplier`), > 0; `None` for a
            setup whose noise is still to be chosen with
            `noise_multiplier_for_epsilon`. Defaults to `None`.
        delta: float. Target delta, 0 < delta < 1. Defaults to `1e-5`.
        num_packing: int. Real series per packed critic example (PacGAN).
            Defaults to `1`.
        aux_disc: bool. Whether the auxiliary (attribute) critic is trained
            on the same batches. Defaults to `True`.
        d_rounds: int. Critic rounds per step on the same batch.
            Defaults to `1`.
        composition: str. `"joint"` (exact) or `"original"` (the original's
            conservative `sigma / k`). Defaults to `"joint"`.
        accountant: str. `"rdp"` or `"pld"`. Defaults to `"rdp"`.
        pld_discretization: float. `value_discretization_interval` of the
            PLD accountant (larger is faster and looser, always an upper
            bound). Defaults to `1e-4`.
        steps_per_epoch: int or `None`. Training steps per epoch; `None`
            means `ceil(n_examples / batch_size)`. Defaults to `None`.

    Example:

    >>> setup = DPSetup(50_000, 100, noise_multiplier=1.0)
    >>> setup.steps_for_epochs(15)
    7500
    >>> round(setup.epsilon(epochs=15), 1)
    2.8
    >>> sigma = setup.noise_multiplier_for_epsilon(3.0, epochs=15)
    >>> setup.with_noise_multiplier(sigma).epsilon(epochs=15) <= 3.0
    True

    Reference:
    - [Lin et al., 2020](https://arxiv.org/abs/1909.13403), section 6.
    - [Abadi et al., 2016](https://arxiv.org/abs/1607.00133), DP-SGD.
    """

    n_examples: int
    batch_size: int
    noise_multiplier: float = None
    delta: float = 1e-5
    num_packing: int = 1
    aux_disc: bool = True
    d_rounds: int = 1
    composition: str = "joint"
    accountant: str = "rdp"
    pld_discretization: float = 1e-4
    steps_per_epoch: int = None

    def __post_init__(self):
        def clean(name, check, *args, **kwargs):
            value = check(getattr(self, name), name, *args, **kwargs)
            object.__setattr__(self, name, value)

        clean("n_examples", check_positive_int)
        clean("batch_size", check_positive_int)
        clean("noise_multiplier", check_positive_float, allow_none=True)
        object.__setattr__(self, "delta", dp_events.check_delta(self.delta))
        clean("num_packing", check_positive_int)
        clean("aux_disc", check_bool)
        clean("d_rounds", check_positive_int)
        clean("composition", check_one_of, dp_events.COMPOSITIONS)
        clean("accountant", check_one_of, dp_events.ACCOUNTANTS)
        clean("pld_discretization", check_positive_float)
        clean("steps_per_epoch", check_positive_int, allow_none=True)
        # Raises unless q <= 1.
        dp_events.sampling_probability(
            self.n_examples, self.batch_size, self.num_packing
        )

    @classmethod
    def from_model(
        cls,
        model,
        n_examples,
        batch_size,
        delta=1e-5,
        accountant="rdp",
        composition="joint",
        pld_discretization=1e-4,
    ):
        """The setup of `model.fit(..., batch_size=batch_size)` on
        `n_examples` series, with the model's DP settings.

        The DP train step packs each batch of b series disjointly into
        `b // num_packing` critic examples, so the setup accounts
        `batch_size // num_packing` packed examples of `num_packing` series
        per step and `ceil(n_examples / batch_size)` steps per epoch.

        Args:
            model: a `keras_dg.DoppelGANger` with `dp_noise_multiplier` set.
            n_examples: int. Number of real series in the training set.
            batch_size: int. The `batch_size` given to `fit` (series per
                batch).
            delta, accountant, composition, pld_discretization: as in the
                class. Defaults to `1e-5`, `"rdp"`, `"joint"`, `1e-4`.

        Returns:
            A `DPSetup`.
        """
        noise_multiplier = getattr(model, "dp_noise_multiplier", None)
        if noise_multiplier is None:
            raise ValueError(
                "`model` does not train with differential privacy: it has no "
                "`dp_noise_multiplier`. Build it with "
                "DoppelGANger(..., dp_noise_multiplier=...)."
            )
        n_examples = check_positive_int(n_examples, "n_examples")
        batch_size = min(check_positive_int(batch_size, "batch_size"),
                         n_examples)
        num_packing = model.num_packing
        _check_packing(n_examples, batch_size, num_packing)
        return cls(
            n_examples,
            batch_size // num_packing,
            noise_multiplier,
            delta=delta,
            num_packing=num_packing,
            aux_disc=model.aux_disc,
            d_rounds=model.d_rounds,
            composition=composition,
            accountant=accountant,
            pld_discretization=pld_discretization,
            steps_per_epoch=math.ceil(n_examples / batch_size),
        )

    # === Accounting ===

    @property
    def sampling_probability(self):
        """`q`: the probability that one series is in a step's batch."""
        return dp_events.sampling_probability(
            self.n_examples, self.batch_size, self.num_packing
        )

    @property
    def effective_noise_multiplier(self):
        """Noise multiplier of one step's critic updates taken together."""
        return dp_events.effective_noise_multiplier(
            self._noise(), self.aux_disc, self.d_rounds, self.composition
        )

    def steps_for_epochs(self, epochs):
        """Training steps in `epochs` epochs (`epochs >= 0`)."""
        epochs = check_int(epochs, "epochs", minimum=0)
        if self.steps_per_epoch is not None:
            return epochs * self.steps_per_epoch
        return dp_events.steps_for_epochs(
            self.n_examples, self.batch_size, epochs
        )

    def count_steps(self, steps=None, epochs=None):
        """`steps` when given (`epochs` is then only checked), else the
        steps of `epochs` epochs."""
        if steps is None:
            if epochs is None:
                raise ValueError(
                    "Pass `epochs` or `steps`. Received: epochs=None, "
                    "steps=None"
                )
            return self.steps_for_epochs(epochs)
        if epochs is not None:
            check_int(epochs, "epochs", minimum=0)
        return check_int(steps, "steps", minimum=0)

    def event(self, steps):
        """The `dp_accounting.DpEvent` of `steps` training steps."""
        return dp_events.dp_sgd_event(
            self.n_examples,
            self.batch_size,
            self._noise(),
            steps,
            num_packing=self.num_packing,
            aux_disc=self.aux_disc,
            d_rounds=self.d_rounds,
            composition=self.composition,
        )

    def epsilon(self, steps=None, epochs=None):
        """Epsilon at `delta` after `steps` steps or `epochs` epochs
        (`0.0` for zero steps)."""
        steps = self.count_steps(steps=steps, epochs=epochs)
        event = self.event(steps)
        if steps == 0:
            return 0.0
        return self.epsilon_of_events([event])

    def epsilon_of_events(self, events):
        """Epsilon at `delta` of `events` composed, with this accountant."""
        return dp_events.epsilon_of_events(
            events, self.delta, self.accountant, self.pld_discretization
        )

    def with_noise_multiplier(self, noise_multiplier):
        """A copy of the setup with another noise multiplier."""
        return dataclasses.replace(self, noise_multiplier=noise_multiplier)

    def noise_multiplier_for_epsilon(
        self,
        target_epsilon,
        steps=None,
        epochs=None,
        tolerance=1e-3,
        noise_bounds=(0.01, 100.0),
    ):
        """The smallest critic noise multiplier whose epsilon is <= a target.

        The setup's own `noise_multiplier` is not used. Epsilon decreases as
        the noise grows: the search checks the upper bound, halves it until
        epsilon exceeds the target (so that small, slow-to-account noise
        levels are only visited when needed), then solves by bracketed root
        finding with a final bisection that guarantees an epsilon <= the
        target (`dp_accounting.calibrate_dp_mechanism`), within `tolerance`
        of the exact answer.

        Args:
            target_epsilon: float. Privacy budget to meet, > 0.
            steps: int or `None`. Number of steps; overrides `epochs`.
            epochs: int or `None`. Number of epochs.
            tolerance: float. Absolute tolerance on the noise multiplier,
                > 0. Defaults to `1e-3`.
            noise_bounds: tuple of two floats `(low, high)`,
                0 < low < high: the noise multipliers searched. Defaults to
                `(0.01, 100.0)`.

        Returns:
            A float: the `dp_noise_multiplier` to train the critics with.

        Raises:
            ValueError: on a bad argument, when even `high` noise gives an
                epsilon above the target, when `low` noise already meets it,
                or when there are no steps.
        """
        target_epsilon = check_positive_float(target_epsilon, "target_epsilon")
        tolerance = check_positive_float(tolerance, "tolerance")
        total = self.count_steps(steps=steps, epochs=epochs)
        if total == 0:
            raise ValueError(
                "With zero steps epsilon is 0 for any noise multiplier; there "
                "is nothing to calibrate. Received: "
                f"epochs={epochs!r}, steps={steps!r}"
            )
        low, high = _check_noise_bounds(noise_bounds)

        def epsilon_of(sigma):
            return self.with_noise_multiplier(sigma).epsilon(steps=total)

        lower, upper = _bracket(
            epsilon_of,
            target_epsilon,
            low,
            high,
            where=f"at delta={self.delta:g} after {total} steps",
        )
        return float(
            dp_accounting.calibrate_dp_mechanism(
                lambda: dp_events.make_accountant(
                    self.accountant, self.pld_discretization
                ),
                lambda sigma: self.with_noise_multiplier(sigma).event(total),
                target_epsilon,
                self.delta,
                bracket_interval=dp_accounting.ExplicitBracketInterval(
                    lower, upper
                ),
                tol=tolerance,
            )
        )

    def _noise(self):
        if self.noise_multiplier is None:
            raise ValueError(
                "`noise_multiplier` must be a finite number > 0 to account "
                "a budget; this setup has none (choose one with "
                "`noise_multiplier_for_epsilon`). Received: "
                "noise_multiplier=None"
            )
        return self.noise_multiplier


def _check_packing(n_examples, batch_size, num_packing):
    """Raises unless every batch of `fit` holds `num_packing` series."""
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


def _check_noise_bounds(noise_bounds):
    if not isinstance(noise_bounds, (tuple, list)) or len(noise_bounds) != 2:
        raise ValueError(
            "`noise_bounds` must be a pair (low, high). Received: "
            f"noise_bounds={noise_bounds!r}"
        )
    low = check_positive_float(noise_bounds[0], "noise_bounds[0]")
    high = check_positive_float(noise_bounds[1], "noise_bounds[1]")
    if low >= high:
        raise ValueError(
            "`noise_bounds` must satisfy low < high. Received: "
            f"noise_bounds={noise_bounds!r}"
        )
    return low, high


def _bracket(epsilon_of, target_epsilon, low, high, where):
    """`(lower, upper)` within `[low, high]` with
    `epsilon_of(lower) > target_epsilon >= epsilon_of(upper)`, found by
    halving `high`; raises when the answer lies outside the bounds."""
    eps_high = epsilon_of(high)
    if eps_high > target_epsilon:
        raise ValueError(
            f"`target_epsilon`={target_epsilon:g} is unreachable: even "
            f"noise_multiplier={high:g} (the upper end of `noise_bounds`) "
            f"gives epsilon={eps_high:g} {where}. Raise the upper bound, "
            "train fewer epochs, use a smaller batch or more data."
        )
    upper, lower = high, high / 2.0
    while lower > low:
        if epsilon_of(lower) > target_epsilon:
            return lower, upper
        upper, lower = lower, lower / 2.0
    eps_low = epsilon_of(low)
    if eps_low <= target_epsilon:
        raise ValueError(
            f"`target_epsilon`={target_epsilon:g} is already met at "
            f"noise_multiplier={low:g} (the lower end of `noise_bounds`), "
            f"epsilon={eps_low:g}; the smallest sufficient noise lies below "
            "the bounds. Lower `noise_bounds[0]`."
        )
    return low, upper
