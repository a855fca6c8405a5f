"""Where keras-dg's memory goes: resident memory after each stage of a run.

The peak memory of a run is mostly the Keras backend's runtime, loaded before any model
exists. This script measures the resident set (VmRSS) and the peak so far (ru_maxrss)
after each stage: the interpreter, NumPy, the backend (`import tensorflow` / `jax` /
`torch`), Keras, keras_dg, building the model, the first `fit` (tracing and compiling the
train step), a few training epochs, the first `generate` (compiling the generation
function) and more generation. It also lists which large optional packages the backend's
import pulled in by itself (TensorFlow's import loads JAX when it is installed, through
`tf.lite`, and Keras loads matplotlib, scikit-learn and pandas when they are installed).

Commands (from the repository root; the peer's own figures are in `compare.py`'s tables):
```
python benchmarks/memory.py --shape mba --data ../shared/data/FCC_MBA
python benchmarks/memory.py --shape pageview
KERAS_BACKEND=jax python benchmarks/memory.py --shape mba --data ../shared/data/FCC_MBA
```
Each stage runs in one process, in order; prints a Markdown table and, with `--json`, the
records.
"""

import argparse
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402
import compare  # noqa: E402

# Packages a backend's import may load by itself when they are installed.
OPTIONAL = ("jax", "torch", "tensorflow", "matplotlib", "sklearn", "pandas", "scipy", "h5py")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", required=True, choices=sorted(common.SHAPES))
    parser.add_argument("--data", default=None, help="FCC_MBA folder (mba shape).")
    parser.add_argument("--n", type=int, default=None,
                        help="Training series (default: compare.py's, 2000 at mba, 500 at "
                        "pageview).")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--n-generate", type=int, default=5000)
    parser.add_argument("--json", default=None, help="Write the records here.")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.n_generate < 1:
        parser.error("--epochs and --n-generate must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    stages = []

    def stage(name):
        stages.append({
            "stage": name,
            "rss_mib": common.current_rss_mib(),
            "peak_rss_mib": common.peak_rss_mib(),
        })

    stage("interpreter")
    import numpy as np  # noqa: F401

    stage("numpy")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    before = set(sys.modules)
    importlib.import_module(backend)
    pulled_in = sorted(
        name for name in OPTIONAL
        if name != backend and name in sys.modules and name not in before
    )
    stage(f"import {backend}")
    import keras

    stage("import keras")
    import keras_dg  # noqa: F401
    import ours_dg

    stage("import keras_dg")
    n = args.n or compare.SIZES[args.shape][0]
    data = common.load_shape_data(args.shape, n=n, data=args.data, seed=0)
    model = ours_dg.build_model(data, ours_dg.parse_args(
        ["--shape", args.shape, "--task", "train"]
    ))
    arrays = {k: data[k] for k in ("features", "attributes", "gen_flag")}
    stage("model built")
    model.fit({k: v[:100] for k, v in arrays.items()}, batch_size=100, epochs=1, verbose=0)
    stage("first fit (train step traced)")
    model.fit(arrays, batch_size=100, epochs=args.epochs, verbose=0)
    stage(f"{args.epochs} more epochs")
    model.generate(1000, seed=0)
    stage("first generate (compiled)")
    model.generate(args.n_generate, seed=1)
    stage(f"generate {args.n_generate}")

    header = ["stage", "RSS MiB", "added MiB", "peak so far MiB"]
    rows, previous = [], 0.0
    for s in stages:
        rows.append([s["stage"], f"{s['rss_mib']:,.0f}", f"{s['rss_mib'] - previous:+,.0f}",
                     f"{s['peak_rss_mib']:,.0f}"])
        previous = s["rss_mib"]
    print(f"keras {keras.__version__}, {backend}; shape {args.shape}; the backend's import "
          f"also loaded: {', '.join(pulled_in) or 'nothing optional'}")
    print(common.markdown_table(header, rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"backend": backend, "pulled_in": pulled_in, "stages": stages}, f,
                      indent=1)
    return stages, pulled_in


if __name__ == "__main__":
    main()
