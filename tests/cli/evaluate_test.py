import json
import os

import numpy as np

from keras_dg.data import save_dg
from keras_dg.evaluation import format_summary
from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli
from tests.harness import tiny_dataset


def _real_folder(tmp_path):
    data = tmp_path / "data"
    save_dg(tiny_dataset(n=12, seed=0), data, split="train")
    save_dg(tiny_dataset(n=6, seed=1), data, split="test")
    return data


def test_evaluate_a_folder_and_a_loose_npz(capsys, tmp_path):
    data = _real_folder(tmp_path)
    synthetic = tiny_dataset(n=5, seed=2)
    save_dg(synthetic, tmp_path / "gen", split="generated")
    # An npz without Output pickles takes its specs from --real.
    np.savez(
        tmp_path / "gen.npz", data_feature=synthetic.features,
        data_attribute=synthetic.attributes, data_gen_flag=synthetic.gen_flag,
    )
    for path in (tmp_path / "gen", tmp_path / "gen.npz"):
        report = tmp_path / f"report_{path.name}"
        code, stdout, err = run_cli(
            capsys, "evaluate", "--real", data, "--synthetic", path,
            "--train", data / "data_train.npz", "--out", report,
            "--metrics", "acf_mse,attribute_jsd",
        )
        assert code == 0, err
        assert f"Report: {report / 'report.html'}" in stdout
        with open(report / "metrics.json") as f:
            metrics = json.load(f)
        assert metrics["n_series"]["real"] == 6  # The test split.
        assert metrics["n_series"]["synthetic"] == 5
        assert metrics["n_series"]["floor"] == 5  # --train: the floor.
        assert os.path.isfile(report / "report.html")
        # Each metric beside its floor, as format_summary prints them.
        lines = format_summary(metrics["summary"], metrics["floor"])
        assert lines[0].split() == [
            "metric", "synthetic", "floor", "xfloor",
        ]
        assert stdout.splitlines()[1:] == [f"  {line}" for line in lines]
        assert [line.split()[0] for line in lines[1:]] == [
            "acf_mse", "attribute_jsd", "joint_attribute_jsd",
        ]


def test_evaluate_sample_len_and_no_floor(capsys, tmp_path):
    data = _real_folder(tmp_path)
    code, stdout, err = run_cli(
        capsys, "evaluate", "--real", data, "--synthetic", data,
        "--synthetic-split", "train", "--train", data / "data_train.npz",
        "--out", tmp_path / "r", "--metrics", "block_artifact_score",
        "--sample-len", "2", "--no-floor",
    )
    assert code == 0, err
    with open(tmp_path / "r" / "metrics.json") as f:
        metrics = json.load(f)
    assert "floor" not in metrics
    assert metrics["block_artifact"]["lags"] == [2, 4]  # T = 6
    assert stdout.splitlines()[1].split() == ["metric", "synthetic"]
    assert stdout.splitlines()[2].split()[0] == "block_artifact_score"


def test_evaluate_errors(capsys, tmp_path):
    data = _real_folder(tmp_path)
    assert_user_error(
        capsys, "--synthetic-split applies to folders", "evaluate",
        "--real", data, "--synthetic", data / "data_test.npz",
        "--synthetic-split", "test", "--out", tmp_path / "e",
    )
    assert_user_error(
        capsys, "--sample-len", "evaluate", "--real", data, "--synthetic",
        data, "--out", tmp_path / "e", "--sample-len", "0",
    )
    (tmp_path / "file").write_text("x")
    assert_user_error(
        capsys, "--out '", "evaluate", "--real", data, "--synthetic",
        data, "--synthetic-split", "test", "--out", tmp_path / "file",
    )
