"""Training runs for the distribution tests, in child processes.

TensorFlow's logical devices and `TF_CONFIG` must be set before TensorFlow
initialises, so each distributed run happens in its own process:

    python -m tests.distribute.child mirrored OUT_DIR
    TF_CONFIG=... python -m tests.distribute.child multi_worker OUT_DIR

Each writes `.npz` files (weights, last-epoch losses, generated features)
that the tests compare with `train` on one device.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

# Configurations compared between one device and several; plain SGD makes a
# wrongly scaled gradient visible (Adam would hide a constant factor).
CONFIGS = {
    "default": {},
    "shared_noise": {"shared_noise": True, "d_rounds": 2, "g_rounds": 2},
}
LEARNING_RATE = 0.01
GLOBAL_BATCH = 8
EPOCHS = 2


def train(strategy, config):
    """Builds the tiny model under `strategy`, trains 2 epochs of 2 global
    batches, returns a dict of arrays."""
    import keras

    from tests.harness import tiny_dataset
    from tests.harness import tiny_model

    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = tiny_model(**config)
        initial = [w.numpy().copy() for w in model.weights]
        model.compile(
            g_optimizer=keras.optimizers.SGD(LEARNING_RATE),
            d_optimizer=keras.optimizers.SGD(LEARNING_RATE),
            attr_d_optimizer=keras.optimizers.SGD(LEARNING_RATE),
        )
    history = model.fit(
        tiny_dataset(n=16),
        batch_size=GLOBAL_BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
    )
    result = {f"weight_{i}": w.numpy() for i, w in enumerate(model.weights)}
    result.update({f"initial_{i}": w for i, w in enumerate(initial)})
    result["trainable"] = np.array([w.trainable for w in model.weights])
    result.update(
        {f"loss_{k}": np.float64(v[-1]) for k, v in history.history.items()}
    )
    result["generated"] = model.generate(6, seed=0).features
    result["replicas"] = np.int64(strategy.num_replicas_in_sync)
    return result


def mirrored(out_dir):
    import keras_dg.distribute

    devices = keras_dg.distribute.split_cpu(2)
    import tensorflow as tf

    # One MirroredStrategy per process: TensorFlow's collective keys clash
    # between two of them.
    strategy = tf.distribute.MirroredStrategy(devices)
    for name, config in CONFIGS.items():
        np.savez(
            os.path.join(out_dir, f"single_{name}.npz"),
            **train(tf.distribute.get_strategy(), config),
        )
        np.savez(
            os.path.join(out_dir, f"mirrored_{name}.npz"),
            **train(strategy, config),
        )


def multi_worker(out_dir):
    import json

    import keras_dg.distribute

    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    strategy = keras_dg.distribute.strategy("auto")
    np.savez(
        os.path.join(out_dir, f"worker_{index}.npz"),
        **train(strategy, CONFIGS["default"]),
    )


if __name__ == "__main__":
    mode, out = sys.argv[1:3]
    {"mirrored": mirrored, "multi_worker": multi_worker}[mode](out)
