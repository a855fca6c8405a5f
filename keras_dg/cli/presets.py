"""`keras-dg presets`: list the named configurations or show one."""

import json

from keras_dg import presets as presets_lib

HELP = "list the named configurations and pretrained models"
DESCRIPTION = (
    "List the presets (the paper's datasets and the default; `weights: yes`"
    " marks those shipped trained: keras-dg generate --preset NAME) or show"
    " one: its configuration and, with weights, the metadata of its trained"
    " model (training data, fidelity beside its floor)."
)


def add_arguments(parser):
    parser.add_argument(
        "name", nargs="?", default=None,
        help="show this preset's full configuration (JSON)",
    )


def run(args):
    if args.name is None:
        print(presets_lib.describe_presets())
        return 0
    preset = presets_lib.get_preset(args.name)
    if preset["weights"]:
        from keras_dg.presets import preset_io

        folder = preset_io.builtin_folder(preset["name"])
        preset["trained"] = preset_io.read_metadata(folder)
    print(json.dumps(preset, indent=2))
    return 0
