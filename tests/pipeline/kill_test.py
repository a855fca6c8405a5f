"""`kill -9` at a random moment of a pipeline run: no visible partial
file, no user file lost, every file of the run listed in `run.json`, and a
rerun (`overwrite=True`) succeeds."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import pytest

from keras_dg import pipeline
from tests.harness import KILL_TRIALS
from tests.harness import tiny_dataset
from tests.pipeline.tiny_run import TINY_RUN

_RUN = textwrap.dedent("""
    import sys
    from keras_dg import pipeline
    from tests.harness import tiny_dataset
    from tests.pipeline.tiny_run import TINY_RUN

    pipeline.run(tiny_dataset(n=24), sys.argv[1], overwrite=True, **dict(
        TINY_RUN, epochs=6,
        training={"extra_checkpoint_freq": 1, "vis_num_sample": 2}))
""")
_USER_FILES = ("notes.txt", "generated/mine.csv", "backup/mine.txt")
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _check_whole(path):
    """Raises unless the file at `path` is complete for its kind."""
    if path.endswith(".json"):
        with open(path) as f:
            json.load(f)
    elif path.endswith((".keras", ".npz")):
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None, path
    elif path.endswith(".h5"):
        import h5py

        with h5py.File(path, "r"):
            pass


def _kill_during_a_run(tmp_path, out, delay):
    """Starts the 6-epoch run over `out` and kills it `delay` seconds after
    it replaced the record there; False when it finished first."""
    env = dict(os.environ, PYTHONPATH=_ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    log = tmp_path / "child.log"
    record = os.stat(out / "run.json").st_ino
    with open(log, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", _RUN, str(out)], env=env,
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    started = time.time()
    while True:
        # run.json is replaced in one step (a new file): always there, old
        # or new.
        with open(out / "run.json") as f:
            if (json.load(f)["training"]["epochs"] == 6
                    and os.fstat(f.fileno()).st_ino != record):
                break
        if child.poll() is not None or time.time() - started > 120:
            child.kill()
            pytest.fail("the child run did not start: "
                        + log.read_text()[-2000:])
        time.sleep(0.05)
    time.sleep(delay)
    if child.poll() is not None:
        assert child.returncode == 0, log.read_text()[-2000:]
        return False
    child.send_signal(signal.SIGKILL)
    child.wait()
    return True


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_kill_9_at_a_random_moment_of_a_run(tmp_path, trial):
    out = tmp_path / "run"
    pipeline.run(tiny_dataset(), out, **TINY_RUN)
    for name in _USER_FILES:
        (out / name).write_text(name)
    # Kill the child at a random moment of its training, generation or
    # report; a child that finished first is rerun with half the delay (a
    # finished run proves nothing), one that failed fails the test.
    delay = random.Random(trial).uniform(0, 6)
    for _ in range(4):
        if _kill_during_a_run(tmp_path, out, delay):
            break
        delay /= 2
    else:
        pytest.fail("every child run finished before it was killed")
    with open(out / "run.json") as f:
        listed = set(json.load(f)["files"])
    for root, _, names in os.walk(out):
        for name in names:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, out)
            if name.startswith("."):
                continue  # A hidden temp file of the killed writer.
            assert relative in listed or relative in _USER_FILES, relative
            _check_whole(path)
    for name in _USER_FILES:
        assert (out / name).read_text() == name
    result = pipeline.run(tiny_dataset(), out, overwrite=True, **TINY_RUN)
    assert os.path.isfile(result.model)
    for name in _USER_FILES:
        assert (out / name).read_text() == name
    hidden = [
        name for _, _, names in os.walk(out) for name in names
        if name.startswith(".tmp-")
    ]
    assert hidden == []
