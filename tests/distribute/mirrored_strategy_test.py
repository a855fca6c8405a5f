"""`fit` under MirroredStrategy on two logical CPUs equals one device."""

import numpy as np
import pytest

from tests.distribute.child import CONFIGS
from tests.distribute.child import EPOCHS
from tests.distribute.processes import assert_all_succeeded
from tests.distribute.processes import child_env
from tests.distribute.processes import run_processes
from tests.harness import assert_trained_weights_close

# Slow (a child process trains every config twice): run with
# `pytest -m slow`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrored")
    results = run_processes(
        [("mirrored", ["-m", "tests.distribute.child", "mirrored", str(out)],
          child_env())],
        out,
        timeout=240,
    )
    assert_all_succeeded(results)
    return {
        name: (
            dict(np.load(out / f"single_{name}.npz")),
            dict(np.load(out / f"mirrored_{name}.npz")),
        )
        for name in CONFIGS
    }


def _weights(run, prefix="weight"):
    return [run[f"{prefix}_{i}"] for i in range(len(run["trainable"]))]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_mirrored_fit_matches_one_device(runs, name):
    single, mirrored = runs[name]
    assert int(single["replicas"]) == 1
    assert int(mirrored["replicas"]) == 2
    # Two replicas sum the gradients in another order than one device.
    assert_trained_weights_close(
        _weights(mirrored), _weights(single), _weights(single, "initial"),
        steps=2 * EPOCHS,
    )
    for key in single:
        if key.startswith("loss_"):
            np.testing.assert_allclose(
                single[key], mirrored[key], rtol=1e-4, atol=1e-5,
                err_msg=key,
            )
    np.testing.assert_allclose(
        single["generated"], mirrored["generated"], atol=2e-5
    )


@pytest.mark.parametrize("name", list(CONFIGS))
def test_training_moved_the_weights_far_beyond_the_tolerance(runs, name):
    # The comparison above is meaningful: SGD moved every trainable weight
    # tensor, most by far more than the tolerance (a gradient scaled by 2
    # or 1/2 would show).
    single, _ = runs[name]
    moves = [
        np.abs(w - w0).max()
        for w, w0, trainable in zip(
            _weights(single), _weights(single, "initial"), single["trainable"]
        )
        if trainable
    ]
    assert np.median(moves) > 1e-3
