"""Runs one backend's part of the cross-backend checks in its own process.

`cross_backend_test.py` starts it once per backend, as
`KERAS_BACKEND=<backend> python -m tests.models.train_steps.backend_worker
<task> <directory> [<file.keras> ...]`, and compares what it writes:

- `train`: writes `<backend>.npz` with
  - `step_*`: the weights, BatchNorm statistics and losses after two
    batches of a fully deterministic training (weights set from NumPy, the
    noise, interpolation weights and packing permutation replaced by fixed
    NumPy arrays, plain SGD), which must agree across backends;
  - `wasserstein`: the critic's Wasserstein estimate per epoch of a short
    training on a simple dataset (weights set from NumPy, the backend's own
    noise), and `iterations`: the three optimizers' step counts;
  - `saved_*`: `generate(seed=0)` of that model, saved as
    `<backend>.keras`.
- `load`: loads each given `.keras` file, generates with seed 0, and writes
  `loaded_<backend>.npz` with the generations and the loaded optimizers'
  step counts.
"""

import contextlib
import os
import sys
import zlib

import keras
import numpy as np
from keras import ops

import keras_dg
from keras_dg import Output

BACKEND = keras.config.backend()
T, S = 8, 2
FEATURE_OUTPUTS = [
    Output("CONTINUOUS", 1, "ZERO_ONE"),
    Output("DISCRETE", 2),
]
ATTRIBUTE_OUTPUTS = [Output("DISCRETE", 2), Output("CONTINUOUS", 1, "ZERO_ONE")]
SMALL = dict(
    gen_feature_num_units=12,
    gen_attribute_num_units=12,
    gen_attribute_num_layers=2,
    disc_num_units=12,
    disc_num_layers=3,
    attr_disc_num_units=12,
    attr_disc_num_layers=2,
    seed=0,
)


def simple_dataset(n, seed=0):
    """Two kinds of full-length series: class 0 near 0.2 with feature class
    0, class 1 near 0.8 with feature class 1."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 2, n)
    features = np.zeros((n, T, 3), "float32")
    features[..., 0] = 0.2 + 0.6 * kind[:, None] + 0.05 * rng.random((n, T))
    features[..., 1:] = np.eye(2)[kind][:, None, :]
    attributes = np.concatenate(
        [np.eye(2)[kind], 0.5 + 0.1 * rng.random((n, 1))], axis=1
    ).astype("float32")
    return keras_dg.TimeSeriesDataset(
        features, attributes, np.ones((n, T), "float32"), FEATURE_OUTPUTS,
        ATTRIBUTE_OUTPUTS,
    )


def set_numpy_weights(model):
    """Backend-independent initial weights: Glorot-uniform kernels drawn by
    NumPy from a seed derived from each variable's path."""
    for variable in model.trainable_variables:
        path = variable.path.split("/", 1)[1]
        name = path.rsplit("/", 1)[1]
        shape = tuple(variable.shape)
        if name in ("bias", "beta"):
            value = np.zeros(shape)
        elif name == "gamma":
            value = np.ones(shape)
        else:
            rng = np.random.default_rng(zlib.crc32(path.encode()))
            limit = np.sqrt(6.0 / (shape[0] + shape[-1]))
            value = rng.uniform(-limit, limit, shape)
        variable.assign(value.astype("float32"))


@contextlib.contextmanager
def fixed_randomness(model):
    """Replaces every random draw of a train step by fixed NumPy arrays, the
    same on each call (so tracing once or calling per step agree)."""
    rng = np.random.default_rng(1)
    cache = {}

    def fixed(key, shape, draw):
        if (key, shape) not in cache:
            cache[key, shape] = draw(shape).astype("float32")
        return cache[key, shape]

    def sample_noise(batch_size, seed=None):
        # Every noise the model draws (the per-step noise included).
        noise = model._noise_shapes(batch_size)
        return {
            k: ops.convert_to_tensor(fixed(k, s, rng.standard_normal))
            for k, s in noise.items()
        }

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return ops.convert_to_tensor(fixed("alpha", tuple(shape), rng.random))

    def shuffle(x, axis=0, seed=None):
        order = fixed("order", tuple(x.shape), lambda s: rng.permutation(s[0]))
        return ops.take(x, ops.convert_to_tensor(order.astype("int32")), axis)

    originals = keras.random.uniform, keras.random.shuffle
    model.sample_noise = sample_noise
    keras.random.uniform, keras.random.shuffle = uniform, shuffle
    try:
        yield
    finally:
        keras.random.uniform, keras.random.shuffle = originals


def deterministic_steps(shared_noise):
    """Two batches with every source of randomness fixed; returns arrays."""
    model = keras_dg.DoppelGANger(
        FEATURE_OUTPUTS, ATTRIBUTE_OUTPUTS, max_sequence_len=T,
        sample_len=S, num_packing=2, d_rounds=2, g_rounds=2,
        shared_noise=shared_noise, **SMALL,
    )
    set_numpy_weights(model)
    model.compile(
        g_optimizer=keras.optimizers.SGD(0.05),
        d_optimizer=keras.optimizers.SGD(0.05),
        attr_d_optimizer=keras.optimizers.SGD(0.05),
        jit_compile=BACKEND == "jax",
    )
    with fixed_randomness(model):
        history = model.fit(
            simple_dataset(16), batch_size=8, epochs=1, shuffle=False,
            verbose=0,
        )
    out = {
        variable.path.split("/", 1)[1]: ops.convert_to_numpy(variable)
        for variable in model.weights
        if "seed_generator" not in variable.path
    }
    out.update({k: np.array(v) for k, v in history.history.items()})
    return out


def wasserstein_training(epochs=40):
    """A short training on `simple_dataset` from NumPy-set weights (the
    noise is the backend's own); returns the model and per-epoch
    `-(d_loss_fake + d_loss_real)`."""
    keras.utils.set_random_seed(0)
    model = keras_dg.DoppelGANger(
        FEATURE_OUTPUTS, ATTRIBUTE_OUTPUTS, max_sequence_len=T,
        sample_len=S, g_lr=5e-3, d_lr=5e-3, attr_d_lr=5e-3, **SMALL,
    )
    set_numpy_weights(model)
    model.compile(jit_compile=BACKEND == "jax")
    history = model.fit(
        simple_dataset(64), batch_size=16, epochs=epochs, verbose=0
    ).history
    return model, -(np.array(history["d_loss_fake"]) + history["d_loss_real"])


def _generated(prefix, synth):
    return {
        f"{prefix}_features": synth.features,
        f"{prefix}_attributes": synth.attributes,
        f"{prefix}_gen_flag": synth.gen_flag,
    }


def main(task, directory, *files):
    if task == "train":
        out = {}
        for shared_noise in (False, True):
            prefix = "step_shared" if shared_noise else "step"
            steps = deterministic_steps(shared_noise)
            out.update({f"{prefix}/{k}": v for k, v in steps.items()})
        model, out["wasserstein"] = wasserstein_training()
        out["iterations"] = np.array(
            [int(model.g_optimizer.iterations),
             int(model.d_optimizer.iterations),
             int(model.attr_d_optimizer.iterations)]
        )
        model.save(os.path.join(directory, f"{BACKEND}.keras"))
        out.update(_generated("saved", model.generate(20, seed=0)))
        np.savez(os.path.join(directory, f"{BACKEND}.npz"), **out)
    elif task == "load":
        out = {}
        for path in files:
            source = os.path.splitext(os.path.basename(path))[0]
            model = keras.saving.load_model(path)
            out.update(_generated(source, model.generate(20, seed=0)))
            out[f"{source}_iterations"] = np.array(
                [int(model.g_optimizer.iterations),
                 int(model.d_optimizer.iterations),
                 int(model.attr_d_optimizer.iterations)]
            )
        np.savez(os.path.join(directory, f"loaded_{BACKEND}.npz"), **out)
    else:
        raise ValueError(f"Unknown task {task!r}; expected train or load.")


if __name__ == "__main__":
    main(*sys.argv[1:])
