"""The three backends' train steps against each other, in subprocesses.

`backend_worker.py` runs each backend's part (`KERAS_BACKEND=<backend>
python -m tests.models.train_steps.backend_worker ...`); these tests compare
what the workers wrote. Marked slow (about two minutes on two cores, mostly
JAX compiling): run with `pytest -m slow tests/models/train_steps`, under
any one backend (the workers choose their own).
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

BACKENDS = [
    b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b)
]
ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        len(BACKENDS) < 3,
        reason="needs tensorflow, jax and torch installed; found "
        f"{BACKENDS}",
    ),
]


def _run_workers(task, directory, files_of):
    """Starts one worker per backend (in parallel) and waits for all."""
    processes = {}
    for backend in BACKENDS:
        env = dict(
            os.environ,
            KERAS_BACKEND=backend,
            TF_CPP_MIN_LOG_LEVEL="2",
            # Two-thread OpenMP pools spin badly on a busy two-core machine.
            OMP_NUM_THREADS="1",
            PYTHONPATH=ROOT,
        )
        command = [
            sys.executable, "-m", "tests.models.train_steps.backend_worker",
            task, str(directory), *files_of(backend),
        ]
        processes[backend] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
    for backend, process in processes.items():
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, (
            f"{task} on {backend} failed:\n{output[-4000:]}"
        )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    directory = tmp_path_factory.mktemp("backends")
    _run_workers("train", directory, lambda backend: [])
    _run_workers(
        "load",
        directory,
        lambda backend: [
            str(directory / f"{other}.keras")
            for other in BACKENDS
            if other != backend
        ],
    )
    return {
        backend: (
            dict(np.load(directory / f"{backend}.npz")),
            dict(np.load(directory / f"loaded_{backend}.npz")),
        )
        for backend in BACKENDS
    }


@pytest.mark.parametrize("other", ["jax", "torch"])
def test_deterministic_training_steps_agree(results, other):
    """Same weights, data, noise, interpolation weights and packing: two
    batches (two critic and two generator rounds each, fresh or shared
    noise, packing 2, both critics) give the same weights, BatchNorm
    statistics and losses on every backend."""
    reference = results["tensorflow"][0]
    values = results[other][0]
    keys = [k for k in reference if k.startswith("step")]
    assert len(keys) > 40
    for key in keys:
        np.testing.assert_allclose(
            values[key], reference[key], rtol=1e-4, atol=1e-5, err_msg=key
        )


def test_training_lowers_the_wasserstein_estimate_alike(results):
    """From the same weights (each backend's own noise), the critic's
    Wasserstein estimate rises while the critic learns, then falls as the
    generator catches up, alike on every backend."""
    curves = {b: results[b][0]["wasserstein"] for b in BACKENDS}
    peaks, ratios = {}, {}
    for backend, curve in curves.items():
        assert len(curve) == 40
        peaks[backend] = curve.max()
        ratios[backend] = curve[-5:].mean() / peaks[backend]
        assert curve.argmax() < 25, (backend, curve)
        assert peaks[backend] > 2 * curve[0], (backend, curve)
        assert ratios[backend] < 0.6, (backend, curve)
        np.testing.assert_array_equal(
            results[backend][0]["iterations"], [160, 160, 160]
        )
    for backend, curve in curves.items():
        # The first epoch starts from the same weights; later ones drift
        # apart with each backend's own noise (a noise per step too since
        # `step_noise_dim` became 5: 0.12 apart at epoch 3 on one run).
        np.testing.assert_allclose(
            curve[:1], curves["tensorflow"][:1], atol=0.05, err_msg=backend
        )
        np.testing.assert_allclose(
            curve[:3], curves["tensorflow"][:3], atol=0.2, err_msg=backend
        )
        assert abs(peaks[backend] / peaks["tensorflow"] - 1) < 0.2, peaks
        assert abs(ratios[backend] - ratios["tensorflow"]) < 0.2, ratios


@pytest.mark.parametrize("loader", ["tensorflow", "jax", "torch"])
def test_saved_models_load_and_generate_on_every_backend(results, loader):
    """A `.keras` file saved on each other backend loads here with its
    optimizers' state and generates what it generated where it was saved
    (seed 0)."""
    loaded = results[loader][1]
    for source in BACKENDS:
        if source == loader:
            continue
        saved = results[source][0]
        for part in ("features", "attributes", "gen_flag"):
            np.testing.assert_allclose(
                loaded[f"{source}_{part}"],
                saved[f"saved_{part}"],
                atol=1e-5,
                err_msg=f"{source} -> {loader}: {part}",
            )
        np.testing.assert_array_equal(
            loaded[f"{source}_iterations"], saved["iterations"]
        )
