"""The page-view (WWT) stand-in: SYNTHETIC data of the paper's WWT schema.

The one source of the stand-in for the WWT recipe (`keras_dg.data.recipes.
synthetic_wwt`), the DP recipe (`recipes/wwt_dp.py`) and the benchmarks'
page-view shape (`benchmarks/common.py: pageview_standin`). The paper's
Wikipedia web-traffic arrays are not shipped, so all three draw this data of
the same schema instead: one feature `log1p(views) / WWT_LOG_SCALE * 2 - 1`
in [-1, 1] per day (ALGORITHM §9) and the attributes domain (9), access (3)
and agent (2).

This module imports only NumPy and `math`: the benchmarks load it by its
path inside the peer's virtual environment (NumPy < 1.24, no Keras), and the
arrays are bit-identical there: randomness comes from the legacy
`RandomState` stream, which NumPy keeps frozen, and the array arithmetic
uses only correctly rounded operations (+, -, *, /, cumulative sums,
clipping); the few transcendental values are per-day scalars computed with
Python's `math`. Its callers check their arguments.
"""

import math

import numpy as np

# The paper's WWT feature encoding: log1p(views) / WWT_LOG_SCALE * 2 - 1.
WWT_LOG_SCALE = 18.02413958371087
WWT_MAX_SEQUENCE_LEN = 550
# The attributes, each with its categories in one-hot order.
WWT_CATEGORIES = {
    "domain": [
        "commons.wikimedia.org", "de.wikipedia.org", "en.wikipedia.org",
        "es.wikipedia.org", "fr.wikipedia.org", "ja.wikipedia.org",
        "ru.wikipedia.org", "www.mediawiki.org", "zh.wikipedia.org",
    ],
    "access": ["all-access", "desktop", "mobile-web"],
    "agent": ["all-agents", "spider"],
}
WWT_ATTRIBUTE_DIMS = [len(values) for values in WWT_CATEGORIES.values()]

# English Wikipedia and all-agents are the most common, as in WWT; the
# level of log1p(views) depends on every attribute (spiders are lower).
_DOMAIN_P = [0.08, 0.12, 0.20, 0.10, 0.11, 0.12, 0.10, 0.05, 0.12]
_ACCESS_P = [0.5, 0.25, 0.25]
_AGENT_P = [0.75, 0.25]
_DOMAIN_LEVEL = [5.0, 6.5, 7.5, 6.0, 6.2, 6.8, 6.4, 4.5, 5.8]
_ACCESS_LEVEL = [0.6, 0.0, 0.2]
_AGENT_LEVEL = [0.0, -1.8]


def pageview_arrays(n, max_sequence_len=WWT_MAX_SEQUENCE_LEN, seed=0):
    """SYNTHETIC page-view arrays of the WWT schema (not WWT data).

    Each series has a level of `log1p(views)` set by its attributes plus a
    per-series offset, a weekly cycle (per-series amplitude, smaller for
    spiders, and phase), a slow random walk, noise and occasional spikes
    that decay over 3 days; every series has full length.

    Args:
        n: int. Number of series (checked by the caller).
        max_sequence_len: int. Days per series. Defaults to 550.
        seed: int. Seed of the `RandomState` stream. Defaults to 0.

    Returns:
        A dict with `features` float32 [n, T, 1] in [-1, 1], `attributes`
        float32 [n, 14] (one-hot blocks domain, access, agent), `gen_flag`
        float32 [n, T] (all ones) and `codes` int64 [n, 3] (the category of
        each attribute).

    Example:
    >>> data = pageview_arrays(4, seed=0)
    >>> data["features"].shape, data["attributes"].shape
    ((4, 550, 1), (4, 14))
    """
    t = max_sequence_len
    n_domain, n_access, n_agent = WWT_ATTRIBUTE_DIMS
    rng = np.random.RandomState(seed)

    domain_p = np.array(_DOMAIN_P)
    domain = rng.choice(n_domain, size=n, p=domain_p / domain_p.sum())
    access = rng.choice(n_access, size=n, p=_ACCESS_P)
    agent = rng.choice(n_agent, size=n, p=_AGENT_P)
    level = (
        np.array(_DOMAIN_LEVEL)[domain]
        + np.array(_ACCESS_LEVEL)[access]
        + np.array(_AGENT_LEVEL)[agent]
        + 1.2 * rng.standard_normal(n)
    )

    # Weekly cycle: a fixed 7-day profile (scalars from `math`, identical
    # everywhere), with a per-series amplitude and phase.
    profile = np.array([math.sin(2.0 * math.pi * d / 7.0) for d in range(7)])
    amplitude = (0.05 + 0.35 * rng.random_sample(n)) * np.where(
        agent == 1, 0.3, 1.0
    )
    phase = rng.randint(0, 7, size=n)
    day = (np.arange(t)[None, :] + phase[:, None]) % 7
    weekly = amplitude[:, None] * profile[day]

    # Slow random walk, noise and rare spikes (exponential heights,
    # decaying over 3 days).
    walk = np.cumsum(0.04 * rng.standard_normal((n, t)), axis=1)
    noise = (0.08 + 0.12 * rng.random_sample(n))[:, None] * (
        rng.standard_normal((n, t))
    )
    spike_at = rng.random_sample((n, t)) < 0.006
    heights = np.where(spike_at, 1.5 * rng.standard_exponential((n, t)), 0.0)
    spikes = heights.copy()
    spikes[:, 1:] += 0.5 * heights[:, :-1]
    spikes[:, 2:] += 0.25 * heights[:, :-2]

    log_views = np.clip(
        level[:, None] + weekly + walk + noise + spikes, 0.0, WWT_LOG_SCALE
    )
    features = (log_views / WWT_LOG_SCALE * 2.0 - 1.0).astype(np.float32)
    codes = np.stack([domain, access, agent], axis=1).astype(np.int64)
    attributes = np.concatenate(
        [
            np.eye(dim, dtype=np.float32)[codes[:, j]]
            for j, dim in enumerate(WWT_ATTRIBUTE_DIMS)
        ],
        axis=1,
    )
    return {
        "features": features[:, :, None],
        "attributes": attributes,
        "gen_flag": np.ones((n, t), dtype=np.float32),
        "codes": codes,
    }
