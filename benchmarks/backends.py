"""Training and generation throughput of keras-dg on the three Keras backends.

Each measurement runs in its own process (the backend is fixed when Keras is
imported), `--repeats` times per backend, the backends interleaved so that
load on the machine spreads over all of them; the table gives medians with
their half-range. The model is the paper's (attribute MLP 3 x 100, LSTM
1 x 100, critics 5 x 200, noise 5 and 5, aux critic and self_norm on, GP 10,
Adam(1e-3, beta_1 0.5)), batch 100, d_rounds = g_rounds = 1, fresh noise
every round, at the MBA shape (T=56, S=8, 2 ZERO_ONE features, attributes
ISP 15, technology 5, state 53; FCC_MBA rows repeated to `--n`).

Command (from the repository root; the default data folder is
`../shared/data/FCC_MBA`):
```
python benchmarks/backends.py --data ../shared/data/FCC_MBA --n 2000 --epochs 3 --repeats 3
```
Other flags: `--backends tensorflow jax torch` (default: those installed),
`--jit auto|on|off` (auto: XLA for JAX only, the fastest setting measured
for each backend), `--threads K` (caps OpenMP/MKL and each backend's
intra-op pool; on a busy two-core machine `--threads 1` avoids OpenMP
spin-waits that slowed PyTorch 30x here), `--n-generate`, `--seed`.

What is timed, after a one-batch warm-up `fit` and a warm-up `generate` (of
as many series) that trace/compile everything (their times are reported as
`warm-up s`):
`fit` over `--epochs` epochs (training sequences/s) and `generate` of
`--n-generate` series in chunks of 1000 (generated series/s).
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default=os.path.join(ROOT, "..", "shared", "data", "FCC_MBA"),
        help="FCC_MBA folder (original format).",
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=None, choices=BACKENDS)
    parser.add_argument("--jit", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--n-generate", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--child", default=None, choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("n", "epochs", "repeats", "n_generate", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if not os.path.isdir(args.data):
        parser.error(
            f"--data {args.data!r} is not a folder: pass the FCC_MBA folder in the "
            "original format (data_train.npz)."
        )
    return args


def uses_jit(backend, jit):
    if jit == "auto":
        return backend == "jax"
    return jit == "on"


def child(args):
    """One backend's measurement; prints one JSON line."""
    backend = args.child
    if args.threads is not None:
        if backend == "tensorflow":
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        elif backend == "torch":
            import torch

            torch.set_num_threads(args.threads)
    import keras
    import numpy as np

    import keras_dg
    from keras_dg import Output

    if keras.config.backend() != backend:
        raise RuntimeError(
            f"KERAS_BACKEND is {keras.config.backend()!r}, expected {backend!r}."
        )
    keras.utils.set_random_seed(args.seed)
    data = common.load_shape_data("mba", n=args.n, data=args.data)
    arrays = {k: data[k] for k in ("features", "attributes", "gen_flag")}
    model = keras_dg.DoppelGANger(
        [Output("CONTINUOUS", 1, norm) for norm in data["feature_normalizations"]],
        [Output("DISCRETE", dim) for dim in data["attribute_dims"]],
        max_sequence_len=data["max_sequence_len"],
        sample_len=data["sample_len"],
        seed=args.seed,
    )
    jit = uses_jit(backend, args.jit)
    model.compile(jit_compile=jit)

    with common.Meter() as warm:
        warm_rows = {k: v[: args.batch_size] for k, v in arrays.items()}
        model.fit(warm_rows, batch_size=args.batch_size, epochs=1, verbose=0)
        # The same number of series as timed: on JAX the decoding's eager
        # ops compile once per shape.
        model.generate(args.n_generate, seed=args.seed, batch_size=1000)
    with common.Meter() as train:
        model.fit(arrays, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    with common.Meter() as generate:
        synth = model.generate(args.n_generate, seed=args.seed + 1, batch_size=1000)
    assert np.isfinite(synth.features).all()
    common.emit_json(
        {
            "backend": backend,
            "jit": jit,
            "keras": keras.__version__,
            "backend_version": common.package_versions(
                {"tensorflow": ["tensorflow-cpu", "tensorflow"],
                 "jax": ["jax"], "torch": ["torch"]}[backend]
            ),
            "threads": args.threads,
            "warmup_seconds": warm.wall_seconds,
            "train_seconds": train.wall_seconds,
            "train_sequences_per_s": args.n * args.epochs / train.wall_seconds,
            "train_cpu_fraction": train.cpu_fraction,
            "generate_seconds": generate.wall_seconds,
            "generate_series_per_s": args.n_generate / generate.wall_seconds,
            "parameters": int(model.count_params()),
        }
    )


def driver(args):
    import importlib.util

    backends = args.backends or [b for b in BACKENDS if importlib.util.find_spec(b)]
    env_base = (
        common.thread_env(args.threads) if args.threads is not None else dict(os.environ)
    )
    forwarded = [
        "--data", args.data, "--n", str(args.n), "--epochs", str(args.epochs),
        "--jit", args.jit, "--n-generate", str(args.n_generate),
        "--batch-size", str(args.batch_size), "--seed", str(args.seed),
    ]
    if args.threads is not None:
        forwarded += ["--threads", str(args.threads)]
    records = {b: [] for b in backends}
    for repeat in range(args.repeats):
        for backend in backends:
            path = os.pathsep.join(filter(None, [ROOT, env_base.get("PYTHONPATH")]))
            env = dict(env_base, KERAS_BACKEND=backend, PYTHONPATH=path)
            result = common.run_json(
                [sys.executable, os.path.abspath(__file__), "--child", backend]
                + forwarded,
                env=env, cwd=ROOT, timeout=args.timeout,
            )
            record = dict(result["record"], peak_rss_mib=result["child_peak_rss_mib"])
            records[backend].append(record)
            print(
                f"# {backend} run {repeat + 1}/{args.repeats}: "
                f"{record['train_sequences_per_s']:.1f} seq/s training, "
                f"{record['generate_series_per_s']:.0f} series/s generating",
                file=sys.stderr, flush=True,
            )

    rows = []
    for backend, runs in records.items():
        def summary(key, digits=0):
            return common.format_summary(
                common.summarize([r[key] for r in runs]), digits=digits
            )

        version = next(v for v in runs[0]["backend_version"].values() if v)
        rows.append(
            [
                f"{backend} {version}",
                "XLA" if runs[0]["jit"] else "off",
                summary("train_sequences_per_s", 1),
                summary("generate_series_per_s"),
                summary("warmup_seconds", 1),
                f"{common.summarize([r['peak_rss_mib'] for r in runs])['median']:.0f}",
            ]
        )
    info = common.machine_info(common.package_versions(["keras"]))
    print(common.machine_line(info))
    print()
    print(
        f"MBA shape, N={args.n}, batch {args.batch_size}, {args.epochs} timed epochs, "
        f"{args.n_generate} generated series; median ±half-range of {args.repeats} runs"
        + (f"; {args.threads} thread(s)" if args.threads else "; default threads")
        + "."
    )
    print()
    print(
        common.markdown_table(
            ["backend", "jit_compile", "training seq/s", "generation series/s",
             "warm-up s", "peak RSS MiB"],
            rows,
        )
    )
    return records


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        child(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
