"""Tests of benchmarks/peer_dgan.py (the peer side: gretel-synthetics' DGAN).

The runs need the peer's venv (`bash benchmarks/setup_peer.sh`) and skip without it; the
flag checks run under any Python (they fail before torch is imported).
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "benchmarks")
SCRIPT = os.path.join(BENCH, "peer_dgan.py")
FCC_MBA = os.path.join(ROOT, "..", "shared", "data", "FCC_MBA")
PEER_PYTHON = os.path.join(BENCH, ".peer-venv", "bin", "python")

_spec = importlib.util.spec_from_file_location("benchmarks_common", os.path.join(BENCH, "common.py"))
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)

needs_peer = pytest.mark.skipif(
    not os.path.exists(PEER_PYTHON),
    reason="peer venv missing: run `bash benchmarks/setup_peer.sh`",
)
needs_fcc = pytest.mark.skipif(
    not os.path.isdir(FCC_MBA), reason="../shared/data/FCC_MBA is not on this machine"
)


def _peer(*flags, timeout=120):
    return common.run_json(
        [PEER_PYTHON, SCRIPT, "--threads", "1", *flags],
        env=common.thread_env(1),
        timeout=timeout,
    )["record"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--shape", "mba", "--task", "train"], "--data is required"),
        (["--shape", "pageview", "--task", "train"], "--n is required"),
        (["--shape", "pageview", "--n", "1", "--task", "train"], "--n must be >= 2"),
        (["--shape", "pageview", "--n", "9", "--task", "train", "--epochs", "0"], "--epochs must be >= 1"),
        (["--shape", "pageview", "--n", "9", "--task", "fidelity"], "needs --shape mba"),
        (["--shape", "mba", "--data", "x", "--task", "fidelity", "--out", "o.npz"], "--seconds must be > 0"),
        (["--shape", "mba", "--data", "x", "--task", "fidelity", "--seconds", "5"], "--out is required"),
        (["--shape", "pageview", "--n", "9", "--task", "train", "--gen-batch", "0"], "--gen-batch must be >= 1"),
    ],
)
def test_bad_flags(flags, message):
    result = subprocess.run(
        [sys.executable, SCRIPT, *flags], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


@needs_peer
@needs_fcc
def test_train_mba_matches_our_architecture_and_data():
    record = _peer("--task", "train", "--shape", "mba", "--data", FCC_MBA, "--n", "200",
                   "--epochs", "2")
    arch = record["architecture"]
    assert arch["attribute_hidden_layers"] == 2 and arch["attribute_units"] == 100
    assert arch["lstm_layers"] == 1 and arch["lstm_units"] == 100
    assert arch["critic_hidden_layers"] == 4 and arch["critic_units"] == 200
    # Critic input: 73 one-hot attributes + 2 x (min, max) + 56 x 2 features.
    assert arch["critic_input"] == 73 + 4 + 56 * 2
    assert arch["attribute_critic_input"] == 73 + 4
    # LSTM input: the attributes it is conditioned on + 5 noise.
    assert arch["lstm_input"] == 73 + 4 + 5
    assert record["data_digest"] == common.data_digest(common.load_fcc_mba(FCC_MBA, n=200))
    assert (record["n"], record["epochs"], record["batches"]) == (200, 2, 4)
    assert record["sequences_per_s"] == pytest.approx(400 / record["wall_seconds"])
    assert len(record["epoch_seconds"]) == 2
    assert record["peak_rss_mib"] > 50 and record["cpu_seconds"] > 0
    assert record["threads"] == 1 and record["torch"].startswith("2.13.0")
    assert record["gretel_synthetics"] == "0.22.20"


@needs_peer
def test_stock_critic_depth_on_request():
    record = _peer("--task", "train", "--shape", "pageview", "--n", "100", "--epochs", "1",
                   "--critic-hidden-layers", "5")
    assert record["architecture"]["critic_hidden_layers"] == 5
    assert record["architecture"]["critic_input"] == 14 + 2 + 550
    assert record["data_digest"] == common.data_digest(common.pageview_standin(100, seed=0))


@needs_peer
def test_generate_pageview():
    record = _peer("--task", "generate", "--shape", "pageview", "--n", "50", "--epochs", "0",
                   "--n-generate", "120", "--gen-batch", "50")
    assert record["gen_n"] == 120 and record["gen_batch"] == 50
    assert record["gen_series_per_s"] == pytest.approx(120 / record["gen_seconds"])
    assert record["gen_warmup_seconds"] > 0
    assert record["sequences_per_s"] is None and record["gen_autograd"] is False


@needs_peer
@needs_fcc
def test_fidelity_writes_generated_data(tmp_path):
    out = str(tmp_path / "peer.npz")
    record = _peer("--task", "fidelity", "--shape", "mba", "--data", FCC_MBA, "--n", "200",
                   "--seconds", "1", "--n-generate", "70", "--out", out)
    assert record["wall_seconds"] >= 1.0 and record["batches"] >= 1
    assert record["batches_per_epoch"] == 2
    assert record["epochs"] == pytest.approx(record["batches"] / 2)  # 100 of 200 per batch
    assert record["sequences_per_s"] == pytest.approx(
        record["batches"] * 100 / record["wall_seconds"]
    )
    data = common.load_arrays(out)
    assert data["features"].shape == (70, 56, 2)
    assert np.all(np.isfinite(data["features"]))
    assert data["attributes"].shape == (70, 73)
    np.testing.assert_array_equal(data["attributes"].sum(axis=1), 3.0)
    assert np.all(data["gen_flag"] == 1.0)


@needs_peer
@needs_fcc
def test_fidelity_budget_on_the_cpu_clock(tmp_path):
    out = str(tmp_path / "peer.npz")
    record = _peer("--task", "fidelity", "--shape", "mba", "--data", FCC_MBA, "--n", "200",
                   "--seconds", "1", "--clock", "cpu", "--n-generate", "10", "--out", out)
    # Stopped after the first batch past 1 CPU-s (one thread: about as much wall time).
    assert record["cpu_seconds"] >= 1.0 and record["batches"] >= 1
