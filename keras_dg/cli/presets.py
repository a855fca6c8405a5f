"""`keras-dg presets`: list the named configurations or show one."""

import json

from keras_dg import presets as presets_lib

HELP = "list the named configurations"
DESCRIPTION = (
    "List the presets (the paper's datasets and the default) or show one."
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
    print(json.dumps(presets_lib.get_preset(args.name), indent=2))
    return 0
