"""Training across devices and machines with `tf.distribute`.

DoppelGANger trains under any `tf.distribute` strategy: create and compile
the model inside `strategy.scope()` and pass the *global* batch size to
`fit`. Each replica trains on its share of the batch; the train step
averages every loss over the global batch (each replica's gradients are
scaled by 1 / replicas before Keras sums them), computes the gradient
penalty per replica (it is a mean of per-row terms), draws the noise and the
interpolation weights of the whole global batch and keeps its own rows, and
computes the attribute generator's batch-norm statistics over the global
batch. One epoch therefore gives the same weights as on one device, up to
floating-point noise, when the global batch divides evenly among the
replicas. Two deviations: with `num_packing > 1` each replica draws the
pack partners among its own rows, and an uneven last batch averages each
replica's mean with equal weights.

```python
strategy = keras_dg.distribute.strategy("auto")
with strategy.scope():
    model = keras_dg.DoppelGANger(...)
    model.compile()
model.fit(train, batch_size=100 * strategy.num_replicas_in_sync)
```

See `docs/scaling.md` for the laptop -> GPU -> GPUs -> machines walk-through.
"""

import json
import os

import keras

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")


def _tensorflow():
    if keras.config.backend() != "tensorflow":
        raise RuntimeError(
            "tf.distribute strategies need the TensorFlow backend; the "
            f"Keras backend is {keras.config.backend()!r}. Set "
            "KERAS_BACKEND=tensorflow."
        )
    import tensorflow as tf

    return tf


def split_cpu(num_devices):
    """Splits the CPU into `num_devices` logical devices.

    Lets a laptop (or a test) run `MirroredStrategy` on CPU:
    `keras_dg.distribute.split_cpu(2)` then
    `tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])`. Must run before
    TensorFlow initialises its devices (before any tensor is created).

    Args:
        num_devices: int >= 1.

    Returns:
        The logical CPU device names, e.g. `["/cpu:0", "/cpu:1"]`.

    Raises:
        RuntimeError: when TensorFlow's devices are already initialised.
    """
    if isinstance(num_devices, bool) or not isinstance(num_devices, int) or (
        num_devices < 1
    ):
        raise ValueError(
            "`num_devices` must be a positive integer. Received: "
            f"num_devices={num_devices!r}"
        )
    tf = _tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
        )
    except RuntimeError as error:
        raise RuntimeError(
            "split_cpu must run before TensorFlow initialises its devices "
            "(call it first thing, before building any model or tensor)."
        ) from error
    return [f"/cpu:{i}" for i in range(num_devices)]


def tf_config(workers, index):
    """The `TF_CONFIG` JSON of worker `index` in a multi-worker cluster.

    Every worker runs the same program with its own `TF_CONFIG` (worker 0
    is the chief: it writes checkpoints and logs).

    Args:
        workers: list of "host:port" strings, one per worker, the same
            list on every worker.
        index: int. This worker's position in `workers`.

    Returns:
        str, for `os.environ["TF_CONFIG"]`.

    Example:

    >>> import json
    >>> config = json.loads(tf_config(["10.0.0.1:1234", "10.0.0.2:1234"], 1))
    >>> config["cluster"]["worker"], config["task"]
    (['10.0.0.1:1234', '10.0.0.2:1234'], {'type': 'worker', 'index': 1})
    """
    if isinstance(workers, str) or not isinstance(workers, (list, tuple)) or (
        not workers
    ):
        raise ValueError(
            "`workers` must be a non-empty list of 'host:port' strings. "
            f"Received: {workers!r}"
        )
    for i, address in enumerate(workers):
        host, _, port = str(address).rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(
                f"`workers[{i}]` must be 'host:port'. Received: {address!r}"
            )
    if isinstance(index, bool) or not isinstance(index, int) or not (
        0 <= index < len(workers)
    ):
        raise ValueError(
            f"`index` must be an integer in [0, {len(workers) - 1}]. "
            f"Received: index={index!r}"
        )
    return json.dumps(
        {
            "cluster": {"worker": [str(w) for w in workers]},
            "task": {"type": "worker", "index": index},
        }
    )


def _cluster_size():
    config = os.environ.get("TF_CONFIG")
    if not config:
        return 0
    try:
        cluster = json.loads(config).get("cluster", {})
    except (ValueError, AttributeError) as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {config!r}") from error
    return sum(len(tasks) for tasks in cluster.values())


def strategy(kind="auto"):
    """A `tf.distribute` strategy for DoppelGANger training.

    Args:
        kind: str. "mirrored": all local GPUs (or the logical CPUs of
            `split_cpu` when there is no GPU); "multi_worker": a
            `MultiWorkerMirroredStrategy` over the cluster in `TF_CONFIG`;
            "default": no distribution (one device, the GPU when there is
            one); "auto": "multi_worker" when `TF_CONFIG` names more than
            one task, else "mirrored" when there are several GPUs, else
            "default". Defaults to "auto".

    Returns:
        A `tf.distribute.Strategy`. Create and compile the model inside its
        `scope()`; `fit`'s `batch_size` is the global batch.
    """
    if kind not in STRATEGIES:
        raise ValueError(
            f"`kind` must be one of {list(STRATEGIES)}. Received: {kind!r}"
        )
    tf = _tensorflow()
    if kind == "auto":
        if _cluster_size() > 1:
            kind = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            kind = "mirrored"
        else:
            kind = "default"
    if kind == "multi_worker":
        if not _cluster_size():
            raise ValueError(
                "kind='multi_worker' needs TF_CONFIG describing the cluster "
                "(see keras_dg.distribute.tf_config)."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or (
            tf.config.list_logical_devices("CPU")
        )
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()
