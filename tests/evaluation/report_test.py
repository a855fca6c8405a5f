import json
import os
import re

import numpy as np
import pytest

from keras_dg.evaluation import write_report
from tests.evaluation.helpers import random_dataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_writes_metrics_plots_and_pages(tmp_path):
    train = random_dataset(n=30, categories=(3, 2))
    real = random_dataset(n=20, seed=1, categories=(3, 2))
    synthetic = random_dataset(n=25, seed=2, shift=0.1, categories=(3, 2))
    out = tmp_path / "report"
    result = write_report(real, synthetic, out, train=train, n_sample_rows=3)
    with open(out / "metrics.json") as f:
        assert json.load(f) == result
    pngs = {
        "samples.png", "acf.png", "attributes.png", "lengths.png",
        "midpoints.png", "closest_pairs.png",
    }
    assert pngs | {"metrics.json", "report.md", "report.html"} == set(
        os.listdir(out)
    )
    for name in pngs:
        with open(out / name, "rb") as f:
            assert f.read(8) == PNG_SIGNATURE, name
    markdown = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    # Every plot is shown, by relative path, on both pages.
    assert set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)) == pngs
    assert set(re.findall(r'<img src="([^"]+)"', html)) == pngs
    # The summary table shows the computed numbers.
    acf = result["summary"]["acf_mse"]
    assert f"| acf_mse | {acf:.4g} |" in markdown
    assert f"<td>{acf:.4g}</td>" in html
    assert "Membership inference" in markdown


def test_without_train_and_with_selected_metrics(tmp_path):
    real, synthetic = random_dataset(n=10), random_dataset(n=10, seed=1)
    result = write_report(real, synthetic, tmp_path, metrics=["acf_mse"])
    assert set(result["summary"]) == {"acf_mse"}
    assert not (tmp_path / "closest_pairs.png").exists()
    markdown = (tmp_path / "report.md").read_text()
    assert "Memorization" not in markdown
    assert "(acf.png)" in markdown


def test_bad_arguments(tmp_path):
    ds = random_dataset(n=8)
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ValueError, match="is a file"):
        write_report(ds, ds, a_file)
    with pytest.raises(ValueError, match="out_dir"):
        write_report(ds, ds, 3)
    with pytest.raises(ValueError, match="n_sample_rows"):
        write_report(ds, ds, tmp_path, n_sample_rows=0)
    with pytest.raises(ValueError, match="Unknown metric"):
        write_report(ds, ds, tmp_path / "x", metrics=["nope"])
    # Nothing is written when the arguments are bad.
    assert not (tmp_path / "x").exists()
    assert np.array_equal(sorted(os.listdir(tmp_path)), ["file"])
