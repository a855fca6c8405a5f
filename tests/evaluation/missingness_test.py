import numpy as np
import pandas as pd
import pytest

from keras_dg.data import from_dataframe
from keras_dg.evaluation import gap_lengths
from keras_dg.evaluation import missingness_distance
from keras_dg.evaluation import missingness_fidelity


def table(gaps, kinds):
    """One series of 6 steps per entry of `gaps` (the missing steps of
    `x`), attribute `kind` from `kinds`."""
    rows = []
    for i, (missing, kind) in enumerate(zip(gaps, kinds)):
        for t in range(6):
            x = np.nan if t in missing else float(t + i)
            rows.append((i, t, x, kind))
    return pd.DataFrame(rows, columns=["id", "t", "x", "kind"])


def encode(gaps, kinds, tt=None):
    df = table(gaps, kinds)
    if tt is None:
        return from_dataframe(df, "id", "t", ["x"], ["kind"], missing="model")
    return tt.transform(df, clip=True)


def test_gap_lengths():
    mask = np.array([[1, 1, 0, 1, 0, 1], [0, 0, 0, 0, 0, 0],
                     [1, 1, 1, 1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(gap_lengths(mask), [2, 1, 1, 6])
    assert gap_lengths(np.zeros((2, 3), dtype=bool)).size == 0
    with pytest.raises(ValueError, match=r"\[N, T\]"):
        gap_lengths(np.zeros(3, dtype=bool))


def test_rates_gap_lengths_and_conditional_rates():
    # Real: "a" series miss 2 of 6 steps (one gap of 2), "b" series 1.
    real, tt = encode([{1, 2}, {1, 2}, {4}, {4}], ["a", "a", "b", "b"])
    # Synthetic: "a" series miss 1 step each, "b" series miss 3 in a row.
    synthetic = encode([{0}, {3}, {0, 1, 2}, {2, 3, 4}],
                       ["a", "a", "b", "b"], tt)
    result = missingness_distance(real, synthetic, tt)["x"]
    assert result["rate_real"] == pytest.approx(6 / 24)
    assert result["rate_synthetic"] == pytest.approx(8 / 24)
    assert result["rate_relative_error"] == pytest.approx(2 / 6)
    assert result["gaps_real"] == 4 and result["gaps_synthetic"] == 4
    assert result["series_with_gaps_real"] == 1.0
    assert result["series_with_gaps_synthetic"] == 1.0
    # Real gap lengths [2, 2, 1, 1], synthetic [1, 1, 3, 3]: sorted, they
    # differ by 0, 0, 1, 1: W1 = 0.5.
    assert result["gap_length_w1"] == pytest.approx(0.5)
    conditional = result["conditional"]["kind"]
    assert conditional["a"]["real"] == pytest.approx(4 / 12)
    assert conditional["a"]["synthetic"] == pytest.approx(2 / 12)
    assert conditional["b"]["real"] == pytest.approx(2 / 12)
    assert conditional["b"]["synthetic"] == pytest.approx(6 / 12)
    assert result["conditional_mae"] == pytest.approx((2 / 12 + 4 / 12) / 2)
    # Identical data: every distance is 0.
    same = missingness_distance(real, real, tt)["x"]
    assert same["rate_relative_error"] == 0.0
    assert same["gap_length_w1"] == 0.0 and same["conditional_mae"] == 0.0


def test_fidelity_reports_the_floor():
    train, tt = encode([{1, 2}, {1}, {4}, {3, 4}], ["a", "a", "b", "b"])
    test = encode([{1, 2}, {2}, {4}, {0}], ["a", "a", "b", "b"], tt)
    never = encode([set()] * 4, ["a", "a", "b", "b"], tt)
    result = missingness_fidelity(test, never, tt, train=train)
    # A generator that never leaves a gap: rate error 1, no W1 possible.
    assert result["summary"]["missing_rate_rel_error"] == pytest.approx(1.0)
    assert result["summary"]["gap_length_w1"] is None
    assert result["features"]["x"]["gaps_synthetic"] == 0
    assert result["features"]["x"]["series_with_gaps_synthetic"] == 0.0
    floor = result["floor"]
    assert floor["missing_rate_rel_error"] == pytest.approx(1 / 5)
    # Test gaps [2, 1, 1, 1], train [2, 1, 1, 2]: W1 = 1/4.
    assert floor["gap_length_w1"] == pytest.approx(0.25)
    assert "floor" not in missingness_fidelity(test, never, tt)


def test_needs_a_transformer_with_channels():
    real, tt = encode([{1}, {2}], ["a", "b"])
    with pytest.raises(ValueError, match="must be the keras_dg.data"):
        missingness_distance(real, real, None)
    full, plain = from_dataframe(table([set(), set()], ["a", "b"]), "id", "t",
                                 ["x"], ["kind"], missing="model")
    with pytest.raises(ValueError, match="has no missingness channel"):
        missingness_distance(full, full, plain)
    with pytest.raises(ValueError, match="does not match the data"):
        missingness_distance(full, full, tt)
