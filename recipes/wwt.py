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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _recipe  # noqa: E402  (the recipes' shared runner, beside this file)


def main(argv=None):
    args = _recipe.parser(
        __doc__, "runs/wwt",
        epochs_help="training epochs (default: the paper's 400; --quick: 2)",
        quick_help="smoke run: tiny model, 2 epochs, small data (stand-in: "
                   "96 series of 50 days)",
        data="the WWT folder in the original format; omit for SYNTHETIC "
             "stand-in data",
        num_series=True,
    ).parse_args(argv)
    return _recipe.run(
        "wwt", "web", args, "WWT", data_dir=args.data,
        num_series=args.num_series,
    )


if __name__ == "__main__":
    sys.exit(main())
