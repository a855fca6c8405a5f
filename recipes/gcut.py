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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _recipe  # noqa: E402  (the recipes' shared runner, beside this file)

SHARED_SCHEMA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.pardir, "shared", "data", "google_schema",
)


def main(argv=None):
    parser = _recipe.parser(
        __doc__, "runs/gcut",
        epochs_help="training epochs (default: the paper's 400; --quick: 2)",
        quick_help="smoke run: tiny model, 2 epochs, small data (stand-in: "
                   "96 tasks)",
        data="the GCUT folder in the original format; omit for SYNTHETIC "
             "stand-in data",
        num_series=True,
    )
    parser.add_argument(
        "--schema", default=None,
        help="folder with the GCUT Output pickles for the stand-in data "
             "(default: ../shared/data/google_schema if present, else the "
             "built-in schema)",
    )
    args = parser.parse_args(argv)
    schema = args.schema
    if schema is None and args.data is None and os.path.isdir(SHARED_SCHEMA):
        schema = os.path.normpath(SHARED_SCHEMA)

    def show_schema(data):
        if data["synthetic"]:
            print(f"Schema: {schema or 'built-in copy of the GCUT schema'}")

    return _recipe.run(
        "gcut", "google", args, "GCUT", on_data=show_schema,
        data_dir=args.data, num_series=args.num_series, schema_dir=schema,
    )


if __name__ == "__main__":
    sys.exit(main())
