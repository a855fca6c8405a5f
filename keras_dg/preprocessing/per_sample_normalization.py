"""Auto-normalization per sample, `self_norm` (ALGORITHM §2a)."""

from keras import ops

from keras_dg.specs import Normalization
from keras_dg.specs import Output
from keras_dg.specs import OutputType
from keras_dg.specs import output_slices

EPSILON = 1e-4


def _continuous_columns(feature_outputs):
    """Column indices of continuous features and whether each is [-1, 1]."""
    columns, minus_one_one = [], []
    for output, start, end in output_slices(feature_outputs):
        if output.is_discrete:
            continue
        for column in range(start, end):
            columns.append(column)
            minus_one_one.append(
                output.normalization is Normalization.MINUSONE_ONE
            )
    return columns, minus_one_one


def _take_columns(features, columns):
    """`features[..., columns]` (no copy when `columns` are all of them)."""
    if columns == list(range(features.shape[-1])):
        return features
    return ops.take(features, columns, axis=-1)


def _replace_columns(features, columns, values):
    """`features` with `features[..., columns]` replaced by `values`."""
    width = ops.shape(features)[-1]
    if columns == list(range(width)):
        return values
    position = {c: i for i, c in enumerate(columns)}
    index = [
        width + position[c] if c in position else c for c in range(width)
    ]
    return ops.take(ops.concatenate([features, values], axis=-1), index, -1)


def addi_outputs(feature_outputs):
    """The "additional" attribute outputs: per continuous column, its
    midpoint `(max + min) / 2` (normalized like the feature) and half-range
    `(max - min) / 2` (ZERO_ONE), interleaved."""
    outputs = []
    for output in feature_outputs:
        if output.is_discrete:
            continue
        for _ in range(output.dim):
            outputs.append(
                Output(OutputType.CONTINUOUS, 1, output.normalization)
            )
            outputs.append(
                Output(OutputType.CONTINUOUS, 1, Normalization.ZERO_ONE)
            )
    return outputs


def normalize_per_sample(
    features, feature_outputs, epsilon=EPSILON, series_range=None
):
    """Scales every continuous feature column of every series to its range.

    As the original does, the min and max run over the whole padded time
    axis (padding zeros included), widened by `epsilon`:
    `x <- (x - mn) / (mx - mn)`, then `2x - 1` for MINUSONE_ONE columns.

    Args:
        features: [N, T, F] array or tensor.
        feature_outputs: the list of `Output` describing F.
        epsilon: float. Widening of the range. Defaults to 1e-4.
        series_range: `(minimum, maximum)`, two [N, F] arrays, or None.
            The range to scale by instead of the one measured on
            `features`: for windows of longer series, their whole series'
            range (`TimeSeriesDataset.windows`). Defaults to None.

    Returns:
        `(normalized_features [N, T, F], addi_attributes [N, 2C])` where C
        is the number of continuous columns and the additional attributes
        are `[mid_0, half_0, mid_1, half_1, ...]`.
    """
    features = ops.convert_to_tensor(features)
    columns, minus_one_one = _continuous_columns(feature_outputs)
    if not columns:
        return features, ops.zeros((ops.shape(features)[0], 0), features.dtype)
    x = _take_columns(features, columns)
    if series_range is None:
        mn, mx = ops.min(x, axis=1), ops.max(x, axis=1)
    else:
        mn, mx = (
            _take_columns(ops.cast(bound, features.dtype), columns)
            for bound in series_range
        )
    mx = mx + epsilon
    mn = mn - epsilon
    scaled = (x - mn[:, None, :]) / (mx - mn)[:, None, :]
    scaled = ops.where(
        ops.convert_to_tensor(minus_one_one), 2.0 * scaled - 1.0, scaled
    )
    addi = ops.stack([(mx + mn) / 2.0, (mx - mn) / 2.0], axis=-1)
    addi = ops.reshape(addi, (-1, 2 * len(columns)))
    return _replace_columns(features, columns, scaled), addi


def renormalize_per_sample(
    features, addi_attributes, feature_outputs, epsilon=None
):
    """Inverts `normalize_per_sample` with the (generated) min/max.

    `max = mid + half`, `min = mid - half`; MINUSONE_ONE columns are first
    mapped back with `(f + 1) / 2`, then `f <- f * (max - min) + min`.
    Discrete columns pass through. Padding is not re-zeroed here; multiply
    by the generation flag afterwards.

    With `epsilon` (the widening `normalize_per_sample` used), the result is
    also clipped to the un-widened range `[min + epsilon, max - epsilon]`
    (the point `mid` when `half <= epsilon`), where every real series lies.
    The original does not clip (a documented deviation): without it a
    constant series, encoded as f = 0.5 with half = epsilon, comes back as
    noise of amplitude ~half around mid instead of a constant.
    """
    features = ops.convert_to_tensor(features)
    columns, minus_one_one = _continuous_columns(feature_outputs)
    if not columns:
        return features
    addi_attributes = ops.convert_to_tensor(addi_attributes, features.dtype)
    mid = addi_attributes[:, 0::2]
    half = addi_attributes[:, 1::2]
    mx, mn = mid + half, mid - half
    f = _take_columns(features, columns)
    if any(minus_one_one):
        f = ops.where(
            ops.convert_to_tensor(minus_one_one), (f + 1.0) / 2.0, f
        )
    f = f * (mx - mn)[:, None, :] + mn[:, None, :]
    if epsilon is not None:
        inner = ops.maximum(half - epsilon, 0.0)[:, None, :]
        f = ops.clip(f, mid[:, None, :] - inner, mid[:, None, :] + inner)
    return _replace_columns(features, columns, f)
