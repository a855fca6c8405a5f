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


# A user file at every level of a run folder (the callbacks' folders too).
_USER_FILES = (
    "notes.txt", "generated/mine.csv", "backup/mine.txt",
    "report/mine/deep.md", "checkpoints/.hidden", "samples/mine.png",
    "logs/mine.txt", "logs/train/mine.txt",
)


def _tree(folder):
    return {
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder) for name in names
    }


def test_overwrite_removes_exactly_the_files_the_run_listed(tmp_path):
    out = tmp_path / "run"
    full = dict(
        TINY_RUN, tensorboard=True,
        training={"extra_checkpoint_freq": 1, "vis_num_sample": 2},
    )
    pipeline.run(tiny_dataset(), out, **full)
    with open(out / "run.json") as f:
        manifest = json.load(f)
    # run.json lists every file the run wrote, and the folders it made.
    assert set(manifest["files"]) == _tree(out)
    assert {"logs", "backup", "samples", "checkpoints", "generated",
            "report"} <= set(manifest["folders"])
    assert any(name.startswith("logs/") for name in manifest["files"])
    for name in _USER_FILES:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(name)
    # A smaller run replaces it: nothing of the first one is left but the
    # user's files (and the folders that hold them).
    pipeline.run(tiny_dataset(seed=3), out, overwrite=True, seed=1,
                 **dict(TINY_RUN, metrics=None), report=False)
    with open(out / "run.json") as f:
        second = json.load(f)
    for name in _USER_FILES:
        assert (out / name).read_text() == name
    assert _tree(out) == set(_USER_FILES) | set(second["files"])
    assert not (out / "report" / "report.html").exists()
    assert "report" not in second["folders"]  # The user's now.
    assert not any(n.startswith("logs/") for n in second["files"])
    # Once more: the user's folders stay, and so do their files.
    pipeline.run(tiny_dataset(), out, overwrite=True, **TINY_RUN)
    for name in _USER_FILES:
        assert (out / name).read_text() == name


def test_a_record_that_does_not_list_its_files_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    pipeline.run(tiny_dataset(), out, **TINY_RUN)
    with open(out / "run.json") as f:
        manifest = json.load(f)
    before = _tree(out)
    # A record of an older keras-dg (top-level names only) or one edited
    # to point outside the folder: refused before anything is removed.
    for edit, match in (
        ({"files": None, "owned": ["generated"]}, "does not list the run"),
        ({"files": ["run.json", "../outside.txt"]}, "not inside"),
        ({"folders": ["/etc"]}, "not inside"),
    ):
        (out / "run.json").write_text(json.dumps({**manifest, **edit}))
        with pytest.raises(ValueError, match=match):
            pipeline.run(tiny_dataset(), out, overwrite=True, **TINY_RUN)
        assert _tree(out) == before
