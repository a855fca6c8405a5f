"""`keras-dg generate --out DIR --format parquet`: streaming to part files,
resuming and sharding (`keras_dg/cli/generate.py`)."""

import os

import keras
import numpy as np
import pandas as pd
import pytest

import keras_dg
from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli
from tests.harness import TINY


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model with a long-table transformer, saved as .keras, and
    the model loaded back (what the command generates from)."""
    from keras_dg.data import from_dataframe

    root = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(0)
    rows = [
        {"host": f"h{i}", "minute": t, "cpu": float(rng.uniform(0, 100)),
         "os": ["linux", "bsd"][i % 2]}
        for i in range(6) for t in range(4)
    ]
    dataset, transformer = from_dataframe(
        pd.DataFrame(rows), example_id="host", time="minute",
        features=["cpu"], attributes=["os"], sample_len=2,
    )
    model = keras_dg.DoppelGANger(
        dataset.feature_outputs, dataset.attribute_outputs,
        max_sequence_len=4, sample_len=2, transformer=transformer,
        **dict(TINY, seed=0),
    )
    path = root / "model.keras"
    model.save(path)
    return {"path": path, "model": keras.saving.load_model(path)}


def test_parquet_parts_in_real_units(capsys, saved, tmp_path):
    out = tmp_path / "synth"
    code, stdout, err = run_cli(
        capsys, "generate", "--model", saved["path"], "-n", 7, "--seed", 1,
        "--out", out, "--format", "parquet", "--rows-per-file", 3,
        "--no-progress",
    )
    assert code == 0, err
    assert "Generated series 0-6 in 3 parquet part(s)" in stdout
    assert sorted(os.listdir(out)) == [
        "_manifest.json", "part-00000.parquet", "part-00001.parquet",
        "part-00002.parquet",
    ]
    expected = saved["model"].generate_dataframe(7, seed=1)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    # Again: refused without --resume or --overwrite; --resume keeps it.
    assert_user_error(
        capsys, "resume=True", "generate", "--model", saved["path"], "-n", 7,
        "--out", out, "--format", "parquet", "--rows-per-file", 3,
    )
    code, stdout, err = run_cli(
        capsys, "generate", "--model", saved["path"], "-n", 7, "--seed", 1,
        "--out", out, "--format", "parquet", "--rows-per-file", 3,
        "--resume",
    )
    assert code == 0, err
    assert_user_error(
        capsys, "`seed` differs", "generate", "--model", saved["path"],
        "-n", 7, "--seed", 2, "--out", out, "--format", "parquet",
        "--rows-per-file", 3, "--resume",
    )


def test_shards_make_the_single_run(capsys, saved, tmp_path):
    out = tmp_path / "shared"
    for shard in ("0/2", "1/2"):
        code, stdout, err = run_cli(
            capsys, "generate", "--model", saved["path"], "-n", 5, "--seed",
            4, "--out", out, "--format", "parquet", "--shard", shard,
            "--no-progress",
        )
        assert code == 0, err
        assert f"(shard {shard[0]}/2 of 5)" in stdout
    expected = saved["model"].generate_dataframe(5, seed=4)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert {"_manifest-shard-00000-of-00002.json",
            "_manifest-shard-00001-of-00002.json"} <= set(os.listdir(out))


def test_wide_csv_parts_and_npz_parts(capsys, saved, tmp_path):
    code, _, err = run_cli(
        capsys, "generate", "--model", saved["path"], "-n", 3, "--out",
        tmp_path / "wide", "--format", "csv", "--layout", "wide",
        "--no-progress",
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "wide" / "part-00000.csv")
    assert list(table.columns) == [
        "host", "cpu_0", "cpu_1", "cpu_2", "cpu_3", "os"
    ]
    assert len(table) == 3
    code, _, err = run_cli(
        capsys, "generate", "--model", saved["path"], "-n", 3, "--out",
        tmp_path / "enc", "--format", "npz", "--rows-per-file", 2,
        "--no-progress",
    )
    assert code == 0, err
    with np.load(tmp_path / "enc" / "part-00001.npz") as npz:
        assert npz["data_feature"].shape == (1, 4, 1)


@pytest.mark.parametrize(
    "flags, match",
    [
        (["--shard", "2/2"], "i=2 must be below N=2"),
        (["--shard", "0/9", "-n", "3"], "N=9 exceeds n=3"),
        (["--shard", "x"], "expected i/N"),
        (["--layout", "wide", "--format", "npz"], "--layout applies"),
        (["--resume", "--overwrite"], "not both"),
        (["--fix", "os=bsd"], "--given and --fix"),
    ],
)
def test_bad_streaming_flags(capsys, saved, tmp_path, flags, match):
    argv = ["generate", "--model", saved["path"], "--out", tmp_path / "o",
            "--format", "parquet"]
    if "--format" in flags:
        argv = argv[:-2]
    assert_user_error(capsys, match, *argv, *flags)
    assert not (tmp_path / "o").exists()


def test_a_streaming_flag_needs_a_folder(capsys, saved, tmp_path):
    assert_user_error(
        capsys, "name a folder", "generate", "--model", saved["path"],
        "--out", tmp_path / "x.csv", "--rows-per-file", 10,
    )
