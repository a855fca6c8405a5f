"""`evaluate`: every fidelity metric at once, as one JSON-able dict.

The metrics come in groups (one function each) and a few headline scalars
(`SCALAR_METRICS`) are picked from the groups into `summary`.

Groups: `autocorrelation`, `block_artifact` (needs `sample_len` >= 2),
`attributes`, `lengths`, `midpoints`, `cross_correlation`, `conditional`,
`tstr_classification`, `tstr_regression`, `discriminative` (on the raw
series and on per-series standardised shapes), `memorization` (needs
`train`).

The floor: when the real training data `train` is given, every summary
metric is computed a second time with `train` in the synthetic data's
place (subsampled to at most as many series as the synthetic data has).
Real training vs. real held-out data is the best any generator can do, so
`results["floor"]` tells good from bad: a synthetic `acf_mse` at 1.2x the
floor is close to the data, one at 20x is not. The floor of a `train` and
`real` pair is cached (for the few last pairs), so repeated evaluations
against the same real data, as `FidelityCallback` runs, pay for it once.
"""

import collections
import hashlib
import json
import math

import numpy as np

from keras_dg.evaluation._utils import check_compatible
from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation._utils import check_pair
from keras_dg.evaluation._utils import continuous_attribute_columns
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation._utils import discrete_attribute_blocks
from keras_dg.evaluation._utils import category_indices
from keras_dg.evaluation.autocorrelation import autocorrelation_mse
from keras_dg.evaluation.autocorrelation import block_artifact_score
from keras_dg.evaluation.discriminative import discriminative_score
from keras_dg.evaluation.distributions import attribute_distances
from keras_dg.evaluation.distributions import conditional_distance
from keras_dg.evaluation.distributions import cross_correlation_distance
from keras_dg.evaluation.distributions import length_distance
from keras_dg.evaluation.distributions import midpoint_distance
from keras_dg.evaluation.downstream import tstr_classification
from keras_dg.evaluation.downstream import tstr_regression
from keras_dg.evaluation.memorization import memorization
from keras_dg.validation import check_bool
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed


def _n_continuous(dataset):
    return len(continuous_feature_columns(dataset))


def _small_real(real, train):
    if train is None and len(real) < 4:
        return "needs `train` or at least 4 real series to split"
    return None


def _classification_reason(real, synthetic, train, sample_len):
    for _, start, end in discrete_attribute_blocks(real):
        if np.unique(category_indices(real, start, end)).size >= 2:
            return _small_real(real, train)
    return "no discrete attribute with 2+ categories in the real data"


def _block_artifact_reason(real, sample_len):
    if sample_len is None:
        return "needs `sample_len` (the generator's steps per cell)"
    if sample_len == 1:
        return "sample_len is 1 (no blocks)"
    if not _n_continuous(real):
        return "no continuous feature"
    if real.max_sequence_len < 2 * sample_len + 1:
        return (
            f"max_sequence_len {real.max_sequence_len} < 2 * sample_len + 1 "
            f"= {2 * sample_len + 1}"
        )
    return None


def _discriminative(real, synthetic, seed):
    """The raw score, with the shape-only score under `shape` (`None`
    without a continuous feature)."""
    result = discriminative_score(real, synthetic, seed=seed)
    result["shape"] = (
        discriminative_score(real, synthetic, seed=seed, standardize=True)
        if _n_continuous(real)
        else None
    )
    return result


# name -> (function(real, synthetic, train, seed, sample_len),
#          reason(real, synthetic, train, sample_len) it cannot run or None).
_GROUPS = {
    "autocorrelation": (
        lambda r, s, t, seed, S: autocorrelation_mse(r, s),
        lambda r, s, t, S: (
            "no continuous feature" if not _n_continuous(r)
            else "max_sequence_len < 3" if r.max_sequence_len < 3
            else None
        ),
    ),
    "block_artifact": (
        lambda r, s, t, seed, S: block_artifact_score(r, s, S),
        lambda r, s, t, S: _block_artifact_reason(r, S),
    ),
    "attributes": (
        lambda r, s, t, seed, S: attribute_distances(r, s),
        lambda r, s, t, S: (
            None
            if discrete_attribute_blocks(r) or continuous_attribute_columns(r)
            else "no attributes"
        ),
    ),
    "lengths": (
        lambda r, s, t, seed, S: length_distance(r, s),
        lambda r, s, t, S: None,
    ),
    "midpoints": (
        lambda r, s, t, seed, S: midpoint_distance(r, s),
        lambda r, s, t, S: (
            None if _n_continuous(r) else "no continuous feature"
        ),
    ),
    "cross_correlation": (
        lambda r, s, t, seed, S: cross_correlation_distance(r, s),
        lambda r, s, t, S: (
            None if _n_continuous(r) >= 2
            else "fewer than 2 continuous feature columns"
        ),
    ),
    "conditional": (
        lambda r, s, t, seed, S: conditional_distance(r, s),
        lambda r, s, t, S: (
            "no continuous feature" if not _n_continuous(r)
            else None if discrete_attribute_blocks(r)
            else "no discrete attribute"
        ),
    ),
    "tstr_classification": (
        lambda r, s, t, seed, S: tstr_classification(
            r, s, train=t, seed=seed
        ),
        _classification_reason,
    ),
    "tstr_regression": (
        lambda r, s, t, seed, S: tstr_regression(r, s, train=t, seed=seed),
        lambda r, s, t, S: (
            "no continuous feature" if not _n_continuous(r)
            else "max_sequence_len < 2" if r.max_sequence_len < 2
            else _small_real(r, t)
        ),
    ),
    "discriminative": (
        lambda r, s, t, seed, S: _discriminative(r, s, seed),
        lambda r, s, t, S: (
            None if min(len(r), len(s)) >= 4
            else "needs at least 4 real and 4 synthetic series"
        ),
    ),
    "memorization": (
        lambda r, s, t, seed, S: memorization(s, t, r, seed=seed),
        lambda r, s, t, S: None if t is not None else "needs `train`",
    ),
}

# Groups without a floor: real training data is its own training set.
_NO_FLOOR = ("memorization",)

GROUPS = tuple(_GROUPS)

# Headline scalar -> (group, keys into the group's result). Lower is better
# for all but the TSTR scores (higher is better), the membership-inference
# success rate (0.5 is best) and the block-artifact score (0 is best; it is
# signed).
SCALAR_METRICS = {
    "acf_mse": ("autocorrelation", ("mse",)),
    "block_artifact_score": ("block_artifact", ("score",)),
    "attribute_jsd": ("attributes", ("js_divergence_mean",)),
    "joint_attribute_jsd": ("attributes", ("js_divergence", "joint")),
    "length_w1": ("lengths", ("wasserstein",)),
    "midpoint_w1": ("midpoints", ("mean",)),
    "cross_correlation_w1": ("cross_correlation", ("mean",)),
    "conditional_w1": ("conditional", ("mean",)),
    "tstr_accuracy": ("tstr_classification", ("train_on_synthetic_mean",)),
    "tstr_accuracy_spearman": ("tstr_classification", ("spearman",)),
    "tstr_r2": ("tstr_regression", ("train_on_synthetic_mean",)),
    "tstr_r2_spearman": ("tstr_regression", ("spearman",)),
    "discriminative_score": ("discriminative", ("score",)),
    "shape_discriminative_score": ("discriminative", ("shape", "score")),
    "memorization_median_ratio": ("memorization", ("median_ratio",)),
    "membership_inference_success": (
        "memorization", ("membership_inference", "success_rate"),
    ),
}


def check_metric_names(metrics, allowed, argument="metrics", expected=None):
    """`metrics` (one name or several) as a tuple of names from `allowed`.

    Raises `ValueError` naming `argument` for a non-list, an empty list or
    an unknown name (the message lists `expected`, default "one of" the
    allowed names).
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    try:
        metrics = tuple(metrics)
    except TypeError:
        raise ValueError(
            f"`{argument}` must be a list of metric names. Received: "
            f"{argument}={metrics!r}"
        ) from None
    if not metrics:
        raise ValueError(f"`{argument}` must name at least one metric.")
    for name in metrics:
        if name not in allowed:
            raise ValueError(
                f"Unknown metric {name!r} in `{argument}`. Expected "
                f"{expected or 'one of'}: {', '.join(allowed)}."
            )
    return metrics


def json_safe(value):
    """`value` with numpy types as Python ones and NaN/inf as `None`."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def _resolve(metrics):
    """Group names to compute, from group and/or scalar metric names."""
    metrics = check_metric_names(
        metrics,
        list(_GROUPS) + list(SCALAR_METRICS),
        expected=(
            f"a group ({', '.join(GROUPS)}) or a scalar "
            f"({', '.join(SCALAR_METRICS)})"
        ),
    )
    groups = []
    for name in metrics:
        group = name if name in _GROUPS else SCALAR_METRICS[name][0]
        if group not in groups:
            groups.append(group)
    return groups


def unavailable_metrics(
    real, synthetic=None, train=None, metrics=None, sample_len=None
):
    """`{group: reason}` for the requested groups that cannot run.

    Args:
        real: `TimeSeriesDataset`.
        synthetic: `TimeSeriesDataset` or `None` (then `real` stands in).
        train: `TimeSeriesDataset` or `None`.
        metrics: names as for `evaluate`, or `None` for every group.
        sample_len: int or `None`, as for `evaluate`.
    """
    synthetic = real if synthetic is None else synthetic
    sample_len = check_positive_int(sample_len, "sample_len", allow_none=True)
    groups = GROUPS if metrics is None else _resolve(metrics)
    reasons = {}
    for group in groups:
        reason = _GROUPS[group][1](real, synthetic, train, sample_len)
        if reason is not None:
            reasons[group] = reason
    return reasons


def summary_from(results):
    """The `SCALAR_METRICS` found in `results` (a dict of group results)."""
    summary = {}
    for name, (group, keys) in SCALAR_METRICS.items():
        value = results.get(group)
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if group in results and (value is None or isinstance(value, float)):
            summary[name] = value
    return summary


def _fingerprint(dataset):
    """A digest of a dataset's arrays and specs (the floor cache's key)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (dataset.features, dataset.attributes, dataset.gen_flag):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    digest.update(
        repr((dataset.feature_outputs, dataset.attribute_outputs)).encode()
    )
    return digest.hexdigest()


# The last few floors, by the data and the options that make them.
_FLOOR_CACHE = collections.OrderedDict()
_FLOOR_CACHE_SIZE = 4


def floor_summary(real, train, n_synthetic, groups, seed=0, sample_len=None):
    """The summary metrics of real `train` data in the synthetic's place.

    `train` is subsampled (seeded) to at most `n_synthetic` series, so the
    floor sees as many series as the synthetic data does; groups in
    `_NO_FLOOR` (memorization) and those that cannot run on the subsample
    are left out.

    Returns:
        `(summary, n)`: the floor's summary dict and the number of
        training series used.
    """
    n = min(len(train), n_synthetic)
    groups = tuple(g for g in groups if g not in _NO_FLOOR)
    key = (
        _fingerprint(real), _fingerprint(train), n, seed, sample_len, groups
    )
    if key in _FLOOR_CACHE:
        _FLOOR_CACHE.move_to_end(key)
        return dict(_FLOOR_CACHE[key]), n
    stand_in = train
    if len(train) > n:
        pick = np.random.default_rng(seed).choice(len(train), n, replace=False)
        stand_in = train[np.sort(pick)]
    results = {}
    for group in groups:
        function, reason_of = _GROUPS[group]
        if reason_of(real, stand_in, train, sample_len) is None:
            results[group] = json_safe(
                function(real, stand_in, train, seed, sample_len)
            )
    summary = summary_from(results)
    _FLOOR_CACHE[key] = summary
    while len(_FLOOR_CACHE) > _FLOOR_CACHE_SIZE:
        _FLOOR_CACHE.popitem(last=False)
    return dict(summary), n


def evaluate(
    real,
    synthetic,
    train=None,
    seed=0,
    metrics=None,
    sample_len=None,
    floor=True,
):
    """Computes the paper's fidelity metrics of `synthetic` against `real`.

    Args:
        real: `TimeSeriesDataset`. Held-out real series (the reference).
        synthetic: `TimeSeriesDataset`. Generated series with the same specs
            and `max_sequence_len`.
        train: `TimeSeriesDataset` or `None`. The generator's training
            series; needed for `memorization` and the floor, and used as
            the real training set in the TSTR tasks (otherwise `real` is
            split in halves). Defaults to `None`.
        seed: int. Makes every randomized step reproducible. Defaults to 0.
        metrics: `None` or a list of group names (`GROUPS`) and/or scalar
            names (`SCALAR_METRICS`, each computing its group). `None` runs
            every group that applies to the data and lists the others with
            the reason under `skipped`. A requested group that cannot run
            raises `ValueError`. Defaults to `None`.
        sample_len: int or `None`. The generator's steps per LSTM cell (S);
            enables the `block_artifact` group (S >= 2 and
            `max_sequence_len >= 2 * S + 1`). Defaults to `None`.
        floor: bool. Whether to compute the floor when `train` is given:
            every summary metric with `train` (subsampled to at most
            `len(synthetic)` series) in the synthetic data's place, the best
            any generator can do. Defaults to `True`.

    Returns:
        A JSON-able dict: `summary` (headline floats), `floor` (the same
        names for real training vs. real data; only when `train` is given
        and `floor` is on), one entry per group computed, `skipped` and
        `n_series` (`real`, `synthetic`, `train`, and `floor`: the training
        series the floor used, or `None`). Undefined values are `None`.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> x = np.random.default_rng(0).uniform(size=(8, 6, 1))
    >>> ds = TimeSeriesDataset(x, np.eye(2)[[0, 1] * 4], np.ones((8, 6)),
    ...     [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 2)])
    >>> result = evaluate(ds, ds, metrics=["acf_mse", "lengths"])
    >>> result["summary"]
    {'acf_mse': 0.0, 'length_w1': 0.0}
    >>> # A copy of the training data is exactly as good as the floor.
    >>> result = evaluate(ds[:4], ds[4:], train=ds[4:], metrics=["acf_mse"])
    >>> result["floor"] == result["summary"]
    True
    """
    check_pair(real, synthetic)
    if train is not None:
        check_dataset(train, "train")
        check_compatible(real, train, "real", "train")
    seed = check_seed(seed)
    sample_len = check_positive_int(sample_len, "sample_len", allow_none=True)
    floor = check_bool(floor, "floor")
    requested = GROUPS if metrics is None else _resolve(metrics)
    results, skipped = {}, {}
    for group in requested:
        function, reason_of = _GROUPS[group]
        reason = reason_of(real, synthetic, train, sample_len)
        if reason is not None:
            if metrics is not None:
                raise ValueError(
                    f"Metric {group!r} in `metrics` cannot run on this data: "
                    f"{reason}."
                )
            skipped[group] = reason
            continue
        results[group] = json_safe(
            function(real, synthetic, train, seed, sample_len)
        )
    output = {"summary": summary_from(results)}
    n_floor = None
    if floor and train is not None:
        output["floor"], n_floor = floor_summary(
            real, train, len(synthetic), list(results), seed, sample_len
        )
    output.update(results)
    output["skipped"] = skipped
    output["n_series"] = {
        "real": len(real),
        "synthetic": len(synthetic),
        "train": None if train is None else len(train),
        "floor": n_floor,
    }
    return output


def dumps(metrics):
    """The metrics dict as strict JSON text (no NaN)."""
    return json.dumps(json_safe(metrics), indent=2, allow_nan=False)
