"""Tests of benchmarks/lstm_ops.py (the LSTM recurrence three ways)."""

import sys

import keras
import pytest

from tests.benchmarks.common_test import BENCH

pytestmark = pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="a TensorFlow benchmark (the suite runs on TensorFlow too)",
)


def test_the_three_implementations_agree_and_are_timed(capsys):
    sys.path.insert(0, BENCH)
    import lstm_ops

    rows = lstm_ops.main(["--steps", "4", "--condition-dim", "3", "--units", "8",
                          "--batch", "5", "--repeats", "2"])
    assert [row[0] for row in rows] == ["keras-dg", "BlockLSTMV2", "keras LSTM"]
    for _, forward, both, error in rows:
        assert float(forward) > 0 and float(both) > 0
        assert float(error) < 1e-5
    assert "| BlockLSTMV2 |" in capsys.readouterr().out


def test_bad_flags_are_rejected():
    sys.path.insert(0, BENCH)
    import lstm_ops

    with pytest.raises(SystemExit):
        lstm_ops.parse_args(["--steps", "0"])
