"""Tests of benchmarks/memory.py (resident memory after each stage of a run)."""

import json
import os
import subprocess
import sys

import keras
import pytest

from tests.benchmarks.common_test import BENCH
from tests.benchmarks.common_test import ROOT


# Slow (the benchmark script end to end): run with `pytest -m slow`.
@pytest.mark.slow
@pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="runs TensorFlow in a subprocess: once, in the TensorFlow run",
)
def test_reports_every_stage_in_order(tmp_path):
    out = tmp_path / "memory.json"
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "memory.py"), "--shape", "pageview",
         "--n", "100", "--epochs", "1", "--n-generate", "300", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(out.read_text())
    names = [s["stage"] for s in record["stages"]]
    assert names == [
        "interpreter", "numpy", "import tensorflow", "import keras",
        "import keras_dg", "model built", "first fit (train step traced)",
        "1 more epochs", "first generate (compiled)", "generate 300",
    ]
    peaks = [s["peak_rss_mib"] for s in record["stages"]]
    assert peaks == sorted(peaks)
    assert all(s["rss_mib"] <= s["peak_rss_mib"] + 1 for s in record["stages"])
    # The backend is most of the memory: far more than the interpreter.
    assert record["stages"][2]["rss_mib"] > 5 * record["stages"][0]["rss_mib"]
    assert "| import keras_dg |" in result.stdout
    assert "tensorflow" not in record["pulled_in"]


def test_bad_flags_are_rejected():
    sys.path.insert(0, BENCH)
    import memory

    with pytest.raises(SystemExit):
        memory.parse_args(["--shape", "pageview", "--epochs", "0"])
