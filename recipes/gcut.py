"""GCUT recipe: the paper's Google cluster usage traces dataset.

The paper's GCUT configuration (preset `google`: S=10, no auxiliary critic,
no auto-normalization, batch 100, 400 epochs). With `--data`, it trains on
the original files (`data_train.npz`, and `data_test.npz` as the reference
when present, else 20% held out).

Without `--data` it runs on SYNTHETIC stand-in data of the GCUT schema
(9 continuous ZERO_ONE measurements per step, one end-event attribute of 4
values, variable lengths, T=50): the schema comes from `--schema` (by default
`../shared/data/google_schema` beside this repository, when it exists; else
the built-in copy of the same schema). The output shows the recipe works,
not what DoppelGANger learns from Google's traces.

    python recipes/gcut.py --data path/to/google --epochs 400 --out runs/gcut
    python recipes/gcut.py --quick --out /tmp/gcut     # synthetic stand-in

Same as `keras-dg train --recipe gcut [--data DIR] --out DIR`.
"""

import argparse
import os
import sys

from keras_dg import pipeline

SHARED_SCHEMA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.pardir, "shared", "data", "google_schema",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", default=None,
        help="the GCUT folder in the original format; omit for SYNTHETIC "
             "stand-in data",
    )
    parser.add_argument(
        "--schema", default=None,
        help="folder with the GCUT Output pickles for the stand-in data "
             "(default: ../shared/data/google_schema if present, else the "
             "built-in schema)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None,
        help="training epochs (default: the paper's 400; --quick: 2)",
    )
    parser.add_argument("--out", default="runs/gcut", help="run folder")
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: tiny model, 2 epochs, small data (stand-in: 96 "
             "tasks)",
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
    schema = args.schema
    if schema is None and args.data is None and os.path.isdir(SHARED_SCHEMA):
        schema = os.path.normpath(SHARED_SCHEMA)
    try:
        data = pipeline.load_recipe(
            "gcut", data_dir=args.data, quick=args.quick, seed=args.seed,
            num_series=args.num_series, schema_dir=schema,
        )
        print(f"Data: {data['source']}")
        if data["synthetic"]:
            print(f"Schema: {schema or 'built-in copy of the GCUT schema'}")
        result = pipeline.run(
            data["train"], args.out, preset="google", epochs=args.epochs,
            test=data["test"], transformer=data["transformer"],
            quick=args.quick, seed=args.seed, overwrite=args.overwrite,
            resume=args.resume,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"gcut.py: error: {e}", file=sys.stderr)
        return 2
    if data["synthetic"]:
        print("NOTE: trained on SYNTHETIC stand-in data, not on GCUT.")
    print(f"Model: {result.model}")
    print(f"Generated data: {result.generated_npz}, {result.generated_csv}")
    print(f"Report: {result.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
