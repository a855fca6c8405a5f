import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


# Tests of code whose behaviour depends on the Keras backend: the specs and
# data container, encodings, layers, the model with its train steps and
# generation, workflows, mixed precision, and resuming (optimizer and RNG
# state). CI runs them on PyTorch and JAX (`-m backend`); the rest
# (file I/O, tables, evaluation, CLI, recipes, tuning, privacy accounting,
# benchmarks) is NumPy/pandas code around the same `fit` and `generate`,
# run once on TensorFlow.
BACKEND_DEPENDENT = (
    "tests/specs_test.py",
    "tests/dataset_test.py",
    "tests/preprocessing/",
    "tests/layers/",
    "tests/models/",
    "tests/workflows/",
    "tests/distribute/mixed_precision_test.py",
    "tests/callbacks/training_checkpoint_test.py",
)


def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    for item in items:
        path = item.path.relative_to(root).as_posix()
        if path.startswith(BACKEND_DEPENDENT):
            item.add_marker(pytest.mark.backend)
