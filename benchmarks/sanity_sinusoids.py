"""Sanity check that DoppelGANger learns: sinusoids whose period depends on a
categorical attribute, with variable lengths.

Data (fixed seed): N series of T=48 steps, `sample_len` 4. Attribute `wave`
in {short, medium, long} with frequencies 0.5 / 0.3 / 0.2 sets the period
(6, 12, 24 steps); each series has a random phase, length uniform in 24..48,
values `0.5 + 0.4 sin(2 pi t / period + phase)` plus N(0, 0.02) noise.

After training it reports, real vs synthetic: the attribute marginals, the
per-category dominant period (the strongest frequency of each series' active
part, median and share within 20% of the true period),
and the Wasserstein-1 distance between the length distributions.

Command (the numbers in benchmarks/RESULTS.md):

    python benchmarks/sanity_sinusoids.py --n 2000 --epochs 150 --seed 0
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import wasserstein_distance  # noqa: E402

import keras_dg  # noqa: E402
from keras_dg import Output  # noqa: E402

CATEGORIES = ("short", "medium", "long")
PERIODS = (6, 12, 24)
FREQUENCIES = (0.5, 0.3, 0.2)
T, SAMPLE_LEN = 48, 4


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    category = rng.choice(3, size=n, p=FREQUENCIES)
    lengths = rng.integers(24, T + 1, size=n)
    phase = rng.uniform(0, 2 * np.pi, size=n)
    t = np.arange(T)[None, :]
    period = np.array(PERIODS)[category][:, None]
    values = 0.5 + 0.4 * np.sin(2 * np.pi * t / period + phase[:, None])
    values += rng.normal(0, 0.02, size=values.shape)
    gen_flag = (t < lengths[:, None]).astype("float32")
    features = (np.clip(values, 0, 1) * gen_flag)[..., None].astype("float32")
    attributes = np.eye(3, dtype="float32")[category]
    return keras_dg.TimeSeriesDataset(
        features, attributes, gen_flag,
        [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 3)],
    )


def dominant_period(series, length, n_fft=1024):
    """Period of the strongest frequency of the active part (zero-padded
    FFT, mean removed), in time steps."""
    x = series[:length] - series[:length].mean()
    spectrum = np.abs(np.fft.rfft(x, n=n_fft))
    spectrum[0] = 0.0
    return n_fft / max(int(np.argmax(spectrum)), 1)


def summarize(dataset):
    category = dataset.attributes.argmax(1)
    lengths = dataset.lengths
    periods = np.array([
        dominant_period(dataset.features[i, :, 0], lengths[i])
        for i in range(len(dataset))
    ])
    out = {"marginals": {}, "period_median": {}, "period_within_20pct": {}}
    for c, (name, true_period) in enumerate(zip(CATEGORIES, PERIODS)):
        members = category == c
        out["marginals"][name] = round(float(members.mean()), 3)
        if members.any():
            p = periods[members]
            out["period_median"][name] = round(float(np.median(p)), 2)
            out["period_within_20pct"][name] = round(
                float(np.mean(np.abs(p - true_period) <= 0.2 * true_period)), 3
            )
    return out, lengths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-generate", type=int, default=2000)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    real = make_data(args.n, args.seed)
    model = keras_dg.DoppelGANger(
        real.feature_outputs, real.attribute_outputs,
        max_sequence_len=T, sample_len=SAMPLE_LEN, seed=args.seed,
    )
    model.compile(steps_per_execution=10)
    start = time.time()
    model.fit(real, epochs=args.epochs, batch_size=100, verbose=0)
    seconds = time.time() - start
    synthetic = model.generate(args.n_generate, seed=args.seed + 1)

    real_summary, real_lengths = summarize(real)
    synth_summary, synth_lengths = summarize(synthetic)
    result = {
        "n": args.n, "epochs": args.epochs, "train_seconds": round(seconds, 1),
        "true_periods": dict(zip(CATEGORIES, PERIODS)),
        "real": real_summary, "synthetic": synth_summary,
        "length_w1": round(float(wasserstein_distance(real_lengths, synth_lengths)), 3),
        "real_mean_length": float(real_lengths.mean()),
        "synthetic_mean_length": float(synth_lengths.mean()),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
