"""Tests of benchmarks/profile_step.py (the per-step profile and FLOP count)."""

import os
import subprocess
import sys

import pytest

from tests.benchmarks.common_test import BENCH
from tests.benchmarks.common_test import ROOT

sys.path.insert(0, BENCH)
import profile_step  # noqa: E402


@pytest.mark.parametrize(
    "name, part",
    [
        ("StatefulPartitionedCall/gradient_tape/hidden_0_1/MatMul:_MklMatMul",
         "gradients (all backward passes)"),
        ("StatefulPartitionedCall/hidden_2_1/Relu:_MklNativeFusedMatMul", "critics forward"),
        ("StatefulPartitionedCall/feature_generator_1/MatMul_3:_MklMatMul",
         "feature generator (LSTM) forward"),
        ("StatefulPartitionedCall/addi_attribute_generator_1/hidden_0_1/Relu:_Mkl",
         "attribute generators forward"),
        ("StatefulPartitionedCall/g_optimizer/Adam/Sqrt:Sqrt", "optimizers"),
    ],
)
def test_ops_are_attributed_to_model_parts(name, part):
    assert profile_step._part(name) == part


# Slow (the benchmark script end to end): run with `pytest -m slow`.
@pytest.mark.slow
def test_profile_of_a_few_steps_counts_flops_and_time(tmp_path):
    out = tmp_path / "profile.json"
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "profile_step.py"), "--shape", "pageview",
         "--n", "100", "--steps", "1", "--timed-steps", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    record = json.loads(out.read_text())
    # One step at T=550 runs the LSTM forward and backward: several GFLOP.
    assert 1.0 < record["gflop_per_step"] < 50.0
    assert 0.0 < record["fraction_of_peak"] < 1.0
    assert record["ms_per_step_by_part"]["feature generator (LSTM) forward"] > 0


def test_bad_arguments_are_rejected():
    with pytest.raises(SystemExit):
        profile_step.parse_args(["--shape", "pageview", "--steps", "0"])
