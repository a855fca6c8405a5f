"""`keras-dg generate --length`: series longer than the model's window."""

import numpy as np
import pandas as pd

from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli


def test_generate_length_writes_longer_series(capsys, tmp_path):
    out = tmp_path / "long.csv"
    code, stdout, _ = run_cli(
        capsys, "generate", "--preset", "flights", "-n", 2, "--length", 500,
        "--out", out,
    )
    assert code == 0 and "length 500-500" in stdout
    table = pd.read_csv(out)
    assert table.groupby("route").size().tolist() == [500, 500]
    npz = tmp_path / "long.npz"
    code, _, _ = run_cli(
        capsys, "generate", "--preset", "flights", "-n", 2, "--length", 30,
        "--out", npz,
    )
    assert code == 0
    assert np.load(npz)["data_feature"].shape == (2, 30, 2)


def test_generate_length_errors(capsys, tmp_path):
    out = tmp_path / "long.csv"
    assert_user_error(
        capsys, "--length", "generate", "--preset", "flights", "--length",
        0, "--out", out,
    )
    assert_user_error(
        capsys, "from 1 to 36400", "generate", "--preset", "flights",
        "--length", 36401, "--out", out,
    )
    # Streaming to a folder checks it too, before any file is written.
    assert_user_error(
        capsys, "from 1 to 36400", "generate", "--preset", "flights",
        "--length", 36401, "--format", "parquet", "--out",
        tmp_path / "parts",
    )
    assert not out.exists() and not (tmp_path / "parts").exists()
