"""Missingness fidelity: how often, how long and for whom values are missing.

With `missing="model"` (see `keras_dg.data.table_transformer`) each feature
with gaps has a missingness channel, and generated data has gaps of its
own. These metrics compare them with the real data's, per channelled
feature:

- the missing rate: missing steps over active steps, and its error
  relative to the real rate (`|synthetic - real| / real`);
- the gap lengths: the lengths of the runs of consecutive missing steps
  within each series, compared by Wasserstein-1 (in steps);
- the missing rate conditioned on each discrete attribute: the rate within
  the series of each category, and the mean absolute difference over the
  categories present in the real data.

`missingness_fidelity` computes them with the floor (the real training
data in the synthetic data's place, as `keras_dg.evaluation.evaluate`
does): real vs. real tells how close any generator can get.
"""

import numpy as np
from scipy.stats import wasserstein_distance

from keras_dg.evaluation._utils import check_pair
from keras_dg.specs import output_slices

# The headline numbers of `missingness_fidelity`, averaged over the
# channelled features.
SUMMARY_METRICS = (
    "missing_rate_rel_error", "gap_length_w1", "conditional_missing_rate_mae",
)


def _check_transformer(transformer, dataset):
    from keras_dg.data.table_transformer import TableTransformer

    if not isinstance(transformer, TableTransformer):
        raise ValueError(
            "`transformer` must be the keras_dg.data.TableTransformer that "
            "encoded the data. Received: transformer of type "
            f"{type(transformer).__name__}."
        )
    if transformer.feature_outputs != dataset.feature_outputs:
        raise ValueError(
            "`transformer` does not match the data: its feature_outputs are "
            f"{transformer.feature_outputs}, the data's "
            f"{dataset.feature_outputs}."
        )
    if not transformer.missing_channels:
        raise ValueError(
            "`transformer` has no missingness channel: it was not fitted "
            "with missing='model', or its data had no missing values."
        )
    return transformer


def gap_lengths(mask):
    """The lengths of the runs of True in each row of a boolean [N, T] array.

    Args:
        mask: boolean array [N, T] (True where a value is missing).

    Returns:
        int64 array of every run's length, row by row (empty without runs).

    Example:

    >>> gap_lengths(np.array([[1, 1, 0, 1], [0, 0, 0, 0]], dtype=bool))
    array([2, 1])
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(
            f"`mask` must be a boolean array [N, T]. Received shape "
            f"{mask.shape}."
        )
    padded = np.pad(mask.astype("int8"), ((0, 0), (1, 1)))
    change = np.diff(padded, axis=1)
    starts = np.nonzero(change == 1)
    ends = np.nonzero(change == -1)
    # Row-major order pairs each run's start with its end.
    return (ends[1] - starts[1]).astype("int64")


def _rate(mask, active):
    steps = int(active.sum())
    return float(mask.sum() / steps) if steps else None


def _share_with_gaps(mask):
    return float(mask.any(axis=1).mean()) if len(mask) else None


def _relative_error(real, other):
    if real is None or other is None:
        return None
    if real == 0:
        return 0.0 if other == 0 else None
    return abs(other - real) / real


def _discrete_attributes(transformer, dataset):
    """`{name: (labels, category index per series)}` of the discrete
    attributes."""
    specs = iter(transformer.attributes)
    result = {}
    for output, start, end in output_slices(dataset.attribute_outputs):
        if not output.is_discrete:
            for _ in range(output.dim):
                next(specs)
            continue
        spec = next(specs)
        index = np.argmax(dataset.attributes[:, start:end], axis=1)
        result[spec["name"]] = (list(spec["categories"]), index)
    return result


def _conditional(mask, active, real_mask, real_active, groups, real_groups):
    """Per-category rates of one feature, and their mean absolute
    difference over the categories present in the real data."""
    by_attribute, differences = {}, []
    for name, (labels, index) in real_groups.items():
        other_index = groups[name][1]
        rates = {}
        for k, label in enumerate(labels):
            in_real, in_other = index == k, other_index == k
            real_rate = _rate(real_mask[in_real], real_active[in_real])
            rate = _rate(mask[in_other], active[in_other])
            rates[str(label)] = {
                "real": real_rate, "synthetic": rate,
                "series_real": int(in_real.sum()),
                "series_synthetic": int(in_other.sum()),
            }
            if real_rate is not None:
                # A category the other data never has counts fully.
                differences.append(abs((rate or 0.0) - real_rate))
        by_attribute[name] = rates
    mae = float(np.mean(differences)) if differences else None
    return by_attribute, mae


def missingness_distance(real, synthetic, transformer):
    """Missingness of `synthetic` against `real`, per channelled feature.

    Args:
        real: `TimeSeriesDataset` (the reference).
        synthetic: `TimeSeriesDataset` with the same specs.
        transformer: the `TableTransformer` (fitted with `missing="model"`)
            whose encoding both use.

    Returns:
        dict from feature name to: `rate_real`, `rate_synthetic`,
        `rate_relative_error` (`|synthetic - real| / real`; `None` when the
        real rate is 0 and the synthetic one is not), `gaps_real`,
        `gaps_synthetic` (number of gaps), `series_with_gaps_real`,
        `series_with_gaps_synthetic` (the share of series with a gap: are
        the gaps concentrated like the real ones?), `gap_mean_real`,
        `gap_mean_synthetic`, `gap_length_w1` (`None` unless both have a
        gap), `conditional` (`{attribute: {category: {real, synthetic,
        series_real, series_synthetic}}}`) and `conditional_mae` (mean
        absolute difference of the per-category rates; `None` without a
        discrete attribute).
    """
    check_pair(real, synthetic)
    _check_transformer(transformer, real)
    real_masks = transformer.missing_masks(real)
    masks = transformer.missing_masks(synthetic)
    real_active, active = real.gen_flag > 0.5, synthetic.gen_flag > 0.5
    real_groups = _discrete_attributes(transformer, real)
    groups = _discrete_attributes(transformer, synthetic)
    result = {}
    for name in transformer.missing_channels:
        real_gaps = gap_lengths(real_masks[name])
        gaps = gap_lengths(masks[name])
        rate_real = _rate(real_masks[name], real_active)
        rate = _rate(masks[name], active)
        conditional, mae = _conditional(
            masks[name], active, real_masks[name], real_active, groups,
            real_groups,
        )
        result[name] = {
            "rate_real": rate_real,
            "rate_synthetic": rate,
            "rate_relative_error": _relative_error(rate_real, rate),
            "gaps_real": int(len(real_gaps)),
            "gaps_synthetic": int(len(gaps)),
            "series_with_gaps_real": _share_with_gaps(real_masks[name]),
            "series_with_gaps_synthetic": _share_with_gaps(masks[name]),
            "gap_mean_real": (
                float(real_gaps.mean()) if len(real_gaps) else None
            ),
            "gap_mean_synthetic": float(gaps.mean()) if len(gaps) else None,
            "gap_length_w1": (
                float(wasserstein_distance(real_gaps, gaps))
                if len(real_gaps) and len(gaps) else None
            ),
            "conditional": conditional,
            "conditional_mae": mae,
        }
    return result


def _summary(per_feature):
    keys = {
        "missing_rate_rel_error": "rate_relative_error",
        "gap_length_w1": "gap_length_w1",
        "conditional_missing_rate_mae": "conditional_mae",
    }
    summary = {}
    for name, key in keys.items():
        values = [v[key] for v in per_feature.values()]
        summary[name] = (
            None if any(v is None for v in values) or not values
            else float(np.mean(values))
        )
    return summary


def missingness_fidelity(real, synthetic, transformer, train=None):
    """Missingness fidelity of `synthetic` against `real`, beside the floor.

    Args:
        real: `TimeSeriesDataset`, the real reference (held-out data, as in
            `keras_dg.evaluation.evaluate`).
        synthetic: `TimeSeriesDataset`, e.g. `model.generate(...)`.
        transformer: the `TableTransformer` fitted with `missing="model"`.
        train: `TimeSeriesDataset` or `None`. The real training data: adds
            the floor, the same metrics with `train` in the synthetic
            data's place. Defaults to `None`.

    Returns:
        dict with `features` (`missingness_distance`), `summary` (the
        `SUMMARY_METRICS`, each the mean over the channelled features, or
        `None` where a feature's value is undefined) and, with `train`,
        `floor` and `floor_features`.

    Example:

    >>> result = missingness_fidelity(test, synthetic, tt, train=train)  # doctest: +SKIP
    >>> result["summary"]["gap_length_w1"], result["floor"]["gap_length_w1"]  # doctest: +SKIP
    (0.41, 0.22)
    """
    per_feature = missingness_distance(real, synthetic, transformer)
    result = {"features": per_feature, "summary": _summary(per_feature)}
    if train is not None:
        floor = missingness_distance(real, train, transformer)
        result["floor_features"] = floor
        result["floor"] = _summary(floor)
    return result
