"""Tests of benchmarks/cold_generation.py (the first `generate` of a fresh
process, against the peer's)."""

import json
import os
import subprocess
import sys

import keras
import pytest

from tests.benchmarks.common_test import BENCH
from tests.benchmarks.common_test import ROOT
from tests.benchmarks.common_test import needs_peer


# Slow (the benchmark script end to end): run with `pytest -m slow`.
@pytest.mark.slow
@needs_peer
@pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="runs TensorFlow in subprocesses: once, in the TensorFlow run",
)
def test_times_both_sides_in_fresh_processes(tmp_path):
    out = tmp_path / "cold.json"
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "cold_generation.py"),
         "--shapes", "pageview", "--sides", "ours,ours-xla,peer",
         "--sizes", "30", "--repeats", "1", "--models", str(tmp_path),
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = json.loads(out.read_text())
    assert [r["side"] for r in records] == ["ours", "ours-xla", "peer"]
    for r in records:
        assert r["n"] == 30 and r["shape"] == "pageview"
        assert r["cold_seconds"] > 0 and r["warm_seconds"] > 0
    assert (tmp_path / "ours_pageview.keras").exists()
    assert (tmp_path / "peer_pageview.pt").exists()
    # Every side's ratio is to the peer measured in the same run.
    assert "| pageview | 30 | peer |" in result.stdout
    assert "1.00x" in result.stdout


def test_bad_flags_are_rejected():
    sys.path.insert(0, BENCH)
    import cold_generation

    for argv in (["--sizes", "0"], ["--sides", "ours,tpu"],
                 ["--repeats", "0"], ["--shapes", "mba"],
                 ["--shapes", "pageview", "--sides", "jax"],
                 ["--worker", "time", "--side", "ours"],
                 ["--shapes", "pageview", "--peer-python", "/no/such/python"]):
        with pytest.raises(SystemExit):
            cold_generation.parse_args(argv)
    # The defaults, with a peer interpreter that exists on any machine.
    args = cold_generation.parse_args(["--shapes", "pageview",
                                       "--peer-python", sys.executable])
    assert args.sides == ["ours", "peer"] and args.sizes == [1000, 5000]


def test_table_gives_ratios_to_the_peer():
    sys.path.insert(0, BENCH)
    import cold_generation

    def record(side, cold, warm):
        return {"shape": "mba", "n": 1000, "side": side,
                "cold_series_per_s": cold, "warm_series_per_s": warm,
                "cold_seconds": 1000 / cold, "cold_cpu_seconds": 0.5}

    text = cold_generation.table([
        record("peer", 1000.0, 2000.0), record("ours", 1500.0, 4000.0),
        record("peer", 1200.0, 2000.0), record("ours", 1700.0, 4000.0),
    ])
    assert "| mba | 1,000 | ours | 1,600 ±6% (n=2) | 1.45x |" in text
    assert "| 2.00x |" in text
