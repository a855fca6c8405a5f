"""Tests of benchmarks/long_series.py (long flights series from windows)."""

import json
import os
import subprocess
import sys

import pytest

from tests.benchmarks.common_test import BENCH
from tests.benchmarks.common_test import ROOT


@pytest.mark.slow
def test_quick_run_scores_both_modes(tmp_path):
    out = tmp_path / "runs.jsonl"
    subprocess.run(
        [sys.executable, os.path.join(BENCH, "long_series.py"), "--quick",
         "--json", str(out), "--plot", str(tmp_path / "plot.png")],
        cwd=ROOT, check=True, capture_output=True, timeout=600,
    )
    runs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["mode"] for r in runs] == ["windows", "chunks", "whole"]
    windows = runs[0]
    assert windows["train_len"] == 28 and windows["length"] == 280
    for key in ("seam_synthetic", "seam_real", "acf_mse_full",
                "acf_mse_window", "floor_acf_mse_full", "range_w1"):
        assert windows[key] >= 0
    assert (tmp_path / "plot.png").stat().st_size > 0
