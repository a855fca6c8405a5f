import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from keras_dg.data import from_dataframe
from keras_dg.evaluation import format_summary
from keras_dg.evaluation import plots
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


def _table(n, seed):
    """A long table: two measurements in real units and a labelled kind."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        kind = ["north", "south", "east"][i % 3]
        for t in range(10):
            rows.append({
                "id": i, "t": t, "kind": kind,
                "load_kw": 100.0 + 50.0 * rng.random() + 10 * (i % 3),
                "temp_c": -5.0 + 30.0 * rng.random(),
            })
    return pd.DataFrame(rows)


def _encoded(seed=0):
    table = _table(36, seed)
    dataset, transformer = from_dataframe(
        table, "id", "t", features=["load_kw", "temp_c"],
        attributes=["kind"],
    )
    return table, dataset, transformer


def test_floor_in_the_summary_table(tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "_save", lambda figure, path: path)
    train = random_dataset(n=30, categories=(3, 2))
    real = random_dataset(n=20, seed=1, categories=(3, 2))
    synthetic = random_dataset(n=25, seed=2, shift=0.1, categories=(3, 2))
    result = write_report(real, synthetic, tmp_path, train=train,
                          metrics=["acf_mse", "midpoint_w1", "lengths"])
    markdown = (tmp_path / "report.md").read_text()
    assert "| metric | synthetic | floor (real vs real) | x floor |" in (
        markdown
    )
    floor = result["floor"]
    acf, midpoint = result["summary"]["acf_mse"], floor["midpoint_w1"]
    ratio = acf / floor["acf_mse"]
    assert f"| acf_mse | {acf:.4g} | {floor['acf_mse']:.4g} | {ratio:.3g}x |" \
        in markdown
    assert f"| midpoint_w1 | {result['summary']['midpoint_w1']:.4g} | " \
        f"{midpoint:.4g} |" in markdown
    # Equal lengths everywhere: 0 over a floor of 0 is "as good as real".
    assert "| length_w1 | 0 | 0 | 1x |" in markdown
    assert "with 25 real training series" in markdown
    write_report(real, synthetic, tmp_path / "no_floor", train=train,
                 metrics=["acf_mse"], floor=False)
    assert "floor" not in (tmp_path / "no_floor" / "report.md").read_text()


def test_transformer_names_labels_and_units(tmp_path, monkeypatch):
    table, real, transformer = _encoded(seed=0)
    synthetic = transformer.transform(_table(36, seed=1), clip=True)
    figures = {}

    def keep(figure, path):
        figures[os.path.basename(path)] = figure
        return path

    monkeypatch.setattr(plots, "_save", keep)
    result = write_report(real, synthetic, tmp_path, train=real,
                          transformer=transformer, sample_len=2,
                          n_sample_rows=2)
    markdown = (tmp_path / "report.md").read_text()
    assert not re.search(r"(feature|attribute)_\d", markdown)
    for text in ("| load_kw |", "| temp_c |", "| kind |",
                 "load_kw ~ temp_c", "classify kind", "Block artifacts"):
        assert text in markdown, text
    assert result["block_artifact"]["lags"] == [2, 4, 6]
    # The metrics keep their encoded names.
    assert set(result["autocorrelation"]["per_feature"]) == {
        "feature_0", "feature_1",
    }
    # The category axis shows the labels.
    axis = figures["attributes.png"].axes[0]
    assert [t.get_text() for t in axis.get_xticklabels()] == [
        "east", "north", "south",
    ]
    assert axis.get_title() == "kind (3 categories)"
    # Sample series: one row per feature, in the table's units.
    axes = figures["samples.png"].axes
    assert len(axes) == 2 * 2 * 2  # 2 series x 2 features, real | synthetic
    title = axes[0].get_title()
    assert title.startswith("load_kw, real #")
    i = int(title.split("#")[1].split()[0])
    np.testing.assert_allclose(
        axes[0].lines[0].get_ydata(),
        table.loc[table["id"] == i, "load_kw"].to_numpy(), rtol=1e-5,
    )
    assert axes[2].get_title().startswith(f"temp_c, real #{i}")
    assert "in the table's units" in figures["samples.png"].get_suptitle()


def test_without_transformer_the_plots_stay_encoded(tmp_path, monkeypatch):
    _, real, _ = _encoded(seed=0)
    figures = {}
    monkeypatch.setattr(
        plots, "_save",
        lambda figure, path: figures.setdefault(os.path.basename(path),
                                                figure),
    )
    write_report(real, real, tmp_path, metrics=["acf_mse"], n_sample_rows=2)
    axes = figures["samples.png"].axes
    assert len(axes) == 4  # Both features in one panel per series.
    assert {line.get_label() for line in axes[0].lines} == {
        "feature_0", "feature_1",
    }
    assert max(np.max(line.get_ydata()) for line in axes[0].lines) <= 1.0
    assert "| feature_0 |" in (tmp_path / "report.md").read_text()


def test_transformer_must_match(tmp_path):
    _, real, transformer = _encoded()
    other = random_dataset(n=8, f=1)
    with pytest.raises(ValueError, match="`transformer` does not match"):
        write_report(other, other, tmp_path / "x", transformer=transformer)
    with pytest.raises(ValueError, match="`transformer` must be a"):
        write_report(real, real, tmp_path / "x", transformer="tt")
    assert not (tmp_path / "x").exists()


def test_format_summary():
    lines = format_summary(
        {"acf_mse": 0.03, "tstr_accuracy": 0.6, "block_artifact_score": 0.05,
         "length_w1": None},
        floor={"acf_mse": 0.01, "tstr_accuracy": 0.8,
               "block_artifact_score": -0.01, "length_w1": 0.0},
    )
    assert lines[0].split() == ["metric", "synthetic", "floor", "xfloor"]
    assert [line.split() for line in lines[1:]] == [
        ["acf_mse", "0.03", "0.01", "3x"],
        ["tstr_accuracy", "0.6", "0.8", "0.75x"],
        ["block_artifact_score", "0.05", "-0.01", "n/a"],  # signed
        ["length_w1", "n/a", "0", "n/a"],
    ]
    assert len({len(line) for line in lines}) == 1  # aligned
    # No floor: the name and the value; a metric missing from the floor.
    assert [line.split() for line in format_summary({"acf_mse": 0.5})] == [
        ["metric", "synthetic"], ["acf_mse", "0.5"],
    ]
    assert format_summary({"acf_mse": 0.5}, floor={})[1].split() == [
        "acf_mse", "0.5", "n/a", "n/a",
    ]
    for bad in (None, [0.1], {"acf_mse": "0.1"}):
        with pytest.raises(ValueError, match="`summary` must be a dict"):
            format_summary(bad)
    with pytest.raises(ValueError, match="`floor` must be a dict"):
        format_summary({"acf_mse": 0.5}, floor=[1])
