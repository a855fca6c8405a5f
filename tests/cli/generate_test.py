import numpy as np
import pandas as pd
import pytest

from keras_dg import cli
from keras_dg.data import load_dg
from tests.cli.harness import TINY
from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained by `keras-dg train` on a long CSV table, shared
    by the tests of this module."""
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


def test_generate_csv_in_real_units(capsys, trained, tmp_path):
    code, stdout, err = run_cli(
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
    code, _, _ = run_cli(
        capsys, "generate", "--model", trained["model"], "-n", 6, "--seed",
        3, "--out", tmp_path / "again.csv",
    )
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again.csv"), table)


def test_generate_a_folder_and_an_npz_file(capsys, trained, tmp_path):
    code, stdout, err = run_cli(
        capsys, "generate", "--model", trained["model"], "-n", 5,
        "--out", tmp_path / "gen",
    )
    assert code == 0, err
    assert str(tmp_path / "gen" / "data_generated.npz") in stdout
    assert len(load_dg(tmp_path / "gen", "generated")) == 5
    code, _, err = run_cli(
        capsys, "generate", "--model", trained["model"], "-n", 4,
        "--out", tmp_path / "gen.npz",
    )
    assert code == 0, err
    with np.load(tmp_path / "gen.npz") as npz:
        assert sorted(npz.files) == [
            "data_attribute", "data_feature", "data_gen_flag"
        ]
        assert npz["data_feature"].shape[0] == 4
        first = npz["data_feature"]
    # Outputs are not overwritten unless asked; the same seed, same data.
    assert_user_error(
        capsys, "pass --overwrite", "generate", "--model", trained["model"],
        "--out", tmp_path / "gen.npz",
    )
    assert_user_error(
        capsys, "pass --overwrite", "generate", "--model", trained["model"],
        "--out", tmp_path / "gen",
    )
    code, _, _ = run_cli(
        capsys, "generate", "--model", trained["model"], "-n", 4,
        "--out", tmp_path / "gen.npz", "--overwrite",
    )
    assert code == 0
    with np.load(tmp_path / "gen.npz") as npz:
        np.testing.assert_array_equal(npz["data_feature"], first)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] \
        == []


def test_generate_given_attributes(capsys, trained, tmp_path):
    given = tmp_path / "attributes.csv"
    pd.DataFrame({
        "os": ["mac", "linux", "mac"], "cores": [4, 2, 2],
    }).to_csv(given, index=False)
    code, stdout, err = run_cli(
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
        ({"os": ["mac"]}, "--given must have exactly the attribute columns"),
        ({"os": ["mac"], "cores": [4], "x": [1]}, "unknown ['x']"),
        ({"os": ["vms"], "cores": [4]}, "'vms' is not one of the categories"),
        ({"os": ["mac"], "cores": [8]}, "8 is not one of the categories"),
        ({"os": ["mac", None], "cores": [4, 2]},
         "--given has missing values in rows [1]"),
    ],
)
def test_generate_given_bad_attributes(capsys, trained, tmp_path, frame,
                                       match):
    given = tmp_path / "attributes.csv"
    pd.DataFrame(frame).to_csv(given, index=False)
    assert_user_error(
        capsys, match, "generate", "--model", trained["model"], "--given",
        given, "--out", tmp_path / "g.csv",
    )
    assert not (tmp_path / "g.csv").exists()


def test_generate_given_disagreeing_n(capsys, trained, tmp_path):
    given = tmp_path / "attributes.csv"
    pd.DataFrame({"os": ["mac"], "cores": [2]}).to_csv(given, index=False)
    assert_user_error(
        capsys, "-n 2 disagrees with the 1 rows", "generate", "--model",
        trained["model"], "--given", given, "-n", 2, "--out",
        tmp_path / "g.csv",
    )
    assert_user_error(
        capsys, "Pass --given (all attributes per series) or --fix",
        "generate", "--model", trained["model"], "--given", given, "--fix",
        "os=mac", "--out", tmp_path / "g.csv",
    )


def test_generate_with_fixed_attributes(capsys, trained, tmp_path):
    code, _, err = run_cli(
        capsys, "generate", "--model", trained["model"], "-n", 8, "--fix",
        "os=bsd", "--out", tmp_path / "g.csv",
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "g.csv")
    assert set(table["os"]) == {"bsd"}
    assert table["host"].nunique() == 8
    assert_user_error(
        capsys, "--fix disk=...: 'disk' is not an attribute column",
        "generate", "--model", trained["model"], "--fix", "disk=1", "--out",
        tmp_path / "h.csv",
    )


def test_generate_format_checks(capsys, trained, tmp_path):
    assert_user_error(
        capsys, "--format csv needs an --out ending in .csv", "generate",
        "--model", trained["model"], "--format", "csv", "--out",
        tmp_path / "g.npz",
    )
    assert_user_error(
        capsys, "--format npz writes a .npz file or a folder", "generate",
        "--model", trained["model"], "--format", "npz", "--out",
        tmp_path / "g.csv",
    )
    assert_user_error(
        capsys, "does not exist", "generate", "--model", trained["model"],
        "--out", tmp_path / "missing" / "g.csv",
    )
    (tmp_path / "m.txt").write_text("x")
    assert_user_error(
        capsys, "--model '", "generate", "--model",
        tmp_path / "m.txt", "--out", tmp_path / "g.csv",
    )
