"""`kill -9` at a random moment of `keras-dg evaluate` and `keras-dg
generate` (to a file): no visible partial file, no user file lost, the
rerun succeeds and leaves no temp file."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile

import pandas as pd
import pytest

from keras_dg import pipeline
from keras_dg.data import save_dg
from tests.harness import KILL_TRIALS
from tests.harness import tiny_dataset
from tests.pipeline.tiny_run import TINY_RUN

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _keras_dg(*argv):
    return [sys.executable, "-m", "keras_dg.cli", *[str(a) for a in argv]]


def _kill_at_random(argv, trial, within):
    env = dict(os.environ, PYTHONPATH=_ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(random.Random(trial).uniform(*within))
    child.send_signal(signal.SIGKILL)
    child.wait()


def _visible_files(folder):
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder) for name in names
        if not name.startswith(".")
    )


def _temp_files(folder):
    return [
        name for _, _, names in os.walk(folder) for name in names
        if name.startswith(".tmp-")
    ]


def _check_whole(path):
    if path.endswith(".json"):
        with open(path) as f:
            json.load(f)
    elif path.endswith(".csv"):
        pd.read_csv(path)
    elif path.endswith(".npz"):
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
    elif path.endswith(".png"):
        with open(path, "rb") as f:
            assert f.read()[-8:-4] == b"IEND", path


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_kill_9_during_evaluate(tmp_path, trial):
    save_dg(tiny_dataset(n=20, seed=0), tmp_path / "real")
    save_dg(tiny_dataset(n=20, seed=1), tmp_path / "synthetic")
    out = tmp_path / "report"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    argv = _keras_dg(
        "evaluate", "--real", tmp_path / "real", "--synthetic",
        tmp_path / "synthetic", "--out", out, "--no-floor",
    )
    _kill_at_random(argv, trial, within=(3, 12))
    for name in _visible_files(out):
        _check_whole(os.path.join(out, name))
    subprocess.run(
        argv, check=True, env=dict(os.environ, PYTHONPATH=_ROOT),
        capture_output=True,
    )
    assert (out / "mine.txt").read_text() == "mine"
    assert "report.html" in _visible_files(out)
    assert _temp_files(out) == []


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "run"
    return pipeline.run(tiny_dataset(), out, **dict(TINY_RUN, report=False,
                                                    metrics=None)).model


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_kill_9_during_generate_to_a_file(tmp_path, model_path, trial):
    (tmp_path / "mine.txt").write_text("mine")
    for out in (tmp_path / "synth.npz",):
        argv = _keras_dg(
            "generate", "--model", model_path, "-n", "20000", "--out", out,
            "--overwrite",
        )
        _kill_at_random(argv, trial, within=(2, 10))
        visible = _visible_files(tmp_path)
        assert set(visible) <= {"mine.txt", out.name}
        for name in visible:
            _check_whole(os.path.join(tmp_path, name))
        subprocess.run(
            argv, check=True, env=dict(os.environ, PYTHONPATH=_ROOT),
            capture_output=True,
        )
        assert _temp_files(tmp_path) == []
        _check_whole(str(out))
    assert (tmp_path / "mine.txt").read_text() == "mine"
