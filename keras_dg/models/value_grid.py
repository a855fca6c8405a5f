"""Continuous features whose values lie on a grid, and generation on it.

Counts, 0/1 flags and other integer-valued columns are continuous outputs
of the model (their order and distance mean something), but every real
value sits on a grid: `low + k * step`. A GAN's continuous outputs fall
between the grid points (a union member 0.33 of a year, 4.6 flights a day),
which a person sees at once and a classifier too: on wage_panel's two 0/1
features the generated series' autocorrelation was 0.12-0.27 MSE from the
real ones', and 0.003-0.009 once on the grid (benchmarks/RESULTS.md).

`find_grids` reads the grids off the training data when `fit` starts
(`DoppelGANger(snap_to_grid=True)`, saved as `feature_grid`), and
`snap` rounds generated values to them (in `decode_tensors`, so every
generation path does it). Columns off any grid keep their values.
"""

import numpy as np
from keras import ops

from keras_dg.specs import output_slices

# A grid has at most this many points over the column's training range
# (float32 values are all on a grid of 2^-24, which is not a grid of the
# data), and its points are this close to the values: relative to the
# column's magnitude, a few float32 round-offs (values scaled in float32
# are off their grid by about 1e-7).
MAX_POINTS = 1000
_TOLERANCE = 1e-6


def find_grids(features, gen_flag, outputs, max_points=MAX_POINTS):
    """The grid of every continuous feature column, from training data.

    Args:
        features: array [N, T, F], the encoded training features.
        gen_flag: array [N, T]; only the active steps (1) count.
        outputs: the features' `Output`s (F columns in all).
        max_points: int. Most grid points over a column's range.

    Returns:
        float32 array [3, F]: per column `(step, low, high)`, the grid
        `low, low + step, ..., high`; all 0 for a discrete column, a
        column with fewer than two distinct values, or one whose values
        are not on a grid of at most `max_points` points.
    """
    features = np.asarray(features)
    active = np.asarray(gen_flag) > 0.5
    grids = np.zeros((3, features.shape[-1]), "float32")
    for output, start, end in output_slices(outputs):
        if output.is_discrete:
            continue
        for column in range(start, end):
            grid = _grid(features[..., column][active], max_points)
            if grid is not None:
                grids[:, column] = grid
    return grids


def _grid(values, max_points):
    """`(step, low, high)` of the coarsest grid through `values`, or
    None."""
    levels = np.unique(values.astype("float64"))
    # Not finite (unvalidated data): no grid, never a NaN grid.
    if levels.size < 2 or levels.size > max_points or not np.all(
        np.isfinite(levels)
    ):
        return None
    low, high = levels[0], levels[-1]
    # Every gap between levels is a whole number of steps, the smallest
    # too: the step is the smallest gap divided by a whole number `d`
    # (levels {0, 2, 5} have step 2 / 2). The smallest such `d` gives the
    # coarsest grid; a `d` past `max_points` points ends the search.
    gap = np.min(np.diff(levels))
    tolerance = _TOLERANCE * max(abs(low), abs(high))
    for divisor in range(1, max_points):
        step = gap / divisor
        if (high - low) / step + 1 > max_points + 0.5:
            return None
        units = (levels - low) / step
        if np.max(np.abs(units - np.round(units))) * step <= tolerance:
            return step, low, high
    return None


def snap(features, grids):
    """`features` [..., F] rounded to the nearest point of their column's
    grid (`find_grids`' [3, F]); columns with step 0 unchanged."""
    features = ops.convert_to_tensor(features)
    grids = ops.cast(grids, features.dtype)
    step, low, high = grids[0], grids[1], grids[2]
    on = step > 0
    safe_step = ops.where(on, step, ops.ones_like(step))
    snapped = low + ops.round((features - low) / safe_step) * safe_step
    snapped = ops.minimum(ops.maximum(snapped, low), high)
    return ops.where(on, snapped, features)
