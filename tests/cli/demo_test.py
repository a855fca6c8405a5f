import os
import shutil
import subprocess

import pandas as pd
import pytest

from keras_dg import cli


def test_cpu_threads_flag_is_checked():
    assert cli.main(["demo", "--cpu-threads", "0"]) == 2


# Slow (a subprocess of the whole demo): run with `pytest -m slow`.
@pytest.mark.slow
def test_demo_quick_with_the_installed_console_script(tmp_path):
    """The main job, through the real `keras-dg` executable."""
    executable = shutil.which("keras-dg")
    if executable is None:
        pytest.skip("the keras-dg console script is not installed")
    out = tmp_path / "demo"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [executable, "demo", "--quick", "--out", str(out), "--verbose", "0",
         "--cpu-threads", "1"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("model.keras", "generated/generated.csv",
                 "generated/data_generated.npz", "report/report.html",
                 "report/metrics.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "generated" / "generated.csv")
    assert {"route", "date", "carrier", "origin", "dest", "flights",
            "dep_delay"} == set(table.columns)
    # Run it again: refused with a one-line error, exit code 2.
    again = subprocess.run(
        [executable, "demo", "--quick", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert again.returncode == 2
    assert "keras-dg: error:" in again.stderr
    assert "previous run" in again.stderr
    assert "Traceback" not in again.stderr
