"""Tests of benchmarks/streaming.py (generate_to's memory and throughput)."""

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
    reason="runs TensorFlow in subprocesses: once, in the TensorFlow run",
)
def test_measures_every_mode(tmp_path):
    out = tmp_path / "streaming.json"
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "streaming.py"), "--memory-sizes",
         "1500", "--dataframe-sizes", "1500", "--stream-sizes", "1500",
         "--formats", "parquet,npz", "--rows-per-file", "1000", "--repeats", "1",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = json.loads(out.read_text())
    assert [(r["mode"], r["format"]) for r in records] == [
        ("generate", None), ("dataframe", None), ("stream", "parquet"),
        ("stream", "npz"),
    ]
    for r in records:
        assert r["n"] == 1500 and r["seconds"] > 0
        assert r["peak_rss_mib"] >= r["warm_rss_mib"] > 0
    assert records[2]["bytes_written"] > 0
    assert "| generate_to parquet | 1,500 |" in result.stdout


def test_bad_flags_are_rejected():
    sys.path.insert(0, BENCH)
    import streaming

    for argv in (["--stream-sizes", "0"], ["--formats", "xlsx"],
                 ["--repeats", "0"], ["--memory-sizes", "ten"]):
        with pytest.raises(SystemExit):
            streaming.parse_args(argv)


def test_interleave_must_be_positive():
    sys.path.insert(0, BENCH)
    import streaming

    with pytest.raises(SystemExit):
        streaming.parse_args(["--interleave", "0"])
