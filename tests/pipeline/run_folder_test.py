import json
import os

import pytest

from keras_dg import pipeline
from tests.harness import tiny_dataset
from tests.pipeline.tiny_run import TINY_RUN


def test_previous_run_is_refused_then_overwritten(tmp_path):
    out = tmp_path / "run"
    first = pipeline.run(tiny_dataset(), out, **TINY_RUN)
    (out / "notes.txt").write_text("mine")
    stamp = os.path.getmtime(first.model)
    with pytest.raises(ValueError, match="previous run.*overwrite"):
        pipeline.run(tiny_dataset(), out, **TINY_RUN)
    assert os.path.getmtime(first.model) == stamp
    pipeline.run(tiny_dataset(seed=3), out, overwrite=True, seed=1,
                 **TINY_RUN)
    assert (out / "notes.txt").read_text() == "mine"
    with open(out / "run.json") as f:
        assert json.load(f)["status"] == "done"


def test_resume_continues_training(tmp_path):
    out = tmp_path / "run"
    pipeline.run(tiny_dataset(), out, **TINY_RUN)
    pipeline.run(tiny_dataset(), out, resume=True,
                 **dict(TINY_RUN, epochs=2))
    with open(out / "history.json") as f:
        history = json.load(f)
    # Epoch 1 came from the checkpoint: only epoch 2 ran.
    assert len(history["d_loss"]) == 1
    with open(out / "run.json") as f:
        manifest = json.load(f)
    assert manifest["resumed_from"] and manifest["training"]["epochs"] == 2
    # A changed configuration or data is refused before anything changes.
    with pytest.raises(ValueError, match="d_gp_coe: 10.0 -> 5.0"):
        pipeline.run(tiny_dataset(), out, resume=True, **dict(
            TINY_RUN, model_kwargs={"sample_len": 2, "d_gp_coe": 5.0}))
    with pytest.raises(ValueError, match="training data differ"):
        pipeline.run(tiny_dataset(n=5), out, resume=True, **TINY_RUN)
    with open(out / "run.json") as f:
        assert json.load(f) == manifest


def test_files_not_written_by_keras_dg_are_never_touched(tmp_path):
    out = tmp_path / "run"
    (out / "report").mkdir(parents=True)
    (out / "report" / "mine.md").write_text("mine")
    for kwargs in ({}, {"overwrite": True}):
        with pytest.raises(ValueError, match="no keras-dg run record"):
            pipeline.run(tiny_dataset(), out, **kwargs, **TINY_RUN)
    assert (out / "report" / "mine.md").read_text() == "mine"
    (out / "run.json").write_text("{}")
    with pytest.raises(ValueError, match="not written by keras-dg"):
        pipeline.run(tiny_dataset(), out, overwrite=True, **TINY_RUN)
    assert sorted(os.listdir(out)) == ["report", "run.json"]
