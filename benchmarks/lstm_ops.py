"""The feature generator's LSTM three ways, forward and backward (TensorFlow, CPU).

With `feed_back` off every LSTM step's input is known up front, so the whole sequence
could run as one fused op. This compares, on the same weights and inputs:

- `keras-dg`: `BatchedLSTMGenerator`'s recurrence (the condition's share of the gates
  computed once, the per-step input matmuls off the recurrence's critical path, unrolled);
- `BlockLSTMV2`: TensorFlow's fused sequence op (`tf.raw_ops.BlockLSTMV2`, IFCO gates as
  Keras' LSTM cell), fed `[condition, noise_t]` at every step;
- `keras LSTM`: `keras.layers.LSTM` over the same inputs.

It checks that the three give the same hidden states, then times one forward and one
forward + backward (gradients of all weights) in a `tf.function`, median of `--repeats`.

Commands (from the repository root):
```
python benchmarks/lstm_ops.py --steps 55 --condition-dim 16      # page-view: T=550, S=10
python benchmarks/lstm_ops.py --steps 7 --condition-dim 77       # MBA: T=56, S=8
python benchmarks/lstm_ops.py --steps 55 --condition-dim 16 --threads 1 --interop-threads 2
```
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import common  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=55, help="LSTM steps (T / S).")
    parser.add_argument("--condition-dim", type=int, default=16)
    parser.add_argument("--noise-dim", type=int, default=5)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads.")
    parser.add_argument("--interop-threads", type=int, default=None)
    args = parser.parse_args(argv)
    for name in ("steps", "condition_dim", "noise_dim", "units", "batch", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    import tensorflow as tf

    intra, inter = common.set_tensorflow_threads(args.threads, args.interop_threads)
    import keras

    from keras_dg import Output
    from keras_dg.layers import BatchedLSTMGenerator

    L, B, C, N, U = args.steps, args.batch, args.condition_dim, args.noise_dim, args.units
    rng = np.random.default_rng(0)
    condition = tf.constant(rng.normal(size=(B, C)).astype("float32"))
    noise = tf.constant(rng.normal(size=(B, L, N)).astype("float32"))
    state = tf.constant(rng.normal(size=(B, 1, 2, U)).astype("float32"))
    h0, c0 = state[:, 0, 0], state[:, 0, 1]

    layer = BatchedLSTMGenerator(
        [Output("CONTINUOUS", 1, "ZERO_ONE")], max_sequence_len=L, sample_len=1,
        num_units=U, noise_dim=N,
    )
    layer.build((None, C))
    cell = layer.cells[0]
    kernel, recurrent, bias = cell.kernel, cell.recurrent_kernel, cell.bias
    variables = [kernel, recurrent, bias]
    time_major_noise = tf.transpose(noise, (1, 0, 2))

    def ours():
        base = condition @ kernel[:C] + bias
        return layer._recurrence(
            base, time_major_noise, kernel[C:], recurrent, (h0, c0),
            unroll=True, num_steps=L,
        )

    def block_lstm():
        x = tf.concat([tf.tile(condition[None], [L, 1, 1]), time_major_noise], -1)
        zeros = tf.zeros([U])
        return tf.raw_ops.BlockLSTMV2(
            seq_len_max=tf.constant(L, tf.int64), x=x, cs_prev=c0, h_prev=h0,
            w=tf.concat([kernel, recurrent], 0), wci=zeros, wcf=zeros, wco=zeros,
            b=bias, cell_clip=-1.0, use_peephole=False,
        )[6]

    keras_lstm = keras.layers.LSTM(U, return_sequences=True)
    keras_lstm.build((None, L, C + N))
    keras_lstm.cell.kernel.assign(kernel)
    keras_lstm.cell.recurrent_kernel.assign(recurrent)
    keras_lstm.cell.bias.assign(bias)

    def keras_layer():
        x = tf.concat([tf.tile(condition[:, None], [1, L, 1]), noise], -1)
        return tf.transpose(keras_lstm(x, initial_state=[h0, c0]), (1, 0, 2))

    def train(forward, weights):
        def step():
            with tf.GradientTape() as tape:
                hidden = forward()
                loss = tf.reduce_mean(hidden * hidden)
            return tape.gradient(loss, weights)
        return tf.function(step)

    candidates = {
        "keras-dg": (ours, variables),
        "BlockLSTMV2": (block_lstm, variables),
        "keras LSTM": (keras_layer, keras_lstm.trainable_variables),
    }
    reference = tf.function(ours)().numpy()
    rows = []
    for name, (forward, weights) in candidates.items():
        forward_fn = tf.function(forward)
        error = float(np.max(np.abs(forward_fn().numpy() - reference)))
        timings = {}
        for label, fn in (("forward", forward_fn), ("forward + backward", train(forward, weights))):
            fn()  # trace
            seconds = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                fn()
                seconds.append(time.perf_counter() - start)
            timings[label] = statistics.median(seconds) * 1e3
        rows.append([name, f"{timings['forward']:.2f}", f"{timings['forward + backward']:.2f}",
                     f"{error:.1e}"])
    print(f"steps {L}, batch {B}, input {C} + {N}, units {U}; threads {intra} intra-op, "
          f"{inter} inter-op (0 = TensorFlow's default)")
    print(common.markdown_table(
        ["implementation", "forward ms", "forward + backward ms", "max |h - keras-dg's|"], rows
    ))
    return rows


if __name__ == "__main__":
    main()
