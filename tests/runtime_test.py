import os
import subprocess
import sys

import keras
import pytest

import keras_dg
from keras_dg.runtime import CPU_THREADS_ENV
from keras_dg.runtime import default_intra_op_threads
from keras_dg.runtime import set_cpu_threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.config.backend() != "tensorflow", reason="TensorFlow's thread pools"
)
_POOLS = (
    "print(tf.config.threading.get_intra_op_parallelism_threads(),"
    " tf.config.threading.get_inter_op_parallelism_threads())\n"
)


def _run(code, **env):
    environ = {
        key: value for key, value in os.environ.items()
        if key not in (CPU_THREADS_ENV, "TF_NUM_INTRAOP_THREADS",
                       "TF_NUM_INTEROP_THREADS")
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split("\n")


@_TENSORFLOW_ONLY
@pytest.mark.parametrize(
    "env, expected",
    [({}, "1 {cores}"), ({CPU_THREADS_ENV: "off"}, "0 0"),
     ({CPU_THREADS_ENV: "3"}, "3 {cores}"),
     ({"TF_NUM_INTEROP_THREADS": "1"}, "0 0")],
)
def test_import_sets_the_default_layout_unless_told_otherwise(env, expected):
    cores = len(os.sched_getaffinity(0))
    if cores < 2:
        pytest.skip("one core: the default layout is left out")
    lines = _run("import keras_dg, tensorflow as tf\n" + _POOLS, **env)
    assert lines[0] == expected.format(cores=cores)


@_TENSORFLOW_ONLY
def test_import_keeps_pools_set_or_fixed_before_it():
    code = (
        "import tensorflow as tf\n"
        "tf.config.threading.set_inter_op_parallelism_threads(5)\n"
        "import keras_dg\n" + _POOLS
    )
    assert _run(code)[0] == "0 5"
    # An op ran first: TensorFlow's pools are fixed; importing still works.
    code = "import tensorflow as tf\ntf.constant(1.0) + 1.0\nimport keras_dg\n"
    _run(code + _POOLS)


@pytest.mark.parametrize(
    "value, expected", [(None, 1), ("auto", 1), (" AUTO ", 1), ("off", None),
                        ("2", 2)],
)
def test_the_environment_variable_is_read(value, expected):
    environ = {} if value is None else {CPU_THREADS_ENV: value}
    assert default_intra_op_threads(environ) == expected


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "fast"])
def test_a_bad_environment_variable_is_named(value):
    with pytest.raises(ValueError, match=f"{CPU_THREADS_ENV}.*{value!r}"):
        default_intra_op_threads({CPU_THREADS_ENV: value})


@_TENSORFLOW_ONLY
def test_sets_tensorflows_pools_before_its_first_op():
    code = (
        "import keras_dg, tensorflow as tf\n"
        "keras_dg.runtime.set_cpu_threads(1, 2)\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
        "tf.constant(1.0) + 1.0\n"
        "try:\n"
        "    keras_dg.runtime.set_cpu_threads(2, 2)\n"
        "except ValueError as error:\n"
        "    print('late:', 'first op' in str(error))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["1 2", "late: True"]


@pytest.mark.parametrize(
    "kwargs", [dict(intra_op=0), dict(intra_op=1.5), dict(inter_op=-1)]
)
def test_bad_counts_are_rejected(kwargs):
    with pytest.raises(ValueError, match="positive integer"):
        set_cpu_threads(**kwargs)


def test_is_reachable_from_the_package():
    assert keras_dg.runtime.set_cpu_threads is set_cpu_threads
