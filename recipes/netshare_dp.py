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


def dp_train(model, train, test, args):
    """DP-SGD training of `model`; its epsilon and fidelity."""
    from keras_dg.evaluation import evaluate
    from keras_dg.privacy import PrivacyBudgetCallback

    callback = PrivacyBudgetCallback.for_model(
        model, len(train), args.batch_size, delta=args.delta
    )
    model.fit(train, batch_size=args.batch_size, epochs=args.epochs,
              callbacks=[callback], verbose=0)
    synthetic = model.generate(
        attributes=np.repeat(test.attributes, 5, axis=0), seed=args.seed
    )
    result = evaluate(test, synthetic, train=train, seed=args.seed,
                      metrics=["autocorrelation", "discriminative",
                               "midpoints"])
    return (model.privacy["epsilon"],
            {k: result["summary"].get(k) for k in METRICS},
            {k: result["floor"].get(k) for k in METRICS})


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
    parser.add_argument("--noise-multiplier", type=float, default=1.0)
    parser.add_argument("--l2-norm-clip", type=float, default=1.0)
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/netshare_dp")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: tiny networks, 1 epoch, 5 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.pretrain_seconds = 1, 5
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.noise_multiplier <= 0:
        parser.error("--noise-multiplier must be positive")
    return args


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
        public, train, test = split_by_technology(
            data, args.technology, args.seed
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"netshare_dp.py: error: {e}", file=sys.stderr)
        return 2
    print(f"public: {len(public)} series; private: {len(train)} train, "
          f"{len(test)} test (technology {args.technology})")
    os.makedirs(args.out, exist_ok=True)
    folder = args.public_preset or pretrain(
        public, os.path.join(args.out, "public_preset"),
        args.pretrain_seconds, args.seed, args.quick,
    )
    dp = {"dp_noise_multiplier": args.noise_multiplier,
          "dp_l2_norm_clip": args.l2_norm_clip}
    fresh = DoppelGANger.from_preset(folder, load_weights=False,
                                     seed=args.seed, **dp)
    fresh.compile()
    tuned = DoppelGANger.from_preset(folder, compile=True, **dp)
    rows = {"DP from scratch": dp_train(fresh, train, test, args),
            "DP fine-tune of public": dp_train(tuned, train, test, args)}
    floor = rows["DP from scratch"][2]
    print(f"{'run':<24}{'epsilon':>9}" + "".join(f"{m:>28}" for m in METRICS))
    for name, (epsilon, summary, _) in rows.items():
        print(f"{name:<24}{epsilon:>9.3g}" + "".join(
            f"{summary[m]:>28.4g}" for m in METRICS))
    print(f"{'floor (real vs real)':<24}{'':>9}" + "".join(
        f"{floor[m]:>28.4g}" for m in METRICS))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": vars(args), "rows": {
            k: {"epsilon": v[0], "metrics": v[1], "floor": v[2]}
            for k, v in rows.items()}}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
