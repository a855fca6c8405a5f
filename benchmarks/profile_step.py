"""Where the time of one keras-dg training step goes, and what fraction of
the machine's floating-point peak it reaches (TensorFlow backend, CPU).

Trains the benchmark model (`ours_dg.build_model`: the paper's sizes, batch
100) on one of the benchmark shapes, then:

- profiles `--steps` training steps inside `fit` with the TensorFlow
  profiler and sums the kernels' own time per op type and per model part
  (generator forward, gradients, critics, optimizers, ...);
- counts the floating-point operations of one training step from its graph
  (`tf.compat.v1.profiler` on the traced `train_step`: matmuls exactly,
  element-wise ops as TensorFlow registers them);
- measures the machine's fp32 peak as the best rate of two independent
  2048 x 2048 matmuls (all cores busy under either thread setting);
- times `--timed-steps` steps without the profiler and reports achieved
  GFLOP/s and its fraction of the peak.

Command (from the repository root):
```
python benchmarks/profile_step.py --shape pageview --n 500
python benchmarks/profile_step.py --shape mba --data ../shared/data/FCC_MBA --n 2000
```
Prints a Markdown summary (and `--json` writes everything).
"""

import argparse
import collections
import glob
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", required=True, choices=sorted(common.SHAPES))
    parser.add_argument("--data", default=None, help="FCC_MBA folder (mba shape).")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--steps", type=int, default=10, help="Profiled steps.")
    parser.add_argument("--timed-steps", type=int, default=50)
    parser.add_argument("--fresh-noise", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads.")
    parser.add_argument("--interop-threads", type=int, default=None)
    parser.add_argument("--model-config", default=None,
                        help="JSON of DoppelGANger arguments (ours_dg.py's).")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    for name in ("n", "steps", "timed_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def matmul_peak_gflops(size=2048, repeats=10):
    """Best fp32 GFLOP/s of two independent size x size matmuls per call (the
    machine's usable peak: with one intra-op thread each matmul gets a core
    of its own; with the default pools they share all cores)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b, c, d = (tf.constant(rng.random((size, size), "float32")) for _ in range(4))
    f = tf.function(
        lambda a, b, c, d: tf.reduce_sum(tf.matmul(a, b)) + tf.reduce_sum(tf.matmul(c, d))
    )
    f(a, b, c, d)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        f(a, b, c, d).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * 2 * size**3 / best / 1e9


def step_flops(model, batch):
    """Floating-point operations of one `train_step` on `batch`, counted on
    its traced graph."""
    import tensorflow as tf

    spec = {k: tf.TensorSpec(v.shape, v.dtype) for k, v in batch.items()}
    concrete = tf.function(model.train_step).get_concrete_function(spec)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    stats = tf.compat.v1.profiler.profile(concrete.graph, options=options)
    return int(stats.total_float_ops)


def _part(name):
    """The model part an op belongs to, from its name scope."""
    name = name.split(":")[0]
    if "gradient_tape" in name:
        return "gradients (all backward passes)"
    if re.match(r"(StatefulPartitionedCall/)?hidden_\d|.*critic", name):
        return "critics forward"  # PackedCritic.score's dense layers
    for part, pattern in [
        ("feature generator (LSTM) forward", "feature_generator"),
        ("attribute generators forward", "attribute_generator"),
        ("optimizers", "optimizer"),
        ("noise", "random"),
    ]:
        if pattern in name:
            return part
    return "other (packing, losses, metrics)"


def op_breakdown(logdir, steps):
    """Kernel self-time per op type and per part, in ms per step."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(os.path.join(logdir, "plugins/profile/*/*.xplane.pb")))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    by_type, by_part = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith(("tf_Compute", "tf_inter_op")):
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" not in name or name.startswith("ExecutorState"):
                    continue
                op, kind = name.rsplit(":", 1)
                ms = event.duration_ps / 1e9 / steps
                by_type[re.sub(r"^_Mkl(Native)?(Fused)?", "", kind)] += ms
                by_part[_part(op)] += ms
    return by_type, by_part


def main(argv=None):
    args = parse_args(argv)
    import tensorflow as tf

    common.set_tensorflow_threads(args.threads, args.interop_threads)
    import ours_dg

    data = common.load_shape_data(args.shape, n=args.n, data=args.data, seed=0)
    flags = ["--shape", args.shape, "--task", "train"] + (
        ["--model-config", args.model_config] if args.model_config else []
    )
    model = ours_dg.build_model(
        data, ours_dg.parse_args(flags + (["--fresh-noise"] if args.fresh_noise else []))
    )
    arrays = {k: data[k] for k in ("features", "attributes", "gen_flag")}
    batch_size = 100
    steps_per_epoch = -(-len(arrays["features"]) // batch_size)
    model.fit(arrays, batch_size=batch_size, epochs=1, verbose=0)  # trace + warm up

    def run(steps):
        epochs = -(-steps // steps_per_epoch)
        start = time.perf_counter()
        model.fit(arrays, batch_size=batch_size, epochs=epochs, verbose=0)
        return (time.perf_counter() - start) / (epochs * steps_per_epoch), epochs * steps_per_epoch

    seconds_per_step, timed = run(args.timed_steps)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        _, profiled = run(args.steps)
        tf.profiler.experimental.stop()
        by_type, by_part = op_breakdown(logdir, profiled)

    batch = {k: tf.constant(v[:batch_size]) for k, v in arrays.items()}
    flops = step_flops(model, batch)
    peak = matmul_peak_gflops()
    achieved = flops / seconds_per_step / 1e9
    record = {
        "shape": args.shape,
        "shared_noise": not args.fresh_noise,
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "interop_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "ms_per_step": 1000 * seconds_per_step,
        "timed_steps": timed,
        "sequences_per_s": batch_size / seconds_per_step,
        "gflop_per_step": flops / 1e9,
        "achieved_gflops": achieved,
        "peak_gflops_matmul_2048": peak,
        "fraction_of_peak": achieved / peak,
        "kernel_ms_per_step": sum(by_type.values()),
        "ms_per_step_by_part": dict(by_part.most_common()),
        "ms_per_step_by_op_type": dict(by_type.most_common(12)),
        "machine": common.machine_info(),
    }
    total = record["kernel_ms_per_step"]
    lines = [
        f"shape {args.shape}: {record['ms_per_step']:.1f} ms per step of {batch_size} "
        f"({record['sequences_per_s']:,.0f} sequences/s, {timed} steps), "
        f"{record['gflop_per_step']:.2f} GFLOP per step -> {achieved:.1f} GFLOP/s = "
        f"{100 * record['fraction_of_peak']:.0f}% of the {peak:.0f} GFLOP/s matmul peak",
        "",
        f"kernel time {total:.1f} ms per step (both cores' kernels summed), by part:",
        "",
        common.markdown_table(
            ["part", "ms/step", "share"],
            [[k, f"{v:.1f}", f"{100 * v / total:.0f}%"] for k, v in by_part.most_common()],
        ),
        "",
        "by op type (top 12):",
        "",
        common.markdown_table(
            ["op type", "ms/step", "share"],
            [[k, f"{v:.1f}", f"{100 * v / total:.0f}%"] for k, v in by_type.most_common(12)],
        ),
    ]
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1, default=str)
    return record


if __name__ == "__main__":
    main()
