"""The --table flags of issue 14: column lists with commas and repeated
flags, --outliers, --non-numeric, --max-categories."""

import argparse

import pytest

from keras_dg.cli import flags


def parse(*argv):
    parser = argparse.ArgumentParser()
    flags.add_data_flags(parser)
    return parser.parse_args(["--table", "t.csv", *argv])


def test_column_lists_take_json_and_repeat():
    args = parse("--features", '["load, kW", "temp"]', "--features", "rpm",
                 "--attributes", "site", "--attributes", "a,b")
    assert args.features == ["load, kW", "temp", "rpm"]
    assert args.attributes == ["site", "a", "b"]
    assert parse().attributes == [] and parse().features is None
    assert flags.names('["x,y"]') == ["x,y"]
    for bad in ('["a", 3]', '["a", ""]', "[a, b"):
        with pytest.raises(argparse.ArgumentTypeError, match="JSON list"):
            flags.names(bad)


def test_data_check_flags():
    args = parse()
    assert (args.outliers, args.non_numeric, args.max_categories) == (
        "error", "raise", 100)
    args = parse("--outliers", "clip", "--non-numeric", "missing",
                 "--max-categories", "none")
    assert (args.outliers, args.non_numeric, args.max_categories) == (
        "clip", "missing", None)
    assert parse("--max-categories", "7").max_categories == 7
    with pytest.raises(SystemExit):
        parse("--outliers", "drop")
    with pytest.raises(SystemExit):
        parse("--max-categories", "0")


def test_data_check_flags_are_for_tables_only():
    parser = argparse.ArgumentParser()
    flags.add_data_flags(parser)
    args = parser.parse_args(["--data-dir", "d", "--outliers", "keep"])
    with pytest.raises(ValueError, match="--outliers cannot be used with "
                       "--data-dir"):
        flags.check_source_flags(args)
