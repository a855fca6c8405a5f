"""Privacy budget (epsilon for a delta) of DP DoppelGANger, by dp-accounting.

`compute_epsilon`, `epsilon_after` and `noise_multiplier_for_epsilon` take
the accounting's parameters as arguments and answer through a
`keras_dg.privacy.DPSetup`; `keras_dg.privacy.dp_events` explains what is
accounted (sampling rate, steps, the several uses of each batch, the
accountants) and holds the building blocks, re-exported here.

Reference:
- [Lin et al., 2020](https://arxiv.org/abs/1909.13403), section 6 (privacy).
"""

import dataclasses

# The building blocks lived here before `dp_events`: importable from both.
from keras_dg.privacy.dp_events import ACCOUNTANTS
from keras_dg.privacy.dp_events import COMPOSITIONS
from keras_dg.privacy.dp_events import dp_sgd_event
from keras_dg.privacy.dp_events import effective_noise_multiplier
from keras_dg.privacy.dp_events import sampling_probability
from keras_dg.privacy.dp_events import steps_for_epochs
from keras_dg.privacy.dp_setup import DPSetup


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

    See `keras_dg.privacy.dp_events` for exactly what is accounted: sampling rate
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
    return _setup(locals()).epsilon(steps=steps, epochs=epochs)


def epsilon_after(steps, n_examples, batch_size, noise_multiplier, **options):
    """Epsilon after `steps` training steps (for callbacks and logs).

    Same accounting as `compute_epsilon(..., steps=steps)`.

    Args:
        steps: int. Number of critic training steps taken so far (>= 0).
        n_examples: int. Number of real series in the training set.
        batch_size: int. Packed critic examples per step.
        noise_multiplier: float. Noise multiplier of each critic optimizer.
        **options: `delta`, `num_packing`, `aux_disc`, `accountant`,
            `d_rounds`, `composition` and `pld_discretization`, as for
            `compute_epsilon` (the same defaults).

    Returns:
        A float.

    Example:

    >>> epsilon_after(0, 50_000, 100, 1.0)
    0.0
    """
    return DPSetup(
        n_examples, batch_size, noise_multiplier, **options
    ).epsilon(steps=steps)


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

    `DPSetup.noise_multiplier_for_epsilon` with these arguments: it
    guarantees `compute_epsilon(returned value) <= target_epsilon`, within
    `tolerance` of the exact answer.

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
    setup = _setup(locals())
    return setup.noise_multiplier_for_epsilon(
        target_epsilon,
        steps=steps,
        epochs=epochs,
        tolerance=tolerance,
        noise_bounds=noise_bounds,
    )


def _setup(arguments):
    """The `DPSetup` of a public function's arguments (its `locals()`):
    those named after a field of `DPSetup`."""
    fields = {field.name for field in dataclasses.fields(DPSetup)}
    return DPSetup(
        **{name: value for name, value in arguments.items() if name in fields}
    )
