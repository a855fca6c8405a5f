"""The DP events of DP DoppelGANger training, accounted by dp-accounting.

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

import dp_accounting

from keras_dg.validation import check_bool
from keras_dg.validation import check_float
from keras_dg.validation import check_int
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_float
from keras_dg.validation import check_positive_int

ACCOUNTANTS = ("rdp", "pld")
COMPOSITIONS = ("joint", "original")


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
    n_examples = check_positive_int(n_examples, "n_examples")
    batch_size = check_positive_int(batch_size, "batch_size")
    num_packing = check_positive_int(num_packing, "num_packing")
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
    n_examples = check_positive_int(n_examples, "n_examples")
    batch_size = check_positive_int(batch_size, "batch_size")
    epochs = check_int(epochs, "epochs", minimum=0)
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
    noise_multiplier = check_positive_float(
        noise_multiplier, "noise_multiplier"
    )
    aux_disc = check_bool(aux_disc, "aux_disc")
    d_rounds = check_positive_int(d_rounds, "d_rounds")
    composition = check_one_of(composition, "composition", COMPOSITIONS)
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
        aux_disc, d_rounds, composition: as in
            `effective_noise_multiplier`. Defaults to `True`, `1`,
            `"joint"`.

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
    steps = check_int(steps, "steps", minimum=0)
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            q, dp_accounting.GaussianDpEvent(sigma)
        ),
        steps,
    )



def check_delta(delta):
    """A target delta: a number with 0 < delta < 1, as `float`."""
    return check_float(
        delta,
        "delta",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )


def make_accountant(accountant="rdp", pld_discretization=1e-4):
    """A fresh `dp_accounting` accountant: `"rdp"` or `"pld"`.

    Args:
        accountant: str. `"rdp"` (`RdpAccountant`, default orders) or
            `"pld"` (`PLDAccountant`). Defaults to `"rdp"`.
        pld_discretization: float. The PLD accountant's
            `value_discretization_interval`. Defaults to `1e-4`.
    """
    accountant = check_one_of(accountant, "accountant", ACCOUNTANTS)
    pld_discretization = check_positive_float(
        pld_discretization, "pld_discretization"
    )
    if accountant == "rdp":
        return dp_accounting.rdp.RdpAccountant()
    return dp_accounting.pld.PLDAccountant(
        value_discretization_interval=pld_discretization
    )


def epsilon_of_events(
    events, delta, accountant="rdp", pld_discretization=1e-4
):
    """Epsilon at `delta` of the composition of `events` (`0.0` for none).

    Args:
        events: iterable of `dp_accounting.DpEvent`, e.g. `dp_sgd_event`s
            of successive `fit` calls.
        delta: float. Target delta, 0 < delta < 1.
        accountant: str. `"rdp"` or `"pld"`. Defaults to `"rdp"`.
        pld_discretization: float. PLD discretization. Defaults to `1e-4`.

    Returns:
        A float.
    """
    delta = check_delta(delta)
    acc = make_accountant(accountant, pld_discretization)
    events = list(events)
    if not events:
        return 0.0
    for event in events:
        acc.compose(event)
    return float(acc.get_epsilon(delta))
