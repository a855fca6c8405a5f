"""Training from a Parquet folder (`keras_dg.data.from_parquet`) against training in
memory, at the MBA shape (T=56, S=8, 2 continuous features, 3 discrete attributes,
batch 100, the model's default sizes).

The folder is synthesized (`--series N` series of 56 steps, long layout, one row per
series and step, `--series-per-file` series per file, one row group per 1,000 series),
so that any size can be written without the data in memory: features `traffic` (a
positive random walk) and `ping_loss` (mostly 0), attributes `technology` (5 values),
`isp` (15) and `state` (51), ids in order.

Two modes:

- `--mode throughput` (default), one process: fits the transformer on the folder
  (`from_parquet`: one streaming pass) and on the same table in memory
  (`pandas.read_parquet` + `from_dataframe`), then trains ONE model alternately
  in memory (`fit(dataset)`) and from the folder (`ParquetSeries.training_data`:
  tf.data on TensorFlow, a PyDataset elsewhere; `--input pydataset` forces it),
  `--steps` timed steps each after `--warmup` untimed ones, `--repeats` rounds
  (the side that goes first alternates). Prints series/s per side (median) and
  the ratio Parquet / in memory, the pass's time, and the resident memory after
  each stage.
- `--mode limit`: runs the Parquet training and the in-memory training each in a
  fresh process under an address-space limit (`prlimit --as`, the `ulimit -v`
  of a child; see below), on a folder whose in-memory training needs more than
  the limit allows: the Parquet side completes and the in-memory side fails
  (MemoryError). Prints each side's outcome, peak resident memory
  (`ru_maxrss`), peak address space (`VmPeak`) and series/s.

Which limit works here: there is no systemd (`systemd-run --scope -p MemoryMax=`
fails: PID 1 is not systemd), and cgroups belong to the machine's own tooling, so
the limit is `prlimit --as=BYTES` (RLIMIT_AS, what `ulimit -v` sets). It caps
virtual memory, not resident memory: TensorFlow maps about 1.9 GiB of address
space to hold about 1.1 GiB resident (measured with `MALLOC_ARENA_MAX=2`, which
the children get so that glibc's per-thread arenas do not inflate it). So the
limit is the backend's own address space plus a budget for the data, and "3x
larger than the limit allows" means: in-memory training of the folder needs about
three times that budget (`--memory-limit-mib` prints the budget it leaves).

Commands (from the repository root):
```
python benchmarks/parquet_training.py --series 20000 --steps 300 --repeats 3
python benchmarks/parquet_training.py --mode limit --series 150000 --memory-limit-mib 2600
KERAS_BACKEND=jax python benchmarks/parquet_training.py --series 20000
```
`--folder DIR` keeps (or reuses) the written folder; `--json FILE` writes the records.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402

T = 56
SAMPLE_LEN = 8
BATCH = 100
SERIES_PER_GROUP = 1000
ROLES = dict(example_id="id", time="step", features=["traffic", "ping_loss"],
             attributes=["technology", "isp", "state"], sample_len=SAMPLE_LEN)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("throughput", "limit"), default="throughput")
    p.add_argument("--series", type=int, default=20000, help="series in the folder")
    p.add_argument("--series-per-file", type=int, default=20000)
    p.add_argument("--folder", default=None,
                   help="write the folder here (reused when it holds --series series)")
    p.add_argument("--steps", type=int, default=300, help="timed training steps per side")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps before them")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--input", choices=("auto", "tf.data", "pydataset"), default="auto")
    p.add_argument("--shuffle-buffer", type=int, default=10000)
    p.add_argument("--default-threads", action="store_true",
                   help="keep the backend's thread pools (default: set_cpu_threads())")
    p.add_argument("--memory-limit-mib", type=int, default=2600,
                   help="--mode limit: address-space limit of each child (MiB)")
    p.add_argument("--timeout", type=float, default=1800.0, help="per child, seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    p.add_argument("--child", choices=("parquet", "memory"), default=None,
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("series", "series_per_file", "steps", "repeats", "shuffle_buffer",
                 "memory_limit_mib"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, received {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, received {args.warmup}")
    if args.series < (args.steps + args.warmup) * BATCH:
        p.error(f"--series {args.series} holds fewer than (--steps + --warmup) x {BATCH} "
                "series: each side trains within one epoch")
    return args


# --- The folder -------------------------------------------------------------------


def write_folder(folder, n, series_per_file, seed=0):
    """Writes `n` series of the MBA shape to `folder` (part-00000.parquet, ...), one
    row group per `SERIES_PER_GROUP` series; returns the bytes written."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    states = [f"S{k:02d}" for k in range(51)]
    isps = [f"ISP{k:02d}" for k in range(15)]
    technologies = ["cable", "dsl", "fiber", "satellite", "wireless"]
    total = 0
    for part, first in enumerate(range(0, n, series_per_file)):
        path = os.path.join(folder, f"part-{part:05d}.parquet")
        writer = None
        for start in range(first, min(first + series_per_file, n), SERIES_PER_GROUP):
            m = min(SERIES_PER_GROUP, first + series_per_file - start, n - start)
            steps = np.tile(np.arange(T), m)
            level = rng.lognormal(15, 1, size=(m, 1))
            traffic = level * np.exp(np.cumsum(rng.normal(0, 0.1, (m, T)), axis=1))
            traffic *= 1 + 0.3 * np.sin(np.arange(T) * np.pi / 2)  # period 4
            loss = np.where(rng.random((m, T)) < 0.8, 0.0, rng.random((m, T)) * 0.05)

            def per_series(values):
                return np.repeat(np.asarray(values, dtype=object), T)

            table = pa.table({
                "id": np.repeat(np.arange(start, start + m), T),
                "step": steps,
                "traffic": traffic.reshape(-1),
                "ping_loss": loss.reshape(-1),
                "technology": per_series(rng.choice(technologies, m)),
                "isp": per_series(rng.choice(isps, m)),
                "state": per_series(rng.choice(states, m)),
            })
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        writer.close()
        total += os.path.getsize(path)
    with open(os.path.join(folder, "_series"), "w") as f:
        f.write(str(n))
    return total


def ensure_folder(args):
    """The folder of `--series` series (written unless `--folder` holds it), and
    whether it is temporary."""
    folder, temporary = args.folder, args.folder is None
    if temporary:
        folder = tempfile.mkdtemp(prefix="keras_dg_parquet_")
    marker = os.path.join(folder, "_series")
    if os.path.exists(marker) and open(marker).read() == str(args.series):
        return folder, temporary
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith("part-") and name.endswith(".parquet"):
                os.remove(os.path.join(folder, name))
    t0 = time.perf_counter()
    size = write_folder(folder, args.series, args.series_per_file, args.seed)
    print(f"wrote {args.series:,} series ({args.series * T:,} rows, "
          f"{size / 2**20:,.0f} MiB of Parquet) in {time.perf_counter() - t0:.0f} s "
          f"to {folder}", file=sys.stderr, flush=True)
    return folder, temporary


# --- Training ----------------------------------------------------------------------


def _model(transformer):
    from keras_dg import DoppelGANger

    model = DoppelGANger(transformer.feature_outputs, transformer.attribute_outputs,
                         max_sequence_len=transformer.max_sequence_len,
                         sample_len=SAMPLE_LEN, seed=0)
    model.compile()
    return model


def _timer():
    import keras

    class BatchTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    return BatchTimes()


def train_rate(model, data, steps, warmup, **fit_kwargs):
    """Series/s over `steps` steps after `warmup` untimed ones (one fit call)."""
    timer = _timer()
    model.fit(data, epochs=1, steps_per_epoch=steps + warmup, verbose=0,
              callbacks=[timer], **fit_kwargs)
    times = timer.times
    if len(times) < steps + warmup:
        raise RuntimeError(f"fit ran {len(times)} steps, expected {steps + warmup}")
    start = times[warmup - 1] if warmup else times[0]
    timed = steps if warmup else steps - 1
    return timed * BATCH / (times[-1] - start)


def _fit_parquet(folder):
    from keras_dg.data import from_parquet

    t0 = time.perf_counter()
    series, transformer = from_parquet(folder, **ROLES)
    return series, transformer, time.perf_counter() - t0


def _fit_memory(folder):
    import pandas as pd

    from keras_dg.data import from_dataframe

    t0 = time.perf_counter()
    table = pd.read_parquet(folder)
    dataset, transformer = from_dataframe(table, **ROLES)
    del table
    return dataset, transformer, time.perf_counter() - t0


def _input_kind(args):
    return None if args.input == "auto" else args.input


def _threads(args):
    if not args.default_threads:
        from keras_dg.runtime import set_cpu_threads

        set_cpu_threads()


def throughput(args):
    _threads(args)
    import keras

    folder, temporary = ensure_folder(args)
    try:
        rss = {"import": common.current_rss_mib()}
        series, transformer, pass_s = _fit_parquet(folder)
        rss["after from_parquet"] = common.current_rss_mib()
        dataset, expected, memory_s = _fit_memory(folder)
        rss["after from_dataframe (in memory)"] = common.current_rss_mib()
        same = transformer.get_config() == expected.get_config()
        model = _model(transformer)
        series.apply_settings(model)
        rates = {"memory": [], "parquet": []}
        for r in range(args.repeats):
            order = ("memory", "parquet") if r % 2 == 0 else ("parquet", "memory")
            for side in order:
                if side == "memory":
                    rate = train_rate(model, dataset, args.steps, args.warmup,
                                      batch_size=BATCH)
                else:
                    data = series.training_data(
                        BATCH, seed=args.seed + r, shuffle_buffer=args.shuffle_buffer,
                        kind=_input_kind(args))
                    rate = train_rate(model, data, args.steps, args.warmup)
                rates[side].append(rate)
                print(f"round {r}: {side:8s} {rate:8,.0f} series/s", file=sys.stderr,
                      flush=True)
        rss["peak"] = common.peak_rss_mib()
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
    ratios = [p / m for p, m in zip(rates["parquet"], rates["memory"])]
    record = {
        "mode": "throughput", "backend": keras.config.backend(), "series": args.series,
        "rows": args.series * T, "steps": args.steps, "warmup": args.warmup,
        "repeats": args.repeats,
        "input": args.input if args.input != "auto" else (
            "tf.data" if keras.config.backend() == "tensorflow" else "pydataset"),
        "threads": "default" if args.default_threads else "set_cpu_threads",
        "rates": rates, "median": {k: statistics.median(v) for k, v in rates.items()},
        "ratio_median": statistics.median(ratios), "ratios": ratios,
        "from_parquet_s": pass_s, "from_dataframe_s": memory_s,
        "transformer_equal": same, "rss_mib": rss, "machine": common.machine_info(),
    }
    print(common.machine_line(record["machine"]))
    print(f"\n{args.series:,} series x {T} steps, batch {BATCH}, {args.steps} timed steps "
          f"a side, {args.repeats} rounds, {record['backend']}, input {record['input']}, "
          f"threads {record['threads']}\n")
    print(common.markdown_table(
        ["side", "series/s (median)", "rounds"],
        [["in memory (fit(dataset))", record["median"]["memory"],
          ", ".join(f"{v:,.0f}" for v in rates["memory"])],
         ["Parquet folder (from_parquet)", record["median"]["parquet"],
          ", ".join(f"{v:,.0f}" for v in rates["parquet"])]]))
    print(f"\nratio Parquet / in memory: {record['ratio_median']:.3f} (median of "
          f"{', '.join(f'{x:.3f}' for x in ratios)})")
    print(f"fit pass (from_parquet): {pass_s:.1f} s ({args.series / pass_s:,.0f} series/s); "
          f"read_parquet + from_dataframe: {memory_s:.1f} s; transformers equal: {same}")
    print("resident memory (MiB): " + ", ".join(f"{k} {v:,.0f}" for k, v in rss.items()))
    return record


# --- Under a memory limit -----------------------------------------------------------


def _vm_peak_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) / 1024.0
    return None


def child(args):
    """One side in this process: fit, then `--steps` steps; prints one JSON line."""
    _threads(args)
    stages = {}
    try:
        if args.child == "parquet":
            series, transformer, fit_s = _fit_parquet(args.folder)
            model = _model(transformer)
            series.apply_settings(model)
            data = series.training_data(BATCH, seed=args.seed,
                                        shuffle_buffer=args.shuffle_buffer,
                                        kind=_input_kind(args))
            kwargs = {}
        else:
            data, transformer, fit_s = _fit_memory(args.folder)
            model = _model(transformer)
            kwargs = {"batch_size": BATCH}
        stages["fit_s"] = fit_s
        stages["rss_after_fit_mib"] = common.current_rss_mib()
        rate = train_rate(model, data, args.steps, args.warmup, **kwargs)
        outcome = "completed"
    except MemoryError as e:
        rate, outcome = None, f"MemoryError {str(e)[:200]}"
    common.emit_json({"side": args.child, "outcome": outcome, "series_per_s": rate,
                      "peak_rss_mib": common.peak_rss_mib(),
                      "vm_peak_mib": _vm_peak_mib(), **stages})


def limit(args):
    folder, temporary = ensure_folder(args)
    limit_bytes = args.memory_limit_mib * 2**20
    env = dict(os.environ, MALLOC_ARENA_MAX="2")
    records = []
    try:
        for side in ("parquet", "memory"):
            command = ["prlimit", f"--as={limit_bytes}", sys.executable,
                       os.path.abspath(__file__), "--child", side, "--folder", folder,
                       "--series", str(args.series),
                       "--steps", str(args.steps), "--warmup", str(args.warmup),
                       "--input", args.input, "--shuffle-buffer", str(args.shuffle_buffer),
                       "--seed", str(args.seed)]
            if args.default_threads:
                command.append("--default-threads")
            try:
                result = common.run_json(command, env=env, timeout=args.timeout)
                record = dict(result["record"], wall_s=result["wall_s"])
            except RuntimeError as e:
                last = [line for line in str(e).splitlines() if line.strip()][-1:]
                record = {"side": side, "outcome": "failed: " + " ".join(last)[:300]}
            records.append(record)
            print(f"{side}: {record['outcome']}", file=sys.stderr, flush=True)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
    record = {"mode": "limit", "series": args.series, "rows": args.series * T,
              "memory_limit_mib": args.memory_limit_mib, "sides": records,
              "machine": common.machine_info()}
    print(common.machine_line(record["machine"]))
    print(f"\n{args.series:,} series x {T} steps ({args.series * T:,} rows), each side "
          f"in a fresh process under prlimit --as={args.memory_limit_mib} MiB, "
          f"{args.steps} timed steps\n")
    print(common.markdown_table(
        ["side", "outcome", "fit s", "peak RSS MiB", "peak address space MiB", "series/s"],
        [[r["side"], r["outcome"], r.get("fit_s"), r.get("peak_rss_mib"),
          r.get("vm_peak_mib"), r.get("series_per_s")] for r in records]))
    return record


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child(args)
    record = throughput(args) if args.mode == "throughput" else limit(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1, default=str)
    return record


if __name__ == "__main__":
    main()
