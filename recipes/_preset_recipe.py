"""A recipe's `--save-preset` path: train, then save the model as a preset.

The shipped presets with weights (`keras_dg/presets/weights/`) are built
this way: the recipe's run (`keras_dg.pipeline.run`, optionally on a
wall-clock `--budget`), then `keras_dg.presets.preset_io.preset_from_run`,
which writes the preset folder with the run's fidelity report (headline
numbers beside their floor) and training record in `metadata.json`.
"""

import shlex
import sys

from keras_dg import pipeline
from keras_dg.cli import flags
from keras_dg.data.recipes import load_recipe


def add_flags(parser):
    """`--budget` and `--save-preset` on a recipe's parser."""
    parser.add_argument(
        "--budget", type=flags.duration, default=None, metavar="DURATION",
        help="wall-clock training budget (e.g. 8m) in place of the epochs",
    )
    parser.add_argument(
        "--save-preset", default=None, metavar="DIR",
        help="after the run, save the model as a preset folder (config.json,"
             " model.weights.h5, metadata.json with the fidelity report, "
             "transformer.json): DoppelGANger.from_preset(DIR)",
    )
    return parser


def run(recipe, preset, args, name, description, argv, script,
        model_kwargs=None, **load_kwargs):
    """The recipe's run with `args.budget`, then the preset if asked
    (its metadata records the command: `python script argv...`). Returns
    the exit code (2 on a user error)."""
    from keras_dg.presets.preset_io import preset_from_run

    training = {} if args.budget is None else {"time_budget": args.budget}
    try:
        data = load_recipe(
            recipe, quick=args.quick, seed=args.seed, **load_kwargs
        )
        print(f"Data: {data['source']}")
        result = pipeline.run(
            data["train"], args.out, preset=preset, epochs=args.epochs,
            training=training, model_kwargs=model_kwargs,
            test=data["test"], transformer=data["transformer"],
            quick=args.quick, seed=args.seed, overwrite=args.overwrite,
            resume=args.resume,
        )
        print(result.describe())
        if args.save_preset:
            folder = preset_from_run(
                result.out_dir, args.save_preset, overwrite=args.overwrite,
                metadata={
                    "description": description,
                    "training_data_source": data["source"],
                    "recipe": " ".join(
                        ["python", script] + [
                            shlex.quote(str(a)) for a in (
                                sys.argv[1:] if argv is None else argv
                            )
                        ]
                    ),
                },
            )
            print(f"Preset: {folder} (DoppelGANger.from_preset({folder!r}))")
    except (ValueError, FileNotFoundError) as e:
        print(f"{recipe}.py: error: {e}", file=sys.stderr)
        return 2
    if data.get("synthetic"):
        print(f"NOTE: trained on SYNTHETIC stand-in data, not on {name}.")
    return 0
