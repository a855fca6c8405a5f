"""The keras-dg side of the benchmarks (CPU; TensorFlow backend unless
`KERAS_BACKEND` says otherwise).

Same tasks, flags and one-line JSON output as `peer_dgan.py`, so `compare.py`
can alternate the two on identical data (`common.load_shape_data`; the
`data_digest` field proves it). Configuration: the paper's sizes (attribute
MLP 3 x 100, LSTM 1 x 100, critics 5 x 200, noise 5 and 5), batch 100,
d_rounds = g_rounds = 1, GP 10 on both critics, aux critic and self_norm on,
Adam(1e-3, beta_1 0.5, epsilon 1e-8).

Commands (from the repository root):
```
python benchmarks/ours_dg.py --task train --shape mba --data ../shared/data/FCC_MBA --n 2000 --epochs 5
python benchmarks/ours_dg.py --task train --shape pageview --n 500 --epochs 10
python benchmarks/ours_dg.py --task generate --shape pageview --n 500 --epochs 0 --n-generate 5000
python benchmarks/ours_dg.py --task fidelity --shape mba --data ../shared/data/FCC_MBA \
    --seconds 600 --out runs/ours_mba.npz
```

Options beyond the peer's: `--fresh-noise` (`shared_noise=False`: fresh
noise and one more generator forward for every round; the default shares one
draw per batch as the original), `--steps-per-execution`, `--jit` (XLA),
`--threads`/`--interop-threads` (TensorFlow thread pools, over keras-dg's
default of one intra-op thread and one inter-op thread per core;
`KERAS_DG_CPU_THREADS=off` keeps TensorFlow's own pools), `--output-margin`
(`DoppelGANger(output_margin=...)`; 0 is the original's plain sigmoid),
`--predict-jit off` (generation without XLA), `--dtype-policy mixed_bfloat16`
(Keras' mixed precision), `--arrays NPZ` (train on any
data written by `common.save_dataset`, e.g. by `fidelity.py`, instead of a
`--shape`; its schema also sets `aux_disc` and `self_norm`),
`--model-config JSON` (DoppelGANger arguments that override all of the above,
e.g. `'{"ema_decay": null, "sample_len": 7}'`), `--clock cpu` (the fidelity
budget `--seconds` counts this process's CPU time, not wall clock) and
`--task fidelity --epochs N` (a fixed number of epochs instead of a budget).
"""

import argparse
import importlib
import importlib.metadata
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default=None, choices=sorted(common.SHAPES))
    parser.add_argument("--arrays", default=None,
                        help="Train on this npz (common.save_dataset) instead of a --shape.")
    parser.add_argument("--model-config", default=None,
                        help="JSON object of DoppelGANger arguments (override the defaults).")
    parser.add_argument("--data", default=None, help="FCC_MBA folder (mba shape).")
    parser.add_argument("--n", type=int, default=None, help="Number of training series.")
    parser.add_argument("--epochs", type=int, default=None,
                        help="Epochs (train: default 1; fidelity: instead of --seconds).")
    parser.add_argument("--task", required=True, choices=["train", "generate", "fidelity"])
    parser.add_argument("--seconds", type=float, default=None, help="fidelity: training budget.")
    parser.add_argument("--clock", choices=common.CLOCKS, default="wall",
                        help="What --seconds counts: wall clock or this process's CPU "
                        "seconds (all threads; fairer on a shared machine).")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads.")
    parser.add_argument("--interop-threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="fidelity: npz of the generated data.")
    parser.add_argument("--n-generate", type=int, default=None)
    parser.add_argument("--gen-batch", type=int, default=1000, help="Generation chunk size.")
    parser.add_argument("--gen-repeats", type=int, default=5,
                        help="Timed generations; the median is reported.")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--fresh-noise", action="store_true")
    parser.add_argument("--steps-per-execution", type=int, default=None,
                        help="compile(steps_per_execution=...); default: what keras-dg's fit picks "
                        "for the timed fit.")
    parser.add_argument("--jit", action="store_true", help="XLA-compile the train step.")
    parser.add_argument(
        "--predict-jit", choices=["auto", "on", "off"], default="auto",
        help="compile(predict_jit_compile=...): XLA for generation (auto: "
        "keras-dg's default, on with TensorFlow and JAX).")
    parser.add_argument(
        "--dtype-policy", choices=["float32", "mixed_bfloat16"], default=None,
        help="keras.mixed_precision.set_global_policy(...) before the model is "
        "built; default: Keras' (float32).")
    parser.add_argument("--output-margin", type=float, default=None,
                        help="DoppelGANger(output_margin=...); default: keras-dg's.")
    parser.add_argument(
        "--select-batches", type=int, default=0, metavar="N",
        help="fidelity: model selection as `keras-dg train`'s select_batches "
        "(keras_dg.pipeline.steps.selection_callback: the ACF MSE, about "
        "every N batches); 0 = off. --out then holds the selected weights' "
        "series and OUT.last.npz the same run's final weights'.")
    parser.add_argument(
        "--select-holdout", type=float, default=0.0, metavar="FRACTION",
        help="with --select-batches: select on this share of the training "
        "series, held out from training (0 = select on the training series).")
    args = parser.parse_args(argv)
    if (args.shape is None) == (args.arrays is None):
        parser.error("give exactly one of --shape and --arrays")
    if args.model_config is not None:
        try:
            args.model_config = json.loads(args.model_config)
        except json.JSONDecodeError as e:
            parser.error(f"--model-config is not JSON: {e}")
        if not isinstance(args.model_config, dict):
            parser.error("--model-config must be a JSON object")
    if args.task == "fidelity" and not args.seconds and not args.epochs:
        parser.error("--task fidelity needs --seconds or --epochs")
    if args.epochs is None:
        args.epochs = 0 if args.task == "fidelity" else 1
    if args.gen_repeats < 1:
        parser.error("--gen-repeats must be >= 1")
    if args.select_batches < 0 or not 0.0 <= args.select_holdout < 1.0:
        parser.error("--select-batches must be >= 0 and --select-holdout in [0, 1)")
    if args.select_batches and (args.task != "fidelity" or args.out is None):
        parser.error("--select-batches needs --task fidelity and --out")
    return args


def build_model(data, args):
    import keras_dg
    from keras_dg import Output

    feature_outputs = [
        Output("CONTINUOUS", 1, normalization)
        for normalization in data["feature_normalizations"]
    ]
    attribute_outputs = [Output("DISCRETE", k) for k in data["attribute_dims"]]
    config = {
        "sample_len": data["sample_len"],
        "aux_disc": data.get("aux_disc", True),
        "self_norm": data.get("self_norm", True),
        "shared_noise": not args.fresh_noise,
        "seed": args.seed,
        **({} if args.output_margin is None else {"output_margin": args.output_margin}),
        **(args.model_config or {}),
    }
    model = keras_dg.DoppelGANger(
        feature_outputs,
        attribute_outputs,
        max_sequence_len=data["max_sequence_len"],
        **config,
    )
    # The steps per call that keras-dg's `fit` picks for the timed fit (so
    # that the warm-up, a shorter fit, traces the same train function).
    steps_per_execution = args.steps_per_execution
    if steps_per_execution is None:
        from keras_dg.models.train_steps.base import auto_steps_per_execution

        planned = None  # A time budget.
        if args.task != "fidelity" or not args.seconds:
            n = len(data["features"])
            planned = args.epochs * -(-n // args.batch_size)
        steps_per_execution = auto_steps_per_execution(planned)
    # jit None: keras-dg's default (XLA on JAX, where it pays; off elsewhere).
    model.compile(
        steps_per_execution=steps_per_execution,
        jit_compile=True if args.jit else None,
        predict_jit_compile={"auto": None, "on": True, "off": False}[args.predict_jit],
    )
    return model


class _Budget:
    """Stops `fit` once `seconds` of wall clock (or of this process's CPU
    time, `clock="cpu"`) have passed."""

    def __init__(self, seconds, clock="wall"):
        import keras

        budget = self
        self.meter = common.Meter()
        elapsed = self.meter.reader(clock)

        class Callback(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if seconds is not None and elapsed() >= seconds:
                    self.model.stop_training = True

            def on_epoch_end(self, epoch, logs=None):
                budget.epoch_ends.append(budget.meter.elapsed())

        self.callback = Callback()
        self.epoch_ends = []


def _generator_updates(model):
    """The generator optimizer's update count (g_rounds per train step)."""
    import keras

    return int(keras.ops.convert_to_numpy(model.g_optimizer.iterations))


def _selection(model, arrays, args):
    """(training arrays, selection callback, last-weights callback) for
    `--select-batches`; the held-out share is drawn with a fixed generator,
    the same for every seed."""
    import keras
    import numpy as np

    from keras_dg import TimeSeriesDataset
    from keras_dg.pipeline.steps import selection_callback

    n = len(arrays["features"])
    order = np.random.default_rng(12345).permutation(n)
    n_select = int(round(args.select_holdout * n))
    if n_select:
        held, kept = order[:n_select], np.sort(order[n_select:])
        select = {k: v[held] for k, v in arrays.items()}
        arrays = {k: v[kept] for k, v in arrays.items()}
    else:
        select = arrays
    real = TimeSeriesDataset(
        select["features"], select["attributes"], select["gen_flag"],
        model.feature_outputs, model.attribute_outputs,
        validate=False,
    )
    n_train = len(arrays["features"])
    selector = selection_callback(
        real, args.select_batches, args.batch_size, n_train=n_train)
    if selector is None:
        raise SystemExit("--select-batches: the data have no ACF to select on")

    class Last(keras.callbacks.Callback):
        """Generates from the final weights, before the selector restores."""

        def on_train_end(self, logs=None):
            self.synthetic = self.model.generate(
                args.n_generate or n_train, seed=args.seed + 1,
                batch_size=args.gen_batch)

    return arrays, selector, Last()


def main(argv=None):
    args = parse_args(argv)
    import keras
    import numpy as np

    backend = keras.config.backend()
    # The runtime's own memory (backend, Keras, keras_dg imported; no model).
    # keras_dg's import sets its default thread pools (KERAS_DG_CPU_THREADS);
    # --threads/--interop-threads override them, before the first op.
    import keras_dg  # noqa: F401

    if backend == "tensorflow":
        threads = common.set_tensorflow_threads(args.threads, args.interop_threads)
    elif args.threads is not None or args.interop_threads is not None:
        raise SystemExit("--threads/--interop-threads are TensorFlow settings")
    else:
        threads = (None, None)
    backend_version = importlib.import_module(backend).__version__

    rss_after_import = common.current_rss_mib()

    keras.utils.set_random_seed(args.seed)
    if args.dtype_policy is not None:
        keras.mixed_precision.set_global_policy(args.dtype_policy)
    if args.arrays:
        data = common.load_dataset(args.arrays)
    else:
        data = common.load_shape_data(args.shape, n=args.n, data=args.data, seed=args.seed)
    n = data["features"].shape[0]
    model = build_model(data, args)
    arrays = {k: data[k] for k in ("features", "attributes", "gen_flag")}
    steps_per_epoch = -(-n // args.batch_size)
    record = {
        "side": "ours",
        "impl": "keras-dg (keras %s, %s %s)" % (keras.__version__, backend, backend_version),
        "backend": backend,
        "task": args.task,
        "shape": args.shape or "arrays",
        "model_config": args.model_config,
        "n": n,
        "T": data["max_sequence_len"],
        "sample_len": data["sample_len"],
        "batch_size": args.batch_size,
        "seed": args.seed,
        "data_digest": common.data_digest(data),
        "shared_noise": not args.fresh_noise,
        "steps_per_execution": model.steps_per_execution,
        "jit": args.jit,
        "dtype_policy": keras.mixed_precision.global_policy().name,
        "predict_jit": args.predict_jit,
        "threads": threads[0],
        "interop_threads": threads[1],
        "cores_available": common.available_cores(),
        "keras_dg": importlib.metadata.version("keras-dg"),
        "numpy": np.__version__,
        "parameters": int(model.count_params()),
        "rss_after_import_mib": rss_after_import,
    }
    # Trace and compile the train step before the clock starts (the peer's
    # script likewise excludes its lazy imports): one short warm-up fit.
    warm = {k: v[: args.batch_size * model.steps_per_execution] for k, v in arrays.items()}
    model.fit(warm, batch_size=args.batch_size, epochs=1, verbose=0)

    budget_seconds = args.seconds if args.task == "fidelity" else None
    selector = last = None
    if args.select_batches:
        arrays, selector, last = _selection(model, arrays, args)
        n = len(arrays["features"])
        steps_per_epoch = -(-n // args.batch_size)
    if args.task == "fidelity" or args.epochs > 0:
        budget = _Budget(budget_seconds, args.clock)
        epochs = 10**9 if budget_seconds is not None else args.epochs
        callbacks = [budget.callback] + ([last, selector] if selector else [])
        start_iterations = _generator_updates(model)
        with budget.meter:
            model.fit(
                arrays, batch_size=args.batch_size, epochs=epochs, verbose=0,
                callbacks=callbacks,
            )
        meter = budget.meter
        # Exact with `steps_per_execution` > 1, whose last execution of an
        # epoch may run fewer steps (callbacks see one batch per execution).
        batches = (_generator_updates(model) - start_iterations) // model.g_rounds
        full, rest = divmod(batches, steps_per_epoch)
        seqs = full * n + min(rest * args.batch_size, n)
        ends = budget.epoch_ends
        epoch_seconds = [b - a for a, b in zip([0.0] + ends[:-1], ends)]
        steady = None
        if len(epoch_seconds) >= 2:
            steady = n * (len(epoch_seconds) - 1) / sum(epoch_seconds[1:])
        record.update(
            {
                "epochs": seqs / n,
                "batches": batches,
                "batches_per_epoch": steps_per_epoch,
                "wall_seconds": meter.wall_seconds,
                "sequences_per_s": seqs / meter.wall_seconds,
                "steady_sequences_per_s": steady,
                "epoch_seconds": epoch_seconds,
                "cpu_seconds": meter.cpu_seconds,
                "cpu_fraction": meter.cpu_fraction,
                "budget_seconds": budget_seconds,
                "budget_clock": args.clock,
            }
        )
    else:
        record.update({"epochs": 0, "wall_seconds": None, "sequences_per_s": None})
    record["peak_rss_train_mib"] = common.peak_rss_mib()
    if selector is not None:
        last_out = args.out[: -len(".npz")] if args.out.endswith(".npz") else args.out
        last_out += ".last.npz"
        common.save_arrays(last_out, last.synthetic.features,
                           last.synthetic.attributes, last.synthetic.gen_flag)
        record["select"] = {
            "every_epochs": selector.every_n_epochs, "holdout": args.select_holdout,
            "n_train": n, "best_epoch": selector.best_epoch,
            "best_acf_mse": selector.best, "last_out": last_out,
        }

    if args.task in ("generate", "fidelity"):
        n_gen = args.n_generate or n
        # The first chunk (compilation, lazy imports) is timed apart.
        with common.Meter() as warm_meter:
            model.generate(min(args.gen_batch, n_gen), seed=args.seed, batch_size=args.gen_batch)
        synthetic, gen_meter, gen_all = common.timed_median(
            lambda: model.generate(n_gen, seed=args.seed + 1, batch_size=args.gen_batch),
            args.gen_repeats,
        )
        record.update(
            {
                "gen_n": n_gen,
                "gen_batch": args.gen_batch,
                "gen_warmup_seconds": warm_meter.wall_seconds,
                "gen_seconds": gen_meter.wall_seconds,
                "gen_seconds_all": gen_all,
                "gen_series_per_s": n_gen / gen_meter.wall_seconds,
                "gen_cpu_seconds": gen_meter.cpu_seconds,
                "gen_cpu_fraction": gen_meter.cpu_fraction,
            }
        )
        if args.out is not None:
            common.save_arrays(
                args.out, synthetic.features, synthetic.attributes, synthetic.gen_flag
            )
            record["out"] = args.out
    else:
        record.update({"gen_n": None, "gen_series_per_s": None})

    record["peak_rss_mib"] = common.peak_rss_mib()
    common.emit_json(record)
    return record


if __name__ == "__main__":
    main()
