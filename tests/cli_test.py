import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from keras_dg import cli
from keras_dg import pipeline
from keras_dg.data import load_dg
from keras_dg.data import save_dg
from tests.harness import tiny_dataset

# Flags of a tiny, fast training run.
TINY = [
    "--quick", "--sample_len", "2", "--epochs", "1", "--verbose", "0",
    "--metrics", "acf_mse,lengths",
]


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_user_error(capsys, match, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert match in err, err
    assert "Traceback" not in err + out
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained by `keras-dg train` on a long CSV table."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        for step in range(int(rng.integers(3, 7))):
            rows.append({
                "host": f"h{i}", "minute": step,
                "cpu": float(rng.uniform(0, 100)),
                "mem": int(rng.integers(0, 64)),
                "os": ["linux", "bsd", "mac"][i % 3],
                "cores": [2, 4][i % 2],
            })
    table = root / "hosts.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    out = root / "run"
    code = cli.main([
        "train", "--table", str(table), "--example-id", "host",
        "--time", "minute", "--features", "cpu,mem",
        "--attributes", "os,cores", "--discrete", "cores",
        "--out", str(out), "--no-report", *TINY,
    ])
    assert code == 0
    return {"root": root, "out": out, "model": out / "model.keras"}


def test_help_explains_every_flag(capsys):
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    for name in cli.COMMANDS:
        assert name in out
    code, out, _ = _run(capsys, "train", "--help")
    assert code == 0
    for name in list(cli.HYPERPARAMETERS) + list(cli.TRAINING_FLAGS):
        assert f"--{name}" in out, name
    for flag in ("--data-dir", "--table", "--recipe", "--example-id",
                 "--time", "--features", "--attributes", "--layout",
                 "--quick", "--overwrite", "--resume", "--set"):
        assert flag in out, flag
    for command in ("generate", "evaluate", "demo", "presets"):
        code, out, _ = _run(capsys, command, "--help")
        assert code == 0 and "usage: keras-dg " + command in out


def test_hyperparameter_flags_are_model_arguments():
    assert set(cli.HYPERPARAMETERS) <= set(pipeline.model_arguments())
    assert set(cli.TRAINING_FLAGS) == set(pipeline.presets_lib.TRAINING_KEYS)


def test_commands_are_one_table():
    assert list(cli.COMMANDS) == [
        "train", "generate", "evaluate", "demo", "tune", "presets"
    ]
    with pytest.raises(ValueError, match="already registered"):
        cli.register_command("train", "", "", lambda p: None, lambda a: 0)


@pytest.mark.parametrize(
    "argv, match",
    [
        ([], "required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
        (["train", "--out", "x"], "one of the arguments --data-dir"),
        (["train", "--recipe", "nope", "--out", "x"], "invalid choice"),
        (["train", "--recipe", "wwt"], "--out"),
        (["train", "--recipe", "wwt", "--out", "x", "--aux_disc", "maybe"],
         "expected true or false"),
        (["train", "--recipe", "wwt", "--out", "x", "--epochs", "0"],
         "expected a positive integer"),
        (["train", "--recipe", "wwt", "--out", "x", "--set", "oops"],
         "expected NAME=VALUE"),
        (["generate", "--model", "m.keras", "-n", "-3", "--out", "x"],
         "expected a positive integer"),
        (["generate", "--out", "x"], "--model"),
        (["evaluate", "--real", "r", "--out", "x"], "--synthetic"),
        (["demo", "--epochs", "many"], "expected a positive integer"),
        (["tune", "--recipe", "wwt"], "--out"),
        (["tune", "--recipe", "wwt", "--out", "x", "--tuner", "grid"],
         "invalid choice: 'grid'"),
    ],
)
def test_bad_flags_exit_2_with_the_message(capsys, argv, match):
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert match in err


def test_user_errors_are_one_line_without_traceback(capsys, tmp_path):
    err = _assert_user_error(
        capsys, "keras-dg: error: `folder`", "train", "--data-dir",
        tmp_path / "missing", "--out", tmp_path / "o",
    )
    assert len(err.strip().splitlines()) == 1
    _assert_user_error(
        capsys, "needs the FCC_MBA folder", "train", "--recipe", "mba",
        "--out", tmp_path / "o",
    )
    _assert_user_error(
        capsys, "--time cannot be used with --recipe", "train", "--recipe",
        "flights", "--time", "t", "--out", tmp_path / "o",
    )
    _assert_user_error(
        capsys, "unknown argument 'units'", "train", "--recipe", "wwt",
        "--set", "units=3", "--out", tmp_path / "o", *TINY,
    )
    _assert_user_error(
        capsys, "does not exist", "generate", "--model",
        tmp_path / "m.keras", "--out", tmp_path / "g.csv",
    )
    _assert_user_error(
        capsys, "does not exist", "evaluate", "--real", tmp_path / "r",
        "--synthetic", tmp_path / "s", "--out", tmp_path / "e",
    )
    assert not (tmp_path / "o").exists()


def test_train_from_a_dg_folder_then_generate_and_evaluate(capsys, tmp_path):
    data = tmp_path / "data"
    save_dg(tiny_dataset(n=12, seed=0), data, split="train")
    save_dg(tiny_dataset(n=6, seed=1), data, split="test")
    out = tmp_path / "run"
    code, stdout, err = _run(
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

    # generate: an original-format folder, an npz file, and evaluate them.
    code, stdout, err = _run(
        capsys, "generate", "--model", out / "model.keras", "-n", 5,
        "--out", tmp_path / "gen",
    )
    assert code == 0, err
    generated = load_dg(tmp_path / "gen", "generated")
    assert len(generated) == 5
    code, _, err = _run(
        capsys, "generate", "--model", out / "model.keras", "-n", 4,
        "--out", tmp_path / "gen.npz",
    )
    assert code == 0, err
    with np.load(tmp_path / "gen.npz") as npz:
        assert npz["data_feature"].shape == (4, 8, 4)
    for synthetic in (tmp_path / "gen", tmp_path / "gen.npz"):
        report = tmp_path / f"report_{synthetic.name}"
        code, stdout, err = _run(
            capsys, "evaluate", "--real", data, "--synthetic", synthetic,
            "--train", data / "data_train.npz", "--out", report,
            "--metrics", "acf_mse,attribute_jsd",
        )
        assert code == 0, err
        assert "acf_mse" in stdout
        with open(report / "metrics.json") as f:
            metrics = json.load(f)
        assert metrics["n_series"]["real"] == 6  # The test split.
        assert os.path.isfile(report / "report.html")
    # The same seed gives the same data; outputs are not overwritten.
    _assert_user_error(
        capsys, "pass --overwrite", "generate", "--model",
        out / "model.keras", "--out", tmp_path / "gen.npz",
    )
    code, _, _ = _run(
        capsys, "generate", "--model", out / "model.keras", "-n", 4,
        "--out", tmp_path / "gen.npz", "--overwrite",
    )
    assert code == 0
    # A second train into the same folder is refused, then overwritten.
    _assert_user_error(
        capsys, "previous run", "train", "--data-dir", data, "--out", out,
        "--preset", "mba", *TINY,
    )
    code, _, err = _run(
        capsys, "train", "--data-dir", data, "--out", out, "--preset", "mba",
        "--overwrite", "--test-split", "none", *TINY,
    )
    assert code == 0, err


def test_train_from_a_dg_folder_checks_sample_len(capsys, tmp_path):
    save_dg(tiny_dataset(n=6, t=8), tmp_path / "data")
    _assert_user_error(
        capsys, "divisor of 8: [1, 2, 4, 8]", "train", "--data-dir",
        tmp_path / "data", "--out", tmp_path / "o", "--quick",
    )


def test_generate_csv_in_real_units(capsys, trained, tmp_path):
    code, stdout, err = _run(
        capsys, "generate", "--model", trained["model"], "-n", 6, "--seed",
        3, "--out", tmp_path / "g.csv",
    )
    assert code == 0, err
    assert "Generated 6 series" in stdout
    table = pd.read_csv(tmp_path / "g.csv")
    assert list(table.columns) == ["host", "minute", "cpu", "mem", "os",
                                   "cores"]
    assert table["host"].nunique() == 6
    assert set(table["os"]) <= {"linux", "bsd", "mac"}
    assert set(table["cores"]) <= {2, 4}
    assert table["cpu"].between(0, 100).all()
    assert (table["mem"] == table["mem"].round()).all()
    code, _, _ = _run(
        capsys, "generate", "--model", trained["model"], "-n", 6, "--seed",
        3, "--out", tmp_path / "again.csv",
    )
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again.csv"), table)


def test_generate_given_attributes(capsys, trained, tmp_path):
    given = tmp_path / "attributes.csv"
    pd.DataFrame({
        "os": ["mac", "linux", "mac"], "cores": [4, 2, 2],
    }).to_csv(given, index=False)
    code, stdout, err = _run(
        capsys, "generate", "--model", trained["model"], "--given", given,
        "--out", tmp_path / "g.csv",
    )
    assert code == 0, err
    assert "Generated 3 series" in stdout
    table = pd.read_csv(tmp_path / "g.csv")
    per_series = table.groupby("host")[["os", "cores"]].first()
    assert per_series["os"].tolist() == ["mac", "linux", "mac"]
    assert per_series["cores"].tolist() == [4, 2, 2]


@pytest.mark.parametrize(
    "frame, match",
    [
        ({"os": ["mac"]}, "missing ['cores']"),
        ({"os": ["mac"], "cores": [4], "x": [1]}, "unknown ['x']"),
        ({"os": ["vms"], "cores": [4]}, "'vms' is not one of the categories"),
        ({"os": ["mac"], "cores": [8]}, "8 is not one of the categories"),
        ({"os": ["mac", None], "cores": [4, 2]}, "missing values in rows [1]"),
    ],
)
def test_generate_given_bad_attributes(capsys, trained, tmp_path, frame,
                                       match):
    given = tmp_path / "attributes.csv"
    pd.DataFrame(frame).to_csv(given, index=False)
    _assert_user_error(
        capsys, match, "generate", "--model", trained["model"], "--given",
        given, "--out", tmp_path / "g.csv",
    )
    assert not (tmp_path / "g.csv").exists()


def test_generate_given_disagreeing_n(capsys, trained, tmp_path):
    given = tmp_path / "attributes.csv"
    pd.DataFrame({"os": ["mac"], "cores": [2]}).to_csv(given, index=False)
    _assert_user_error(
        capsys, "-n 2 disagrees with the 1 rows", "generate", "--model",
        trained["model"], "--given", given, "-n", 2, "--out",
        tmp_path / "g.csv",
    )


def test_generate_with_fixed_attributes(capsys, trained, tmp_path):
    code, _, err = _run(
        capsys, "generate", "--model", trained["model"], "-n", 8, "--fix",
        "os=bsd", "--out", tmp_path / "g.csv",
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "g.csv")
    assert set(table["os"]) == {"bsd"}
    assert table["host"].nunique() == 8
    _assert_user_error(
        capsys, "'disk' is not an attribute column", "generate", "--model",
        trained["model"], "--fix", "disk=1", "--out", tmp_path / "h.csv",
    )


def test_generate_format_checks(capsys, trained, tmp_path):
    _assert_user_error(
        capsys, "--format csv needs an --out ending in .csv", "generate",
        "--model", trained["model"], "--format", "csv", "--out",
        tmp_path / "g.npz",
    )
    _assert_user_error(
        capsys, "does not exist", "generate", "--model", trained["model"],
        "--out", tmp_path / "missing" / "g.csv",
    )
    (tmp_path / "m.txt").write_text("x")
    _assert_user_error(
        capsys, "must be a .keras file", "generate", "--model",
        tmp_path / "m.txt", "--out", tmp_path / "g.csv",
    )


def test_train_wide_table_with_patterns(capsys, tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "page": [f"p{i}" for i in range(10)],
        "lang": ["en", "de"] * 5,
        **{f"day_{d}": rng.integers(0, 1000, 10) for d in range(6)},
    })
    path = tmp_path / "wide.csv"
    table.to_csv(path, index=False)
    code, _, err = _run(
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
    _assert_user_error(
        capsys, "pattern 'week_*' matches no column", "train", "--table",
        path, "--layout", "wide", "--features", "week_*", "--out",
        tmp_path / "o", *TINY,
    )


def test_train_table_errors(capsys, tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"id": [1, 1], "t": ["a", "b"], "x": [1.0, 2.0]}).to_csv(
        path, index=False
    )
    _assert_user_error(
        capsys, "--example-id is required", "train", "--table", path,
        "--out", tmp_path / "o",
    )
    _assert_user_error(
        capsys, "--time column 't' holds text that is not a date", "train",
        "--table", path, "--example-id", "id", "--time", "t", "--out",
        tmp_path / "o",
    )
    (tmp_path / "t.xlsx").write_text("x")
    _assert_user_error(
        capsys, "must be a .csv", "train", "--table", tmp_path / "t.xlsx",
        "--example-id", "id", "--out", tmp_path / "o",
    )
    _assert_user_error(
        capsys, "--split cannot be used with --table", "train", "--table",
        path, "--split", "test", "--out", tmp_path / "o",
    )


def test_presets_command(capsys):
    code, out, _ = _run(capsys, "presets")
    assert code == 0 and "FCC_MBA" in out and "flights" in out
    code, out, _ = _run(capsys, "presets", "mba")
    assert code == 0
    assert json.loads(out)["training"]["epochs"] == 17000
    _assert_user_error(capsys, "Unknown preset", "presets", "nope")


def test_cpu_threads_flag_is_checked():
    assert cli.main(["demo", "--cpu-threads", "0"]) == 2


def test_demo_quick_with_the_installed_console_script(tmp_path):
    """The main job, through the real `keras-dg` executable."""
    executable = shutil.which("keras-dg")
    if executable is None:
        pytest.skip("the keras-dg console script is not installed")
    out = tmp_path / "demo"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [executable, "demo", "--quick", "--out", str(out), "--verbose", "0",
         "--cpu-threads", "1"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("model.keras", "generated/generated.csv",
                 "generated/data_generated.npz", "report/report.html",
                 "report/metrics.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "generated" / "generated.csv")
    assert {"route", "date", "carrier", "origin", "dest", "flights",
            "dep_delay"} == set(table.columns)
    # Run it again: refused with a one-line error, exit code 2.
    again = subprocess.run(
        [executable, "demo", "--quick", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert again.returncode == 2
    assert "keras-dg: error:" in again.stderr
    assert "previous run" in again.stderr
    assert "Traceback" not in again.stderr


def test_tune_quick_saves_a_reloadable_best_model(capsys, tmp_path):
    import keras

    out = tmp_path / "search"
    code, stdout, err = _run(
        capsys, "tune", "--recipe", "wwt", "--quick", "--num-series", "48",
        "--max-trials", "2", "--out", str(out), "--verbose", "0",
    )
    assert code == 0, err
    summary = json.loads(stdout[stdout.index("{"):])
    assert summary["best"]["status"] == "COMPLETED"
    assert summary["best"]["fidelity"] >= 0
    model = keras.saving.load_model(summary["best_model"])
    assert model.generate(2, seed=0).features.shape[0] == 2


def test_tune_needs_held_out_data(capsys, tmp_path):
    folder = tmp_path / "dg"
    save_dg(tiny_dataset(n=8), str(folder))
    code, _, err = _run(
        capsys, "tune", "--data-dir", str(folder), "--sample_len", "2",
        "--out", str(tmp_path / "s"),
    )
    assert code == 2
    assert "held-out" in err
