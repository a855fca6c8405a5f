"""What every recipe script shares: its flags, the run, and what it prints.

Each recipe is a preset (`keras_dg/presets.py`) plus the data it loads
(`keras_dg.data.recipes.load_recipe`); this module turns that into a script.
"""

import argparse
import sys

from keras_dg import pipeline
from keras_dg.cli import flags
from keras_dg.data.recipes import load_recipe


def parser(doc, out, epochs_help, quick_help, data=None, num_series=False):
    """The recipe's flags, the `keras-dg` command's own (`keras_dg.cli.flags`).
    `data`: None (no --data), or the help of an optional --data, or
    `(help, "required")`."""
    result = argparse.ArgumentParser(description=doc.split("\n")[0])
    if data is not None:
        text, required = (data, False) if isinstance(data, str) else (
            data[0], True
        )
        result.add_argument("--data", required=required, default=None,
                            help=text)
    result.add_argument(
        "--epochs", type=flags.positive_int, default=None, help=epochs_help
    )
    result.add_argument("--out", default=out, help="run folder")
    flags.add_quick_flag(result, quick_help)
    if num_series:
        result.add_argument(
            "--num-series", type=flags.positive_int, default=None,
            help="training series (stand-in default: 1000)",
        )
    flags.add_seed_flag(result, None)
    flags.add_overwrite_flag(result, "replace a previous run in --out")
    flags.add_resume_flag(
        result, "continue a previous run in --out from its checkpoint"
    )
    return result


def run(recipe, preset, args, name, on_data=None, **load_kwargs):
    """Loads the recipe's data, trains, generates, evaluates; prints where
    everything went. Returns the exit code (2 on a user error)."""
    try:
        data = load_recipe(
            recipe, quick=args.quick, seed=args.seed, **load_kwargs
        )
        print(f"Data: {data['source']}")
        if on_data is not None:
            on_data(data)
        result = pipeline.run(
            data["train"], args.out, preset=preset, epochs=args.epochs,
            test=data["test"], transformer=data["transformer"],
            quick=args.quick, seed=args.seed, overwrite=args.overwrite,
            resume=args.resume,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"{recipe}.py: error: {e}", file=sys.stderr)
        return 2
    if data.get("synthetic"):
        print(f"NOTE: trained on SYNTHETIC stand-in data, not on {name}.")
    print(f"Model: {result.model}")
    print(f"Generated data: {result.generated_npz}, {result.generated_csv}")
    print(f"Report: {result.report_html}")
    return 0
