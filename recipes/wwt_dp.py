"""The paper's differential-privacy experiment (WWT page views), on
SYNTHETIC stand-in data.

Lin et al. (IMC 2020, §6; ALGORITHM §8) train DoppelGANger on the WWT
(Wikipedia web traffic) dataset with DP-SGD on the critics: the `web`
configuration (T=550 daily page views, S=10, auxiliary critic and
auto-normalization on), 15 epochs, clip 1.0, noise multipliers 0.01, 0.1,
1.0, 2.0 and 4.0, delta 1e-5. Their conclusion: fidelity collapses at
meaningful epsilon.

The WWT data are not shipped here, so this recipe runs on **synthetic
stand-in data with the WWT schema** (`keras_dg.data.recipes.synthetic_wwt`,
the same stand-in as the WWT recipe and the benchmarks' page-view shape):
one MINUSONE_ONE feature (log page views scaled to [-1, 1]) over T days,
and the attributes domain (9 values), access type (3) and agent (2), with a
level set by them, a weekly cycle, a random walk, noise and rare spikes. The numbers it prints say
how DP training behaves on data of that shape, not what the paper measured on
WWT.

For each noise multiplier it trains a DP model
(`DoppelGANger(..., dp_noise_multiplier=sigma, dp_l2_norm_clip=1.0)`), logs
epsilon with `keras_dg.privacy.PrivacyBudgetCallback.for_model` (stored in
`model.privacy`), generates as many series as the held-out split, and prints
epsilon and a small fidelity summary (`keras_dg.evaluation`): autocorrelation
MSE, mean attribute JSD, mean midpoint Wasserstein distance (lower is
better). The `eps (original)` column is the original code's more
conservative accounting (`composition="original"`, the paper's numbers).

Run (full size, the paper's: 50,000 series, T=550, 15 epochs, five noise
levels; hours on a CPU)::

    python recipes/wwt_dp.py

Smoke run (well under a minute: small N and network, T=50, 1 epoch, two
noise levels)::

    python recipes/wwt_dp.py --quick

Flags: `--num-series`, `--max-sequence-len`, `--epochs`, `--batch-size`,
`--noise-multipliers 0.1 1.0`, `--delta`, `--seed`, `--output results.json`.
"""

import argparse
import logging
import sys

from keras_dg import DoppelGANger
from keras_dg.data.recipes import synthetic_wwt
from keras_dg.data.splits import split_dataset
from keras_dg.evaluation import evaluate
from keras_dg.files import atomic_write_json
from keras_dg.models import config as model_config
from keras_dg.privacy import PrivacyBudgetCallback
from keras_dg.privacy import compute_epsilon

# The paper's `web` configuration under the original names; every other
# hyperparameter is `DoppelGANger`'s default, the original's (ALGORITHM §5).
WEB_CONFIG = {"sample_len": 10, "aux_disc": True, "self_norm": True}
PAPER = {
    "num_series": 50_000,
    "max_sequence_len": 550,
    "epochs": 15,
    "noise_multipliers": [0.01, 0.1, 1.0, 2.0, 4.0],
    "batch_size": 100,
    "l2_norm_clip": 1.0,
    "delta": 1e-5,
}
QUICK = {
    "num_series": 160,
    "max_sequence_len": 50,
    "epochs": 1,
    "noise_multipliers": [0.1, 4.0],
    "batch_size": 32,
}
METRICS = ["acf_mse", "attribute_jsd", "midpoint_w1"]
HELD_OUT_FRACTION = 0.2


def run_noise_level(sigma, train, held_out, config, training, delta, seed):
    """Trains one DP model; returns its privacy and fidelity summary."""
    model = DoppelGANger(
        train.feature_outputs,
        train.attribute_outputs,
        max_sequence_len=train.max_sequence_len,
        dp_noise_multiplier=sigma,
        dp_l2_norm_clip=PAPER["l2_norm_clip"],
        seed=seed,
        **config,
    )
    model.compile()
    callback = PrivacyBudgetCallback.for_model(
        model, len(train), training["batch_size"], delta=delta
    )
    model.fit(
        train,
        batch_size=training["batch_size"],
        epochs=training["epochs"],
        callbacks=[callback],
        verbose=0,
    )
    privacy = model.privacy
    original = compute_epsilon(
        privacy["n_examples"],
        privacy["batch_size"],
        None,
        sigma,
        delta=delta,
        num_packing=privacy["num_packing"],
        aux_disc=privacy["aux_disc"],
        steps=privacy["steps"],
        d_rounds=privacy["d_rounds"],
        composition="original",
    )
    synthetic = model.generate(len(held_out), seed=seed)
    summary = evaluate(held_out, synthetic, seed=seed, metrics=METRICS)
    return {
        "noise_multiplier": sigma,
        "epsilon": privacy["epsilon"],
        "epsilon_original": original,
        "delta": delta,
        "steps": privacy["steps"],
        **summary["summary"],
    }


def _print_table(rows):
    header = ["sigma", "epsilon", "eps (original)", "steps"] + METRICS
    print(" | ".join(f"{h:>14}" for h in header))
    for row in rows:
        values = [
            f"{row['noise_multiplier']:g}",
            f"{row['epsilon']:.4g}",
            f"{row['epsilon_original']:.4g}",
            str(row["steps"]),
        ] + [f"{row[m]:.4g}" for m in METRICS]
        print(" | ".join(f"{v:>14}" for v in values))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "The paper's DP experiment (WWT schema) on SYNTHETIC stand-in "
            "data."
        )
    )
    parser.add_argument("--quick", action="store_true",
                        help="small smoke run: well under a minute")
    parser.add_argument("--num-series", type=int, default=None)
    parser.add_argument("--max-sequence-len", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--noise-multipliers", type=float, nargs="+",
                        default=None)
    parser.add_argument("--delta", type=float, default=PAPER["delta"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None,
                        help="write the results as JSON to this path")
    args = parser.parse_args(argv)
    base = {**PAPER, **(QUICK if args.quick else {})}
    for key in ("num_series", "max_sequence_len", "epochs",
                "noise_multipliers", "batch_size"):
        if getattr(args, key) is None:
            setattr(args, key, base[key])
    for key in ("num_series", "max_sequence_len", "epochs", "batch_size"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.max_sequence_len % WEB_CONFIG["sample_len"]:
        parser.error(
            f"--max-sequence-len must be a multiple of the sample_len "
            f"{WEB_CONFIG['sample_len']}; received {args.max_sequence_len}"
        )
    if any(sigma <= 0 for sigma in args.noise_multipliers):
        parser.error("--noise-multipliers must be > 0")
    if not 0 < args.delta < 1:
        parser.error(f"--delta must be in (0, 1); received {args.delta}")
    return args


def main(argv=None):
    """Runs the experiment; returns one result dict per noise multiplier."""
    args = parse_args(argv)
    # dp-accounting warns when it drops an RDP order it cannot evaluate;
    # epsilon over the remaining orders is still an upper bound.
    logging.getLogger("absl").setLevel(logging.ERROR)
    config = {**WEB_CONFIG, **(model_config.QUICK if args.quick else {})}
    training = {"epochs": args.epochs, "batch_size": args.batch_size}
    data = synthetic_wwt(args.num_series, args.max_sequence_len, args.seed)
    train, held_out = split_dataset(data, HELD_OUT_FRACTION, args.seed)
    print(
        f"SYNTHETIC stand-in data with the WWT schema: {len(train)} training"
        f" and {len(held_out)} held-out series of {args.max_sequence_len} "
        f"days; {training['epochs']} epoch(s), batch {training['batch_size']}"
        f", S={config['sample_len']}, clip {PAPER['l2_norm_clip']}, delta "
        f"{args.delta:g}."
    )
    rows = []
    for sigma in args.noise_multipliers:
        rows.append(
            run_noise_level(sigma, train, held_out, config, training,
                            args.delta, args.seed)
        )
        print(f"noise multiplier {sigma:g}: epsilon {rows[-1]['epsilon']:.4g}",
              flush=True)
    _print_table(rows)
    if args.output:
        atomic_write_json(args.output, rows)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
