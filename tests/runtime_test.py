import os
import subprocess
import sys

import keras
import pytest

import keras_dg
from keras_dg.runtime import set_cpu_threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(
    keras.config.backend() != "tensorflow", reason="TensorFlow's thread pools"
)
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
