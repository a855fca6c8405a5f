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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _recipe  # noqa: E402  (the recipes' shared runner, beside this file)


def main(argv=None):
    args = _recipe.parser(
        __doc__, "runs/mba",
        epochs_help="training epochs (default: the paper's 17000; --quick: 2)",
        quick_help="smoke run: tiny model, 2 epochs, 200 training series",
        data=("the FCC_MBA folder in the original format, e.g. "
              "../shared/data/FCC_MBA", "required"),
    ).parse_args(argv)
    return _recipe.run("mba", "FCC_MBA", args, "MBA", data_dir=args.data)


if __name__ == "__main__":
    sys.exit(main())
