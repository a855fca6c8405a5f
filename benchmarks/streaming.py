"""Streaming generation (`generate_to`): peak memory and throughput against in-memory
`generate`, at the MBA shape.

Each measurement runs in a fresh process (`common.run_json`): it imports the backend
(the baseline: what the runtime itself costs), loads the model (default: the shipped
`FCC_MBA` preset, T=56, S=8, real FCC_MBA units through its transformer), warms the
generator up with one `generate(1000)` (compiled once, as a long run would be), then
times one of:

- `generate`: `model.generate(n)` in memory (encoded arrays): the throughput reference;
- `dataframe`: `model.generate_dataframe(n)` in memory (real units, long table);
- `stream`: `model.generate_to(DIR, n, format=...)` (parquet, csv or npz parts).

Reported per run: seconds (median of `--repeats` processes), series/s and its ratio to
in-memory `generate` at the same n (or the largest measured), and memory above the
baseline: after loading and warming up the model, and the process' peak (`ru_maxrss`).
Streaming memory should not depend on n: compare the peak at n=10,000 with the large n.

Commands (from the repository root; the machine and date are printed with the tables):
```
python benchmarks/streaming.py                      # n = 10,000 and 1,000,000, parquet
python benchmarks/streaming.py --stream-sizes 10000,100000 --formats parquet,npz --repeats 3
KERAS_BACKEND=jax python benchmarks/streaming.py --stream-sizes 10000
```
`--json FILE` writes the records.

On a shared machine the load changes between processes; `--interleave N` instead alternates
in-memory `generate(N)`, `generate_dataframe(N)` and `generate_to(N)` (each format) in ONE
process (`--repeats` rounds, model warm) and reports the median ratio of their throughputs:
```
python benchmarks/streaming.py --interleave 100000 --formats parquet,npz --repeats 5
```
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402

MODES = ("generate", "dataframe", "stream")
FORMATS = ("parquet", "csv", "npz")


def _sizes(text):
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return sizes


def _formats(text):
    formats = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if not formats or bad:
        raise argparse.ArgumentTypeError(f"expected formats among {FORMATS}, got {text!r}")
    return formats


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="FCC_MBA",
                        help="the model: a preset name or folder (default: FCC_MBA).")
    parser.add_argument("--stream-sizes", type=_sizes, default=[10_000, 1_000_000],
                        help="n of the streaming runs (default: 10000,1000000).")
    parser.add_argument("--memory-sizes", type=_sizes, default=[10_000, 1_000_000],
                        help="n of the in-memory `generate` runs (default: 10000,1000000).")
    parser.add_argument("--dataframe-sizes", type=_sizes, default=[10_000, 100_000],
                        help="n of the in-memory `generate_dataframe` runs (default: "
                        "10000,100000; the table of 1M MBA series needs several GiB).")
    parser.add_argument("--formats", type=_formats, default=["parquet"],
                        help="streaming formats, comma-separated (default: parquet).")
    parser.add_argument("--rows-per-file", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3,
                        help="processes per measurement at n <= 100,000 (default: 3); "
                        "larger n run once.")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds before a run is killed (default: 1800).")
    parser.add_argument("--out", default=None,
                        help="folder for the parts (default: a temp folder, removed).")
    parser.add_argument("--json", default=None, help="write the records here.")
    parser.add_argument("--interleave", type=int, default=None, metavar="N",
                        help="alternate generate(N) and generate_to(N) in one process "
                        "(see the docstring).")
    # One measurement in this process (what the driver runs).
    parser.add_argument("--worker", choices=MODES, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--format", choices=FORMATS, default="parquet",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.rows_per_file < 1 or args.batch_size < 1:
        parser.error("--repeats, --rows-per-file and --batch-size must be positive")
    if args.worker and (args.n is None or args.n < 1):
        parser.error("--worker needs --n")
    if args.interleave is not None and args.interleave < 1:
        parser.error("--interleave must be positive")
    return args


def worker(args):
    """One measurement; prints one JSON line."""
    import importlib

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    importlib.import_module(backend)
    baseline = common.current_rss_mib()
    import keras_dg

    model = keras_dg.DoppelGANger.from_preset(args.preset)
    loaded = common.current_rss_mib()
    model.generate(1000, seed=0)  # compiles the generator, as a long run would
    warm = common.current_rss_mib()
    peak_warm = common.peak_rss_mib()
    began = time.perf_counter()
    written = None
    if args.worker == "generate":
        data = model.generate(args.n, seed=1, batch_size=args.batch_size)
        rows = len(data)
    elif args.worker == "dataframe":
        table = model.generate_dataframe(args.n, seed=1, batch_size=args.batch_size)
        rows = int(table.iloc[:, 0].nunique())
    else:
        manifest = model.generate_to(
            args.out, args.n, format=args.format, rows_per_file=args.rows_per_file,
            seed=1, batch_size=args.batch_size, progress=False,
        )
        rows = manifest["rows"][1] - manifest["rows"][0]
        written = sum(p["bytes"] for p in manifest["parts"])
    seconds = time.perf_counter() - began
    if rows != args.n:
        raise RuntimeError(f"expected {args.n} series, got {rows}")
    common.emit_json({
        "mode": args.worker, "format": args.format if args.worker == "stream" else None,
        "n": args.n, "seconds": seconds, "series_per_s": args.n / seconds,
        "baseline_rss_mib": baseline, "model_rss_mib": loaded - baseline,
        "warm_rss_mib": warm - baseline, "warm_peak_mib": peak_warm - baseline,
        "peak_rss_mib": common.peak_rss_mib() - baseline, "bytes_written": written,
        "backend": backend, "series_length": model.max_sequence_len,
    })


def interleave(args):
    """Alternates in-memory `generate` and `generate_to` (each format) in this process."""
    import statistics

    import keras_dg

    model = keras_dg.DoppelGANger.from_preset(args.preset)
    model.generate(1000, seed=0)
    n = args.interleave
    times = {"generate": [], "dataframe": []}
    times.update({fmt: [] for fmt in args.formats})
    out = tempfile.mkdtemp(prefix="keras_dg_stream_", dir=args.out)
    try:
        for _ in range(args.repeats):
            began = time.perf_counter()
            model.generate(n, seed=1, batch_size=args.batch_size)
            times["generate"].append(time.perf_counter() - began)
            began = time.perf_counter()
            model.generate_dataframe(n, seed=1, batch_size=args.batch_size)
            times["dataframe"].append(time.perf_counter() - began)
            for fmt in args.formats:
                target = os.path.join(out, fmt)
                began = time.perf_counter()
                model.generate_to(target, n, format=fmt, rows_per_file=args.rows_per_file,
                                  seed=1, batch_size=args.batch_size, progress=False)
                times[fmt].append(time.perf_counter() - began)
                shutil.rmtree(target)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    rows = []
    for name, seconds in times.items():
        ratios = [g / s for g, s in zip(times["generate"], seconds)]
        rows.append([
            name if name in ("generate", "dataframe") else f"generate_to {name}", f"{n:,}",
            " ".join(f"{s:.2f}" for s in seconds), f"{n / statistics.median(seconds):,.0f}",
            f"{statistics.median(ratios):.2f}",
        ])
    print(common.machine_line())
    print(f"One process, model warm, {args.repeats} alternating rounds; preset {args.preset}, "
          f"batch {args.batch_size}, rows per file {args.rows_per_file:,}.")
    print(common.markdown_table(
        ["run", "n", "seconds per round", "series/s (median)",
         "× generate (median of the rounds' ratios)"], rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(times, f, indent=1)
    return times


def _measure(args, mode, n, fmt=None):
    runs = []
    repeats = args.repeats if n <= 100_000 else 1
    for _ in range(repeats):
        out = tempfile.mkdtemp(prefix="keras_dg_stream_", dir=args.out)
        target = os.path.join(out, "parts")
        command = [sys.executable, os.path.abspath(__file__), "--worker", mode, "--n", str(n),
                   "--preset", args.preset, "--rows-per-file", str(args.rows_per_file),
                   "--batch-size", str(args.batch_size), "--out", target]
        if fmt:
            command += ["--format", fmt]
        try:
            runs.append(common.run_json(command, timeout=args.timeout)["record"])
        finally:
            shutil.rmtree(out, ignore_errors=True)
        print(f"  {mode} {fmt or ''} n={n:,}: {runs[-1]['seconds']:.1f} s, peak "
              f"+{runs[-1]['peak_rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
    seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
    record = dict(min(runs, key=lambda r: abs(r["seconds"] - seconds)))
    record.update(
        runs=len(runs), seconds=seconds, series_per_s=n / seconds,
        peak_rss_mib=max(r["peak_rss_mib"] for r in runs),
        seconds_all=[r["seconds"] for r in runs],
    )
    return record


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    if args.interleave:
        return interleave(args)
    records = []
    for n in args.memory_sizes:
        records.append(_measure(args, "generate", n))
    for n in args.dataframe_sizes:
        records.append(_measure(args, "dataframe", n))
    for n in args.stream_sizes:
        for fmt in args.formats:
            records.append(_measure(args, "stream", n, fmt))
    reference = {r["n"]: r["series_per_s"] for r in records if r["mode"] == "generate"}
    largest = max(reference)
    header = ["run", "n", "runs", "seconds", "series/s", "× in-memory generate",
              "model + warm-up MiB", "peak MiB", "written MiB"]
    rows = []
    for r in records:
        ref = reference.get(r["n"], reference[largest])
        name = r["mode"] if r["mode"] != "stream" else f"generate_to {r['format']}"
        rows.append([
            name, f"{r['n']:,}", r["runs"], f"{r['seconds']:.2f}", f"{r['series_per_s']:,.0f}",
            f"{r['series_per_s'] / ref:.2f}" + ("" if r["n"] in reference else "*"),
            f"{r['warm_rss_mib']:+,.0f}", f"{r['peak_rss_mib']:+,.0f}",
            "–" if r["bytes_written"] is None else f"{r['bytes_written'] / 2**20:,.0f}",
        ])
    print(common.machine_line())
    print(f"Backend {records[0]['backend']}, preset {args.preset} (T="
          f"{records[0]['series_length']}), batch {args.batch_size}, rows per file "
          f"{args.rows_per_file:,}; memory above the backend import "
          f"({records[0]['baseline_rss_mib']:,.0f} MiB); seconds: median over runs, from "
          "the call (model loaded and warmed up); * against in-memory generate at n="
          f"{largest:,}.")
    print(common.markdown_table(header, rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    return records


if __name__ == "__main__":
    main()
