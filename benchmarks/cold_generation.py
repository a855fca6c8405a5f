"""Cold generation: the first `generate(n)` of a fresh process, against the peer's.

A command-line `keras-dg generate -n 1000` is one such call: whatever the first call
compiles or traces is paid every time. This script measures it at both benchmark shapes
(the MBA shape, T=56, S=8, and the page-view shape, T=550, S=10; see `common.SHAPES`).

Once, before any timing, each side trains a model for one epoch on a few series of the
shape and saves it (ours: a `.keras` file; the peer, gretel-synthetics' DGAN: its own
`DGAN.save` file). Then, for every side, shape and n, `--repeats` FRESH processes each
import the side's framework, load the saved model (not timed), time the first
`generate(n)` call (cold: from the call to its return), then a second call of the same n
(warm). Sides alternate process by process, so a change of the shared machine's load hits
both. Reported: median series/s over the processes (with the spread) and its ratio to the
peer's median at the same shape and n.

Sides: `ours` (keras-dg on TensorFlow, its defaults), `ours-xla` / `ours-noxla`
(`compile(predict_jit_compile=True / False)`: every request XLA-compiled / never), `jax`
(keras-dg on JAX, run by `--jax-python`, an interpreter with JAX installed, importing this
checkout; its persistent compilation cache, `KERAS_DG_JAX_CACHE_DIR`, emptied before each
process: a first run on the machine), `jax-cached` (the same with the cache filled by one
untimed process beforehand: every later run), and `peer` (gretel DGAN under
`torch.inference_mode()`, chunks of 1000, as `peer_dgan.py`).

Commands (from the repository root; the peer venv comes from `benchmarks/setup_peer.sh`):
```
python benchmarks/cold_generation.py --data ../shared/data/FCC_MBA
python benchmarks/cold_generation.py --data ../shared/data/FCC_MBA --sides ours,ours-xla,peer \
    --sizes 1000,5000 --repeats 5 --json cold.json
python benchmarks/cold_generation.py --shapes pageview --sides ours,jax,peer \
    --jax-python /path/to/venv-with-jax/bin/python
```
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
PEER_PYTHON = os.path.join(BENCH, ".peer-venv", "bin", "python")
SIDES = ("ours", "ours-xla", "ours-noxla", "jax", "jax-cached", "peer")
# Training series of the saved models (one epoch: speed does not depend on the weights).
TRAIN_SERIES = {"mba": 200, "pageview": 100}
# compile(predict_jit_compile=...) of each keras-dg side.
PREDICT_JIT = {"ours": None, "ours-xla": True, "ours-noxla": False, "jax": None,
               "jax-cached": None}


def _sizes(text):
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return sizes


def _choices(allowed):
    def parse(text):
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if s not in allowed]
        if not items or bad:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list among {allowed}, got {text!r}"
            )
        return items

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", type=_choices(tuple(common.SHAPES)),
                        default=["mba", "pageview"], help="default: mba,pageview.")
    parser.add_argument("--sides", type=_choices(SIDES), default=["ours", "peer"],
                        help=f"comma-separated among {SIDES} (default: ours,peer).")
    parser.add_argument("--sizes", type=_sizes, default=[1000, 5000],
                        help="n of the timed calls (default: 1000,5000).")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh processes per side, shape and n (default: 3).")
    parser.add_argument("--data", default=None,
                        help="the FCC_MBA folder (needed for the mba shape).")
    parser.add_argument("--jax-python", default=None,
                        help="interpreter with JAX and keras-dg for the `jax` side.")
    parser.add_argument("--peer-python", default=PEER_PYTHON)
    parser.add_argument("--models", default=None,
                        help="folder for the saved models (default: a temp folder, removed).")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds before a process is killed (default: 900).")
    parser.add_argument("--json", default=None, help="write the records here.")
    # One step in this process (what the driver runs).
    parser.add_argument("--worker", choices=("prepare", "time"), default=None,
                        help=argparse.SUPPRESS)
    parser.add_argument("--side", choices=SIDES, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--shape", choices=tuple(common.SHAPES), default=None,
                        help=argparse.SUPPRESS)
    parser.add_argument("--model", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, received {args.repeats}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be > 0, received {args.timeout}")
    if args.worker is None:
        if "mba" in args.shapes and args.data is None:
            parser.error("--data is required for the mba shape (the FCC_MBA folder)")
        if {"jax", "jax-cached"} & set(args.sides) and args.jax_python is None:
            parser.error("the jax side needs --jax-python (an interpreter with JAX)")
        if "peer" in args.sides and not os.path.exists(args.peer_python):
            parser.error(f"--peer-python {args.peer_python!r} does not exist: run "
                         "`bash benchmarks/setup_peer.sh`")
    elif args.side is None or args.shape is None or args.model is None:
        parser.error("--worker needs --side, --shape and --model")
    elif args.worker == "time" and (args.n is None or args.n < 1):
        parser.error("--worker time needs a positive --n")
    return args


# --------------------------------------------------------------------------------------
# Workers (one fresh process each)
# --------------------------------------------------------------------------------------


def _worker_args(args, extra):
    """The argument namespace `ours_dg.build_model` / `peer_dgan.build_model` read."""
    return argparse.Namespace(
        seed=0, fresh_noise=False, output_margin=None, model_config=None,
        steps_per_execution=1, jit=False, predict_jit="auto", batch_size=100,
        epochs=1, gen_batch=1000, gen_autograd=False, task="train",
        seconds=None, clock="wall", **extra,
    )


def prepare_ours(args):
    """Trains a keras-dg model one epoch on a few series and saves it."""
    import keras

    import ours_dg

    data = common.load_shape_data(
        args.shape, n=TRAIN_SERIES[args.shape], data=args.data, seed=0
    )
    keras.utils.set_random_seed(0)
    model = ours_dg.build_model(data, _worker_args(args, {}))
    arrays = {k: data[k] for k in ("features", "attributes", "gen_flag")}
    model.fit(arrays, batch_size=100, epochs=1, verbose=0)
    model.save(args.model)
    return {"side": "ours", "shape": args.shape, "model": args.model}


def prepare_peer(args):
    """Trains the peer's DGAN one epoch on a few series and saves it (`DGAN.save`)."""
    import peer_dgan

    data = common.load_shape_data(
        args.shape, n=TRAIN_SERIES[args.shape], data=args.data, seed=0
    )
    # gretel's own critics (5 hidden layers), so that `DGAN.load` rebuilds the same ones;
    # the critics take no part in generation.
    peer_args = _worker_args(args, {"critic_hidden_layers": 5})
    model = peer_dgan.build_model(data, peer_args)
    peer_dgan.train(model, data, peer_args)
    model.save(args.model)
    return {"side": "peer", "shape": args.shape, "model": args.model}


def _time_calls(generate, n):
    cold = common.Meter()
    with cold:
        generate(n, 1)
    warm = common.Meter()
    with warm:
        generate(n, 2)
    return {
        "n": n,
        "cold_seconds": cold.wall_seconds,
        "cold_cpu_seconds": cold.cpu_seconds,
        "warm_cpu_seconds": warm.cpu_seconds,
        "warm_seconds": warm.wall_seconds,
        "cold_series_per_s": n / cold.wall_seconds,
        "warm_series_per_s": n / warm.wall_seconds,
    }


def time_ours(args):
    """Loads the saved model, then times its first and second `generate(n)`."""
    with common.Meter() as load:
        import keras

        from keras_dg.data.readers import load_model

        model = load_model(args.model)
        jit = PREDICT_JIT[args.side]
        if jit is not None:
            model.predict_jit_compile = jit
    record = _time_calls(lambda n, seed: model.generate(n, seed=seed), args.n)
    record.update({
        "side": args.side, "shape": args.shape, "backend": keras.config.backend(),
        "load_seconds": load.wall_seconds, "peak_rss_mib": common.peak_rss_mib(),
    })
    return record


def time_peer(args):
    """Loads the peer's saved DGAN, then times its first and second `generate(n)`."""
    with common.Meter() as load:
        import torch
        from gretel_synthetics.timeseries_dgan.dgan import DGAN

        import peer_dgan

        # The file this script's prepare step wrote (gretel pickles its config).
        model = DGAN.load(args.model, weights_only=False)
    peer_args = _worker_args(args, {})
    torch.manual_seed(0)
    record = _time_calls(lambda n, seed: peer_dgan.generate(model, n, peer_args), args.n)
    record.update({
        "side": "peer", "shape": args.shape, "backend": "torch",
        "load_seconds": load.wall_seconds, "peak_rss_mib": common.peak_rss_mib(),
    })
    return record


def worker(args):
    if args.worker == "prepare":
        record = prepare_peer(args) if args.side == "peer" else prepare_ours(args)
    else:
        record = time_peer(args) if args.side == "peer" else time_ours(args)
    common.emit_json(record)


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def _command(args, side, step, shape, model, n=None):
    python = {"peer": args.peer_python, "jax": args.jax_python,
              "jax-cached": args.jax_python}.get(side, sys.executable)
    command = [python, os.path.abspath(__file__), "--worker", step, "--side", side,
               "--shape", shape, "--model", model]
    if n is not None:
        command += ["--n", str(n)]
    if args.data is not None and shape == "mba":
        command += ["--data", os.path.abspath(args.data)]
    return command


def _env(side, folder):
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if side.startswith("jax"):
        env["KERAS_BACKEND"] = "jax"
        env["KERAS_DG_JAX_CACHE_DIR"] = os.path.join(folder, side)
        # This checkout's keras_dg, whatever the interpreter has installed.
        root = os.path.dirname(BENCH)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    elif side != "peer":
        env["KERAS_BACKEND"] = "tensorflow"
    return env


def _model_path(folder, side, shape):
    owner = "peer" if side == "peer" else "ours"
    return os.path.join(folder, f"{owner}_{shape}" + (".pt" if owner == "peer" else ".keras"))


def run(args):
    folder = args.models or tempfile.mkdtemp(prefix="keras_dg_cold_")
    os.makedirs(folder, exist_ok=True)
    records = []
    try:
        owners = sorted({"peer" if s == "peer" else "ours" for s in args.sides})
        for shape in args.shapes:
            for owner in owners:
                path = _model_path(folder, owner, shape)
                if not os.path.exists(path):
                    common.run_json(
                        _command(args, owner if owner == "peer" else "ours", "prepare",
                                 shape, path),
                        env=_env(owner, folder), timeout=args.timeout,
                    )
            if "jax-cached" in args.sides:
                # One untimed process fills the cache for every n.
                for n in args.sizes:
                    common.run_json(
                        _command(args, "jax-cached", "time", shape,
                                 _model_path(folder, "jax-cached", shape), n),
                        env=_env("jax-cached", folder), timeout=args.timeout,
                    )
        for shape in args.shapes:
            for n in args.sizes:
                for repeat in range(args.repeats):
                    for side in args.sides:
                        if side == "jax":
                            shutil.rmtree(os.path.join(folder, "jax"), ignore_errors=True)
                        result = common.run_json(
                            _command(args, side, "time", shape,
                                     _model_path(folder, side, shape), n),
                            env=_env(side, folder), timeout=args.timeout,
                        )
                        record = dict(result["record"], repeat=repeat,
                                      process_seconds=result["wall_s"])
                        records.append(record)
                        print(json.dumps(record), file=sys.stderr, flush=True)
    finally:
        if args.models is None:
            shutil.rmtree(folder, ignore_errors=True)
    return records


def table(records):
    """The markdown table: per shape, n and side, median cold and warm series/s (with the
    spread over the processes) and their ratios to the peer's medians."""
    groups = {}
    for r in records:
        groups.setdefault((r["shape"], r["n"], r["side"]), []).append(r)
    medians = {
        key: {kind: statistics.median(r[f"{kind}_series_per_s"] for r in group)
              for kind in ("cold", "warm")}
        for key, group in groups.items()
    }
    rows = []
    for (shape, n, side), group in groups.items():
        peer = medians.get((shape, n, "peer"))
        cells = [shape, f"{n:,}", side]
        for kind in ("cold", "warm"):
            summary = common.summarize([r[f"{kind}_series_per_s"] for r in group])
            cells.append(common.format_summary(summary))
            cells.append(
                f"{medians[(shape, n, side)][kind] / peer[kind]:.2f}x" if peer else None
            )
        cells.append(statistics.median(r["cold_seconds"] for r in group))
        cells.append(statistics.median(r["cold_cpu_seconds"] for r in group))
        rows.append(cells)
    return common.markdown_table(
        ["shape", "n", "side", "cold series/s", "cold vs peer", "warm series/s",
         "warm vs peer", "cold s", "cold CPU s"],
        rows,
    )


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        worker(args)
        return None
    records = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    print(common.machine_line())
    print()
    print(table(records))
    return records


if __name__ == "__main__":
    main()
