"""How generation draws missingness channels, and its calibration.

A missingness channel (`Output.is_missing_channel`) is a 2-way softmax
`(p0, p1)` per time step: p1 = p(missing). `generate` draws it (missing
where a uniform u < p1). Left to the GAN alone, that gave the right rate at
best, never the real gaps' shape: every step's draw is independent, so the
gaps were single steps spread over every series (flights: mean gap 1.03
days against 1.4-1.7, every route with gaps against 56% of them), and with
longer training the channel collapsed below the rate (p 0.0007 against
0.024 after 459 epochs; benchmarks/RESULTS.md).

So after training, `calibrate` fits three numbers per channel to the
training data (`DoppelGANger.missing_draws`, saved with the weights):

- `shift`: added to the channel's log-odds, so that the generator's mean
  p(missing) over the active steps is the training data's missing rate.
  It keeps the generator's ranking of where gaps are likelier.
- `share` and `rho`: the draws' uniforms become those of a Gaussian copula,
  `u = Phi(sqrt(share) * a + sqrt(1 - share) * z_t)`, with `a` one normal
  per series and channel (`MISSING_LEVEL`) and `z_t` an AR(1) with
  correlation `rho` over the time steps. Each u stays U(0, 1), so the
  rate is kept; `share` makes some series gappier than others, `rho`
  makes gaps come in runs. The pair that best matches the training data's
  gap lengths (W1, relative to their mean) and share of series with a gap
  is chosen from a grid, simulated with the generator's own p.

All three 0 (a model never calibrated) draws as before, bit for bit.
"""

import numpy as np
from keras import ops
from scipy.special import expit
from scipy.special import logit
from scipy.stats import norm
from scipy.stats import wasserstein_distance

from keras_dg.specs import output_slices

# The calibration grid: the series' share of the latent variance, and the
# step-to-step correlation.
SHARES = (0.0, 0.25, 0.5, 0.75)
RHOS = (0.0, 0.5, 0.8, 0.9, 0.95)
# Probabilities are kept this far from 0 and 1 (log-odds and the copula).
_EPSILON = 1e-7


def draw_channels(values, outputs, uniform, level=None, draws=None):
    """`{output index: one-hot [..., 2]}`: each missingness channel's
    category drawn from its softmax block `(p0, p1)` of `values`
    [B, T, F] with the next column of `uniform` [B, T, channels]: missing
    where `u < p1 / (p0 + p1)`, i.e. with probability p1 for u ~ U(0, 1);
    u = 0.5 gives the argmax. With `draws` [channels, 3] (`shift`,
    `share`, `rho`; see the module docstring) and `level` [B, channels]
    (one N(0, 1) per series and channel), p1 is shifted and u correlated
    first; a channel whose three numbers are 0 is drawn as without them."""
    values = ops.convert_to_tensor(values)
    uniform = ops.cast(uniform, values.dtype)
    drawn, k = {}, 0
    for i, (output, start, _) in enumerate(output_slices(outputs)):
        if not output.is_missing_channel:
            continue
        present, missing = values[..., start], values[..., start + 1]
        u = uniform[..., k]
        if draws is None:
            is_missing = u * (present + missing) < missing
        else:
            shift, share, rho = (
                ops.cast(draws[k, j], values.dtype) for j in range(3)
            )
            p = ops.clip(
                missing / (present + missing), _EPSILON, 1.0 - _EPSILON
            )
            p = ops.where(
                shift == 0, p, ops.sigmoid(ops.log(p / (1.0 - p)) + shift)
            )
            copula = _copula(u, level[:, k : k + 1], share, rho)
            u = ops.where((share == 0) & (rho == 0), u, copula)
            is_missing = u < p
        is_missing = ops.cast(is_missing, values.dtype)
        drawn[i] = ops.stack([1.0 - is_missing, is_missing], axis=-1)
        k += 1
    return drawn


def _copula(u, level, share, rho):
    """`u` [B, T] made dependent: an AR(1) with correlation `rho` over the
    steps, and a share `share` of the variance from `level` [B, 1]."""
    u = ops.clip(u, _EPSILON, 1.0 - _EPSILON)
    e = np.sqrt(2.0) * ops.erfinv(2.0 * u - 1.0)
    steps = ops.shape(e)[1]
    # z_0 = e_0, z_t = rho z_{t-1} + sqrt(1 - rho^2) e_t: a linear
    # recurrence, as an associative scan of (a_t, b_t) with a_0 = 0.
    first = ops.cast(ops.arange(steps) == 0, e.dtype)[None, :]
    a = (1.0 - first) * rho * ops.ones_like(e)
    b = e * (first + (1.0 - first) * ops.sqrt(1.0 - rho * rho))

    def combine(x, y):
        return x[0] * y[0], y[0] * x[1] + y[1]

    _, z = ops.associative_scan(combine, (a, b), axis=1)
    z = ops.sqrt(share) * ops.cast(level, e.dtype) + ops.sqrt(1.0 - share) * z
    return 0.5 * (1.0 + ops.erf(z / np.sqrt(2.0)))


def calibrate(p, active, missing, real_active, seed=0):
    """`(shift, share, rho)` for one channel (see the module docstring).

    Args:
        p: [n, T] the generator's p(missing) (`p1 / (p0 + p1)`).
        active: [n, T] bool, the generated series' active steps.
        missing: [N, T] bool, the training data's missing steps.
        real_active: [N, T] bool, its active steps.
        seed: int. The simulation's random numbers.
    """
    # Imported here: `import keras_dg` does not load the evaluation.
    from keras_dg.evaluation.missingness import gap_lengths

    active = np.asarray(active, bool)
    real_active = np.asarray(real_active, bool)
    missing = np.asarray(missing, bool) & real_active
    rate = missing[real_active].mean() if real_active.any() else 0.0
    if not 0.0 < rate < 1.0 or not active.any():
        return 0.0, 0.0, 0.0
    log_odds = logit(np.clip(np.asarray(p, "float64"), _EPSILON,
                             1.0 - _EPSILON))
    low, high = -40.0, 40.0
    for _ in range(60):  # Bisection: the mean is increasing in the shift.
        shift = (low + high) / 2.0
        if expit(log_odds + shift)[active].mean() < rate:
            low = shift
        else:
            high = shift
    p = expit(log_odds + shift)
    real_gaps = gap_lengths(missing)
    real_share = _series_with_gaps(missing, real_active)
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(p.shape)
    level = rng.standard_normal((len(p), 1))
    best, best_score = (0.0, 0.0), np.inf
    for rho in RHOS:
        z = _ar1(e, rho)
        for share in SHARES:
            u = norm.cdf(np.sqrt(share) * level + np.sqrt(1 - share) * z)
            drawn = (u < p) & active
            gaps = gap_lengths(drawn)
            if not len(gaps):
                continue
            score = wasserstein_distance(gaps, real_gaps) / real_gaps.mean()
            score += abs(_series_with_gaps(drawn, active) - real_share)
            if score < best_score:
                best, best_score = (share, rho), score
    return float(shift), float(best[0]), float(best[1])


def _ar1(e, rho):
    z = np.empty_like(e)
    z[:, 0] = e[:, 0]
    scale = np.sqrt(1.0 - rho * rho)
    for t in range(1, e.shape[1]):
        z[:, t] = rho * z[:, t - 1] + scale * e[:, t]
    return z


def _series_with_gaps(mask, active):
    has_steps = active.any(axis=1)
    if not has_steps.any():
        return 0.0
    return float(mask[has_steps].any(axis=1).mean())
