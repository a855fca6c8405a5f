"""Where a fresh process's first `generate` call spends its time, on TensorFlow (issue 17, part 7).

Loads a saved model (`benchmarks/cold_generation.py --models DIR` writes `ours_mba.keras` and
`ours_pageview.keras`), draws the noise of `generate(n, seed=1)`, then times, in this fresh
process, one of:
- `graph`: tracing the predict step into a plain `tf.function` (no XLA, no autograph, as
  Keras' own predict function), its first call (graph optimisation, kernel creation), and a
  second call (steady);
- `eager`: the predict step run eagerly, first and second call;
- `xla`: as `graph`, XLA-compiled.
`--no-grappler` turns TensorFlow's graph optimiser off for the process first.

    python benchmarks/cold_breakdown.py MODEL.keras graph 1000
    python benchmarks/cold_breakdown.py MODEL.keras eager 1000
    TF_ENABLE_ONEDNN_OPTS=0 python benchmarks/cold_breakdown.py MODEL.keras graph 1000 --no-grappler

Run each line in its own process (the point is the first call).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a saved keras-dg model (.keras)")
    parser.add_argument("mode", choices=("graph", "eager", "xla"))
    parser.add_argument("n", type=int, help="series of the call")
    parser.add_argument("--no-grappler", action="store_true")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"n must be positive, received {args.n}")

    import numpy as np
    import tensorflow as tf

    from keras_dg.data.readers import load_model

    model = load_model(args.model)
    if args.no_grappler:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    noise = model._generation_noise(args.n, np.random.SeedSequence(1).entropy)
    inputs = {k: tf.constant(v) for k, v in noise.rows(0, args.n).items()}
    if args.mode == "eager":
        step, trace = model.predict_step, 0.0
    else:
        step = tf.function(
            tf.autograph.experimental.do_not_convert(model.predict_step),
            jit_compile=args.mode == "xla", autograph=False,
        )
        started = time.perf_counter()
        step.get_concrete_function(inputs)
        trace = time.perf_counter() - started
    started = time.perf_counter()
    step(inputs)
    first = time.perf_counter() - started
    started = time.perf_counter()
    step(inputs)
    steady = time.perf_counter() - started
    print(f"{args.mode} n={args.n} grappler={'off' if args.no_grappler else 'on'} "
          f"onednn={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default')} "
          f"trace {trace:.3f} first {first:.3f} steady {steady:.3f}")


if __name__ == "__main__":
    main()
