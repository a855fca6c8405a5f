"""`keras_dg.cli.main`: the parser, exit codes and one-line errors."""

import runpy
import sys

import pytest

from keras_dg import cli
from tests.cli.harness import TINY
from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli


def test_help_explains_every_flag(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for name in cli.COMMANDS:
        assert name in out
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0
    for name in list(cli.HYPERPARAMETERS) + list(cli.TRAINING_FLAGS):
        assert f"--{name}" in out, name
    for flag in ("--data-dir", "--table", "--recipe", "--example-id",
                 "--time", "--features", "--attributes", "--layout",
                 "--quick", "--overwrite", "--resume", "--set"):
        assert flag in out, flag
    for command in ("generate", "evaluate", "demo", "presets", "tune"):
        code, out, _ = run_cli(capsys, command, "--help")
        assert code == 0 and "usage: keras-dg " + command in out


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
        (["train", "--recipe", "wwt", "--out", "x", "--test-fraction", "1"],
         "expected a number in [0, 1)"),
        (["generate", "--model", "m.keras", "-n", "-3", "--out", "x"],
         "expected a positive integer"),
        (["generate", "--out", "x"], "--model"),
        (["evaluate", "--real", "r", "--out", "x"], "--synthetic"),
        (["evaluate", "--real", "r", "--synthetic", "s", "--out", "x",
          "--seed", "-1"], "expected an integer >= 0"),
        (["demo", "--epochs", "many"], "expected a positive integer"),
        (["tune", "--recipe", "wwt"], "--out"),
        (["tune", "--recipe", "wwt", "--out", "x", "--tuner", "grid"],
         "invalid choice: 'grid'"),
    ],
)
def test_bad_flags_exit_2_with_the_message(capsys, argv, match):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert match in err


def test_user_errors_are_one_line_without_traceback(capsys, tmp_path):
    err = assert_user_error(
        capsys, "keras-dg: error: `folder`", "train", "--data-dir",
        tmp_path / "missing", "--out", tmp_path / "o",
    )
    assert len(err.strip().splitlines()) == 1
    assert_user_error(
        capsys, "needs the FCC_MBA folder", "train", "--recipe", "mba",
        "--out", tmp_path / "o",
    )
    assert_user_error(
        capsys, "--time cannot be used with --recipe", "train", "--recipe",
        "flights", "--time", "t", "--out", tmp_path / "o",
    )
    assert_user_error(
        capsys, "unknown argument 'units'", "train", "--recipe", "wwt",
        "--set", "units=3", "--out", tmp_path / "o", *TINY,
    )
    assert_user_error(
        capsys, "does not exist", "generate", "--model",
        tmp_path / "m.keras", "--out", tmp_path / "g.csv",
    )
    assert_user_error(
        capsys, "does not exist", "evaluate", "--real", tmp_path / "r",
        "--synthetic", tmp_path / "s", "--out", tmp_path / "e",
    )
    assert not (tmp_path / "o").exists()


def test_python_dash_m_runs_the_command(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["keras-dg", "presets"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("keras_dg.cli", run_name="__main__")
    assert exited.value.code == 0
    assert "FCC_MBA" in capsys.readouterr().out
