import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402


def _jax_compilation_cache():
    """On JAX, one persistent compilation cache for the whole run, in a
    temporary folder that the pytest-xdist workers share (they inherit the
    variable from the controller, which removes the folder at exit), and
    every compiled function kept in it.

    The tests build many models of the same tiny configurations; their
    train and generate functions lower to the same programs (the cache key
    ignores names and source locations), so only the first one compiles.
    Without it the JAX stage spends most of its time in XLA's compiler.
    It also keeps the tests out of the user's own cache folder, which
    keras-dg's generation would otherwise fill (`jax_cache_dir`).
    """
    if keras.config.backend() != "jax":
        return
    from keras_dg.models.generation import JAX_CACHE_ENV

    if "PYTEST_XDIST_WORKER" not in os.environ and not os.environ.get(
        "KERAS_DG_TEST_JAX_CACHE"
    ):
        folder = tempfile.mkdtemp(prefix="keras_dg_test_jax_cache_")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["KERAS_DG_TEST_JAX_CACHE"] = folder
    folder = os.environ["KERAS_DG_TEST_JAX_CACHE"]
    os.environ[JAX_CACHE_ENV] = folder
    import jax

    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


_jax_compilation_cache()


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(autouse=True)
def _generation_without_xla(request, monkeypatch):
    """On TensorFlow, models generate without XLA unless a test asks for it
    (`predict_jit_compile=True`) or is marked `xla_generation`.

    XLA-compiling the generator costs about 2 s a model, a fifth of the
    TensorFlow suite's time, and buys nothing at the tests' tiny sizes. The
    default (XLA on) is checked by the tests marked `xla_generation` and by
    every test that runs keras-dg in a child process. JAX keeps its default:
    eager JAX compiles every op instead.
    """
    if (
        keras.config.backend() != "tensorflow"
        or request.node.get_closest_marker("xla_generation")
    ):
        return
    from keras_dg.models.generation import GenerationMixin

    make_predict_function = GenerationMixin.make_predict_function

    def without_xla(self, force=False):
        if self.predict_jit_compile is None:
            self.predict_jit_compile = False
            try:
                return make_predict_function(self, force)
            finally:
                self.predict_jit_compile = None
        return make_predict_function(self, force)

    monkeypatch.setattr(
        GenerationMixin, "make_predict_function", without_xla
    )


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
