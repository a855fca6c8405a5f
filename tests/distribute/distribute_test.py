import json

import pytest
import tensorflow as tf

from keras_dg import distribute


def test_tf_config_names_the_cluster_and_the_task():
    config = json.loads(distribute.tf_config(["a:1", "b:2"], 1))
    assert config == {
        "cluster": {"worker": ["a:1", "b:2"]},
        "task": {"type": "worker", "index": 1},
    }


@pytest.mark.parametrize(
    "workers, index, message",
    [
        ([], 0, "non-empty list"),
        ("a:1", 0, "non-empty list"),
        (["a:1", "b"], 0, r"workers\[1\]"),
        (["a:1", "b:port"], 0, r"workers\[1\]"),
        (["a:1"], 1, r"index"),
        (["a:1"], True, r"index"),
    ],
)
def test_tf_config_rejects_bad_input(workers, index, message):
    with pytest.raises(ValueError, match=message):
        distribute.tf_config(workers, index)


def test_default_and_auto_strategies_on_one_device(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.strategy("default") is tf.distribute.get_strategy()
    # This machine has no GPU and no cluster.
    if len(tf.config.list_logical_devices("GPU")) < 2:
        assert distribute.strategy("auto").num_replicas_in_sync == 1


def test_strategy_rejects_bad_kinds_and_configs(monkeypatch):
    with pytest.raises(ValueError, match="`kind` must be one of"):
        distribute.strategy("tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distribute.strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.strategy("auto")


def test_split_cpu_after_initialisation_says_when_to_call_it():
    tf.constant(1.0)  # TensorFlow's devices are initialised from here on.
    with pytest.raises(RuntimeError, match="before TensorFlow initialises"):
        distribute.split_cpu(2)
    with pytest.raises(ValueError, match="num_devices"):
        distribute.split_cpu(0)
