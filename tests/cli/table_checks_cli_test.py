"""`keras-dg train --table` on the tables of issue 14: a word in a numeric
column, an outlier, a gap in the time grid, no attributes, a name with a
comma."""

import numpy as np
import pandas as pd

from tests.cli.harness import TINY
from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli


def _table(path, **changes):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "sensor": np.repeat(np.arange(6), 4),
        "minute": np.tile(np.arange(4), 6),
        "load, kW": rng.normal(5.0, 1.0, 24).round(3),
        "site": "lab",
    })
    for column, (row, value) in changes.items():
        table[column] = table[column].astype(object)
        table.loc[row, column] = value
    table.to_csv(path, index=False)
    return path


def test_table_without_attributes_trains_and_shows_its_columns(
    capsys, tmp_path
):
    path = _table(tmp_path / "t.csv")
    code, out, err = run_cli(
        capsys, "train", "--table", path, "--example-id", "sensor",
        "--time", "minute", "--features", '["load, kW"]', "--attributes",
        "site", "--out", tmp_path / "run", *TINY[:5], "--verbose", "2",
        "--no-report",
    )
    assert code == 0, err
    assert "  'minute': time, regular grid from 0, step 1" in out
    assert "  'site': attribute, constant 'lab'" in out
    assert "  'load, kW': feature, continuous float64" in out
    generated = pd.read_csv(tmp_path / "run" / "generated" / "generated.csv")
    assert list(generated.columns) == ["sensor", "minute", "load, kW", "site"]
    assert (generated["site"] == "lab").all()


def test_bad_cells_are_named_before_any_work(capsys, tmp_path):
    argv = ["--example-id", "sensor", "--time", "minute", "--features",
            '["load, kW"]', "--out", tmp_path / "o", *TINY]
    path = _table(tmp_path / "word.csv", **{"load, kW": (9, "hello")})
    assert_user_error(
        capsys, "Column 'load, kW' holds numbers (23 of 24 values) but also "
        "1 non-numeric value(s) ['hello'] in rows [9]", "train", "--table",
        path, *argv,
    )
    assert_user_error(
        capsys, "'load, kW' (feature) has 1 missing values", "train",
        "--table", path, "--non-numeric", "missing", *argv,
    )
    path = _table(tmp_path / "far.csv", **{"load, kW": (3, 1e300)})
    assert_user_error(
        capsys, "Feature column 'load, kW' holds 1 value(s) [1e+300] in rows "
        "[3] far outside the bulk", "train", "--table", path, *argv,
    )
    path = _table(tmp_path / "huge.csv", **{"load, kW": (3, 1.7e308)})
    table = pd.read_csv(path)
    table.loc[4, "load, kW"] = -1.7e308
    table.to_csv(path, index=False)
    assert_user_error(
        capsys, "overflows float64", "train", "--table", path, "--outliers",
        "keep", *argv,
    )
    path = _table(tmp_path / "gap.csv")
    table = pd.read_csv(path)
    table[table["minute"] != 2].to_csv(path, index=False)
    assert_user_error(
        capsys, "missing steps", "train", "--table", path, *argv,
    )
    assert not (tmp_path / "o").exists()
