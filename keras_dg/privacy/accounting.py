"""Privacy budget (epsilon for a delta) of DP DoppelGANger, by dp-accounting.

What is private, and how it is accounted
----------------------------------------
Only the critics see real data, so only they are trained with DP-SGD: each
packed critic example's gradient is clipped to L2 norm `dp_l2_norm_clip` = C
and Gaussian noise N(0, (sigma * C)^2) is added to the sum, with
sigma = `noise_multiplier`. The generator only sees the critics' outputs and
is post-processing: it costs no privacy.

One training step is accounted as **one Poisson-subsampled Gaussian event**:

* **Sampling rate.** A step feeds the critic `batch_size` packed examples,
  each made of `num_packing` real series (PacGAN), i.e.
  `batch_size * num_packing` real series. Each series is therefore sampled
  with probability `q = batch_size * num_packing / n_examples` (must be <= 1).
  Per-example clipping acts on a packed example, so one series changes one
  clipped term of the sum (sensitivity C). This is the original's rule: it
  passes `batch_size * num_packing` as the batch size to tensorflow_privacy.
* **Steps.** `epochs * ceil(n_examples / batch_size)` by default: the number
  of batches `keras.Model.fit` takes (the last, smaller batch counts as a full
  step, which only overestimates epsilon). The original passes
  `epochs * num_packing` epochs of batch `batch_size * num_packing`, i.e.
  `ceil(epochs * n_examples / batch_size)` steps, the same count when
  `batch_size` divides `n_examples` (50,000 / 100 -> 7,500 steps for 15 epochs).
  `steps=` overrides the count.
* **Several uses of each batch.** Within one step the same real batch is used
  by `k = d_rounds * (2 if aux_disc else 1)` noisy critic updates (`d_rounds`
  rounds of the critic and, with the auxiliary critic, as many of the
  auxiliary critic, each clipped to C with its own noise of multiplier
  sigma). Two accountings are offered:

  - `composition="joint"` (default, tight): the `k` noisy sums form one
    Gaussian mechanism on the same sample. Stacked, they move by at most
    `sqrt(k) * C` when one series is added or removed, and the noise has
    standard deviation `sigma * C` in every coordinate, so together they are
    a Gaussian mechanism with noise multiplier `sigma / sqrt(k)`, exactly
    (for Gaussian mechanisms this is also what RDP or PLD composition of the
    `k` releases gives; adaptivity does not change it). The step is then
    `PoissonSampledDpEvent(q, GaussianDpEvent(sigma / sqrt(k)))`.
  - `composition="original"`: the original's `sigma_eff = 0.5 * sigma` with
    the auxiliary critic ("each batch is used twice"), generalised to
    `sigma / k`. It amounts to bounding the sensitivity of the `k` releases by
    `k * C` (triangle inequality) instead of `sqrt(k) * C`. It is valid but
    loose: it overestimates epsilon (for the paper's sigma = 1.0, 9.4 instead
    of 2.8 with RDP). Use it to reproduce the paper's reported numbers.

  Composing instead `k` *independently* subsampled Gaussian events per step
  (`SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(sigma)), k)`)
  would be wrong here: it credits privacy amplification by subsampling `k`
  times, while the `k` uses share one sample, and it underestimates epsilon
  (1.4 instead of 2.8 at sigma = 1.0 in the paper's setting).

Caveats, shared with the original and with the usual DP-SGD practice: the
accountant assumes Poisson sampling, while the original draws fixed-size
batches with replacement and `keras.Model.fit` draws shuffled fixed-size
batches; and a series drawn twice into one batch (possible with replacement)
would have sensitivity 2C. The accountants use the add-or-remove-one
neighbouring relation.

Accountants: `"rdp"` (Renyi DP, `dp_accounting.rdp.RdpAccountant` with its
default orders; fast at any noise level, an upper bound that is loose for
small noise) and `"pld"` (privacy loss distributions,
`dp_accounting.pld.PLDAccountant`; tighter, but slow when the effective noise
multiplier is below about 0.3 unless `pld_discretization` is raised, e.g. to
1e-2, which still gives an upper bound).

Reference:
- [Lin et al., 2020](https://arxiv.org/abs/1909.13403), section 6 (privacy).
- [Abadi et al., 2016](https://arxiv.org/abs/1607.00133), DP-SGD.
- [Mironov et al., 2019](https://arxiv.org/abs/1908.10530), RDP of the
  sampled Gaussian mechanism.
"""

import math
import numbers

import dp_accounting

ACCOUNTANTS = ("rdp", "pld")
COMPOSITIONS = ("joint", "original")


# === Argument checks ===


def _check_int(name, value, minimum):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: "
            f"{name}={value!r}"
        )
    return int(value)


def _check_positive_float(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a finite number > 0. Received: {name}={value!r}"
        )
    return float(value)


def _check_delta(delta):
    if (
        isinstance(delta, bool)
        or not isinstance(delta, numbers.Real)
        or not 0 < delta < 1
    ):
        raise ValueError(
            f"`delta` must be a number with 0 < delta < 1. Received: "
            f"delta={delta!r}"
        )
    return float(delta)


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(
            f"`{name}` must be True or False. Received: {name}={value!r}"
        )
    return value


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {choices}. Received: {name}={value!r}"
        )
    return value


# === Building blocks ===


def sampling_probability(n_examples, batch_size, num_packing=1):
    """Probability that one real series is in a training step's batch.

    `q = batch_size * num_packing / n_examples`: a step feeds the critic
    `batch_size` packed examples of `num_packing` real series each.

    Args:
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step.
        num_packing: int. Real series per packed example (PacGAN).
            Defaults to `1`.

    Returns:
        A float in (0, 1].

    Example:

    >>> sampling_probability(50_000, 100)
    0.002
    """
    n_examples = _check_int("n_examples", n_examples, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    num_packing = _check_int("num_packing", num_packing, 1)
    if batch_size * num_packing > n_examples:
        raise ValueError(
            "`batch_size * num_packing` must be <= `n_examples` (sampling "
            f"rate q <= 1). Received: batch_size={batch_size}, "
            f"num_packing={num_packing}, n_examples={n_examples} "
            f"(q={batch_size * num_packing / n_examples:g})"
        )
    return batch_size * num_packing / n_examples


def steps_for_epochs(n_examples, batch_size, epochs):
    """Number of training steps in `epochs` epochs: `epochs * ceil(n / B)`.

    Args:
        n_examples: int. Number of real series in the training set.
        batch_size: int. Examples per step.
        epochs: int. Number of epochs (>= 0).

    Returns:
        An int.

    Example:

    >>> steps_for_epochs(50_000, 100, 15)
    7500
    """
    n_examples = _check_int("n_examples", n_examples, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    epochs = _check_int("epochs", epochs, 0)
    return epochs * math.ceil(n_examples / batch_size)


def effective_noise_multiplier(
    noise_multiplier, aux_disc=True, d_rounds=1, composition="joint"
):
    """Noise multiplier of one step's critic updates taken together.

    The same batch is used by `k = d_rounds * (2 if aux_disc else 1)` noisy
    critic updates. `"joint"` returns `noise_multiplier / sqrt(k)` (exact);
    `"original"` returns `noise_multiplier / k` (the original's
    `0.5 * sigma` with the auxiliary critic; conservative). See the module
    docstring.

    Args:
        noise_multiplier: float. DP-SGD noise multiplier of each critic
            optimizer (`dp_noise_multiplier`).
        aux_disc: bool. Whether the auxiliary critic is trained too.
            Defaults to `True`.
        d_rounds: int. Critic rounds per step on the same batch.
            Defaults to `1`.
        composition: str. `"joint"` or `"original"`. Defaults to `"joint"`.

    Returns:
        A float.

    Example:

    >>> effective_noise_multiplier(1.0, composition="original")
    0.5
    """
    noise_multiplier = _check_positive_float(
        "noise_multiplier", noise_multiplier
    )
    aux_disc = _check_bool("aux_disc", aux_disc)
    d_rounds = _check_int("d_rounds", d_rounds, 1)
    composition = _check_choice("composition", composition, COMPOSITIONS)
    uses = d_rounds * (2 if aux_disc else 1)
    if composition == "joint":
        return noise_multiplier / math.sqrt(uses)
    return noise_multiplier / uses


def dp_sgd_event(
    n_examples,
    batch_size,
    noise_multiplier,
    steps,
    num_packing=1,
    aux_disc=True,
    d_rounds=1,
    composition="joint",
):
    """The `dp_accounting.DpEvent` of `steps` DP training steps of the critics.

    `SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(s)), steps)`
    with `q` from `sampling_probability` and `s` from
    `effective_noise_multiplier`.

    Args:
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step.
        noise_multiplier: float. Noise multiplier of each critic optimizer.
        steps: int. Number of training steps (>= 0).
        num_packing: int. Real series per packed example. Defaults to `1`.
        aux_disc: bool. Whether the auxiliary critic is trained too.
            Defaults to `True`.
        d_rounds: int. Critic rounds per step on the same batch.
            Defaults to `1`.
        composition: str. `"joint"` or `"original"`. Defaults to `"joint"`.

    Returns:
        A `dp_accounting.DpEvent`.

    Example:

    >>> event = dp_sgd_event(50_000, 100, 1.0, steps=7500)
    >>> event.count
    7500
    """
    q = sampling_probability(n_examples, batch_size, num_packing)
    sigma = effective_noise_multiplier(
        noise_multiplier, aux_disc, d_rounds, composition
    )
    steps = _check_int("steps", steps, 0)
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            q, dp_accounting.GaussianDpEvent(sigma)
        ),
        steps,
    )


def _make_accountant(accountant, pld_discretization):
    if accountant == "rdp":
        return dp_accounting.rdp.RdpAccountant()
    return dp_accounting.pld.PLDAccountant(
        value_discretization_interval=pld_discretization
    )


def _check_accounting_args(accountant, pld_discretization, delta):
    accountant = _check_choice("accountant", accountant, ACCOUNTANTS)
    pld_discretization = _check_positive_float(
        "pld_discretization", pld_discretization
    )
    delta = _check_delta(delta)
    return accountant, pld_discretization, delta


def _resolve_steps(n_examples, batch_size, epochs, steps):
    if steps is None:
        if epochs is None:
            raise ValueError(
                "Pass `epochs` or `steps`. Received: epochs=None, steps=None"
            )
        return steps_for_epochs(n_examples, batch_size, epochs)
    if epochs is not None:
        _check_int("epochs", epochs, 0)
    return _check_int("steps", steps, 0)


# === Public API ===


def compute_epsilon(
    n_examples,
    batch_size,
    epochs,
    noise_multiplier,
    delta=1e-5,
    num_packing=1,
    aux_disc=True,
    accountant="rdp",
    steps=None,
    d_rounds=1,
    composition="joint",
    pld_discretization=1e-4,
):
    """Epsilon of DP DoppelGANger training for a given delta.

    See the module docstring for exactly what is accounted: sampling rate
    `q = batch_size * num_packing / n_examples`, `steps` Poisson-subsampled
    Gaussian steps with noise multiplier `noise_multiplier / sqrt(k)` for the
    `k = d_rounds * (2 if aux_disc else 1)` uses of each batch
    (`composition="joint"`), or the original's `noise_multiplier / k`
    (`composition="original"`).

    Args:
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step (the `batch_size`
            given to `fit`).
        epochs: int or `None`. Number of epochs; gives
            `epochs * ceil(n_examples / batch_size)` steps. May be `None`
            when `steps` is given.
        noise_multiplier: float. DP-SGD noise multiplier of each critic
            optimizer (`dp_noise_multiplier`), > 0.
        delta: float. Target delta, 0 < delta < 1. Defaults to `1e-5`.
        num_packing: int. Real series per packed critic example (PacGAN).
            Defaults to `1`.
        aux_disc: bool. Whether the auxiliary (attribute) critic is trained
            on the same batches. Defaults to `True`.
        accountant: str. `"rdp"` or `"pld"`. Defaults to `"rdp"`.
        steps: int or `None`. Number of steps; overrides `epochs`.
            Defaults to `None`.
        d_rounds: int. Critic rounds per step on the same batch.
            Defaults to `1`.
        composition: str. `"joint"` (exact) or `"original"` (the original's
            conservative `sigma / k`). Defaults to `"joint"`.
        pld_discretization: float. `value_discretization_interval` of the PLD
            accountant (larger is faster and looser, always an upper bound).
            Defaults to `1e-4`.

    Returns:
        A float: epsilon (`0.0` for zero steps).

    Example:

    >>> eps = compute_epsilon(50_000, 100, epochs=15, noise_multiplier=1.0)
    >>> round(eps, 1)
    2.8
    """
    accountant, pld_discretization, delta = _check_accounting_args(
        accountant, pld_discretization, delta
    )
    sampling_probability(n_examples, batch_size, num_packing)
    steps = _resolve_steps(n_examples, batch_size, epochs, steps)
    event = dp_sgd_event(
        n_examples,
        batch_size,
        noise_multiplier,
        steps,
        num_packing=num_packing,
        aux_disc=aux_disc,
        d_rounds=d_rounds,
        composition=composition,
    )
    if steps == 0:
        return 0.0
    acc = _make_accountant(accountant, pld_discretization)
    acc.compose(event)
    return float(acc.get_epsilon(delta))


def epsilon_after(
    steps,
    n_examples,
    batch_size,
    noise_multiplier,
    delta=1e-5,
    num_packing=1,
    aux_disc=True,
    accountant="rdp",
    d_rounds=1,
    composition="joint",
    pld_discretization=1e-4,
):
    """Epsilon after `steps` training steps (for callbacks and logs).

    Same accounting as `compute_epsilon(..., steps=steps)`.

    Args:
        steps: int. Number of critic training steps taken so far (>= 0).
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step.
        noise_multiplier: float. Noise multiplier of each critic optimizer.
        delta: float. Target delta. Defaults to `1e-5`.
        num_packing: int. Real series per packed example. Defaults to `1`.
        aux_disc: bool. Whether the auxiliary critic is trained too.
            Defaults to `True`.
        accountant: str. `"rdp"` or `"pld"`. Defaults to `"rdp"`.
        d_rounds: int. Critic rounds per step on the same batch.
            Defaults to `1`.
        composition: str. `"joint"` or `"original"`. Defaults to `"joint"`.
        pld_discretization: float. PLD discretization. Defaults to `1e-4`.

    Returns:
        A float.

    Example:

    >>> epsilon_after(0, 50_000, 100, 1.0)
    0.0
    """
    return compute_epsilon(
        n_examples,
        batch_size,
        None,
        noise_multiplier,
        delta=delta,
        num_packing=num_packing,
        aux_disc=aux_disc,
        accountant=accountant,
        steps=steps,
        d_rounds=d_rounds,
        composition=composition,
        pld_discretization=pld_discretization,
    )


def noise_multiplier_for_epsilon(
    target_epsilon,
    n_examples,
    batch_size,
    epochs,
    delta=1e-5,
    num_packing=1,
    aux_disc=True,
    accountant="rdp",
    tolerance=1e-3,
    steps=None,
    d_rounds=1,
    composition="joint",
    noise_bounds=(0.01, 100.0),
    pld_discretization=1e-4,
):
    """The smallest critic noise multiplier whose epsilon is <= a target.

    Epsilon decreases as the noise multiplier grows. The search checks the
    upper bound, halves it until epsilon exceeds the target (so that small,
    slow-to-account noise levels are only visited when needed), then solves
    by bracketed root finding with a final bisection that guarantees
    `compute_epsilon(returned value) <= target_epsilon`
    (`dp_accounting.calibrate_dp_mechanism`). The answer is within
    `tolerance` of the exact one.

    Args:
        target_epsilon: float. Privacy budget to meet, > 0.
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step.
        epochs: int or `None`. Number of epochs (`None` if `steps` given).
        delta: float. Target delta. Defaults to `1e-5`.
        num_packing: int. Real series per packed example. Defaults to `1`.
        aux_disc: bool. Whether the auxiliary critic is trained too.
            Defaults to `True`.
        accountant: str. `"rdp"` or `"pld"`. Defaults to `"rdp"`.
        tolerance: float. Absolute tolerance on the noise multiplier, > 0.
            Defaults to `1e-3`.
        steps: int or `None`. Number of steps; overrides `epochs`.
        d_rounds: int. Critic rounds per step. Defaults to `1`.
        composition: str. `"joint"` or `"original"`. Defaults to `"joint"`.
        noise_bounds: tuple of two floats `(low, high)`, 0 < low < high: the
            noise multipliers searched. Defaults to `(0.01, 100.0)`.
        pld_discretization: float. PLD discretization. Defaults to `1e-4`.

    Returns:
        A float: the `dp_noise_multiplier` to train the critics with.

    Raises:
        ValueError: on a bad argument, when even `high` noise gives an
            epsilon above the target, or when `low` noise already meets it
            (the answer lies below the bounds), or when there are no steps.

    Example:

    >>> sigma = noise_multiplier_for_epsilon(3.0, 50_000, 100, epochs=15)
    >>> compute_epsilon(50_000, 100, 15, sigma) <= 3.0
    True
    """
    target_epsilon = _check_positive_float("target_epsilon", target_epsilon)
    tolerance = _check_positive_float("tolerance", tolerance)
    accountant, pld_discretization, delta = _check_accounting_args(
        accountant, pld_discretization, delta
    )
    sampling_probability(n_examples, batch_size, num_packing)
    steps = _resolve_steps(n_examples, batch_size, epochs, steps)
    if steps == 0:
        raise ValueError(
            "With zero steps epsilon is 0 for any noise multiplier; there is "
            "nothing to calibrate. Received: "
            f"epochs={epochs!r}, steps={steps!r}"
        )
    effective_noise_multiplier(1.0, aux_disc, d_rounds, composition)
    if (
        not isinstance(noise_bounds, (tuple, list))
        or len(noise_bounds) != 2
    ):
        raise ValueError(
            "`noise_bounds` must be a pair (low, high). Received: "
            f"noise_bounds={noise_bounds!r}"
        )
    low = _check_positive_float("noise_bounds[0]", noise_bounds[0])
    high = _check_positive_float("noise_bounds[1]", noise_bounds[1])
    if low >= high:
        raise ValueError(
            "`noise_bounds` must satisfy low < high. Received: "
            f"noise_bounds={noise_bounds!r}"
        )

    def epsilon_of(sigma):
        return compute_epsilon(
            n_examples,
            batch_size,
            None,
            sigma,
            delta=delta,
            num_packing=num_packing,
            aux_disc=aux_disc,
            accountant=accountant,
            steps=steps,
            d_rounds=d_rounds,
            composition=composition,
            pld_discretization=pld_discretization,
        )

    eps_high = epsilon_of(high)
    if eps_high > target_epsilon:
        raise ValueError(
            f"`target_epsilon`={target_epsilon:g} is unreachable: even "
            f"noise_multiplier={high:g} (the upper end of `noise_bounds`) "
            f"gives epsilon={eps_high:g} at delta={delta:g} after {steps} "
            "steps. Raise the upper bound, train fewer epochs, use a smaller "
            "batch or more data."
        )
    # Walk down from `high` until epsilon exceeds the target.
    upper = high
    lower = high / 2.0
    while True:
        if lower <= low:
            lower = low
            if epsilon_of(low) <= target_epsilon:
                raise ValueError(
                    f"`target_epsilon`={target_epsilon:g} is already met at "
                    f"noise_multiplier={low:g} (the lower end of "
                    f"`noise_bounds`), epsilon={epsilon_of(low):g}; the "
                    "smallest sufficient noise lies below the bounds. Lower "
                    "`noise_bounds[0]`."
                )
            break
        if epsilon_of(lower) > target_epsilon:
            break
        upper, lower = lower, lower / 2.0

    def make_event(sigma):
        return dp_sgd_event(
            n_examples,
            batch_size,
            sigma,
            steps,
            num_packing=num_packing,
            aux_disc=aux_disc,
            d_rounds=d_rounds,
            composition=composition,
        )

    return float(
        dp_accounting.calibrate_dp_mechanism(
            lambda: _make_accountant(accountant, pld_discretization),
            make_event,
            target_epsilon,
            delta,
            bracket_interval=dp_accounting.ExplicitBracketInterval(
                lower, upper
            ),
            tol=tolerance,
        )
    )
