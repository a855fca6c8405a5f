"""Tests of benchmarks/ours_dg.py, the keras-dg side of the benchmarks."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.benchmarks.common_test import BENCH
from tests.benchmarks.common_test import ROOT


def _run(*flags, backend="tensorflow"):
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "ours_dg.py"), *flags],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# Slow (the benchmark script end to end): run with `pytest -m slow`.
@pytest.mark.slow
def test_trains_and_generates_with_the_thread_and_dtype_settings():
    record = _run(
        "--task", "generate", "--shape", "pageview", "--n", "100", "--epochs", "1",
        "--n-generate", "300", "--gen-batch", "200", "--threads", "1",
        "--interop-threads", "2", "--dtype-policy", "mixed_bfloat16",
    )
    assert record["backend"] == "tensorflow" and record["shared_noise"] is True
    assert record["dtype_policy"] == "mixed_bfloat16"
    assert (record["threads"], record["interop_threads"]) == (1, 2)
    assert record["sequences_per_s"] > 0 and record["gen_series_per_s"] > 0
    assert record["gen_n"] == 300 and record["gen_warmup_seconds"] > 0
    assert 0 < record["rss_after_import_mib"] <= record["peak_rss_mib"]


def test_model_flags_reach_the_model():
    sys.path.insert(0, BENCH)
    import common
    import ours_dg

    data = common.load_shape_data("pageview", n=20)
    for flags, margin, predict_jit in [
        ([], 0.01, None),
        (["--output-margin", "0", "--predict-jit", "off"], 0.0, False),
        (["--predict-jit", "on"], 0.01, True),
    ]:
        args = ours_dg.parse_args(
            ["--shape", "pageview", "--task", "train", *flags]
        )
        model = ours_dg.build_model(data, args)
        assert model.output_margin == margin
        assert model.predict_jit_compile is predict_jit


def test_thread_flags_are_refused_off_tensorflow():
    others = [b for b in ("torch", "jax") if importlib.util.find_spec(b)]
    if not others:
        pytest.skip("needs a second Keras backend (torch or jax) installed")
    result = subprocess.run(
        [sys.executable, os.path.join(BENCH, "ours_dg.py"), "--task", "train",
         "--shape", "pageview", "--n", "100", "--threads", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": others[0]},
    )
    assert result.returncode != 0
    assert "TensorFlow settings" in result.stderr


@pytest.mark.parametrize("flags", [
    ["--task", "fidelity"], ["--task", "nope"],
    ["--task", "train", "--dtype-policy", "float16"],
])
def test_bad_flags_are_rejected(flags):
    sys.path.insert(0, BENCH)
    import ours_dg

    with pytest.raises(SystemExit):
        ours_dg.parse_args(["--shape", "mba", *flags])
