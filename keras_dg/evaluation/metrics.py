"""`evaluate`: every fidelity metric at once, as one JSON-able dict.

The metrics come in groups (one function each) and a few headline scalars
(`SCALAR_METRICS`) are picked from the groups into `summary`.

Groups: `autocorrelation`, `attributes`, `lengths`, `midpoints`,
`cross_correlation`, `conditional`, `tstr_classification`,
`tstr_regression`, `discriminative`, `memorization` (needs `train`).
"""

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
from keras_dg.evaluation.discriminative import discriminative_score
from keras_dg.evaluation.distributions import attribute_distances
from keras_dg.evaluation.distributions import conditional_distance
from keras_dg.evaluation.distributions import cross_correlation_distance
from keras_dg.evaluation.distributions import length_distance
from keras_dg.evaluation.distributions import midpoint_distance
from keras_dg.evaluation.downstream import tstr_classification
from keras_dg.evaluation.downstream import tstr_regression
from keras_dg.evaluation.memorization import memorization
from keras_dg.validation import check_seed


def _n_continuous(dataset):
    return len(continuous_feature_columns(dataset))


def _small_real(real, train):
    if train is None and len(real) < 4:
        return "needs `train` or at least 4 real series to split"
    return None


def _classification_reason(real, synthetic, train):
    for _, start, end in discrete_attribute_blocks(real):
        if np.unique(category_indices(real, start, end)).size >= 2:
            return _small_real(real, train)
    return "no discrete attribute with 2+ categories in the real data"


# name -> (function(real, synthetic, train, seed), reason it cannot run).
_GROUPS = {
    "autocorrelation": (
        lambda r, s, t, seed: autocorrelation_mse(r, s),
        lambda r, s, t: (
            "no continuous feature" if not _n_continuous(r)
            else "max_sequence_len < 3" if r.max_sequence_len < 3
            else None
        ),
    ),
    "attributes": (
        lambda r, s, t, seed: attribute_distances(r, s),
        lambda r, s, t: (
            None
            if discrete_attribute_blocks(r) or continuous_attribute_columns(r)
            else "no attributes"
        ),
    ),
    "lengths": (
        lambda r, s, t, seed: length_distance(r, s),
        lambda r, s, t: None,
    ),
    "midpoints": (
        lambda r, s, t, seed: midpoint_distance(r, s),
        lambda r, s, t: None if _n_continuous(r) else "no continuous feature",
    ),
    "cross_correlation": (
        lambda r, s, t, seed: cross_correlation_distance(r, s),
        lambda r, s, t: (
            None if _n_continuous(r) >= 2
            else "fewer than 2 continuous feature columns"
        ),
    ),
    "conditional": (
        lambda r, s, t, seed: conditional_distance(r, s),
        lambda r, s, t: (
            "no continuous feature" if not _n_continuous(r)
            else None if discrete_attribute_blocks(r)
            else "no discrete attribute"
        ),
    ),
    "tstr_classification": (
        lambda r, s, t, seed: tstr_classification(r, s, train=t, seed=seed),
        _classification_reason,
    ),
    "tstr_regression": (
        lambda r, s, t, seed: tstr_regression(r, s, train=t, seed=seed),
        lambda r, s, t: (
            "no continuous feature" if not _n_continuous(r)
            else "max_sequence_len < 2" if r.max_sequence_len < 2
            else _small_real(r, t)
        ),
    ),
    "discriminative": (
        lambda r, s, t, seed: discriminative_score(r, s, seed=seed),
        lambda r, s, t: (
            None if min(len(r), len(s)) >= 4
            else "needs at least 4 real and 4 synthetic series"
        ),
    ),
    "memorization": (
        lambda r, s, t, seed: memorization(s, t, r, seed=seed),
        lambda r, s, t: None if t is not None else "needs `train`",
    ),
}

GROUPS = tuple(_GROUPS)

# Headline scalar -> (group, keys into the group's result). Lower is better
# for all but the TSTR scores (higher is better) and the membership-inference
# success rate (0.5 is best).
SCALAR_METRICS = {
    "acf_mse": ("autocorrelation", ("mse",)),
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


def unavailable_metrics(real, synthetic=None, train=None, metrics=None):
    """`{group: reason}` for the requested groups that cannot run.

    Args:
        real: `TimeSeriesDataset`.
        synthetic: `TimeSeriesDataset` or `None` (then `real` stands in).
        train: `TimeSeriesDataset` or `None`.
        metrics: names as for `evaluate`, or `None` for every group.
    """
    synthetic = real if synthetic is None else synthetic
    groups = GROUPS if metrics is None else _resolve(metrics)
    reasons = {}
    for group in groups:
        reason = _GROUPS[group][1](real, synthetic, train)
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


def evaluate(real, synthetic, train=None, seed=0, metrics=None):
    """Computes the paper's fidelity metrics of `synthetic` against `real`.

    Args:
        real: `TimeSeriesDataset`. Held-out real series (the reference).
        synthetic: `TimeSeriesDataset`. Generated series with the same specs
            and `max_sequence_len`.
        train: `TimeSeriesDataset` or `None`. The generator's training
            series; needed for `memorization` and used as the real training
            set in the TSTR tasks (otherwise `real` is split in halves).
            Defaults to `None`.
        seed: int. Makes every randomized step reproducible. Defaults to 0.
        metrics: `None` or a list of group names (`GROUPS`) and/or scalar
            names (`SCALAR_METRICS`, each computing its group). `None` runs
            every group that applies to the data and lists the others with
            the reason under `skipped`. A requested group that cannot run
            raises `ValueError`. Defaults to `None`.

    Returns:
        A JSON-able dict: `summary` (headline floats), one entry per group
        computed, `skipped` and `n_series`. Undefined values are `None`.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> x = np.random.default_rng(0).uniform(size=(8, 6, 1))
    >>> ds = TimeSeriesDataset(x, np.eye(2)[[0, 1] * 4], np.ones((8, 6)),
    ...     [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 2)])
    >>> result = evaluate(ds, ds, metrics=["acf_mse", "lengths"])
    >>> result["summary"]
    {'acf_mse': 0.0, 'length_w1': 0.0}
    """
    check_pair(real, synthetic)
    if train is not None:
        check_dataset(train, "train")
        check_compatible(real, train, "real", "train")
    seed = check_seed(seed)
    requested = GROUPS if metrics is None else _resolve(metrics)
    results, skipped = {}, {}
    for group in requested:
        function, reason_of = _GROUPS[group]
        reason = reason_of(real, synthetic, train)
        if reason is not None:
            if metrics is not None:
                raise ValueError(
                    f"Metric {group!r} in `metrics` cannot run on this data: "
                    f"{reason}."
                )
            skipped[group] = reason
            continue
        results[group] = json_safe(function(real, synthetic, train, seed))
    output = {"summary": summary_from(results), **results}
    output["skipped"] = skipped
    output["n_series"] = {
        "real": len(real),
        "synthetic": len(synthetic),
        "train": None if train is None else len(train),
    }
    return output


def dumps(metrics):
    """The metrics dict as strict JSON text (no NaN)."""
    return json.dumps(json_safe(metrics), indent=2, allow_nan=False)
