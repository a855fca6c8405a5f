"""NetShare's workflow: pretrain on public data, fine-tune with DP-SGD on
private data, from a preset.

Yin et al. (NetShare, SIGCOMM 2022) improve DoppelGANger's privacy/fidelity
trade-off by pretraining on public traces and fine-tuning with DP-SGD on
the private ones: the private data then pay (in epsilon) only for the
fine-tuning steps. Here, on the paper's FCC_MBA data:

- *public*: the series of every access technology but one (`--technology`,
  default 0); a model with the paper's configuration (`config.PAPER` + the
  `FCC_MBA` preset) trains on them for `--pretrain-seconds` and is saved
  with `save_to_preset` (or `--public-preset DIR` reuses such a folder);
- *private*: the held-out technology's series, 80% to train, 20% to test;
- at the same noise multiplier, clip, batch and epochs (hence the same
  epsilon: `keras_dg.privacy.PrivacyBudgetCallback`), DP-SGD training
  `from scratch` and DP-SGD `fine-tuning` of the public preset
  (`DoppelGANger.from_preset(public, dp_noise_multiplier=...,
  compile=True)`), each scored against the private test series
  (features generated for their attributes; ACF MSE, shape discriminative
  score, midpoint W1) beside the floor (private train vs. test).

DP-SGD runs on the TensorFlow backend.

    python recipes/netshare_dp.py --data ../shared/data/FCC_MBA \\
        --pretrain-seconds 240 --epochs 100 --noise-multiplier 1.0
    python recipes/netshare_dp.py --data ../shared/data/FCC_MBA \\
        --epsilon 2,5,10 --seeds 3       # a sweep: mean +- sd over seeds
    python recipes/netshare_dp.py --data ../shared/data/FCC_MBA --quick
"""

import argparse
import json
import os
import sys

import numpy as np

METRICS = ("acf_mse", "shape_discriminative_score", "midpoint_w1")
QUICK_NETWORK = {
    "gen_feature_num_units": 8, "gen_attribute_num_units": 8,
    "gen_attribute_num_layers": 1, "disc_num_units": 8, "disc_num_layers": 1,
    "attr_disc_num_units": 8, "attr_disc_num_layers": 1,
}


def split_by_technology(data, technology, seed):
    """(public, private train, private test) of FCC_MBA's train split."""
    start = data.attribute_outputs[0].dim
    width = data.attribute_outputs[1].dim
    if not 0 <= technology < width:
        raise ValueError(
            f"--technology must be in [0, {width}). Received: {technology}"
        )
    held = data.attributes[:, start:start + width].argmax(axis=1) == (
        technology
    )
    if held.sum() < 5:
        raise ValueError(
            f"Technology {technology} has {int(held.sum())} series; pick one"
            " with at least 5."
        )
    index = np.random.default_rng(seed).permutation(np.flatnonzero(held))
    cut = int(round(0.8 * len(index)))
    return (data[np.flatnonzero(~held)], data[np.sort(index[:cut])],
            data[np.sort(index[cut:])])


def pretrain(public, folder, seconds, seed, quick):
    """The public model, saved as a preset folder."""
    from keras_dg import DoppelGANger
    from keras_dg.models.config import PAPER
    from keras_dg.presets import get_preset

    config = {**get_preset("FCC_MBA")["config"], **PAPER, "seed": seed}
    if quick:
        config.update(QUICK_NETWORK)
    model = DoppelGANger(public.feature_outputs, public.attribute_outputs,
                         public.max_sequence_len, **config)
    model.compile()
    model.fit(public, batch_size=min(100, len(public)), time_budget=seconds,
              verbose=0)
    return model.save_to_preset(folder, overwrite=True, metadata={
        "description": "FCC_MBA public part (NetShare recipe)"})


def dp_train(model, train, test, args, noise_multiplier, seed):
    """DP-SGD training of `model`; its epsilon and fidelity."""
    from keras_dg.evaluation import evaluate
    from keras_dg.privacy import PrivacyBudgetCallback

    callback = PrivacyBudgetCallback.for_model(
        model, len(train), args.batch_size, delta=args.delta
    )
    model.fit(train, batch_size=args.batch_size, epochs=args.epochs,
              callbacks=[callback], verbose=0)
    synthetic = model.generate(
        attributes=np.repeat(test.attributes, 5, axis=0), seed=seed
    )
    result = evaluate(test, synthetic, train=train, seed=seed,
                      metrics=["autocorrelation", "discriminative",
                               "midpoints"])
    return (model.privacy["epsilon"],
            {k: result["summary"].get(k) for k in METRICS},
            {k: result["floor"].get(k) for k in METRICS})


def _positive_floats(text):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive numbers, got {text!r}"
        )
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True,
                        help="the FCC_MBA folder (original format)")
    parser.add_argument("--technology", type=int, default=0,
                        help="the private technology (default: 0)")
    parser.add_argument("--public-preset", default=None, metavar="DIR",
                        help="a pretrained public preset to reuse")
    parser.add_argument("--pretrain-seconds", type=float, default=240)
    parser.add_argument("--epochs", type=int, default=100,
                        help="DP-SGD epochs of both private runs")
    parser.add_argument("--batch-size", type=int, default=20)
    privacy = parser.add_mutually_exclusive_group()
    privacy.add_argument(
        "--noise-multiplier", type=_positive_floats, default=[1.0],
        help="critic noise multiplier(s), comma-separated (default: 1.0)")
    privacy.add_argument(
        "--epsilon", type=_positive_floats, default=None,
        help="target epsilon(s), comma-separated: each run's noise "
             "multiplier is the smallest that spends at most it")
    parser.add_argument("--l2-norm-clip", type=float, default=1.0)
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0,
                        help="the first seed (default: 0)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="seeds --seed .. --seed + N - 1: each its own "
                             "private split and runs (default: 1)")
    parser.add_argument("--out", default="runs/netshare_dp")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: tiny networks, 1 epoch, 5 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.pretrain_seconds = 1, 5
    for name in ("epochs", "batch_size", "seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def _settings(args, folder, n_train):
    """`(target epsilon or None, noise multiplier)` of each sweep point: a
    target's noise multiplier is the smallest that spends at most it in
    `--epochs` epochs, accounted as `PrivacyBudgetCallback.for_model` will
    account the runs (the preset's packing and critics)."""
    if args.epsilon is None:
        return [(None, sigma) for sigma in args.noise_multiplier]
    from keras_dg import DoppelGANger
    from keras_dg.privacy import DPSetup

    model = DoppelGANger.from_preset(folder, load_weights=False,
                                     dp_noise_multiplier=1.0)
    setup = DPSetup.from_model(model, n_train, args.batch_size,
                               delta=args.delta)
    return [
        (target, setup.noise_multiplier_for_epsilon(target, epochs=args.epochs))
        for target in args.epsilon
    ]


def _mean_sd(values):
    values = np.asarray(values, dtype="float64")
    return float(values.mean()), float(values.std())


def summarize(records):
    """Mean and sd over seeds per (noise multiplier, run)."""
    groups = {}
    for r in records:
        groups.setdefault((r["noise_multiplier"], r["run"]), []).append(r)
    summary = []
    for (sigma, run), rows in groups.items():
        summary.append({
            "noise_multiplier": sigma, "run": run,
            "target_epsilon": rows[0]["target_epsilon"], "seeds": len(rows),
            "epsilon": _mean_sd([r["epsilon"] for r in rows]),
            "metrics": {m: _mean_sd([r["metrics"][m] for r in rows])
                        for m in METRICS},
            "floor": {m: _mean_sd([r["floor"][m] for r in rows])
                      for m in METRICS},
        })
    return summary


def _print_summary(summary):
    print(f"{'noise':>7}{'epsilon':>9}  {'run':<24}" + "".join(
        f"{m:>28}" for m in METRICS))
    for row in summary:
        print(f"{row['noise_multiplier']:>7.3g}{row['epsilon'][0]:>9.3g}  "
              f"{row['run']:<24}" + "".join(
                  f"{row['metrics'][m][0]:>17.4g} +- {row['metrics'][m][1]:<7.2g}"
                  for m in METRICS))
    floor = summary[0]["floor"]
    print(f"{'':>16}  {'floor (real vs real)':<24}" + "".join(
        f"{floor[m][0]:>17.4g} +- {floor[m][1]:<7.2g}" for m in METRICS))


def main(argv=None):
    args = parse_args(argv)
    import keras

    if keras.config.backend() != "tensorflow":
        print("netshare_dp.py: error: DP-SGD needs KERAS_BACKEND=tensorflow",
              file=sys.stderr)
        return 2
    from keras_dg import DoppelGANger
    from keras_dg.data import load_dg

    keras.utils.set_random_seed(args.seed)
    try:
        data = load_dg(args.data, split="train")
        splits = {
            seed: split_by_technology(data, args.technology, seed)
            for seed in range(args.seed, args.seed + args.seeds)
        }
    except (ValueError, FileNotFoundError) as e:
        print(f"netshare_dp.py: error: {e}", file=sys.stderr)
        return 2
    public, train, test = splits[args.seed]
    print(f"public: {len(public)} series; private: {len(train)} train, "
          f"{len(test)} test (technology {args.technology}); "
          f"{args.seeds} seed(s)")
    os.makedirs(args.out, exist_ok=True)
    # The public data (every other technology) is the same for every seed:
    # one public preset.
    folder = args.public_preset or pretrain(
        public, os.path.join(args.out, "public_preset"),
        args.pretrain_seconds, args.seed, args.quick,
    )
    records = []
    for target, sigma in _settings(args, folder, len(train)):
        for seed, (_, train, test) in splits.items():
            keras.utils.set_random_seed(seed)
            dp = {"dp_noise_multiplier": sigma,
                  "dp_l2_norm_clip": args.l2_norm_clip}
            fresh = DoppelGANger.from_preset(folder, load_weights=False,
                                             seed=seed, **dp)
            fresh.compile()
            tuned = DoppelGANger.from_preset(folder, compile=True, **dp)
            for run, model in (("DP from scratch", fresh),
                               ("DP fine-tune of public", tuned)):
                epsilon, metrics, floor = dp_train(
                    model, train, test, args, sigma, seed
                )
                records.append({
                    "seed": seed, "noise_multiplier": sigma,
                    "target_epsilon": target, "run": run,
                    "epsilon": epsilon, "metrics": metrics, "floor": floor,
                })
                print(f"seed {seed} noise {sigma:.3g} epsilon {epsilon:.3g} "
                      f"{run}: " + ", ".join(
                          f"{m} {metrics[m]:.4g}" for m in METRICS),
                      flush=True)
    summary = summarize(records)
    _print_summary(summary)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": vars(args), "runs": records,
                   "summary": summary}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
