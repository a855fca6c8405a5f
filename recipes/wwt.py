"""WWT recipe: the paper's Wikipedia web traffic (page views) dataset.

The paper's WWT configuration (preset `web`: S=10 over T=550 days,
auxiliary critic and auto-normalization on, batch 100, 400 epochs). With
`--data`, it trains on the original files (`data_train.npz`, and
`data_test.npz` as the reference when present, else 20% held out); generated
views are written in real units (the feature is
`log1p(views) / 18.024 * 2 - 1`).

Without `--data` it runs on SYNTHETIC stand-in data of the same schema (T=550,
one MINUSONE_ONE feature, attributes domain (9), access (3), agent (2)) drawn
from a simple model of page views: the output shows the recipe works, not
what DoppelGANger learns from Wikipedia.

    python recipes/wwt.py --data path/to/web --epochs 400 --out runs/wwt
    python recipes/wwt.py --quick --out /tmp/wwt       # synthetic stand-in

Same as `keras-dg train --recipe wwt [--data DIR] --out DIR`.
"""

import argparse
import sys

from keras_dg import pipeline


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", default=None,
        help="the WWT folder in the original format; omit for SYNTHETIC "
             "stand-in data",
    )
    parser.add_argument(
        "--epochs", type=int, default=None,
        help="training epochs (default: the paper's 400; --quick: 2)",
    )
    parser.add_argument("--out", default="runs/wwt", help="run folder")
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: tiny model, 2 epochs, small data (stand-in: 96 "
             "series of 50 days)",
    )
    parser.add_argument(
        "--num-series", type=int, default=None,
        help="training series (stand-in default: 1000)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace a previous run in --out",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue a previous run in --out from its checkpoint",
    )
    args = parser.parse_args(argv)
    try:
        data = pipeline.load_recipe(
            "wwt", data_dir=args.data, quick=args.quick, seed=args.seed,
            num_series=args.num_series,
        )
        print(f"Data: {data['source']}")
        result = pipeline.run(
            data["train"], args.out, preset="web", epochs=args.epochs,
            test=data["test"], transformer=data["transformer"],
            quick=args.quick, seed=args.seed, overwrite=args.overwrite,
            resume=args.resume,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"wwt.py: error: {e}", file=sys.stderr)
        return 2
    if data["synthetic"]:
        print("NOTE: trained on SYNTHETIC stand-in data, not on WWT.")
    print(f"Model: {result.model}")
    print(f"Generated data: {result.generated_npz}, {result.generated_csv}")
    print(f"Report: {result.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
