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


def test_length_streams_long_series(capsys, saved, tmp_path):
    out = tmp_path / "long"
    argv = ["generate", "--model", saved["path"], "-n", 5, "--seed", 1,
            "--out", out, "--format", "parquet", "--rows-per-file", 2,
            "--batch-size", 2]
    code, stdout, err = run_cli(
        capsys, *argv, "--length", 12, "--no-progress"
    )
    assert code == 0, err
    assert "Generated series 0-4 in 3 parquet part(s)" in stdout
    # Three times the model's window: generate_dataframe(length=12).
    expected = saved["model"].generate_dataframe(
        5, seed=1, batch_size=2, length=12
    )
    table = pd.read_parquet(out)
    pd.testing.assert_frame_equal(table, expected)
    assert table.groupby("host").size().tolist() == [12] * 5
    assert_user_error(
        capsys, "`length` differs", *argv, "--length", 8, "--resume"
    )
    assert_user_error(
        capsys, "needs layout='long'", "generate", "--model", saved["path"],
        "--out", tmp_path / "wide", "--format", "csv", "--layout", "wide",
        "--length", 12,
    )
    assert not (tmp_path / "wide").exists()


def test_a_streaming_flag_needs_a_folder(capsys, saved, tmp_path):
    assert_user_error(
        capsys, "name a folder", "generate", "--model", saved["path"],
        "--out", tmp_path / "x.csv", "--rows-per-file", 10,
    )


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(3))
def test_kill_9_then_resume(saved, tmp_path, trial):
    """`kill -9` at a random moment of a streaming run: every visible part
    is whole and listed, no manifest before the end; --resume finishes
    the set, which is the single run's rows."""
    import json
    import random
    import signal
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    out = tmp_path / "synth"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    argv = [
        sys.executable, "-m", "keras_dg.cli", "generate", "--model",
        str(saved["path"]), "-n", "200000", "--seed", "3", "--out", str(out),
        "--format", "npz", "--rows-per-file", "10000", "--batch-size", "500",
        "--no-progress",
    ]
    env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # Killed at a random moment of the run's first half: once it has
    # finished a random number of its 20 parts (0-9) and a random fraction
    # of the next one. (A fixed delay let a fast machine finish first.)
    rng = random.Random(trial)
    target = rng.randint(0, 9)
    started = time.time()
    while time.time() - started < 120:
        try:
            with open(out / "_progress.json") as f:
                if len(json.load(f)["parts"]) >= target:
                    break
        except (OSError, ValueError):
            pass  # Not written yet.
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.05))
    child.send_signal(signal.SIGKILL)
    child.wait()
    visible = sorted(n for n in os.listdir(out) if not n.startswith("."))
    assert "_manifest.json" not in visible  # killed during the run
    if "_progress.json" in visible:
        with open(out / "_progress.json") as f:
            record = json.load(f)
        listed = {p["file"] for p in record["parts"]} | set(
            record["pending"]
        )
        assert set(visible) <= listed | {"_progress.json", "mine.txt"}
        for part in record["parts"]:
            with np.load(out / part["file"]) as npz:
                assert npz["data_feature"].shape[0] == 10000
    subprocess.run(argv + ["--resume"], check=True, env=env,
                   capture_output=True)
    names = os.listdir(out)
    assert not [n for n in names if n.startswith(".tmp-")]
    assert "_progress.json" not in names
    assert (out / "mine.txt").read_text() == "mine"
    with open(out / "_manifest.json") as f:
        manifest = json.load(f)
    assert len(manifest["parts"]) == 20
    expected = saved["model"].generate(200000, seed=3, batch_size=500)
    got = np.concatenate([
        np.load(out / p["file"])["data_feature"] for p in manifest["parts"]
    ])
    np.testing.assert_array_equal(got, expected.features)
