import json

import numpy as np
import pandas as pd

from keras_dg.data import save_dg
from tests.cli.harness import TINY
from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli
from tests.harness import tiny_dataset


def test_train_from_a_dg_folder(capsys, tmp_path):
    data = tmp_path / "data"
    save_dg(tiny_dataset(n=12, seed=0), data, split="train")
    save_dg(tiny_dataset(n=6, seed=1), data, split="test")
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys, "train", "--data-dir", data, "--out", out, "--preset", "mba",
        *TINY,
    )
    assert code == 0, err
    assert "model.keras" in stdout and "report.html" in stdout
    with open(out / "run.json") as f:
        manifest = json.load(f)
    assert manifest["preset"] == "FCC_MBA"
    assert manifest["config"]["aux_disc"] is False
    assert manifest["data"]["test_series"] == 6
    # The table of a DG folder: generic column names, encoded units.
    table = pd.read_csv(out / "generated" / "generated.csv")
    assert list(table.columns[:2]) == ["example_id", "step"]
    # A second train into the same folder is refused, then overwritten.
    assert_user_error(
        capsys, "previous run", "train", "--data-dir", data, "--out", out,
        "--preset", "mba", *TINY,
    )
    code, _, err = run_cli(
        capsys, "train", "--data-dir", data, "--out", out, "--preset", "mba",
        "--overwrite", "--test-split", "none", *TINY,
    )
    assert code == 0, err
    with open(out / "run.json") as f:
        assert json.load(f)["data"]["test_series"] is None


def test_train_from_a_dg_folder_checks_sample_len(capsys, tmp_path):
    save_dg(tiny_dataset(n=6, t=8), tmp_path / "data")
    assert_user_error(
        capsys, "The preset 'web' uses sample_len=10, which does not divide "
        "the series length 8. Pass --sample_len with a divisor of 8: "
        "[1, 2, 4, 8]", "train", "--data-dir", tmp_path / "data", "--out",
        tmp_path / "o", "--quick", "--preset", "web",
    )
    assert_user_error(
        capsys, "--sample_len=3, which does not divide", "train",
        "--data-dir", tmp_path / "data", "--out", tmp_path / "o", "--quick",
        "--sample_len", "3",
    )
    assert not (tmp_path / "o").exists()


def test_train_without_preset_takes_settings_from_the_data(capsys, tmp_path):
    # T=8, which the web preset's sample_len (10) does not divide.
    save_dg(tiny_dataset(n=12, t=8), tmp_path / "data")
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys, "train", "--data-dir", tmp_path / "data", "--out", out,
        "--quick", "--epochs", "1", "--verbose", "2", "--metrics",
        "acf_mse,lengths",
    )
    assert code == 0, err
    assert "settings from the data" in stdout
    assert "sample_len=1: divides the series length T=8" in stdout
    assert "batch_size=12: 12 training series" in stdout
    with open(out / "run.json") as f:
        manifest = json.load(f)
    assert manifest["preset"] is None
    assert manifest["config"]["sample_len"] == 1
    assert manifest["settings_from_data"]["batch_size"]["value"] == 12
    # A table keeps its length (7 steps, not padded to a preset's multiple).
    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "page": [f"p{i}" for i in range(10)],
        **{f"day_{d}": rng.integers(0, 1000, 10) for d in range(7)},
    })
    table.to_csv(tmp_path / "wide.csv", index=False)
    code, stdout, err = run_cli(
        capsys, "train", "--table", tmp_path / "wide.csv", "--layout",
        "wide", "--example-id", "page", "--features", "day_*", "--out",
        tmp_path / "table_run", "--quick", "--epochs", "1", "--verbose",
        "2", "--metrics", "acf_mse,lengths",
    )
    assert code == 0, err
    assert "sample_len=1: divides the series length T=7" in stdout


def test_train_wide_table_with_patterns(capsys, tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "page": [f"p{i}" for i in range(10)],
        "lang": ["en", "de"] * 5,
        **{f"day_{d}": rng.integers(0, 1000, 10) for d in range(6)},
    })
    path = tmp_path / "wide.csv"
    table.to_csv(path, index=False)
    code, _, err = run_cli(
        capsys, "train", "--table", path, "--layout", "wide",
        "--example-id", "page", "--features", "day_*", "--attributes",
        "lang", "--log1p", "value", "--out", tmp_path / "run",
        "--test-fraction", "0.2", *TINY,
    )
    assert code == 0, err
    generated = pd.read_csv(tmp_path / "run" / "generated" / "generated.csv")
    assert list(generated.columns) == ["page", "lang"] + [
        f"day_{d}" for d in range(6)
    ]
    assert len(generated) == 8  # As many as the 80% training rows.
    assert_user_error(
        capsys, "--features pattern 'week_*' matches no column", "train",
        "--table", path, "--layout", "wide", "--features", "week_*",
        "--out", tmp_path / "o", *TINY,
    )


def test_train_table_errors(capsys, tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"id": [1, 1], "t": ["a", "b"], "x": [1.0, 2.0]}).to_csv(
        path, index=False
    )
    assert_user_error(
        capsys, "--example-id is required for a long table (one row per "
        "series and step); use --layout wide", "train", "--table", path,
        "--out", tmp_path / "o",
    )
    assert_user_error(
        capsys, "--time column 't' holds text that is not a date", "train",
        "--table", path, "--example-id", "id", "--time", "t", "--out",
        tmp_path / "o",
    )
    assert_user_error(
        capsys, "--time is for long tables; a wide table's steps are its "
        "--features columns", "train", "--table", path, "--layout", "wide",
        "--time", "t", "--out", tmp_path / "o",
    )
    (tmp_path / "t.xlsx").write_text("x")
    assert_user_error(
        capsys, "--table '", "train", "--table", tmp_path / "t.xlsx",
        "--example-id", "id", "--out", tmp_path / "o",
    )
    assert_user_error(
        capsys, "--split cannot be used with --table", "train", "--table",
        path, "--split", "test", "--out", tmp_path / "o",
    )
    assert_user_error(
        capsys, "--test-table '", "train", "--table", path, "--example-id",
        "id", "--test-table", tmp_path / "missing.csv", "--out",
        tmp_path / "o",
    )
    assert not (tmp_path / "o").exists()


def test_train_with_a_budget_instead_of_epochs(capsys, tmp_path):
    data = tmp_path / "data"
    save_dg(tiny_dataset(n=12, seed=0), data, split="train")
    out = tmp_path / "run"
    # TINY without --epochs; a budget of 0 s stops after the first batch.
    flags = [f for f in TINY if f not in ("--epochs", "1")]
    code, _, err = run_cli(
        capsys, "train", "--data-dir", data, "--out", out, "--budget", "0s",
        *flags,
    )
    assert code == 0, err
    with open(out / "history.json") as f:
        assert len(json.load(f)["d_loss"]) == 1
    assert_user_error(
        capsys, "--budget", "train", "--data-dir", data, "--out", out,
        "--overwrite", "--budget", "soon", *flags,
    )
