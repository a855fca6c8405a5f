"""Distribution distances between real and synthetic series (paper §5).

- attributes: Jensen-Shannon divergence of each discrete attribute's
  category frequencies and of the joint of all discrete attributes;
  Wasserstein-1 for continuous attributes;
- lengths: Wasserstein-1 between the series-length distributions;
- midpoints: Wasserstein-1 between the per-series (max + min) / 2 of each
  continuous feature (the paper's mode-collapse check);
- cross-correlation: Wasserstein-1 between the per-series Pearson
  correlations of each pair of continuous features;
- conditional: Wasserstein-1 between the per-series means of each continuous
  feature, within each category of each discrete attribute.

Jensen-Shannon values are the *divergence* in bits, i.e. the square of
`scipy.spatial.distance.jensenshannon(p, q, base=2)`, in [0, 1]. Per-series
statistics use only the active steps given by `gen_flag`.

Reference:
    Lin et al., "Using GANs for Sharing Networked Time Series Data",
    IMC 2020, §5 (`shared/ALGORITHM.md` §9).
"""

import itertools

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from keras_dg.evaluation._utils import active_mask
from keras_dg.evaluation._utils import category_indices
from keras_dg.evaluation._utils import check_pair
from keras_dg.evaluation._utils import continuous_attribute_columns
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation._utils import discrete_attribute_blocks
from keras_dg.evaluation._utils import mean_of
from keras_dg.evaluation._utils import per_series_mean
from keras_dg.evaluation._utils import per_series_midpoint


def js_divergence(real_labels, synthetic_labels):
    """Jensen-Shannon divergence (base 2) of two samples of labels.

    The labels may be any hashable values (ints, tuples); the frequencies are
    taken over the union of the values seen in either sample.

    Args:
        real_labels: sequence of labels.
        synthetic_labels: sequence of labels.

    Returns:
        float in [0, 1]: `jensenshannon(p, q, base=2) ** 2`.

    Example:

    >>> js_divergence([0, 0, 1, 1], [1, 0, 1, 0])
    0.0
    >>> js_divergence([0, 0], [1, 1])
    1.0
    """
    real_labels = pd.Series(list(real_labels), dtype="object")
    synthetic_labels = pd.Series(list(synthetic_labels), dtype="object")
    if real_labels.empty or synthetic_labels.empty:
        raise ValueError(
            "`real_labels` and `synthetic_labels` must not be empty. "
            f"Received {len(real_labels)} and {len(synthetic_labels)} labels."
        )
    counts = pd.concat(
        [real_labels.value_counts(), synthetic_labels.value_counts()],
        axis=1,
    ).fillna(0.0)
    distance = jensenshannon(
        counts.iloc[:, 0].to_numpy(), counts.iloc[:, 1].to_numpy(), base=2
    )
    return float(distance) ** 2


def attribute_distances(real, synthetic):
    """Attribute fidelity: JSD per discrete attribute and joint, W1 else.

    Args:
        real: `TimeSeriesDataset`, the reference series.
        synthetic: `TimeSeriesDataset` with the same specs.

    Returns:
        dict with `js_divergence` `{attribute_i: jsd, "joint": jsd}` (the
        joint is over the tuples of all discrete attributes' categories),
        `js_divergence_mean` (mean over the discrete attributes), and
        `wasserstein` `{attribute_i: w1}` for continuous attribute columns.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> ds = TimeSeriesDataset(np.zeros((2, 3, 1)), [[1, 0], [0, 1]],
    ...     np.ones((2, 3)), [Output("CONTINUOUS", 1, "ZERO_ONE")],
    ...     [Output("DISCRETE", 2)])
    >>> attribute_distances(ds, ds)["js_divergence"]
    {'attribute_0': 0.0, 'joint': 0.0}
    """
    check_pair(real, synthetic)
    blocks = discrete_attribute_blocks(real)
    columns = continuous_attribute_columns(real)
    if not blocks and not columns:
        raise ValueError(
            "Attribute fidelity needs at least one attribute; "
            f"attribute_outputs are {real.attribute_outputs}."
        )
    jsd = {}
    real_codes, synthetic_codes = [], []
    for name, start, end in blocks:
        real_codes.append(category_indices(real, start, end))
        synthetic_codes.append(category_indices(synthetic, start, end))
        jsd[name] = js_divergence(real_codes[-1], synthetic_codes[-1])
    per_attribute = list(jsd.values())
    if blocks:
        jsd["joint"] = js_divergence(
            map(tuple, np.stack(real_codes, axis=1).tolist()),
            map(tuple, np.stack(synthetic_codes, axis=1).tolist()),
        )
    wasserstein = {
        name: float(
            wasserstein_distance(
                real.attributes[:, column], synthetic.attributes[:, column]
            )
        )
        for name, column in columns
    }
    return {
        "js_divergence": jsd,
        "js_divergence_mean": mean_of(per_attribute),
        "wasserstein": wasserstein,
    }


def length_distance(real, synthetic):
    """Wasserstein-1 between the series-length distributions.

    Returns:
        dict with `wasserstein` and the mean lengths `real_mean`,
        `synthetic_mean`.
    """
    check_pair(real, synthetic)
    return {
        "wasserstein": float(
            wasserstein_distance(real.lengths, synthetic.lengths)
        ),
        "real_mean": float(real.lengths.mean()),
        "synthetic_mean": float(synthetic.lengths.mean()),
    }


def _require_continuous_features(dataset, what, minimum=1):
    columns = continuous_feature_columns(dataset)
    if len(columns) < minimum:
        raise ValueError(
            f"{what} needs at least {minimum} continuous feature column(s); "
            f"feature_outputs are {dataset.feature_outputs}."
        )
    return columns


def midpoints(dataset):
    """Per-series (max + min) / 2 of every continuous feature column.

    Returns:
        dict `{column name: float64 array [N]}` over active steps.
    """
    mask = active_mask(dataset)
    return {
        name: per_series_midpoint(
            dataset.features[:, :, column].astype("float64"), mask
        )
        for name, column in continuous_feature_columns(dataset)
    }


def midpoint_distance(real, synthetic):
    """Wasserstein-1 between the per-series (max + min) / 2 distributions.

    Returns:
        dict with `per_feature` `{column: w1}` and their `mean`.
    """
    check_pair(real, synthetic)
    _require_continuous_features(real, "The midpoint distance")
    real_mid, synthetic_mid = midpoints(real), midpoints(synthetic)
    per_feature = {
        name: float(wasserstein_distance(real_mid[name], synthetic_mid[name]))
        for name in real_mid
    }
    return {"per_feature": per_feature, "mean": mean_of(per_feature.values())}


def _masked_pearson(x, y, mask):
    """Per-row Pearson r over masked steps; NaN where it is undefined."""
    counts = mask.sum(axis=1, keepdims=True)
    mx = np.where(mask, x, 0.0).sum(axis=1, keepdims=True) / counts
    my = np.where(mask, y, 0.0).sum(axis=1, keepdims=True) / counts
    dx = np.where(mask, x - mx, 0.0)
    dy = np.where(mask, y - my, 0.0)
    def is_constant(values):
        high = np.where(mask, values, -np.inf).max(axis=1)
        return high == np.where(mask, values, np.inf).min(axis=1)

    constant = is_constant(x) | is_constant(y)
    numerator = (dx * dy).sum(axis=1)
    denominator = np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.clip(numerator / denominator, -1.0, 1.0)
    r[constant | (denominator == 0)] = np.nan
    return r


def cross_correlations(dataset):
    """Per-series Pearson r of every pair of continuous feature columns.

    Series where a feature is constant over its active steps have no
    correlation and are left out.

    Returns:
        dict `{"a~b": float64 array}` for every pair of column names.
    """
    mask = active_mask(dataset)
    columns = continuous_feature_columns(dataset)
    result = {}
    for (name_a, a), (name_b, b) in itertools.combinations(columns, 2):
        r = _masked_pearson(
            dataset.features[:, :, a].astype("float64"),
            dataset.features[:, :, b].astype("float64"),
            mask,
        )
        result[f"{name_a}~{name_b}"] = r[np.isfinite(r)]
    return result


def cross_correlation_distance(real, synthetic):
    """Wasserstein-1 between per-series cross-feature correlations.

    Returns:
        dict with `per_pair` `{"a~b": w1}` (`None` when one side has no
        series with a defined correlation) and their `mean`.
    """
    check_pair(real, synthetic)
    _require_continuous_features(real, "The cross-correlation distance", 2)
    real_r = cross_correlations(real)
    synthetic_r = cross_correlations(synthetic)
    per_pair = {}
    for pair in real_r:
        if real_r[pair].size and synthetic_r[pair].size:
            per_pair[pair] = float(
                wasserstein_distance(real_r[pair], synthetic_r[pair])
            )
        else:
            per_pair[pair] = None
    return {"per_pair": per_pair, "mean": mean_of(per_pair.values())}


def conditional_distance(real, synthetic):
    """Wasserstein-1 of per-series feature means within each category.

    For every discrete attribute, every category present in both datasets,
    and every continuous feature column, compares the distributions of the
    per-series means (over active steps) of the series in that category.

    Returns:
        dict with `per_attribute` `{attribute_i: {column: {"per_category":
        {category: w1}, "mean": w1}}}`, the overall `mean`, and `missing`
        `{attribute_i: [categories seen in real but not in synthetic]}`.
    """
    check_pair(real, synthetic)
    columns = _require_continuous_features(real, "The conditional distance")
    blocks = discrete_attribute_blocks(real)
    if not blocks:
        raise ValueError(
            "The conditional distance needs a discrete attribute; "
            f"attribute_outputs are {real.attribute_outputs}."
        )
    real_mask, synthetic_mask = active_mask(real), active_mask(synthetic)
    def means(dataset, mask):
        return {
            name: per_series_mean(
                dataset.features[:, :, c].astype("float64"), mask
            )
            for name, c in columns
        }

    real_means = means(real, real_mask)
    synthetic_means = means(synthetic, synthetic_mask)
    result, missing, all_values = {}, {}, []
    for attribute, start, end in blocks:
        real_codes = category_indices(real, start, end)
        synthetic_codes = category_indices(synthetic, start, end)
        shared = np.intersect1d(real_codes, synthetic_codes)
        missing[attribute] = [
            int(c) for c in np.setdiff1d(real_codes, synthetic_codes)
        ]
        result[attribute] = {}
        for name, _ in columns:
            per_category = {
                str(int(c)): float(
                    wasserstein_distance(
                        real_means[name][real_codes == c],
                        synthetic_means[name][synthetic_codes == c],
                    )
                )
                for c in shared
            }
            all_values.extend(per_category.values())
            result[attribute][name] = {
                "per_category": per_category,
                "mean": mean_of(per_category.values()),
            }
    return {
        "per_attribute": result,
        "mean": mean_of(all_values),
        "missing": missing,
    }


__all__ = [
    "attribute_distances",
    "conditional_distance",
    "cross_correlation_distance",
    "cross_correlations",
    "js_divergence",
    "length_distance",
    "midpoint_distance",
    "midpoints",
]
