"""MBA recipe: the paper's FCC Measuring Broadband America dataset.

Trains DoppelGANger with the paper's MBA configuration (preset `FCC_MBA`:
S=8, no auxiliary critic, no auto-normalization, batch 100, 17000 epochs)
on the `train` split, generates as many series, and evaluates them against
the held-out `test` split. The npz's `data_feature_min`/`data_feature_max`
turn the generated features back into real units (bytes, loss rate) in
`generated/generated.csv`.

    python recipes/mba.py --data ../shared/data/FCC_MBA --epochs 17000 \
        --out runs/mba
    python recipes/mba.py --data ../shared/data/FCC_MBA --quick --out /tmp/mba

Same as `keras-dg train --recipe mba --data DIR --out DIR`.
"""

import argparse
import sys

from keras_dg import pipeline


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", required=True,
        help="the FCC_MBA folder in the original format, e.g. "
             "../shared/data/FCC_MBA",
    )
    parser.add_argument(
        "--epochs", type=int, default=None,
        help="training epochs (default: the paper's 17000; --quick: 2)",
    )
    parser.add_argument("--out", default="runs/mba", help="run folder")
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: tiny model, 2 epochs, 200 training series",
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
            "mba", data_dir=args.data, quick=args.quick, seed=args.seed
        )
        print(f"Data: {data['source']}")
        result = pipeline.run(
            data["train"], args.out, preset="FCC_MBA", epochs=args.epochs,
            test=data["test"], transformer=data["transformer"],
            quick=args.quick, seed=args.seed, overwrite=args.overwrite,
            resume=args.resume,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"mba.py: error: {e}", file=sys.stderr)
        return 2
    print(f"Model: {result.model}")
    print(f"Generated data: {result.generated_npz}, {result.generated_csv}")
    print(f"Report: {result.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
