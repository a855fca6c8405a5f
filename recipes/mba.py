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

The shipped preset with weights (`DoppelGANger.from_preset("FCC_MBA")`,
`keras_dg/presets/weights/FCC_MBA/`) is the paper's model
(`keras_dg.models.config.PAPER`: `--paper`) with this preset on the paper's
data, on an 8-minute budget, saved as a preset:

    python recipes/mba.py --data ../shared/data/FCC_MBA --paper \
        --budget 8m --out runs/mba_preset \
        --save-preset keras_dg/presets/weights/FCC_MBA --overwrite
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _preset_recipe  # noqa: E402  (--budget, --save-preset)
import _recipe  # noqa: E402  (the recipes' shared runner, beside this file)

DESCRIPTION = (
    "The paper's DoppelGANger (keras_dg.models.config.PAPER: per-position "
    "block heads, no step noise, no interpolation, the generation flag) "
    "with the paper's MBA configuration (preset FCC_MBA: S=8, no aux "
    "critic, no self-norm, batch 100; its `training` entry gives the budget and epochs, the "
    "paper trained 17000 epochs) on the paper's FCC Measuring Broadband "
    "America data (600 training series of 56 steps: traffic bytes and "
    "ping loss rate; ISP, technology, state; the held-out test split for "
    "the fidelity report)."
)


def main(argv=None):
    parser = _preset_recipe.add_flags(_recipe.parser(
        __doc__, "runs/mba",
        epochs_help="training epochs (default: the paper's 17000; --quick: 2)",
        quick_help="smoke run: tiny model, 2 epochs, 200 training series",
        data=("the FCC_MBA folder in the original format, e.g. "
              "../shared/data/FCC_MBA", "required"),
    ))
    parser.add_argument(
        "--paper", action="store_true",
        help="the original's generator (keras_dg.models.config.PAPER) in "
             "place of keras-dg's defaults",
    )
    args = parser.parse_args(argv)
    if args.budget is None and args.save_preset is None and not args.paper:
        return _recipe.run("mba", "FCC_MBA", args, "MBA", data_dir=args.data)
    from keras_dg.models.config import PAPER

    return _preset_recipe.run(
        "mba", "FCC_MBA", args, "MBA", DESCRIPTION, argv, "recipes/mba.py",
        model_kwargs=dict(PAPER) if args.paper else None,
        data_dir=args.data,
    )


if __name__ == "__main__":
    sys.exit(main())
