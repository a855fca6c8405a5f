"""Tests of benchmarks/common.py (plain numpy helpers shared by both benchmark sides)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "benchmarks")
FCC_MBA = os.path.join(ROOT, "..", "shared", "data", "FCC_MBA")
PEER_PYTHON = os.path.join(BENCH, ".peer-venv", "bin", "python")


def _load_common():
    spec = importlib.util.spec_from_file_location(
        "benchmarks_common", os.path.join(BENCH, "common.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _load_common()
needs_fcc = pytest.mark.skipif(
    not os.path.isdir(FCC_MBA), reason="../shared/data/FCC_MBA is not on this machine"
)
needs_peer = pytest.mark.skipif(
    not os.path.exists(PEER_PYTHON),
    reason="peer venv missing: run `bash benchmarks/setup_peer.sh`",
)


def _blocks_are_one_hot(attributes, dims):
    bounds = np.cumsum([0] + list(dims))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        block = attributes[:, lo:hi]
        assert set(np.unique(block)) <= {0.0, 1.0}
        np.testing.assert_array_equal(block.sum(axis=1), 1.0)


class TestPageviewStandin:
    def test_schema_and_range(self):
        data = common.pageview_standin(50, seed=0)
        assert data["features"].shape == (50, 550, 1)
        assert data["features"].dtype == np.float32
        assert data["attributes"].shape == (50, 14)
        assert data["gen_flag"].shape == (50, 550)
        assert np.all(data["gen_flag"] == 1.0)
        assert data["features"].min() >= -1.0 and data["features"].max() <= 1.0
        _blocks_are_one_hot(data["attributes"], [9, 3, 2])
        assert data["max_sequence_len"] == 550 and data["sample_len"] == 10
        assert data["feature_normalizations"] == ["MINUSONE_ONE"]

    def test_deterministic_and_seeded(self):
        a = common.pageview_standin(30, seed=1)
        b = common.pageview_standin(30, seed=1)
        c = common.pageview_standin(30, seed=2)
        assert common.data_digest(a) == common.data_digest(b)
        np.testing.assert_array_equal(a["features"], b["features"])
        assert common.data_digest(a) != common.data_digest(c)

    def test_series_have_structure(self):
        # Not white noise: neighbouring days are strongly correlated, and the level
        # depends on the agent attribute (spiders are lower).
        data = common.pageview_standin(400, seed=0)
        x = data["features"][:, :, 0]
        lag1 = np.mean(
            [np.corrcoef(row[:-1], row[1:])[0, 1] for row in x[:50]]
        )
        assert lag1 > 0.5
        spider = data["attributes"][:, 13] == 1.0
        assert x[spider].mean() < x[~spider].mean()

    @pytest.mark.parametrize("n", [1, 0, 2.5, True])
    def test_bad_n(self, n):
        with pytest.raises(ValueError, match="`n`"):
            common.pageview_standin(n)

    @needs_peer
    def test_identical_under_the_peer_numpy(self):
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import common, numpy; "
            "print(numpy.__version__, common.data_digest(common.pageview_standin(64, seed=3)))"
        )
        out = subprocess.run(
            [PEER_PYTHON, "-c", code, BENCH], capture_output=True, text=True, check=True
        ).stdout.split()
        assert out[0].startswith("1.")  # the peer's numpy (< 1.24), not the project's
        assert out[1] == common.data_digest(common.pageview_standin(64, seed=3))


class TestFccMba:
    @needs_fcc
    def test_train_and_test_splits(self):
        train = common.load_fcc_mba(FCC_MBA)
        test = common.load_fcc_mba(FCC_MBA, split="test")
        assert train["features"].shape == (600, 56, 2)
        assert test["features"].shape == (139, 56, 2)
        assert train["attributes"].shape == (600, 73)
        assert train["gen_flag"].dtype == np.float32
        assert train["feature_min"].shape == (2,)
        _blocks_are_one_hot(train["attributes"], [15, 5, 53])

    @needs_fcc
    def test_n_repeats_rows_in_order(self):
        data = common.load_fcc_mba(FCC_MBA, n=1300)
        assert data["features"].shape == (1300, 56, 2)
        np.testing.assert_array_equal(data["features"][600], data["features"][0])
        np.testing.assert_array_equal(data["attributes"][1299], data["attributes"][99])
        small = common.load_fcc_mba(FCC_MBA, n=10)
        np.testing.assert_array_equal(small["features"], data["features"][:10])

    def test_missing_folder(self, tmp_path):
        with pytest.raises(ValueError, match="no FCC_MBA file"):
            common.load_fcc_mba(str(tmp_path / "nowhere"))

    def test_bad_split(self):
        with pytest.raises(ValueError, match="`split`"):
            common.load_fcc_mba("x", split="valid")

    def test_rejects_attributes_that_are_not_one_hot(self, tmp_path):
        features = np.zeros((3, 56, 2), np.float32)
        attributes = np.zeros((3, 73), np.float32)
        attributes[:, [0, 15, 20]] = 1.0
        attributes[2, 16] = 1.0  # row 2 has two technologies
        np.savez(
            tmp_path / "data_train.npz",
            data_feature=features,
            data_attribute=attributes,
            data_gen_flag=np.ones((3, 56)),
        )
        with pytest.raises(ValueError, match="block 1 .* row 2 is not one-hot"):
            common.load_fcc_mba(str(tmp_path))


class TestArrays:
    def test_save_and_load_round_trip(self, tmp_path):
        data = common.pageview_standin(6, seed=0)
        path = str(tmp_path / "sub" / "pv.npz")
        common.save_arrays(path, data["features"], data["attributes"], data["gen_flag"])
        loaded = common.load_shape_data("pageview", data=path)
        assert common.data_digest(loaded) == common.data_digest(data)
        assert loaded["sample_len"] == 10
        assert common.load_shape_data("pageview", n=9, data=path)["features"].shape[0] == 9

    def test_save_checks_shapes(self, tmp_path):
        with pytest.raises(ValueError, match="`gen_flag`"):
            common.save_arrays(
                str(tmp_path / "x.npz"), np.zeros((2, 5, 1)), np.zeros((2, 3)), np.ones((2, 4))
            )

    def test_codes_round_trip(self):
        codes = np.array([[0, 2, 1], [8, 0, 0]])
        one_hot = common.codes_to_one_hot(codes, [9, 3, 2])
        assert one_hot.shape == (2, 14)
        np.testing.assert_array_equal(np.flatnonzero(one_hot[0]), [0, 11, 13])
        np.testing.assert_array_equal(common.attribute_codes(one_hot, [9, 3, 2]), codes)

    def test_bad_code(self):
        with pytest.raises(ValueError, match="row 1 of attribute 1 holds 3"):
            common.codes_to_one_hot(np.array([[0, 0], [1, 3]]), [2, 3])

    def test_load_shape_data_needs_inputs(self):
        with pytest.raises(ValueError, match="`data` is required"):
            common.load_shape_data("mba", n=10)
        with pytest.raises(ValueError, match="`n` is required"):
            common.load_shape_data("pageview")
        with pytest.raises(ValueError, match="`shape`"):
            common.load_shape_data("gcut", n=10)


class TestSummaries:
    def test_summarize(self):
        s = common.summarize([100.0, 90.0, 120.0, 110.0])
        assert s["median"] == 105.0
        assert (s["min"], s["max"], s["n"]) == (90.0, 120.0, 4)
        assert s["spread"] == pytest.approx(15.0 / 105.0)
        assert common.summarize([7])["spread"] == 0.0

    @pytest.mark.parametrize("values", [[], [1.0, float("nan")], [1.0, None]])
    def test_summarize_rejects(self, values):
        with pytest.raises(ValueError, match="`values`"):
            common.summarize(values)

    def test_format_summary(self):
        assert common.format_summary(common.summarize([3600, 3700, 3800])) == "3,700 ±3% (n=3)"
        assert common.format_summary(common.summarize([1.5]), digits=2) == "1.50 (n=1)"

    def test_markdown(self):
        assert common.markdown_row(["a|b", 3712.4, 0.0123, None]) == "| a\\|b | 3,712 | 0.0123 | – |"
        table = common.markdown_table(["x", "y"], [[1, 2]])
        assert table.splitlines() == ["| x | y |", "|---|---|", "| 1 | 2 |"]
        with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
            common.markdown_table(["x", "y"], [[1]])

    def test_machine_info(self):
        info = common.machine_info({"torch": "2.13.0"})
        assert info["cores"] >= 1 and info["cpu"]
        line = common.machine_line(info)
        assert line.startswith("**Machine:**") and "torch 2.13.0" in line
        assert common.package_versions(["numpy", "no-such-package-xyz"]) == {
            "numpy": np.__version__,
            "no-such-package-xyz": None,
        }


class TestMeasuring:
    def test_meter_counts_cpu(self):
        with common.Meter() as m:
            total = 0
            for i in range(2_000_000):
                total += i
        assert m.wall_seconds > 0
        assert m.cpu_seconds > 0
        assert 0 < m.cpu_fraction <= 1.5

    def test_run_json_reads_child_memory(self):
        code = (
            "import json, numpy as np; print('noise line'); "
            "a = np.ones(40 * 2**20); print(json.dumps({'ok': float(a.sum())}))"
        )
        result = common.run_json([sys.executable, "-c", code])
        assert result["record"] == {"ok": float(40 * 2**20)}
        assert result["child_peak_rss_mib"] > 300  # 320 MiB array
        assert result["child_cpu_s"] > 0 and result["wall_s"] > 0

    def test_run_json_failures(self):
        with pytest.raises(RuntimeError, match="exited with 3"):
            common.run_json([sys.executable, "-c", "import sys; sys.exit(3)"])
        with pytest.raises(RuntimeError, match="no JSON object line"):
            common.run_json([sys.executable, "-c", "print('hello')"])
        with pytest.raises(RuntimeError, match="ran past"):
            common.run_json([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)

    def test_parse_json_line_takes_the_last_object(self):
        text = 'x\n{"a": 1}\n{broken\n{"b": 2}\ntrailing'
        assert common.parse_json_line(text) == {"b": 2}

    def test_thread_env(self):
        env = common.thread_env(1, base={})
        assert env["OMP_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1"
        with pytest.raises(ValueError, match="`threads`"):
            common.thread_env(0)

    def test_emit_json_is_one_line(self, capsys):
        common.emit_json({"x": np.float32(1.5), "y": np.arange(2)})
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and json.loads(out) == {"x": 1.5, "y": [0, 1]}
