import pytest
"""`fit` under MultiWorkerMirroredStrategy, two workers on 127.0.0.1."""

import numpy as np
import tensorflow as tf

import keras_dg
from tests.distribute.child import CONFIGS
from tests.distribute.child import train
from tests.distribute.processes import assert_all_succeeded
from tests.distribute.processes import child_env
from tests.distribute.processes import free_ports
from tests.distribute.processes import run_processes


# Slow (two worker processes): run with `pytest -m slow`.
@pytest.mark.slow
def test_two_workers_train_like_one_device(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    results = run_processes(
        [
            (
                f"worker_{i}",
                ["-m", "tests.distribute.child", "multi_worker",
                 str(tmp_path)],
                child_env(TF_CONFIG=keras_dg.distribute.tf_config(workers, i)),
            )
            for i in range(2)
        ],
        tmp_path,
        timeout=150,
    )
    assert_all_succeeded(results)
    runs = [dict(np.load(tmp_path / f"worker_{i}.npz")) for i in range(2)]
    assert [int(r["replicas"]) for r in runs] == [2, 2]
    single = train(tf.distribute.get_strategy(), CONFIGS["default"])
    names = [k for k in single if k.startswith(("weight_", "loss_"))]
    names.append("generated")
    for name in names:
        # The workers hold the same model...
        np.testing.assert_array_equal(runs[0][name], runs[1][name], name)
        # ...and it is the one-device model.
        np.testing.assert_allclose(
            runs[0][name], single[name], rtol=1e-4, atol=2e-5,
            err_msg=name,
        )
