import argparse

import pytest

from keras_dg import presets
from keras_dg.cli import flags
from keras_dg.models.config import DEFAULTS
from keras_dg.pipeline import model_arguments


@pytest.mark.parametrize(
    "parse, text, expected",
    [
        (flags.positive_int, "3", 3),
        (flags.non_negative_int, "0", 0),
        (flags.fraction, "0.25", 0.25),
        (flags.boolean, "Yes", True),
        (flags.boolean, "off", False),
        (flags.interpolation, "smooth", "smooth"),
        (flags.interpolation, "False", False),
        (flags.interpolation, "true", True),
        (flags.names, "a, b", ["a", "b"]),
        (flags.assignment, "x=1.5", ("x", 1.5)),
        (flags.assignment, "x=abc", ("x", "abc")),
        (flags.assignment, "x=[1, 2]", ("x", [1, 2])),
    ],
)
def test_flag_types_parse(parse, text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    "parse, text, match",
    [
        (flags.positive_int, "0", "expected a positive integer, got '0'"),
        (flags.positive_int, "1.5", "expected a positive integer"),
        (flags.non_negative_int, "-1", "expected an integer >= 0"),
        (flags.fraction, "1", r"expected a number in \[0, 1\)"),
        (flags.fraction, "nan", r"expected a number in \[0, 1\)"),
        (flags.boolean, "maybe", "expected true or false"),
        (flags.interpolation, "cubic",
         "expected false, linear, smooth, auto or true"),
        (flags.names, "a,,b", "without empty entries"),
        (flags.assignment, "=1", "expected NAME=VALUE"),
    ],
)
def test_flag_types_refuse(parse, text, match):
    with pytest.raises(argparse.ArgumentTypeError, match=match):
        parse(text)


def test_hyperparameter_flags_are_model_arguments():
    assert set(flags.HYPERPARAMETERS) <= set(model_arguments())
    # --budget (train only) sets `time_budget`.
    assert set(flags.TRAINING_FLAGS) | {"time_budget"} == set(
        presets.TRAINING_KEYS
    )


def test_hyperparameter_types_and_help_come_from_the_model_defaults():
    assert flags.HYPERPARAMETERS["aux_disc"][0] is flags.boolean
    assert flags.HYPERPARAMETERS["g_lr"][0] is float
    assert flags.HYPERPARAMETERS["d_rounds"][0] is int
    assert flags.HYPERPARAMETERS["initial_state"][0] is str
    parser = argparse.ArgumentParser()
    flags.add_hyperparameter_flags(parser)
    text = " ".join(parser.format_help().split())
    assert f"critic rounds per batch (paper: {DEFAULTS['d_rounds']})" in text
    # Dataset-specific ones have no paper-wide value.
    assert "auxiliary attribute critic (true/false) (paper" not in text


def test_model_kwargs_refuses_a_set_that_repeats_a_flag():
    parser = argparse.ArgumentParser()
    flags.add_hyperparameter_flags(parser)
    args = parser.parse_args(["--d-rounds", "2", "--set", "seed=3"])
    assert flags.model_kwargs(args) == {"d_rounds": 2, "seed": 3}
    args = parser.parse_args(["--d_rounds", "2", "--set", "d_rounds=3"])
    with pytest.raises(ValueError, match="repeats the flag --d_rounds"):
        flags.model_kwargs(args)


def test_source_flags_of_another_source_are_refused():
    parser = argparse.ArgumentParser()
    flags.add_data_flags(parser)
    args = parser.parse_args(["--table", "t.csv", "--split", "test"])
    with pytest.raises(ValueError, match="--split cannot be used with"):
        flags.check_source_flags(args)
    args = parser.parse_args(["--data-dir", "d", "--layout", "wide"])
    with pytest.raises(ValueError, match="--layout cannot be used with"):
        flags.check_source_flags(args)


def test_duration_and_optional_fraction_flags():
    assert flags.duration("10m") == 600.0
    assert flags.duration("90") == 90.0
    with pytest.raises(argparse.ArgumentTypeError, match="10m"):
        flags.duration("ten")
    assert flags.optional_fraction("none") is None
    assert flags.optional_fraction("0.99") == 0.99
    with pytest.raises(argparse.ArgumentTypeError, match=r"\[0, 1\)"):
        flags.optional_fraction("1.5")
    assert flags.HYPERPARAMETERS["ema_decay"][0] is flags.optional_fraction


def test_budget_flag_only_where_asked():
    parser = argparse.ArgumentParser()
    flags.add_hyperparameter_flags(parser, budget=True)
    args = parser.parse_args(["--budget", "1h", "--epochs", "3"])
    assert flags.training_options(args) == {"epochs": 3, "time_budget": 3600}
    parser = argparse.ArgumentParser()
    flags.add_hyperparameter_flags(parser)
    assert "time_budget" not in flags.training_options(parser.parse_args([]))


@pytest.mark.parametrize("isatty, expected", [(True, 1), (False, 2)])
def test_verbose_defaults_to_one_line_per_epoch_off_a_terminal(
    monkeypatch, isatty, expected
):
    monkeypatch.setattr("sys.stdout.isatty", lambda: isatty)
    parser = argparse.ArgumentParser()
    flags.add_verbose_flag(parser)
    assert parser.parse_args([]).verbose == expected
    assert parser.parse_args(["--verbose", "1"]).verbose == 1
